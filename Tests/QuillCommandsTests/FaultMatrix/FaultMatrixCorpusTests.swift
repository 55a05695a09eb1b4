import Foundation
import Quill
import XCTest

/// Family 3 of the reliability issue, corpus part: pipes, FIFOs and devices are refused before
/// they are opened, so a FIFO with no writer never blocks and an endless one is never read.
final class FaultMatrixCorpusTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = TestCorpus.folder("quill-corpus")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// Runs `quill` bounded in time: a hang is a failure, not a stuck suite.
    private func bounded(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let run = try BackgroundRun(arguments)
        let (status, _) = run.finish(seconds: 30)
        return (status, run.stderr)
    }

    private func assertRefusedAsNotAFile(_ result: (status: Int32, stderr: String), file: StaticString = #filePath, line: UInt = #line) {
        assertRefused(QuillBinary.Result(status: result.status, stdout: "", stderr: result.stderr),
                      saying: "is not a regular file", file: file, line: line)
    }

    func testAFIFOWithNoWriterIsRefusedWithoutBlocking() throws {
        let fifo = dir.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let out = dir.appendingPathComponent("model")
        // A small model, to score the FIFO with.
        let configuration = ModelConfiguration(vocabularySize: 4, embeddingSize: 2, hiddenSize: 2, layers: 1, dropout: 0)
        let model = dir.appendingPathComponent("tiny.safetensors")
        try ModelFile(configuration: configuration, vocabulary: Vocabulary(scalars: "abc".unicodeScalars), textOptions: TextOptions(),
                      weights: ParameterBuffer(layout: ParameterLayout(configuration))).write(to: model)
        let before = FileTreeSnapshot.take(dir)
        assertRefusedAsNotAFile(try bounded(["train", fifo, "--out", out.path]))
        assertRefusedAsNotAFile(try bounded(["eval", model.path, fifo]))
        assertUnchanged(dir, since: before)
    }

    func testAnEndlessFIFOOrPipeOrDeviceIsNeverRead() throws {
        let fifo = dir.appendingPathComponent("endless").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        // `yes` feeding the FIFO for as long as anyone reads.
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "exec yes > '\(fifo)'"]
        try writer.run()
        defer { writer.terminate(); writer.waitUntilExit() }
        let corpus = TestCorpus.file(in: dir, characters: 8_000)
        let out = dir.appendingPathComponent("model")
        let before = FileTreeSnapshot.take(dir)
        assertRefusedAsNotAFile(try bounded(["train", fifo, "--out", out.path]))
        assertRefusedAsNotAFile(try bounded(["train", corpus, "--val", fifo, "--out", out.path]))
        assertRefusedAsNotAFile(try bounded(["train", "/dev/zero", "--out", out.path]))
        assertRefusedAsNotAFile(try bounded(["train", "/dev/urandom", "--out", out.path]))
        // Standard input as a pipe.
        let piped = try QuillBinary.run(["train", "/dev/stdin", "--out", out.path], stdin: Data("text\n".utf8))
        assertRefused(piped, saying: "is not a regular file")
        assertUnchanged(dir, since: before)
    }
}
