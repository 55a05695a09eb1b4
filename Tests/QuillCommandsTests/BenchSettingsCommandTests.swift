import Foundation
import Quill
import XCTest

/// `quill bench budget` with training settings, `quill bench --vocab`'s synthetic corpus, and the precision benchmarked.
final class BenchSettingsCommandTests: XCTestCase {
    let tiny = ["--embed", "4", "--hidden", "8", "--layers", "1", "--batch", "2", "--seq", "8"]

    /// The last line of a run's stdout as a JSON object.
    private func lastLine(_ result: QuillBinary.Result) throws -> [String: Any] {
        XCTAssertEqual(result.status, 0, result.stderr)
        let line = String(result.stdout.split(separator: "\n").last ?? "")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
    }

    func testBudgetTakesTrainingSettingsAndListsThem() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 6_000)
        let line = try lastLine(try QuillBinary.run(["bench", "budget", "--seconds", "0.2", "--corpus", corpus] + tiny
            + ["--quill-defaults", "--dropout-masks", "window", "--weight-drop", "0.3", "--embed-dropout", "0.1", "--seed", "3"]))
        XCTAssertEqual(line["settings"] as? String,
                       "quill-defaults regularization light --dropout-masks window --weight-drop 0.3 --embed-dropout 0.1 --seed 3",
                       "0.2 s reads the 5,400 training characters 0.37 times at the rule's speed: light")
        XCTAssertNotNil(line["val_nats_per_char"] as? Double)

        let bad = try QuillBinary.run(["bench", "budget", "--seconds", "0.2", "--corpus", corpus, "--weight-drop", "2"] + tiny)
        XCTAssertFalse(bad.crashed, bad.stderr)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.hasPrefix("Error: ") && bad.stderr.contains("--weight-drop"), bad.stderr)
        let crossed = try QuillBinary.run(["bench", "budget", "--seconds", "0.2", "--corpus", corpus, "--lr", "1",
                                           "--weight-decay", "1"] + tiny)
        XCTAssertNotEqual(crossed.status, 0)
        XCTAssertTrue(crossed.stderr.contains("--weight-decay"), crossed.stderr)
    }

    func testThroughputRunsOnASyntheticVocabulary() throws {
        let line = try lastLine(try QuillBinary.run(["bench", "throughput", "--vocab", "300", "--steps", "1"] + tiny))
        XCTAssertEqual(line["vocab"] as? Int, 300)
        XCTAssertGreaterThan(try XCTUnwrap(line["train_chars_per_s"] as? Double), 0)
        for (arguments, phrase) in [(["--vocab", "1"], "--vocab"), (["--vocab", "300", "--corpus", "x.txt"], "--corpus")] {
            let result = try QuillBinary.run(["bench", "throughput", "--steps", "1"] + arguments + tiny)
            XCTAssertFalse(result.crashed, result.stderr)
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.stderr.contains(phrase), result.stderr)
        }
    }

    /// Without --precision a benchmark measures what `quill train` would run on this CPU.
    func testABenchmarkRunsTheTrainingPrecisionUnlessOneIsGiven() throws {
        let chosen = PrecisionRule.choose().precision.effective.rawValue
        let line = try lastLine(try QuillBinary.run(["bench", "throughput", "--vocab", "300", "--steps", "1"] + tiny))
        XCTAssertEqual(line["precision"] as? String, chosen)
        for given in [ComputePrecision.float32, .bfloat16] {
            let named = try lastLine(try QuillBinary.run(["bench", "throughput", "--vocab", "300", "--steps", "1",
                                                          "--precision", given.rawValue] + tiny))
            XCTAssertEqual(named["precision"] as? String, given.effective.rawValue)
        }
    }
}
