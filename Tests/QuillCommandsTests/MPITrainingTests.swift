import Foundation
import XCTest

/// `mpirun -np N quill train`: the same bits as one process, every rank alike, faults that end the
/// job, and an exact resume. Runs on loopback TCP, oversubscribed, as CI does.
final class MPITrainingTests: XCTestCase {
    /// A tiny model with dropout, so the random generator must stay in step on every rank.
    let tiny = ["--embed", "8", "--hidden", "24", "--layers", "2", "--dropout", "0.2", "--seq", "16",
                "--warmup", "5", "--doc-separator", "%", "--sample-length", "0"]

    private func mpirun(_ ranks: Int, _ arguments: [String], extra: [String] = []) throws -> QuillBinary.Result {
        try MPIRun.run(["-np", String(ranks)] + MPIRun.options + extra + [QuillBinary.url.path] + arguments)
    }

    func testTwoRanksGiveTheBitsOfOneProcess() throws {
        try MPIRun.requireInstalled()
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        for batch in ["2", "5", "8"] {
            let args = ["train", corpus] + tiny + ["--batch", batch, "--steps", "24", "--eval-every", "10"]
            let one = dir.appendingPathComponent("one-\(batch)"), two = dir.appendingPathComponent("two-\(batch)")
            let single = try QuillBinary.run(args + ["--out", one.path])
            XCTAssertEqual(single.status, 0, single.stderr)
            let pair = try mpirun(2, args + ["--out", two.path])
            XCTAssertEqual(pair.status, 0, pair.stderr)
            XCTAssertTrue(pair.stdout.contains("ranks: all 2 hold the same weights"), pair.stdout)
            // Rank 0 alone prints: one summary line.
            XCTAssertEqual(pair.stdout.components(separatedBy: "stopped:").count, 2, pair.stdout)
            for name in ["weights", "adam.m", "adam.v", "lstm.h", "lstm.c"] {
                XCTAssertEqual(try StateTensor.bytes(name, in: one), try StateTensor.bytes(name, in: two), "batch \(batch): \(name)")
            }
            XCTAssertEqual(try Data(contentsOf: one.appendingPathComponent("model.safetensors")),
                           try Data(contentsOf: two.appendingPathComponent("model.safetensors")), "batch \(batch)")
            XCTAssertEqual(try String(contentsOf: one.appendingPathComponent("metrics.jsonl")).components(separatedBy: "\n").count,
                           try String(contentsOf: two.appendingPathComponent("metrics.jsonl")).components(separatedBy: "\n").count)
        }
    }

    func testFourRanksHoldTheSameWeightsAndRepeat() throws {
        try MPIRun.requireInstalled()
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        let args = ["train", corpus] + tiny + ["--batch", "6", "--steps", "20", "--eval-every", "10"]
        var weights: [Data] = []
        for run in 0..<2 {
            let out = dir.appendingPathComponent("four-\(run)")
            let result = try mpirun(4, args + ["--out", out.path])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("ranks: all 4 hold the same weights"), result.stdout)
            weights.append(try StateTensor.bytes("weights", in: out))
        }
        XCTAssertEqual(weights[0], weights[1])
        // Four shards sum in another order than two: a different run, refused on resume with two.
        let resumed = try mpirun(2, args + ["--out", dir.appendingPathComponent("four-0").path, "--resume", "--steps", "30"])
        XCTAssertNotEqual(resumed.status, 0)
        XCTAssertTrue(resumed.stderr.contains("was trained by 4 processes but 2 were started"), resumed.stderr)
    }

    func testResumingUnderMPIRunMatchesAnUnbrokenRun() throws {
        try MPIRun.requireInstalled()
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        // The decay's horizon fixed, so a run stopped by --steps 13 and resumed follows the same schedule.
        let args = ["train", corpus] + tiny + ["--batch", "4", "--eval-every", "10", "--decay-steps", "30"]
        let whole = dir.appendingPathComponent("whole"), parts = dir.appendingPathComponent("parts")
        XCTAssertEqual(try mpirun(2, args + ["--steps", "30", "--out", whole.path]).status, 0)
        XCTAssertEqual(try mpirun(2, args + ["--steps", "13", "--out", parts.path]).status, 0)
        // One process resumes a two-rank run exactly (both split the lanes in two), and two ranks resume that.
        XCTAssertEqual(try QuillBinary.run(args + ["--steps", "22", "--out", parts.path, "--resume"]).status, 0)
        let last = try mpirun(2, args + ["--steps", "30", "--out", parts.path, "--resume"])
        XCTAssertEqual(last.status, 0, last.stderr)
        XCTAssertEqual(try StateTensor.bytes("weights", in: whole), try StateTensor.bytes("weights", in: parts))
        XCTAssertEqual(try StateTensor.bytes("lstm.c", in: whole), try StateTensor.bytes("lstm.c", in: parts))
    }

    /// SIGKILL one rank at a random moment: mpirun ends every rank, non-zero, with a message, and
    /// `--resume` from the last checkpoint ends with the weights of a run never broken.
    func testKilledRankEndsTheJobAndTheRunResumesExactly() throws {
        try MPIRun.requireInstalled()
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        let args = ["train", corpus] + tiny + ["--batch", "4", "--eval-every", "10", "--steps", "300"]
        let reference = dir.appendingPathComponent("reference")
        XCTAssertEqual(try mpirun(2, args + ["--out", reference.path]).status, 0)
        let expected = try StateTensor.bytes("weights", in: reference)
        var random = SeededGenerator(seed: 10)
        let trials = Int(ProcessInfo.processInfo.environment["QUILL_MPI_KILL_TRIALS"] ?? "") ?? 2
        var landed = 0
        for trial in 0..<trials {
            let out = dir.appendingPathComponent("killed-\(trial)")
            let job = try MPIRun.start(["-np", "2"] + MPIRun.options + [QuillBinary.url.path] + args + ["--out", out.path])
            // Wait for the first checkpoint after step 0, then a random moment more.
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline, (try? StateTensor.step(in: out)) ?? 0 == 0 { usleep(20_000) }
            usleep(UInt32.random(in: 0...300_000, using: &random))
            let victim = MPIRun.rankProcess(1, outPath: out.path)
            guard let victim else { job.waitUntilExit(); continue }
            kill(victim, SIGKILL)
            let killedAt = Date()
            let stderr = job.waitForStandardError()
            XCTAssertLessThan(Date().timeIntervalSince(killedAt), 30, "the job outlived its killed rank")
            if job.terminationStatus == 0 { continue }  // finished before the kill landed
            landed += 1
            XCTAssertTrue(stderr.contains("exited on signal 9") || stderr.contains("lost the other ranks"), stderr)
            XCTAssertNil(MPIRun.rankProcess(0, outPath: out.path), "rank 0 outlived the job")
            let resumed = try mpirun(2, args + ["--out", out.path, "--resume"])
            XCTAssertEqual(resumed.status, 0, "trial \(trial): \(resumed.stderr)")
            XCTAssertEqual(try StateTensor.bytes("weights", in: out), expected, "trial \(trial)")
        }
        print("SIGKILL trials under mpirun: \(trials), of which \(landed) landed before the run finished")
        XCTAssertGreaterThan(landed, 0, "no kill landed before the run finished")
    }

    /// SIGINT to mpirun: Open MPI passes SIGTERM to every rank a second later; the ranks stop after
    /// the same step, rank 0 saves it, and `--resume` ends with the weights of a run never stopped.
    func testASignalToMPIRunStopsEveryRankAtOneStepAndResumesExactly() throws {
        try MPIRun.requireInstalled()
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        let args = ["train", corpus] + tiny + ["--batch", "4", "--eval-every", "40", "--steps", "4000"]
        let reference = dir.appendingPathComponent("reference"), stopped = dir.appendingPathComponent("stopped")
        XCTAssertEqual(try mpirun(2, args + ["--out", reference.path]).status, 0)
        let job = try MPIRun.start(["-np", "2"] + MPIRun.options + [QuillBinary.url.path] + args + ["--out", stopped.path])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? StateTensor.step(in: stopped)) ?? 0 == 0 { usleep(20_000) }
        kill(job.process.processIdentifier, SIGINT)
        let stderr = job.waitForStandardError()
        let step = try StateTensor.step(in: stopped)
        XCTAssertNotEqual(job.terminationStatus, 0, stderr)
        XCTAssertNil(MPIRun.rankProcess(0, outPath: stopped.path))
        XCTAssertNil(MPIRun.rankProcess(1, outPath: stopped.path))
        // Saved at the stop (at an evaluation's step only by chance), not at the end.
        // Long enough that Open MPI's one-second delay before it passes SIGTERM on cannot outlast it.
        XCTAssertLessThan(step, 4000, "the signal landed after the run finished")
        let resumed = try mpirun(2, args + ["--out", stopped.path, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try StateTensor.bytes("weights", in: stopped), try StateTensor.bytes("weights", in: reference))
    }

    func testRanksThatDisagreeRefuseToTrain() throws {
        try MPIRun.requireInstalled()
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        let other = TestCorpus.file(in: dir, characters: 12_500, name: "other.txt")
        let args = tiny + ["--batch", "4", "--steps", "5"]
        func mpmd(_ first: [String], _ second: [String], _ out: String) throws -> QuillBinary.Result {
            try MPIRun.run(["-np", "1"] + MPIRun.options + first + ["--out", out, ":", "-np", "1"] + second + ["--out", out])
        }
        let quill = QuillBinary.url.path
        let settings = try mpmd([quill, "train", corpus] + args + ["--lr", "0.01"], [quill, "train", corpus] + args + ["--lr", "0.02"],
                                dir.appendingPathComponent("lr").path)
        XCTAssertNotEqual(settings.status, 0)
        XCTAssertTrue(settings.stderr.contains("Rank 1's settings differs from rank 0's"), settings.stderr)
        let data = try mpmd([quill, "train", corpus] + args, [quill, "train", other] + args, dir.appendingPathComponent("data").path)
        XCTAssertNotEqual(data.status, 0)
        XCTAssertTrue(data.stderr.contains("Rank 1's data differs from rank 0's"), data.stderr)
        // Another build: the same program with a byte appended.
        let copy = dir.appendingPathComponent("quill-copy")
        var bytes = try Data(contentsOf: QuillBinary.url)
        bytes.append(0)
        try bytes.write(to: copy)
        chmod(copy.path, 0o755)
        let binary = try mpmd([quill, "train", corpus] + args, [copy.path, "train", corpus] + args, dir.appendingPathComponent("bin").path)
        XCTAssertNotEqual(binary.status, 0)
        XCTAssertTrue(binary.stderr.contains("Rank 1's binary differs from rank 0's"), binary.stderr)
        for name in ["lr", "data", "bin"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).appendingPathComponent("training-state.safetensors").path))
        }
        // More ranks than lanes.
        let wide = try MPIRun.run(["-np", "3"] + MPIRun.options + [quill, "train", corpus] + tiny
                                  + ["--batch", "2", "--steps", "5", "--out", dir.appendingPathComponent("wide").path])
        XCTAssertNotEqual(wide.status, 0)
        XCTAssertTrue(wide.stderr.contains("mpirun -np 3 needs --batch of at least 3"), wide.stderr)
    }

    /// From a prepared folder each rank reads only its lanes' windows; the bits are still one process's.
    /// A rank whose copy of the shards is damaged refuses before the first step.
    func testPreparedShardsUnderMPIRun() throws {
        try MPIRun.requireInstalled()
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        let prepared = dir.appendingPathComponent("prepared")
        let prepare = try QuillBinary.run(["prepare", corpus, "--doc-separator", "%", "--out", prepared.path])
        XCTAssertEqual(prepare.status, 0, prepare.stderr)
        let args = ["train", prepared.path] + tiny.filter { $0 != "--doc-separator" && $0 != "%" } + ["--batch", "5", "--steps", "20", "--eval-every", "10"]
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
        let single = try QuillBinary.run(args + ["--out", one.path])
        XCTAssertEqual(single.status, 0, single.stderr)
        let pair = try mpirun(2, args + ["--out", two.path])
        XCTAssertEqual(pair.status, 0, pair.stderr)
        XCTAssertEqual(try StateTensor.bytes("weights", in: one), try StateTensor.bytes("weights", in: two))

        let damaged = dir.appendingPathComponent("damaged")
        try FileManager.default.copyItem(at: prepared, to: damaged)
        let shard = damaged.appendingPathComponent("shard-00000.bin")
        var bytes = try Data(contentsOf: shard)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: shard)
        let out = dir.appendingPathComponent("broken").path
        let quill = QuillBinary.url.path
        let rest = Array(args.dropFirst(2)) + ["--out", out]
        let broken = try MPIRun.run(["-np", "1"] + MPIRun.options + [quill, "train", prepared.path] + rest
                                    + [":", "-np", "1", quill, "train", damaged.path] + rest)
        XCTAssertNotEqual(broken.status, 0)
        XCTAssertTrue(broken.stderr.contains("shard-00000.bin"), broken.stderr)
        XCTAssertEqual((try? String(contentsOfFile: out + "/metrics.jsonl")) ?? "", "", "a step was taken")
    }

    func testARankThatCannotReadItsCorpusFailsBeforeTheFirstStep() throws {
        try MPIRun.requireInstalled()
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        let out = dir.appendingPathComponent("out").path
        let quill = QuillBinary.url.path
        let result = try MPIRun.run(["-np", "1"] + MPIRun.options + [quill, "train", corpus] + tiny + ["--batch", "4", "--steps", "5", "--out", out]
                                    + [":", "-np", "1", quill, "train", dir.appendingPathComponent("missing.txt").path] + tiny
                                    + ["--batch", "4", "--steps", "5", "--out", out])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("missing.txt"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/metrics.jsonl") && (try? String(contentsOfFile: out + "/metrics.jsonl"))?.isEmpty == false)
    }
}

/// Running Open MPI's launcher from tests.
enum MPIRun {
    /// Oversubscribed (more ranks than cores), TCP on loopback only.
    static let options = ["--oversubscribe", "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo",
                          "--mca", "oob_tcp_if_include", "lo"]

    static var path: String? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Open MPI refuses root unless asked; CI runs as root.
    static var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        return env
    }

    static func requireInstalled() throws {
        guard path != nil else { throw XCTSkip("Open MPI's mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)") }
    }

    static func run(_ arguments: [String]) throws -> QuillBinary.Result {
        let job = try start(arguments)
        let stdout = job.standardOutputData()
        let stderr = job.waitForStandardError()
        return QuillBinary.Result(status: job.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: stderr)
    }

    static func start(_ arguments: [String]) throws -> Job {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = arguments
        process.environment = environment
        let job = Job(process: process)
        try process.run()
        job.startReading()
        return job
    }

    /// The process id of rank `rank` of the quill job writing to `outPath`, found through /proc.
    static func rankProcess(_ rank: Int, outPath: String) -> pid_t? {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name),
                  let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let words = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard words.first?.hasSuffix("quill") == true, words.contains(outPath) else { continue }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }

    /// A started `mpirun` whose output is read as it comes, so it never blocks on a full pipe.
    final class Job {
        let process: Process
        private let out = Pipe(), err = Pipe()
        private var outData = Data(), errData = Data()
        private let group = DispatchGroup()

        init(process: Process) {
            self.process = process
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
        }

        func startReading() {
            group.enter()
            group.enter()
            DispatchQueue.global().async { self.outData = self.out.fileHandleForReading.readDataToEndOfFile(); self.group.leave() }
            DispatchQueue.global().async { self.errData = self.err.fileHandleForReading.readDataToEndOfFile(); self.group.leave() }
        }

        var terminationStatus: Int32 { process.terminationStatus }

        func waitUntilExit() {
            group.wait()
            process.waitUntilExit()
        }

        func standardOutputData() -> Data {
            waitUntilExit()
            return outData
        }

        func waitForStandardError() -> String {
            waitUntilExit()
            return String(decoding: errData, as: UTF8.self)
        }
    }
}

/// Reads tensors and the step of a model folder's training state, without the library's types.
enum StateTensor {
    private static func file(in folder: URL) throws -> (header: [String: Any], data: Data) {
        let bytes = try Data(contentsOf: folder.appendingPathComponent("training-state.safetensors"))
        let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + length))) as! [String: Any]
        return (header, bytes.subdata(in: (8 + length)..<bytes.count))
    }

    /// The raw bytes of tensor `name`.
    static func bytes(_ name: String, in folder: URL) throws -> Data {
        let (header, data) = try file(in: folder)
        let entry = header[name] as! [String: Any]
        let offsets = entry["data_offsets"] as! [Int]
        return data.subdata(in: offsets[0]..<offsets[1])
    }

    /// The step the training state was saved at.
    static func step(in folder: URL) throws -> Int {
        let (header, _) = try file(in: folder)
        let metadata = header["__metadata__"] as! [String: String]
        let checkpoint = try JSONSerialization.jsonObject(with: Data(metadata["checkpoint"]!.utf8)) as! [String: Any]
        return checkpoint["step"] as! Int
    }
}

/// A small seeded generator (SplitMix64) for random kill moments that repeat run to run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
