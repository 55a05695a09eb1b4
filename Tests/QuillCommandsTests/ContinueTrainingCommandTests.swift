import Foundation
import Quill
import XCTest

/// `quill train --resume` past a finished run's end, and `--keep`: the decay planned again, snapshots by step.
final class ContinueTrainingCommandTests: XCTestCase {
    /// The tiny model of `TrainCommandTests`, without an evaluation cadence.
    static let tiny = ["--embed", "8", "--hidden", "24", "--layers", "2", "--dropout", "0.2", "--batch", "4", "--seq", "16",
                       "--doc-separator", "%", "--sample-length", "0"]

    static func train(_ corpus: String, _ out: URL, _ extra: [String]) throws -> QuillBinary.Result {
        let result = try QuillBinary.run(["train", corpus, "--out", out.path] + tiny + extra)
        XCTAssertFalse(result.crashed, result.stderr)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result
    }

    /// The JSON objects of a run's metrics.jsonl.
    static func metrics(_ folder: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: ModelFolder(folder).metrics, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// The validation loss of the last evaluation in a run's log.
    static func lastValidation(_ folder: URL) throws -> Double {
        try XCTUnwrap(metrics(folder).compactMap { $0["val_loss"] as? Double }.last)
    }

    func testAFinishedRunContinuedWithMoreStepsHasItsDecayPlannedAgainAndEndsLikeAStraightRun() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 30_000)
        let split = dir.appendingPathComponent("split"), straight = dir.appendingPathComponent("straight")
        let common = ["--warmup", "5", "--eval-every", "20"]
        _ = try Self.train(corpus, split, common + ["--steps", "100"])
        let continued = try Self.train(corpus, split, common + ["--resume", "--steps", "200"])
        XCTAssertTrue(continued.stdout.contains("The learning-rate decay was planned to end at step 100; it is planned again to end at step 200, the new limit."),
                      continued.stdout)

        // The rate logged between steps 120 and 160 is well above the floor (2e-4) where the old plan held it.
        let floor = 2e-3 * 0.1
        let rates = try Self.metrics(split).filter { (120...160).contains($0["step"] as! Int) }.map { $0["lr"] as! Double }
        XCTAssertGreaterThanOrEqual(rates.count, 5)
        for rate in rates { XCTAssertGreaterThan(rate, 1.5 * floor) }
        XCTAssertGreaterThan(rates.max()!, 3 * floor)

        // A straight 200-step run ends within noise of the 100 + 100 one.
        _ = try Self.train(corpus, straight, common + ["--steps", "200"])
        let a = try Self.lastValidation(straight), b = try Self.lastValidation(split)
        print(String(format: "validation after 200 steps: straight %.4f, 100 + 100 %.4f nats/char", a, b))
        XCTAssertEqual(a, b, accuracy: 0.03 * a)

        // A limit already reached ends at once, with nothing planned again.
        let reached = try Self.train(corpus, split, ["--resume", "--steps", "150"])
        XCTAssertFalse(reached.stdout.contains("planned again"), reached.stdout)
        XCTAssertEqual(try ModelFile.read(from: ModelFolder(split).model).step, 200)
    }

    func testAnExplicitDecayHorizonIsKeptWhenARunIsContinued() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 20_000)
        let out = dir.appendingPathComponent("run")
        _ = try Self.train(corpus, out, ["--warmup", "5", "--steps", "60", "--decay-steps", "50", "--eval-every", "30"])
        let continued = try Self.train(corpus, out, ["--resume", "--steps", "100", "--eval-every", "30"])
        XCTAssertFalse(continued.stdout.contains("planned again"), continued.stdout)
        let rates = try Self.metrics(out).filter { ($0["step"] as! Int) > 60 }.map { $0["lr"] as! Double }
        XCTAssertFalse(rates.isEmpty)
        for rate in rates { XCTAssertEqual(rate, 2e-4, accuracy: 1e-9, "the floor, as the explicit plan says") }
    }

    func testTwentyStepsThenFortyIsBitIdenticalToFortyStraightUnderTheDefaultWarmUp() throws {
        // The default warm-up does not depend on the step limit, so both runs see the same rates.
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 20_000)
        let split = dir.appendingPathComponent("split"), straight = dir.appendingPathComponent("straight")
        _ = try Self.train(corpus, straight, ["--steps", "40"])
        _ = try Self.train(corpus, split, ["--steps", "20"])
        _ = try Self.train(corpus, split, ["--resume", "--steps", "40"])
        XCTAssertEqual(try Data(contentsOf: ModelFolder(split).model), try Data(contentsOf: ModelFolder(straight).model))
        XCTAssertEqual(try Data(contentsOf: ModelFolder(split).state), try Data(contentsOf: ModelFolder(straight).state))
    }

    func testKeepLeavesTheLastSnapshotsNamedByStepBesideTheBestModel() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 20_000)
        let out = dir.appendingPathComponent("run")
        _ = try Self.train(corpus, out, ["--warmup", "5", "--steps", "60", "--eval-every", "10", "--keep", "2"])
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix("model-step-") }.sorted()
        XCTAssertEqual(names, ["model-step-50.safetensors", "model-step-60.safetensors"])
        let fifty = try ModelFile.read(from: out.appendingPathComponent(names[0]))
        let sixty = try ModelFile.read(from: out.appendingPathComponent(names[1]))
        XCTAssertEqual(fifty.step, 50)
        XCTAssertEqual(sixty.step, 60)
        XCTAssertNotEqual(Array(fifty.weights.elements), Array(sixty.weights.elements))
        XCTAssertTrue(FileManager.default.fileExists(atPath: ModelFolder(out).model.path))

        // Continued with --keep 3: the older snapshots count among the last three.
        _ = try Self.train(corpus, out, ["--resume", "--steps", "80", "--eval-every", "10", "--keep", "3"])
        let after = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix("model-step-") }.sorted()
        XCTAssertEqual(after, ["model-step-60.safetensors", "model-step-70.safetensors", "model-step-80.safetensors"])

        // Without --keep, none are written; starting over with --force removes the old run's.
        _ = try Self.train(corpus, out, ["--force", "--warmup", "5", "--steps", "20", "--eval-every", "10"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(),
                       ["loss.svg", "metrics.jsonl", "model.safetensors", "training-state.safetensors"])
    }
}
