import Foundation
import Quill
import XCTest

/// Fault matrix, continuing and fine-tuning: each bad `--init-from`, `--keep` or `quill plot` is one
/// sentence and a non-zero exit, with nothing under the working folder changed.
final class FaultMatrixContinueTests: XCTestCase {
    func testBadFineTuningKeepAndPlotInputIsRefusedWithNothingChanged() throws {
        let dir = TestCorpus.folder("fault-continue")
        let corpus = TestCorpus.file(in: dir, characters: 12_000)
        let base = dir.appendingPathComponent("base")
        _ = try ContinueTrainingCommandTests.train(corpus, base, ["--warmup", "5", "--steps", "10", "--eval-every", "10"])
        let model = ModelFolder(base).model
        let bytes = try Data(contentsOf: model)
        let damaged = dir.appendingPathComponent("damaged.safetensors")
        try bytes.prefix(bytes.count - 100).write(to: damaged)
        let text = dir.appendingPathComponent("notes.txt")
        try Data("not a model\n".utf8).write(to: text)
        let foreign = dir.appendingPathComponent("foreign.safetensors")
        let header = Data(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.utf8)
        try (withUnsafeBytes(of: UInt64(header.count).littleEndian) { Data($0) } + header + Data(count: 4)).write(to: foreign)
        let empty = dir.appendingPathComponent("empty-folder")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("out").path
        let train = ["train", corpus, "--out", out] + ContinueTrainingCommandTests.tiny

        let cases: [(String, [String], String)] = [
            ("missing model", train + ["--init-from", dir.appendingPathComponent("nope.safetensors").path], "does not exist"),
            ("folder without a model", train + ["--init-from", empty.path], "holds no model.safetensors"),
            ("damaged model", train + ["--init-from", damaged.path], "damaged.safetensors"),
            ("not safetensors", train + ["--init-from", text.path], "notes.txt"),
            ("safetensors, not Quill", train + ["--init-from", foreign.path], "not a Quill model file"),
            ("with --resume", train + ["--init-from", base.path, "--resume"], "--init-from starts a new run from a model and --resume continues"),
            ("hidden contradicts", train + ["--init-from", base.path, "--hidden", "32"], "has --hidden 24 but 32 was asked"),
            ("layers contradict", train + ["--init-from", base.path, "--layers", "1"], "has --layers 2 but 1 was asked"),
            ("normalization contradicts", train + ["--init-from", base.path, "--normalization", "nfkc"], "reads NFC text but NFKC was asked"),
            ("extend without a model", train + ["--extend-vocabulary"], "add --init-from"),
            ("keep 0", train + ["--keep", "0"], "The value 0 for --keep is out of range"),
            ("keep negative", train + ["--keep", "-3"], "The value -3 for --keep is out of range"),
            ("plot without metrics", ["plot", empty.path, "--out", dir.appendingPathComponent("runs.svg").path], "holds no training metrics"),
            ("plot of a file", ["plot", text.path, "--out", dir.appendingPathComponent("runs.svg").path], "is not a folder"),
            ("plot into a folder", ["plot", base.path, "--out", empty.path], "is a folder"),
        ]
        for (name, arguments, phrase) in cases {
            let before = FileTreeSnapshot.take(dir)
            let result = try QuillBinary.run(arguments)
            assertRefused(result, saying: phrase)
            assertUnchanged(dir, since: before)
            XCTAssertFalse(result.stderr.isEmpty, name)
        }
    }
}
