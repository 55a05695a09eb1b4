import Foundation
import Quill
import XCTest

/// `quill train --size`: the choice and its reason printed at start, and explicit sizes overriding it.
final class SizeCommandTests: XCTestCase {
    let quick = ["--embed", "4", "--batch", "2", "--seq", "8", "--steps", "2", "--eval-every", "2", "--sample-length", "0"]

    func testTheChoiceIsPrintedAndExplicitSizesOverrideIt() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 4_000)
        let small = dir.appendingPathComponent("small")
        let a = try QuillBinary.run(["train", corpus, "--out", small.path, "--size", "small"] + quick)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains("size: --size small is 2 x 128"), a.stdout)
        let model = try ModelFile.read(from: ModelFolder(small).model)
        XCTAssertEqual(model.configuration.hiddenSize, 128)
        XCTAssertEqual(model.configuration.layers, 2)

        // 2 steps of 2 x 8 read under an eighth of the corpus: auto picks 2 x 128, and --hidden overrides the width.
        let given = dir.appendingPathComponent("given")
        let b = try QuillBinary.run(["train", corpus, "--out", given.path, "--hidden", "8"] + quick)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("size: --size auto chose 2 x 128"), b.stdout)
        XCTAssertTrue(b.stdout.contains("overrides it"), b.stdout)
        let overridden = try ModelFile.read(from: ModelFolder(given).model)
        XCTAssertEqual(overridden.configuration.hiddenSize, 8)
        XCTAssertEqual(overridden.configuration.layers, 2)

        // Both given: no choice is made or printed.
        let both = dir.appendingPathComponent("both")
        let c = try QuillBinary.run(["train", corpus, "--out", both.path, "--hidden", "8", "--layers", "1"] + quick)
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertFalse(c.stdout.contains("size:"), c.stdout)
    }

    func testATimeLimitIsCountedInTheSpeedMeasuredAtStart() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 4_000)
        let out = dir.appendingPathComponent("timed")
        let r = try QuillBinary.run(["train", corpus, "--out", out.path, "--hidden", "8", "--embed", "4", "--batch", "2",
                                     "--seq", "8", "--time", "1s", "--eval-every", "1000", "--sample-length", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Both rules ask for 2 x 512's speed; it is measured once, printed, and the size's reason counts the second in it.
        let prefix = "speed: 2 x 512 trains about "
        let speedLines = r.stdout.split(separator: "\n").filter { $0.hasPrefix(prefix) }
        XCTAssertEqual(speedLines.count, 1, r.stdout)
        let figure = try XCTUnwrap(speedLines.first?.dropFirst(prefix.count).split(separator: " ").first)
        XCTAssertGreaterThan(try XCTUnwrap(Int(figure)), 0)
        XCTAssertTrue(r.stdout.contains("(1 s at about \(figure) characters a second)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("regularization: --regularization auto chose"), r.stdout)
        XCTAssertFalse(r.stdout.contains("2 x 1024"), "a corpus under 1M characters never measures the wide model: \(r.stdout)")
    }
}

/// `quill train --regularization`: the recipe chosen from the budget and printed, fixed recipes, and flags overriding parts.
final class RegularizationChoiceCommandTests: XCTestCase {
    let quick = ["--embed", "4", "--hidden", "8", "--layers", "1", "--batch", "2", "--seq", "8", "--eval-every", "1000",
                 "--sample-length", "0"]

    private func train(_ corpus: String, _ out: URL, _ extra: [String]) throws -> (QuillBinary.Result, TrainingConfiguration) {
        let result = try QuillBinary.run(["train", corpus, "--out", out.path] + quick + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        return (result, try Trainer.savedConfiguration(in: ModelFolder(out)))
    }

    func testTheBudgetChoosesTheRecipeAndFlagsOverrideItsParts() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 1_000)

        // Five epochs read the text five times: strong, with its values in the saved run.
        let (a, strong) = try train(corpus, dir.appendingPathComponent("a"), ["--epochs", "5"])
        XCTAssertTrue(a.stdout.contains("regularization: --regularization auto chose strong (dropout 0.2 with locked masks, input dropout 0.1, weight decay 0.1): the budget reads the training text 5.00 times, at least 5, fewer than 24"), a.stdout)
        XCTAssertFalse(a.stdout.contains("speed:"), "no time limit, so nothing is measured: \(a.stdout)")
        XCTAssertEqual([strong.dropout, strong.inputDropout], [0.2, 0.1])
        XCTAssertEqual(strong.dropoutMasks, .window)
        XCTAssertEqual(strong.regularization, .auto)

        // Two steps read a fraction of it: light.
        let (b, light) = try train(corpus, dir.appendingPathComponent("b"), ["--steps", "2"])
        XCTAssertTrue(b.stdout.contains("regularization: --regularization auto chose light (dropout 0.1 with a mask per step)"), b.stdout)
        XCTAssertEqual([light.dropout, light.inputDropout], [0.1, 0])
        XCTAssertEqual(light.dropoutMasks, .step)

        // A flag given replaces its part of the recipe and is named.
        let (c, mixed) = try train(corpus, dir.appendingPathComponent("c"), ["--epochs", "5", "--dropout", "0.05"])
        XCTAssertTrue(c.stdout.contains("chose strong") && c.stdout.contains("(--dropout given overrides its part)"), c.stdout)
        XCTAssertEqual([mixed.dropout, mixed.inputDropout], [0.05, 0.1])
        XCTAssertEqual(mixed.dropoutMasks, .window)

        // A fixed recipe, whatever the budget.
        let (d, off) = try train(corpus, dir.appendingPathComponent("d"), ["--epochs", "3", "--regularization", "off"])
        XCTAssertTrue(d.stdout.contains("regularization: --regularization off is no dropout"), d.stdout)
        XCTAssertEqual([off.dropout, off.inputDropout], [0, 0])
        XCTAssertEqual(off.regularization, .off)

        // 24 epochs: heavy, DropConnect, weight decay and the cosine decay with it; a decay given overrides its part.
        let (f, heavy) = try train(corpus, dir.appendingPathComponent("f"), ["--epochs", "24"])
        XCTAssertTrue(f.stdout.contains("regularization: --regularization auto chose heavy (dropout 0.4 with locked masks, input dropout 0.15, DropConnect 0.25, weight decay 0.1, cosine decay): the budget reads the training text 24.00 times, at least 24\n"), f.stdout)
        XCTAssertEqual([heavy.dropout, heavy.inputDropout, heavy.weightDrop], [0.4, 0.15, 0.25])
        XCTAssertEqual(heavy.dropoutMasks, .window)
        XCTAssertEqual(heavy.decay, .cosine)
        XCTAssertEqual(heavy.weightDecay, 0.1)
        let (g, kept) = try train(corpus, dir.appendingPathComponent("g"), ["--epochs", "24", "--decay", "wsd", "--weight-drop", "0"])
        XCTAssertTrue(g.stdout.contains("chose heavy") && g.stdout.contains("(--weight-drop, --decay given override their parts)"), g.stdout)
        XCTAssertEqual([kept.dropout, kept.weightDrop], [0.4, 0])
        XCTAssertEqual(kept.decay, .wsd)
        // A recipe without a schedule does not count --decay as one of its parts.
        let (h, _) = try train(corpus, dir.appendingPathComponent("h"), ["--epochs", "5", "--decay", "cosine"])
        XCTAssertTrue(h.stdout.contains("chose strong") && !h.stdout.contains("given overrides"), h.stdout)

        let bad = try QuillBinary.run(["train", corpus, "--out", dir.appendingPathComponent("e").path, "--regularization", "extreme"] + quick)
        XCTAssertFalse(bad.crashed, bad.stderr)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--regularization") && bad.stderr.contains("heavy"), bad.stderr)
    }
}

/// `quill train` without `--eval-every`: the interval chosen from the validation split, printed, and
/// chosen again from the saved window on resume; given, it is used as is.
final class EvaluationIntervalCommandTests: XCTestCase {
    let quick = ["--embed", "4", "--hidden", "8", "--layers", "1", "--batch", "2", "--seq", "8", "--warmup", "2",
                 "--sample-length", "0"]

    func testTheIntervalComesFromTheValidationSplitUnlessGiven() throws {
        let dir = TestCorpus.folder()
        // 101 validation characters at 16 a step: 63 steps, rounded to 50.
        let corpus = TestCorpus.file(in: dir, characters: 1_000)
        let out = dir.appendingPathComponent("a")
        let a = try QuillBinary.run(["train", corpus, "--out", out.path, "--steps", "60"] + quick)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains("evaluation: every 50 steps, about 10 times the 101 validation characters of training"), a.stdout)
        XCTAssertTrue(a.stdout.contains("step 50: validation"), a.stdout)
        XCTAssertFalse(a.stdout.contains("step 20: validation"), a.stdout)

        let resumed = try QuillBinary.run(["train", corpus, "--out", out.path, "--resume", "--steps", "110"] + quick)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("evaluation: every 50 steps"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("step 100: validation"), resumed.stdout)

        let given = try QuillBinary.run(["train", corpus, "--out", dir.appendingPathComponent("b").path, "--steps", "40",
                                         "--eval-every", "20"] + quick)
        XCTAssertEqual(given.status, 0, given.stderr)
        XCTAssertFalse(given.stdout.contains("evaluation:"), given.stdout)
        XCTAssertTrue(given.stdout.contains("step 20: validation"), given.stdout)
    }
}

/// `quill train --precision`: chosen from the CPU and printed when not given, and kept on resume.
final class PrecisionCommandTests: XCTestCase {
    let quick = ["--embed", "4", "--hidden", "8", "--layers", "1", "--batch", "2", "--seq", "8", "--eval-every", "1000",
                 "--sample-length", "0"]

    func testTheChoiceIsPrintedSavedAndKeptOnResume() throws {
        let dir = TestCorpus.folder()
        let corpus = TestCorpus.file(in: dir, characters: 4_000)
        let out = dir.appendingPathComponent("auto")
        let a = try QuillBinary.run(["train", corpus, "--out", out.path, "--steps", "2"] + quick)
        XCTAssertEqual(a.status, 0, a.stderr)
        let lines = a.stdout.split(separator: "\n").filter { $0.hasPrefix("precision: ") }
        XCTAssertEqual(lines.count, 1, a.stdout)
        let chosen = try XCTUnwrap(lines.first?.dropFirst("precision: ".count).split(separator: ":").first)
        XCTAssertEqual(String(chosen), PrecisionRule.choose().precision.rawValue, "the CLI and the rule agree on this machine")
        XCTAssertEqual(try Trainer.savedConfiguration(in: ModelFolder(out)).precision.rawValue, String(chosen),
                       "the training state holds the precision chosen, so a resumed run trains as this one did")

        // Resumed: the saved precision, nothing chosen or printed.
        let b = try QuillBinary.run(["train", corpus, "--out", out.path, "--steps", "4", "--resume"] + quick)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertFalse(b.stdout.contains("precision:"), b.stdout)
        XCTAssertEqual(try Trainer.savedConfiguration(in: ModelFolder(out)).precision.rawValue, String(chosen))

        // Given: no choice is made or printed.
        for given in ["float32", "bfloat16"] {
            let folder = dir.appendingPathComponent(given)
            let c = try QuillBinary.run(["train", corpus, "--out", folder.path, "--steps", "2", "--precision", given] + quick)
            XCTAssertEqual(c.status, 0, c.stderr)
            XCTAssertFalse(c.stdout.contains("precision:"), c.stdout)
            XCTAssertEqual(try Trainer.savedConfiguration(in: ModelFolder(folder)).precision.rawValue, given)
        }
    }
}
