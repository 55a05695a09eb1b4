import Foundation
@testable import Quill
import XCTest

/// End-to-end runs of `quill prepare`, and of `train` and `eval` on its folders.
final class PrepareCommandTests: XCTestCase {
    let tiny = ["--embed", "8", "--hidden", "24", "--layers", "2", "--dropout", "0.2", "--batch", "4", "--seq", "16",
                "--warmup", "5", "--sample-length", "0"]

    private func run(_ arguments: [String]) throws -> QuillBinary.Result {
        let result = try QuillBinary.run(arguments)
        XCTAssertFalse(result.crashed, result.stderr)
        return result
    }

    /// The error sentence of a failed run: one line on stderr after `Error: `.
    private func sentence(_ result: QuillBinary.Result, file: StaticString = #filePath, line: UInt = #line) -> String {
        XCTAssertNotEqual(result.status, 0, file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr, file: file, line: line)
        return String(lines.first ?? "")
    }

    func testTrainingOnAPreparedFolderGivesTheWeightsOfTrainingOnTheText() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 20_000)
        let prepared = dir.appendingPathComponent("prepared")
        let prepare = try run(["prepare", corpus, "--doc-separator", "%", "--out", prepared.path, "--shard-tokens", "1000"])
        XCTAssertEqual(prepare.status, 0, prepare.stderr)
        XCTAssertTrue(prepare.stdout.contains("in 20 shards of 2-byte ids"), prepare.stdout)

        let fromText = dir.appendingPathComponent("text"), fromShards = dir.appendingPathComponent("shards")
        let a = try run(["train", corpus, "--doc-separator", "%", "--out", fromText.path, "--steps", "40", "--eval-every", "20"] + tiny)
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try run(["train", prepared.path, "--out", fromShards.path, "--steps", "40", "--eval-every", "20"] + tiny)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("prepared in 20 shards"), b.stdout)
        let textModel = try ModelFile.read(from: ModelFolder(fromText).model)
        let shardModel = try ModelFile.read(from: ModelFolder(fromShards).model)
        XCTAssertEqual(shardModel.step, 40)
        XCTAssertTrue(shardModel.weights.elements.elementsEqual(textModel.weights.elements), "the weights differ")
        XCTAssertEqual(shardModel.vocabulary, textModel.vocabulary)
        XCTAssertEqual(shardModel.info["validation_nats_per_char"], textModel.info["validation_nats_per_char"])

        // Resuming the run begun on the text from the prepared folder continues it exactly.
        let resumed = dir.appendingPathComponent("resumed")
        XCTAssertEqual(try run(["train", corpus, "--doc-separator", "%", "--out", resumed.path, "--steps", "20",
                                "--decay-steps", "40", "--eval-every", "20"] + tiny).status, 0)
        let c = try run(["train", prepared.path, "--out", resumed.path, "--resume", "--steps", "40", "--eval-every", "20",
                         "--sample-length", "0"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let resumedModel = try ModelFile.read(from: ModelFolder(resumed).model)
        XCTAssertTrue(resumedModel.weights.elements.elementsEqual(textModel.weights.elements), "the resumed run's weights differ")
    }

    func testEvalOfAPreparedFolderScoresItsValidationSplit() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        let prepared = dir.appendingPathComponent("prepared")
        XCTAssertEqual(try run(["prepare", corpus, "--doc-separator", "%", "--out", prepared.path, "--val-frac", "0.2"]).status, 0)
        let model = dir.appendingPathComponent("model")
        XCTAssertEqual(try run(["train", prepared.path, "--out", model.path, "--steps", "10", "--eval-every", "10"] + tiny).status, 0)

        let result = try run(["eval", model.path, prepared.path, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        // The reference: the same split of the text in memory, scored by the library.
        let encoded = try CorpusEncoder.encode(CorpusSource(paths: [URL(fileURLWithPath: corpus)], documents: .separatorLine("%")),
                                               options: TextOptions())
        let split = try TrainingSplit.split(tokens: encoded.tokens, validationFraction: 0.2)
        let file = try ModelFile.read(from: ModelFolder(model).model)
        let expected = Evaluator(model: LanguageModel(weights: file.weights), batch: 32).evaluate(split.validation)
        XCTAssertEqual(json["characters"] as? Int, expected.count)
        XCTAssertEqual(try XCTUnwrap(json["nats_per_char"] as? Double), expected.natsPerCharacter, accuracy: 1e-12)
        XCTAssertEqual(json["documents"] as? Int, split.validation.filter { $0 == 0 }.count - 1)
        XCTAssertEqual(json["unknown_characters"] as? Int, 0)

        // A model of other text options cannot read the folder's ids.
        let folded = dir.appendingPathComponent("folded")
        XCTAssertEqual(try run(["prepare", corpus, "--case-fold", "--out", folded.path]).status, 0)
        let refused = sentence(try run(["eval", model.path, folded.path]))
        XCTAssertTrue(refused.contains("was prepared with NFC+casefold"), refused)
    }

    func testADamagedShardIsRefusedBeforeTrainingWithASentence() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 8_000)
        let prepared = dir.appendingPathComponent("prepared")
        XCTAssertEqual(try run(["prepare", corpus, "--out", prepared.path, "--shard-tokens", "4096"]).status, 0)
        let shard = prepared.appendingPathComponent("shard-00001.bin")
        var bytes = [UInt8](try Data(contentsOf: shard))
        bytes[100] ^= 0x20
        try Data(bytes).write(to: shard)
        let model = dir.appendingPathComponent("model")
        let message = sentence(try run(["train", prepared.path, "--out", model.path, "--steps", "5"] + tiny))
        XCTAssertTrue(message.hasPrefix("Error: The shard \(shard.path) is damaged: its CRC-32C is "), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: model.path), "a model folder was left behind")
    }

    func testFlagsThatAPreparedFolderFixedAreRefused() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 8_000)
        let prepared = dir.appendingPathComponent("prepared")
        XCTAssertEqual(try run(["prepare", corpus, "--out", prepared.path]).status, 0)
        let out = ["--out", dir.appendingPathComponent("m").path, "--steps", "5"]
        let cases: [([String], String)] = [
            (["--val", corpus], "--val cannot be used with a prepared corpus"),
            (["--val-frac", "0.2"], "--val-frac 0.2 differs from the split of 0.1"),
            (["--doc-separator", "%"], "its documents were cut when"),
            (["--normalization", "nfkc"], "NFKC was asked but"),
        ]
        for (flags, expected) in cases {
            let message = sentence(try run(["train", prepared.path] + out + flags))
            XCTAssertTrue(message.contains(expected), message)
        }
        let twice = sentence(try run(["train", prepared.path, corpus] + out))
        XCTAssertTrue(twice.contains("is trained on alone"), twice)
        // Preparing over it again needs --force; over a folder of other files, never.
        let again = sentence(try run(["prepare", corpus, "--out", prepared.path]))
        XCTAssertTrue(again.contains("already holds a prepared corpus; add --force"), again)
        XCTAssertEqual(try run(["prepare", corpus, "--out", prepared.path, "--force", "--val-frac", "0.2"]).status, 0)
        XCTAssertEqual(try PreparedCorpus(folder: prepared).manifest.validation.fraction, 0.2)
        let other = sentence(try run(["prepare", corpus, "--out", dir.path, "--force"]))
        XCTAssertTrue(other.contains("already exists and is not a prepared corpus"), other)
        // A bad value is a usage error, with the usage after the sentence.
        let badFraction = try run(["prepare", corpus, "--out", dir.appendingPathComponent("x").path, "--val-frac", "0.9"])
        XCTAssertNotEqual(badFraction.status, 0)
        XCTAssertTrue(badFraction.stderr.hasPrefix("Error: --val-frac must be above 0 and at most 0.5, not 0.9; try 0.1.\n"), badFraction.stderr)
    }

    func testHelpListsPrepareAndItsSplitFlags() throws {
        let top = try run(["--help"])
        XCTAssertTrue(top.stdout.contains("prepare"), top.stdout)
        let help = try run(["prepare", "--help"])
        XCTAssertEqual(help.status, 0)
        for flag in ["--out", "--val-frac", "--val-max", "--shard-tokens", "--force", "--doc-separator", "--normalization"] {
            XCTAssertTrue(help.stdout.contains(flag), "prepare --help lacks \(flag)")
        }
    }

    /// A `prepare` of a named pipe, stopped between its passes: pass 1 has read the text and made the
    /// temporary folder, and pass 2 waits for the pipe to be opened again.
    private struct PipedPrepare {
        let dir = TestCorpus.folder()
        let text = Data(TestCorpus.text(characters: 4_000).utf8)
        let process = Process()
        let errors = Pipe()
        var pipe: URL { dir.appendingPathComponent("corpus.fifo") }
        var out: URL { dir.appendingPathComponent("prepared") }

        init(_ extra: [String] = []) throws {
            XCTAssertEqual(mkfifo(pipe.path, 0o600), 0)
            process.executableURL = QuillBinary.url
            process.arguments = ["prepare", pipe.path, "--out", out.path] + extra
            process.standardOutput = Pipe()
            process.standardError = errors
            try process.run()
            try feed()  // waits for pass 1 to open the pipe
            let deadline = Date().addingTimeInterval(60)
            while temporary() == nil, process.isRunning, Date() < deadline { usleep(2_000) }
        }

        /// Writes the text through the pipe once the process opens it.
        func feed() throws {
            let writer = try FileHandle(forWritingTo: pipe)
            try? writer.write(contentsOf: text)
            try writer.close()
        }

        /// The temporary folder beside the output, if there is one.
        func temporary() -> String? {
            try? FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasPrefix(".prepared.prepare-") }
        }
    }

    func testCtrlCDuringPrepareRemovesEverythingItWrote() throws {
        // The signal arrives while pass 2 waits for text, and is honoured at the first chunk it reads.
        let piped = try PipedPrepare()
        XCTAssertNotNil(piped.temporary(), "pass 1 never finished")
        piped.process.interrupt()
        try piped.feed()
        piped.process.waitUntilExit()
        let stderr = String(decoding: piped.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(piped.process.terminationStatus, 1, stderr)
        XCTAssertEqual(stderr, "Error: Preparing was interrupted; nothing was written in place of the output folder, so run the command again.\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: piped.dir.path), ["corpus.fifo"])
    }

    func testAPrepareKilledMidwayLeavesNoFolderThatLooksPrepared() throws {
        // Killed once pass 1 is done and the temporary folder exists, while pass 2 waits for text.
        let piped = try PipedPrepare(["--shard-tokens", "500"])
        let (dir, text, out, process) = (piped.dir, piped.text, piped.out, piped.process)
        func temporary() -> String? { piped.temporary() }
        let leftover = try XCTUnwrap(temporary(), "pass 1 never finished")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)

        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        XCTAssertFalse(PreparedCorpus.isPrepared(dir.appendingPathComponent(leftover)))
        let train = sentence(try run(["train", out.path, "--steps", "1"]))
        XCTAssertTrue(train.contains("does not exist"), train)
        // The next run, on a plain file, prepares and removes what the killed one left.
        let file = dir.appendingPathComponent("corpus.txt")
        try text.write(to: file)
        XCTAssertEqual(try run(["prepare", file.path, "--out", out.path]).status, 0)
        XCTAssertTrue(PreparedCorpus.isPrepared(out))
        XCTAssertNil(temporary())
    }
}
