import Foundation
import Quill
import XCTest

/// Fault matrix, family 4: ordinary I/O errors on standard output and standard error.
///
/// Every subcommand runs with standard output closed, at `/dev/full`, and on a pipe whose reader
/// has gone (SIGPIPE at its default; Quill ignores it and sees EPIPE). A closed or full output is one sentence
/// on standard error and exit status 1, with nothing written or left behind; a reader that went
/// away ends the command quietly with status 0.
final class FaultMatrixIOTests: XCTestCase {
    private var model: String { TrainedModel.shared.model }

    /// The commands of the matrix: name and arguments. Each writes to standard output on success.
    private func commands(in folder: URL) -> [(String, [String])] {
        let corpus = TestCorpus.file(in: folder, characters: 600, name: "text.txt")
        return [
            ("sample", ["sample", model, "--length", "300"]),
            ("eval", ["eval", model, corpus, "--doc-separator", "%"]),
            ("eval --json", ["eval", model, corpus, "--json"]),
            ("inspect", ["inspect", model]),
            ("inspect --json", ["inspect", model, "--json"]),
            ("bench tokenize", ["bench", "tokenize", corpus]),
            ("--help", ["--help"]),
            ("sample --help", ["sample", "--help"]),
            ("--version", ["--version"]),
        ]
    }

    private func run(_ arguments: [String], stdout: RawQuill.Stream, stderr: RawQuill.Stream = .captured) -> RawQuill.Result {
        RawQuill.run(arguments.map(RawQuill.arg), stdout: stdout, stderr: stderr)
    }

    /// Runs every command of the matrix with standard output as `stdout` and asserts the refusal.
    private func assertEveryCommandRefused(stdout: RawQuill.Stream, saying phrase: String,
                                           file: StaticString = #filePath, line: UInt = #line) {
        let folder = TestCorpus.folder("fault-io")
        for (name, arguments) in commands(in: folder) {
            let before = FileTreeSnapshot.take(folder)
            let result = run(arguments, stdout: stdout)
            assertRefused(result.asResult, status: 1, saying: phrase, file: file, line: line)
            XCTAssertFalse(result.timedOut, name, file: file, line: line)
            assertUnchanged(folder, since: before, file: file, line: line)
        }
    }

    func testEveryCommandWithStandardOutputClosedSaysSoAndExitsOne() throws {
        assertEveryCommandRefused(stdout: .closed, saying: "Cannot write to standard output because it is closed")
    }

    func testEveryCommandWithStandardOutputAtDevFullSaysSoAndExitsOne() throws {
        assertEveryCommandRefused(stdout: .full, saying: "Cannot write to standard output: No space left on device")
    }

    func testEveryCommandWhoseReaderWentAwayExitsQuietlyWithStatusZero() throws {
        let folder = TestCorpus.folder("fault-io")
        for (name, arguments) in commands(in: folder) {
            let before = FileTreeSnapshot.take(folder)
            let result = run(arguments, stdout: .brokenPipe)
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            XCTAssertEqual(result.stderr, "", "\(name) is not quiet")
            assertUnchanged(folder, since: before)
        }
    }

    func testSampleIntoHeadStopsQuietlyWhenHeadHasEnough() throws {
        // As a user types it: `quill sample ... | head -c 10`, SIGPIPE at its default.
        let folder = TestCorpus.folder("fault-io")
        let script = "trap - PIPE; { \"$0\" sample \"$1\" --length 100000 --ignore-eod 2>\"$2/err\"; echo $? >\"$2/status\"; } | head -c 10"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script, QuillBinary.url.path, model, folder.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let head = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(head.count, 10)
        let status = try String(contentsOf: folder.appendingPathComponent("status"), encoding: .utf8)
        XCTAssertEqual(status.trimmingCharacters(in: .whitespacesAndNewlines), "0")
        XCTAssertEqual(try String(contentsOf: folder.appendingPathComponent("err"), encoding: .utf8), "")
    }

    func testTrainWithOutputClosedOrFullIsRefusedAndLeavesNoFolder() throws {
        let folder = TestCorpus.folder("fault-io-train")
        let corpus = TestCorpus.file(in: folder, characters: 4_000)
        for mode in [RawQuill.Stream.closed, .full] {
            let out = folder.appendingPathComponent("model")
            let before = FileTreeSnapshot.take(folder)
            let result = run(["train", corpus, "--out", out.path, "--doc-separator", "%", "--embed", "8", "--hidden", "16",
                              "--layers", "1", "--batch", "4", "--seq", "16", "--steps", "5", "--sample-length", "0"],
                             stdout: mode)
            assertRefused(result.asResult, status: 1, saying: "Cannot write to standard output")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(mode): the model folder was left behind")
            assertUnchanged(folder, since: before)
        }
    }

    func testTrainWhoseReaderWentAwayKeepsTrainingAndSavesTheModel() throws {
        let folder = TestCorpus.folder("fault-io-train")
        let corpus = TestCorpus.file(in: folder, characters: 4_000)
        let out = folder.appendingPathComponent("model")
        let result = run(["train", corpus, "--out", out.path, "--doc-separator", "%", "--embed", "8", "--hidden", "16",
                          "--layers", "1", "--batch", "4", "--seq", "16", "--steps", "5", "--sample-length", "20"],
                         stdout: .brokenPipe)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        XCTAssertNoThrow(try ModelFile.read(from: out.appendingPathComponent("model.safetensors")))
    }

    func testAnErrorWithStandardErrorClosedOrFullStillExitsNonZeroWithoutACrash() throws {
        for mode in [RawQuill.Stream.closed, .full, .brokenPipe] {
            let result = run(["inspect", "/nonexistent/model.safetensors"], stdout: .captured, stderr: mode)
            XCTAssertEqual(result.status, 1, "\(mode)")
            XCTAssertEqual(result.stdout, Data())
        }
    }

    func testAWarningThatCannotBeWrittenTurnsSuccessIntoExitOne() throws {
        // The prompt holds a character outside the vocabulary, so sample warns on standard error.
        let result = run(["sample", model, "--prompt", "The king\u{2603}", "--unknown", "skip", "--length", "20"],
                         stdout: .captured, stderr: .full)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(String(decoding: result.stdout, as: UTF8.self).hasPrefix("The king"))
    }

    func testUsageErrorsAndHelpStillWorkWithOrdinaryStreams() throws {
        let usage = try QuillBinary.run(["sample"])
        assertRefused(usage, status: 64, saying: "Missing expected argument")
        let help = try QuillBinary.run(["sample", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE: quill sample"), help.stdout)
        XCTAssertEqual(help.stderr, "")
    }

    func testNoSourceFileUsesTryBangOrFoundationsCrashingWrite() throws {
        // `try!` turns an ordinary error (a full disk, a closed stream, a bad file) into a crash;
        // so does Foundation's `FileHandle.write(_:)`, which holds a `try!` (use StandardStream).
        var sources = URL(fileURLWithPath: #filePath)
        while sources.pathComponents.count > 1, !FileManager.default.fileExists(atPath: sources.appendingPathComponent("Sources").path) {
            sources.deleteLastPathComponent()
        }
        sources.appendPathComponent("Sources")
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        XCTAssertGreaterThan(files.count, 50, "the sources were not found under \(sources.path)")
        var offenders: [String] = []
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where ["try!", "standardOutput.write(", "standardError.write("].contains(where: line.contains)
                && !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                offenders.append("\(file):\(number + 1)")
            }
        }
        XCTAssertEqual(offenders, [], "try! or FileHandle.write in Sources/")
    }
}
