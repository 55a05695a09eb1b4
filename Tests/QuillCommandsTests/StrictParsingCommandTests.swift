import Foundation
import Quill
import XCTest

/// Parsing as a hostile user would try it, end to end through the binary: JSON Lines corpora read
/// by the strict reader, and a training state whose settings are not strict JSON.
final class StrictParsingCommandTests: XCTestCase {
    private func run(_ arguments: [String]) throws -> QuillBinary.Result {
        let result = try QuillBinary.run(arguments)
        XCTAssertFalse(result.crashed, result.stderr)
        return result
    }

    func testJSONLinesThatJSONSerializationAcceptedOrMisreportedAreSentencesNamingFileAndLine() throws {
        let dir = TestCorpus.folder()
        let cases: [(String, String)] = [
            (#"{"text": "x",}"#, "a trailing comma before '}'"),
            (#"{"id": "\ud800", "text": "x"}"#, "a lone surrogate escape"),
            (#"{"score": 1e999999, "text": "x"}"#, "the number 1e999999 is too large for a 64-bit float"),
        ]
        for (index, (line, reason)) in cases.enumerated() {
            let file = dir.appendingPathComponent("c\(index).jsonl")
            try Data(("{\"text\": \"fine\"}\n" + line + "\n").utf8).write(to: file)
            let out = dir.appendingPathComponent("model\(index)")
            let result = try run(["train", file.path, "--jsonl-field", "text", "--out", out.path, "--steps", "1"])
            XCTAssertEqual(result.status, 1, line)
            XCTAssertTrue(result.stderr.contains("Line 2 of \(file.path) is not valid JSON: \(reason)"), "\(line): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("is not a JSON object"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a refused corpus leaves no folder")
            let scored = try run(["bench", "tokenize", file.path, "--jsonl-field", "text"])
            XCTAssertEqual(scored.status, 1)
            XCTAssertTrue(scored.stderr.contains("Line 2 of \(file.path)"), scored.stderr)
        }
    }

    func testANegativeNumberIsCheckedAsAValueNeverReportedAsMissing() throws {
        let model = TrainedModel.shared.model
        let cases: [[String]] = [
            ["train", "x.txt", "--layers", "-1"], ["train", "x.txt", "--lr", "-0.5"], ["train", "x.txt", "--sample-length", "-1"],
            ["sample", model, "--temperature", "-1"], ["sample", model, "--length", "-5"], ["sample", model, "--top-k", "-3"],
            ["sample", model, "--top-p", "-0.5"], ["sample", model, "--samples", "-2"],
            ["eval", model, "x.txt", "--batch", "-4"], ["bench", "sample", "--seq", "-8"],
        ]
        for arguments in cases {
            let result = try run(arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertFalse(result.stderr.contains("Missing value"), "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(arguments[arguments.count - 1]), "the sentence shows the value: \(arguments): \(result.stderr)")
        }
    }

    func testATrainingStateWithLooseJSONSettingsIsRefused() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 4_000)
        let out = dir.appendingPathComponent("run")
        let tiny = ["--embed", "4", "--hidden", "8", "--layers", "1", "--batch", "2", "--seq", "8", "--doc-separator", "%",
                    "--sample-length", "0"]
        XCTAssertEqual(try run(["train", corpus, "--out", out.path, "--steps", "4"] + tiny).status, 0)
        let state = ModelFolder(out).state
        let file = try SafeTensorsFile(contentsOf: state)
        let settings = try XCTUnwrap(file.metadata["checkpoint"])
        XCTAssertTrue(settings.hasSuffix("}"))
        // The same settings with a trailing comma: JSONDecoder let this through; the strict reader does not.
        let loose = String(settings.dropLast()) + ",}"
        var metadata = file.metadata
        metadata["checkpoint"] = loose
        // With a fresh checksum, as a tool that knows the format would write it, so the settings reader is what refuses.
        metadata[DataChecksum.metadataKey] = nil
        let tensors = file.tensors.map { entry in
            SafeTensorsTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: file.data(of: entry))
        }
        try SafeTensors.encode(tensors, metadata: metadata, checksum: true).write(to: state)
        let before = try Data(contentsOf: state)
        let result = try run(["train", corpus, "--out", out.path, "--resume", "--steps", "8", "--doc-separator", "%", "--sample-length", "0"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("its settings are not valid JSON (a trailing comma before '}'"), result.stderr)
        XCTAssertEqual(try Data(contentsOf: state), before, "a refused resume touches nothing")
    }
}

/// `quill bench` finds its corpus from a flag, with the project's own recipe output as the default.
final class BenchCorpusCommandTests: XCTestCase {
    func testAMissingBenchCorpusIsASentenceNamingTheRecipe() throws {
        let dir = TestCorpus.folder()
        let process = Process()
        process.executableURL = QuillBinary.url
        process.arguments = ["bench", "eval", "--hidden", "8"]
        process.currentDirectoryURL = dir
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertTrue(stderr.contains("The benchmark corpus corpora/data/tinyshakespeare.txt does not exist; run corpora/tinyshakespeare.sh"), stderr)

        let given = try QuillBinary.run(["bench", "sample", "--corpus", dir.appendingPathComponent("nope.txt").path])
        XCTAssertEqual(given.status, 1)
        XCTAssertTrue(given.stderr.contains("nope.txt does not exist; check the path given to --corpus."), given.stderr)
    }

    func testBenchSizesAreCheckedAgainstTheSettingsTable() throws {
        let result = try QuillBinary.run(["bench", "throughput", "--hidden", "-5"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("The value -5 for --hidden is out of range; use \(TrainingSettings.hiddenSize.rangeText)."), result.stderr)
    }
}
