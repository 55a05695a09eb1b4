import Foundation
import Quill
import XCTest

/// `quill train --init-from`: a trained model tuned on another corpus, its vocabulary kept or extended.
final class FineTuneCommandTests: XCTestCase {
    /// Text of other words than `TestCorpus`'s, written with only letters its vocabulary holds.
    static func otherText(characters: Int) -> String {
        let words = ["dear", "sing", "ring", "gold", "hunt", "wood", "fire", "home", "storm", "moon", "rose", "word", "dove",
                     "lion", "horse", "free"]
        var state: UInt64 = 5
        var out = ""
        var line = 0
        while out.count < characters {
            var sentence: [String] = []
            for _ in 0..<(2 + Int(state % 5)) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                sentence.append(words[Int(state >> 33) % words.count])
            }
            out += sentence.joined(separator: " ") + (state % 4 == 0 ? "!\n" : ".\n")
            line += 1
            if line % 10 == 0 { out += "%\n" }
        }
        return out
    }

    func testAModelTunedOnAnotherCorpusBeatsTrainingFromScratchAtTheSameStepCount() throws {
        let dir = TestCorpus.folder()
        let first = TestCorpus.file(in: dir, characters: 40_000)
        let second = dir.appendingPathComponent("second.txt")
        try Self.otherText(characters: 20_000).write(to: second, atomically: true, encoding: .utf8)
        let base = dir.appendingPathComponent("base"), tuned = dir.appendingPathComponent("tuned"), scratch = dir.appendingPathComponent("scratch")
        let settings = ["--warmup", "5", "--eval-every", "40", "--dropout", "0"]
        _ = try ContinueTrainingCommandTests.train(first, base, settings + ["--steps", "400"])

        let run = try ContinueTrainingCommandTests.train(second.path, tuned, settings + ["--steps", "40", "--init-from", base.path])
        XCTAssertTrue(run.stdout.contains("model:"), run.stdout)
        _ = try ContinueTrainingCommandTests.train(second.path, scratch, settings + ["--steps", "40"])
        let fromModel = try ContinueTrainingCommandTests.lastValidation(tuned)
        let fromScratch = try ContinueTrainingCommandTests.lastValidation(scratch)
        print(String(format: "validation after 40 steps on the second corpus: tuned %.4f, from scratch %.4f nats/char", fromModel, fromScratch))
        XCTAssertLessThan(fromModel, fromScratch - 0.1)

        // The tuned model keeps the base's vocabulary and normalization, a fresh step count, and names its start.
        let baseFile = try ModelFile.read(from: ModelFolder(base).model), tunedFile = try ModelFile.read(from: ModelFolder(tuned).model)
        XCTAssertEqual(tunedFile.vocabulary, baseFile.vocabulary)
        XCTAssertEqual(tunedFile.textOptions, baseFile.textOptions)
        XCTAssertEqual(tunedFile.step, 40)
        XCTAssertEqual(tunedFile.info["init_from"], base.path)

        // A fine-tuned run resumes with --resume alone (its vocabulary is the base's, not the corpus's own).
        let resumed = try ContinueTrainingCommandTests.train(second.path, tuned, ["--resume", "--steps", "50", "--eval-every", "40", "--dropout", "0"])
        XCTAssertTrue(resumed.stdout.contains("stopped: reached the step limit after 50 steps"), resumed.stdout)
    }

    func testCharactersTheModelLacksAreAnErrorWithCountsOrNewRowsWhenAsked() throws {
        let dir = TestCorpus.folder()
        let first = TestCorpus.file(in: dir, characters: 20_000)
        let base = dir.appendingPathComponent("base")
        _ = try ContinueTrainingCommandTests.train(first, base, ["--warmup", "5", "--steps", "20", "--eval-every", "20"])
        let second = dir.appendingPathComponent("second.txt")
        try (Self.otherText(characters: 8_000) + "Zebra Zürich zz\n").write(to: second, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("tuned")

        let before = FileTreeSnapshot.take(dir)
        let refused = try QuillBinary.run(["train", second.path, "--out", out.path, "--init-from", base.path] + ContinueTrainingCommandTests.tiny)
        assertRefused(refused, saying: "that the model's vocabulary lacks: Z (2), z (2), b (1), c (1), ü (1); add --extend-vocabulary")
        assertUnchanged(dir, since: before)

        let extended = try ContinueTrainingCommandTests.train(second.path, out, ["--warmup", "5", "--steps", "20", "--eval-every", "20",
                                                                                 "--init-from", base.path, "--extend-vocabulary"])
        XCTAssertEqual(extended.status, 0, extended.stderr)
        XCTAssertTrue(extended.stdout.contains("; vocabulary extended by 5 (Z b c z ü); a fresh optimizer and schedule"), extended.stdout)
        let baseFile = try ModelFile.read(from: ModelFolder(base).model), tuned = try ModelFile.read(from: ModelFolder(out).model)
        XCTAssertEqual(Set(tuned.vocabulary.scalars), Set(baseFile.vocabulary.scalars).union("Zbcüz".unicodeScalars))
        let sample = try QuillBinary.run(["sample", out.path, "--length", "50", "--seed", "3"])
        XCTAssertEqual(sample.status, 0, sample.stderr)
    }
}
