import Foundation
import Quill
import XCTest

/// `quill train` with every regularizer on: exact resume, and refusals of values out of range.
final class RegularizationCommandTests: XCTestCase {
    /// A tiny model, with dropout.
    static let tiny = ["--embed", "8", "--hidden", "24", "--layers", "2", "--batch", "4", "--seq", "16",
                       "--warmup", "5", "--doc-separator", "%", "--sample-length", "0", "--dropout", "0.2"]
    /// It with locked dropout, input dropout, DropConnect, embedding dropout, weight decay and the
    /// weights' moving average all on.
    let regularized = tiny + ["--dropout-masks", "window", "--input-dropout", "0.2", "--weight-drop", "0.3",
                              "--embed-dropout", "0.1", "--weight-decay", "0.05", "--ema", "0.99"]

    private func train(_ corpus: String, _ out: URL, _ extra: [String]) throws -> QuillBinary.Result {
        let result = try QuillBinary.run(["train", corpus, "--out", out.path] + regularized + extra)
        XCTAssertFalse(result.crashed, result.stderr)
        return result
    }

    private func bytes(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    func testStoppingAndResumingWithEveryRegularizerOnGivesBitIdenticalFiles() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 20_000)
        let straight = dir.appendingPathComponent("straight"), split = dir.appendingPathComponent("split")
        let plain = dir.appendingPathComponent("plain")

        let a = try train(corpus, straight, ["--steps", "40", "--eval-every", "10"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let b1 = try train(corpus, split, ["--steps", "20", "--decay-steps", "40", "--eval-every", "10"])
        XCTAssertEqual(b1.status, 0, b1.stderr)
        XCTAssertNotEqual(try bytes(ModelFolder(split).state), try bytes(ModelFolder(straight).state))
        let b2 = try train(corpus, split, ["--resume", "--steps", "40", "--eval-every", "10"])
        XCTAssertEqual(b2.status, 0, b2.stderr)
        XCTAssertEqual(try bytes(ModelFolder(split).model), try bytes(ModelFolder(straight).model))
        XCTAssertEqual(try bytes(ModelFolder(split).state), try bytes(ModelFolder(straight).state))

        // The regularizers did something: without them the same run ends with other weights.
        let c = try QuillBinary.run(["train", corpus, "--out", plain.path, "--steps", "40", "--eval-every", "10"]
            + Self.tiny)
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertNotEqual(try bytes(ModelFolder(plain).model), try bytes(ModelFolder(straight).model))

        // A resumed run keeps the saved regularizers: another value is refused with a sentence naming the flag.
        let changed = try train(corpus, split, ["--resume", "--steps", "50", "--weight-drop", "0.5"])
        XCTAssertNotEqual(changed.status, 0)
        XCTAssertTrue(changed.stderr.contains("--weight-drop"), changed.stderr)
    }

    func testOutOfRangeRegularizersAreOneSentenceAndWriteNothing() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 2_000)
        for (flag, value) in [("--weight-drop", "1"), ("--input-dropout", "-0.1"), ("--embed-dropout", "nan"),
                              ("--dropout-masks", "lane"), ("--ema", "1")] {
            let out = dir.appendingPathComponent("bad\(flag)")
            let result = try QuillBinary.run(["train", corpus, "--out", out.path, "--steps", "1", flag, value])
            XCTAssertFalse(result.crashed, result.stderr)
            XCTAssertNotEqual(result.status, 0, "\(flag) \(value)")
            let first = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
            XCTAssertTrue(first.hasPrefix("Error: ") && first.contains(flag), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        }
    }
}
