import Foundation
import Quill
import XCTest

/// End-to-end runs of `quill train`: exact resume, crash safety, and bad input.
final class TrainCommandTests: XCTestCase {
    /// A tiny model that trains in well under a second per hundred steps, with dropout so the
    /// random generator's state matters for an exact resume.
    let tiny = ["--embed", "8", "--hidden", "24", "--layers", "2", "--dropout", "0.2", "--batch", "4", "--seq", "16",
                "--warmup", "5", "--doc-separator", "%", "--sample-length", "0"]

    private func train(_ corpus: String, _ out: URL, _ extra: [String]) throws -> QuillBinary.Result {
        let result = try QuillBinary.run(["train", corpus, "--out", out.path] + tiny + extra)
        XCTAssertFalse(result.crashed, result.stderr)
        return result
    }

    private func bytes(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    func testStoppingAndResumingGivesBitIdenticalFiles() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 20_000)
        let straight = dir.appendingPathComponent("straight"), split = dir.appendingPathComponent("split")

        let a = try train(corpus, straight, ["--steps", "60", "--eval-every", "10"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let b1 = try train(corpus, split, ["--steps", "30", "--decay-steps", "60", "--eval-every", "10"])
        XCTAssertEqual(b1.status, 0, b1.stderr)
        // Half way, the files differ from the finished run's.
        XCTAssertNotEqual(try bytes(ModelFolder(split).state), try bytes(ModelFolder(straight).state))
        let b2 = try train(corpus, split, ["--resume", "--steps", "60", "--eval-every", "10"])
        XCTAssertEqual(b2.status, 0, b2.stderr)

        XCTAssertEqual(try bytes(ModelFolder(split).model), try bytes(ModelFolder(straight).model))
        XCTAssertEqual(try bytes(ModelFolder(split).state), try bytes(ModelFolder(straight).state))
        let model = try ModelFile.read(from: ModelFolder(split).model)
        XCTAssertEqual(model.step, 60)
    }

    func testInterruptAtARandomStepThenResumeIsBitIdentical() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 20_000)
        let straight = dir.appendingPathComponent("straight"), interrupted = dir.appendingPathComponent("interrupted")
        let steps = ["--steps", "1500", "--eval-every", "500"]
        XCTAssertEqual(try train(corpus, straight, steps).status, 0)

        // Start the same run, interrupt it at a random moment once it is training.
        var random = SystemRandomNumberGenerator()
        let process = Process()
        process.executableURL = QuillBinary.url
        process.arguments = ["train", corpus, "--out", interrupted.path] + tiny + steps
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        let metrics = ModelFolder(interrupted).metrics
        let deadline = Date().addingTimeInterval(60)
        while (try? Data(contentsOf: metrics))?.isEmpty ?? true, Date() < deadline { usleep(5_000) }
        usleep(UInt32.random(in: 0...300_000, using: &random))
        process.interrupt()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // Interrupted is not finished: 128 + SIGINT, so `quill train ... && next-step` stops here.
        XCTAssertEqual(process.terminationReason, .exit, printed)
        XCTAssertEqual(process.terminationStatus, 128 + SIGINT, printed)
        XCTAssertTrue(printed.contains("interrupted by signal"), "the run ended before the signal: \(printed)")
        XCTAssertTrue(printed.contains("--resume"), printed)
        let stoppedAt = try ModelFile.read(from: ModelFolder(interrupted).model)
        XCTAssertLessThan(stoppedAt.step, 1500)

        let resumed = try train(corpus, interrupted, ["--resume"] + steps)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try bytes(ModelFolder(interrupted).model), try bytes(ModelFolder(straight).model))
        XCTAssertEqual(try bytes(ModelFolder(interrupted).state), try bytes(ModelFolder(straight).state))
    }

    func testKilledAtRandomMomentsAlwaysLeavesAModelThatLoadsAndAStateThatResumes() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 30_000)
        let out = dir.appendingPathComponent("model")
        // A checkpoint after every step of a model that is cheap to step but large to write,
        // so many kills land inside a checkpoint write.
        let args = ["train", corpus, "--out", out.path] + tiny
            + ["--hidden", "384", "--layers", "1", "--batch", "1", "--seq", "2", "--eval-every", "1", "--val-frac", "0.01"]
        // The first checkpoint; every trial then resumes from whatever the last kill left.
        let first = try QuillBinary.run(args + ["--steps", "1"])
        XCTAssertEqual(first.status, 0, first.stderr)
        var random = SystemRandomNumberGenerator()
        var duringWrite = 0
        var trials = 0
        while trials < 20 || (duringWrite == 0 && trials < 60) {
            trials += 1
            let process = Process()
            process.executableURL = QuillBinary.url
            process.arguments = args + ["--resume", "--steps", "100000"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            if trials % 2 == 1 {
                // At a random moment.
                usleep(UInt32.random(in: 150_000...600_000, using: &random))
            } else {
                // As soon as a checkpoint's temporary file appears, after a random number of checkpoints.
                var seen = 0
                let wanted = Int.random(in: 1...4, using: &random)
                let deadline = Date().addingTimeInterval(20)
                var last = ""
                while Date() < deadline {
                    let temporary = (try? FileManager.default.contentsOfDirectory(atPath: out.path))?.first { $0.contains(".tmp-") }
                    if let temporary, temporary != last { seen += 1; last = temporary }
                    if temporary == nil { last = "" }
                    if seen >= wanted { break }
                }
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.contains(".tmp-") }
            if !leftovers.isEmpty { duringWrite += 1 }

            // The model loads and the state resumes, whatever moment the kill hit.
            let model = try ModelFile.read(from: ModelFolder(out).model)
            XCTAssertTrue(model.weights.allFinite())
            let check = try QuillBinary.run(args + ["--resume", "--steps", "1", "--eval-every", "1"])
            XCTAssertEqual(check.status, 0, "trial \(trials): \(check.stderr)")
        }
        print("SIGKILL trials: \(trials), of which \(duringWrite) landed during a checkpoint write")
        XCTAssertGreaterThan(duringWrite, 0, "no kill landed inside a checkpoint write")
    }

    func testBadInputIsASentenceAndLeavesNothingWritten() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 8_000)
        let short = dir.appendingPathComponent("short.txt")
        try "Too short to train on.\n".write(to: short, atomically: true, encoding: .utf8)
        let cases: [(String, [String], String)] = [
            ("short corpus", ["train", short.path], "use a larger corpus"),
            ("batch 0", ["train", corpus, "--batch", "0"], "--batch"),
            ("seq 0", ["train", corpus, "--seq", "0"], "--seq"),
            ("hidden 0", ["train", corpus, "--hidden", "0"], "--hidden"),
            ("layers 0", ["train", corpus, "--layers", "0"], "--layers"),
            ("absurd hidden", ["train", corpus, "--hidden", "1000000"], "--hidden"),
            ("absurd batch", ["train", corpus, "--batch", "100000000"], "--batch"),
            ("val-frac too large", ["train", corpus, "--val-frac", "0.9"], "--val-frac"),
            ("empty validation split", ["train", corpus, "--val-frac", "0.00001"], "validat"),
            ("resume with no state", ["train", corpus, "--resume"], "no training state"),
            ("bad time", ["train", corpus, "--time", "soon"], "--time"),
            ("missing corpus", ["train", dir.appendingPathComponent("nope.txt").path], "nope.txt"),
        ]
        for (name, arguments, expected) in cases {
            let out = dir.appendingPathComponent("out-\(name.replacingOccurrences(of: " ", with: "-"))")
            let result = try QuillBinary.run(arguments + ["--out", out.path])
            XCTAssertNotEqual(result.status, 0, name)
            XCTAssertFalse(result.crashed, "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.lowercased().contains(expected.lowercased()), "\(name): \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(name) left a model folder behind")
        }

        // An output path that is a file, not a folder.
        let file = dir.appendingPathComponent("afile")
        try Data("x".utf8).write(to: file)
        let notFolder = try QuillBinary.run(["train", corpus, "--out", file.path])
        XCTAssertNotEqual(notFolder.status, 0)
        XCTAssertTrue(notFolder.stderr.contains("is a file"), notFolder.stderr)
    }

    func testResumeRefusesAnotherCorpusOrAnotherModel() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        let other = TestCorpus.file(in: dir, characters: 14_000, name: "other.txt")
        let out = dir.appendingPathComponent("model")
        XCTAssertEqual(try train(corpus, out, ["--steps", "5", "--eval-every", "5"]).status, 0)
        let before = try bytes(ModelFolder(out).state)

        let otherCorpus = try train(other, out, ["--resume", "--steps", "10"])
        XCTAssertNotEqual(otherCorpus.status, 0)
        XCTAssertTrue(otherCorpus.stderr.contains("different corpus"), otherCorpus.stderr)

        let otherModel = try QuillBinary.run(["train", corpus, "--out", out.path, "--resume", "--steps", "10", "--hidden", "32",
                                              "--doc-separator", "%"])
        XCTAssertNotEqual(otherModel.status, 0)
        XCTAssertTrue(otherModel.stderr.contains("--hidden"), otherModel.stderr)

        let again = try train(corpus, out, ["--steps", "5"])
        XCTAssertNotEqual(again.status, 0, "a second run over an existing one must ask for --resume or --force")
        XCTAssertTrue(again.stderr.contains("--resume"), again.stderr)
        XCTAssertEqual(try bytes(ModelFolder(out).state), before, "a refused run changed the saved state")
    }

    func testEpochAndTimeLimitsAndAValidationFile() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 6_000)
        let held = TestCorpus.file(in: dir, characters: 1_500, name: "held.txt")

        // One epoch: every window of the 4 lanes once, then the epoch limit stops the run.
        let epoch = try train(corpus, dir.appendingPathComponent("epoch"), ["--epochs", "1", "--eval-every", "1000"])
        XCTAssertEqual(epoch.status, 0, epoch.stderr)
        XCTAssertTrue(epoch.stdout.contains("reached the epoch limit"), epoch.stdout)
        let steps = try ModelFile.read(from: ModelFolder(dir.appendingPathComponent("epoch")).model).step
        let encodedTrainingTokens = 6_000 - 6_000 / 10
        XCTAssertEqual(Double(steps), Double(encodedTrainingTokens / 4 / 16), accuracy: 3, "steps of one epoch")

        // A wall-clock limit.
        let timed = try train(corpus, dir.appendingPathComponent("timed"), ["--time", "1s", "--eval-every", "100000"])
        XCTAssertEqual(timed.status, 0, timed.stderr)
        XCTAssertTrue(timed.stdout.contains("reached the time limit"), timed.stdout)

        // --val: the whole corpus trains, the other file validates.
        let validated = try train(corpus, dir.appendingPathComponent("val"), ["--steps", "10", "--val", held, "--eval-every", "10"])
        XCTAssertEqual(validated.status, 0, validated.stderr)
        XCTAssertTrue(validated.stdout.contains("to validate"), validated.stdout)
        let model = try ModelFile.read(from: ModelFolder(dir.appendingPathComponent("val")).model)
        let loss = try XCTUnwrap(Double(try XCTUnwrap(model.info["validation_nats_per_char"])))
        // The validation loss recorded is the one of the held-out file, scored again here.
        let tokens = try CorpusEncoder.encode(CorpusSource(paths: [URL(fileURLWithPath: held)], documents: .separatorLine("%")),
                                              options: model.textOptions, vocabulary: model.vocabulary, unknown: .skip).tokens
        let again = Evaluator(model: LanguageModel(weights: model.weights), batch: 32, seq: 128, precision: .bfloat16).evaluate(tokens)
        XCTAssertEqual(again.natsPerCharacter, loss, accuracy: 1e-5)
    }
}
