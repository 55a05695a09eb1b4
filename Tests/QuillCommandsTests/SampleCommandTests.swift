import Foundation
import Quill
import XCTest

/// A tiny model trained once by `quill train` and shared by the sample, eval and inspect tests.
enum TrainedModel {
    struct Files {
        var folder: URL
        var corpus: String
        var model: String
    }

    static let shared: Files = {
        let folder = TestCorpus.folder("quill-trained")
        let corpus = TestCorpus.file(in: folder, characters: 8_000)
        let out = folder.appendingPathComponent("model")
        let result = try! QuillBinary.run(["train", corpus, "--out", out.path, "--doc-separator", "%", "--embed", "8",
                                           "--hidden", "24", "--layers", "1", "--batch", "4", "--seq", "16",
                                           "--steps", "60", "--eval-every", "60", "--sample-length", "0"])
        precondition(result.status == 0, "training the test model failed: \(result.stderr)")
        return Files(folder: folder, corpus: corpus, model: out.appendingPathComponent("model.safetensors").path)
    }()

    /// A copy of the model file cut to half its length.
    static func truncatedCopy(in folder: URL) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: shared.model))
        let url = folder.appendingPathComponent("truncated.safetensors")
        try data.prefix(data.count / 2).write(to: url)
        return url.path
    }

    /// A file of seeded random bytes.
    static func randomBytes(in folder: URL) throws -> String {
        var random = QuillRandom(seed: 9)
        let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }
        let url = folder.appendingPathComponent("random.safetensors")
        try Data(bytes).write(to: url)
        return url.path
    }

    /// A valid safetensors file with one tensor and no Quill metadata.
    static func foreignSafeTensors(in folder: URL) throws -> String {
        let values: [Float] = [1, 2, 3, 4]
        let tensor = values.withUnsafeBufferPointer { SafeTensorsTensor(name: "weight", shape: [2, 2], floats: $0) }
        let url = folder.appendingPathComponent("foreign.safetensors")
        try SafeTensors.encode([tensor]).write(to: url)
        return url.path
    }
}

/// End-to-end runs of `quill sample`: reproducibility, greedy decoding, batches, stop strings, unknown prompt characters, bad input.
final class SampleCommandTests: XCTestCase {
    private var model: String { TrainedModel.shared.model }

    private func sample(_ extra: [String], prompt: String = "The king") throws -> QuillBinary.Result {
        let result = try QuillBinary.run(["sample", model, "--prompt", prompt] + extra)
        XCTAssertFalse(result.crashed, result.stderr)
        return result
    }

    /// The generated part of one sample's output: after the prompt, without the newline the command adds.
    private func generated(_ output: String, prompt: String) -> String {
        XCTAssertTrue(output.hasPrefix(prompt), "output does not start with the prompt: \(output)")
        return String(output.dropFirst(prompt.count))
    }

    /// What the command prints for a text: the text, then a newline unless it ends with one.
    private func printed(_ text: String) -> String { text.hasSuffix("\n") ? text : text + "\n" }

    func testSameSeedGivesSameTextAndDifferentSeedsDiffer() throws {
        let args = ["--length", "200", "--ignore-eod", "--temperature", "0.9"]
        let a = try sample(args + ["--seed", "3"])
        let b = try sample(args + ["--seed", "3"])
        let c = try sample(args + ["--seed", "4"])
        for r in [a, b, c] { XCTAssertEqual(r.status, 0, r.stderr) }
        XCTAssertEqual(a.stdout, b.stdout)
        // The model's folder names the same model.
        let folder = URL(fileURLWithPath: model).deletingLastPathComponent().path
        let viaFolder = try QuillBinary.run(["sample", folder, "--prompt", "The king"] + args + ["--seed", "3"])
        XCTAssertEqual(viaFolder.stdout, a.stdout, viaFolder.stderr)
        XCTAssertNotEqual(a.stdout, c.stdout)
        // Exactly --length code points, then the newline the command adds if the text lacks one.
        let text = generated(a.stdout, prompt: "The king")
        let n = text.unicodeScalars.count
        XCTAssertTrue(n == 200 || (n == 201 && text.hasSuffix("\n")), "\(n) code points: \(text)")
    }

    func testOutputEqualsTheLibrarysGeneratorWithTheSameSeed() throws {
        // The command samples in bfloat16 by default; the library's generator takes the precision it is given.
        let result = try sample(["--length", "120", "--seed", "11", "--temperature", "0.8", "--top-p", "0.95", "--precision", "bfloat16"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let file = try ModelFile.read(from: URL(fileURLWithPath: model))
        let ids = "The king".unicodeScalars.map { file.vocabulary.id(of: $0)! }
        let generator = TextGenerator(model: LanguageModel(weights: file.weights), vocabulary: file.vocabulary, precision: .bfloat16)
        var text = "The king"
        try generator.generate(prompt: ids, length: 120, settings: SamplingSettings(temperature: 0.8, topP: 0.95), seed: 11) { _, piece in
            text += piece
        }
        XCTAssertEqual(result.stdout, printed(text))
    }

    func testTemperatureZeroEqualsTopKOneWhateverTheSeed() throws {
        let greedy = try sample(["--temperature", "0", "--length", "150", "--ignore-eod", "--seed", "1"])
        let greedyOtherSeed = try sample(["--temperature", "0", "--length", "150", "--ignore-eod", "--seed", "99"])
        let topOne = try sample(["--top-k", "1", "--length", "150", "--ignore-eod", "--seed", "5"])
        XCTAssertEqual(greedy.status, 0, greedy.stderr)
        XCTAssertEqual(greedy.stdout, topOne.stdout)
        XCTAssertEqual(greedy.stdout, greedyOtherSeed.stdout)
        let random = try sample(["--length", "150", "--ignore-eod", "--seed", "5"])
        XCTAssertNotEqual(random.stdout, greedy.stdout)
    }

    func testBatchPrintsEverySampleAndEachEqualsASingleRunWithItsSeed() throws {
        let batch = try sample(["--samples", "3", "--seed", "5", "--length", "80", "--temperature", "0.9"])
        XCTAssertEqual(batch.status, 0, batch.stderr)
        var parts: [String] = []
        for line in batch.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("--- sample ") {
                XCTAssertEqual(String(line), "--- sample \(parts.count + 1) of 3 ---")
                parts.append("")
            } else {
                XCTAssertFalse(parts.isEmpty, "text before the first separator: \(batch.stdout)")
                parts[parts.count - 1] += line + "\n"
            }
        }
        parts[parts.count - 1].removeLast()  // the split's final empty piece
        XCTAssertEqual(parts.count, 3, batch.stdout)
        for (i, part) in parts.enumerated() {
            let single = try sample(["--seed", "\(5 + i)", "--length", "80", "--temperature", "0.9"])
            XCTAssertEqual(part, single.stdout, "sample \(i + 1)")
        }
        XCTAssertNotEqual(parts[0], parts[1])
    }

    func testStopStringFromTheGreedyTextEndsTheOutputJustBeforeIt() throws {
        let args = ["--temperature", "0", "--length", "200", "--ignore-eod"]
        let full = try sample(args)
        XCTAssertEqual(full.status, 0, full.stderr)
        let text = generated(full.stdout, prompt: "The king")
        let scalars = Array(text.unicodeScalars)
        XCTAssertGreaterThan(scalars.count, 40)
        let stop = String(String.UnicodeScalarView(scalars[30..<33]))
        let cut = text.range(of: stop)!.lowerBound
        let stopped = try sample(args + ["--stop", stop, "--stop", "\u{1}never"])
        XCTAssertEqual(stopped.status, 0, stopped.stderr)
        XCTAssertEqual(stopped.stdout, printed("The king" + text[..<cut]))
        XCTAssertTrue(stopped.stderr.contains("can never match"), stopped.stderr)
    }

    func testSpaceStopStringLeavesNoSpaceInASampledContinuation() throws {
        let result = try sample(["--stop", " ", "--length", "300", "--ignore-eod", "--seed", "2"], prompt: "The")
        XCTAssertEqual(result.status, 0, result.stderr)
        let text = generated(result.stdout, prompt: "The")
        XCTAssertFalse(text.contains(" "), text)
        XCTAssertLessThan(text.unicodeScalars.count, 300)
    }

    func testStopStringsAndPromptAreNormalizedAsTheModelsText() throws {
        // A case-folding model of lower-case letters: "E" in a stop string is "e" to it, and so is the prompt's "AB".
        let dir = TestCorpus.folder()
        let vocabulary = Vocabulary(scalars: "abcdefghijklmnopqrstuvwxyz ".unicodeScalars)
        let configuration = ModelConfiguration(vocabularySize: vocabulary.count, embeddingSize: 6, hiddenSize: 10, layers: 1)
        var random = QuillRandom(seed: 4)
        let weights = LanguageModel.initialized(configuration, random: &random).weights
        let url = dir.appendingPathComponent("folded.safetensors")
        try ModelFile(configuration: configuration, vocabulary: vocabulary, textOptions: TextOptions(form: .nfc, caseFold: true),
                      weights: weights).write(to: url)
        let result = try QuillBinary.run(["sample", url.path, "--prompt", "AB", "--stop", "E", "--length", "300", "--ignore-eod"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.crashed)
        XCTAssertEqual(result.stderr, "")
        let text = generated(result.stdout, prompt: "ab")
        XCTAssertFalse(text.contains("e"), text)
        XCTAssertLessThan(text.unicodeScalars.count, 300)
    }

    func testUnknownPromptCharacterIsAnErrorNamingItOrSkippedWithAWarning() throws {
        let refused = try sample(["--length", "20"], prompt: "The king\u{7}§")
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("U+0007"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--unknown skip"), refused.stderr)
        XCTAssertEqual(refused.stdout, "")

        let skipped = try sample(["--length", "20", "--unknown", "skip", "--seed", "8"], prompt: "The §king§")
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        XCTAssertTrue(skipped.stderr.contains("warning"), skipped.stderr)
        XCTAssertTrue(skipped.stderr.contains("§ (2)"), skipped.stderr)
        let clean = try sample(["--length", "20", "--seed", "8"], prompt: "The king")
        XCTAssertEqual(skipped.stdout, clean.stdout)

        let nothingLeft = try sample(["--length", "20", "--unknown", "skip"], prompt: "§¶")
        XCTAssertNotEqual(nothingLeft.status, 0)
        XCTAssertTrue(nothingLeft.stderr.contains("Every character of the prompt is outside"), nothingLeft.stderr)

        let empty = try sample(["--length", "20", "--unknown", "skip"], prompt: "")
        XCTAssertEqual(empty.status, 0, empty.stderr)
        XCTAssertFalse(empty.stdout.isEmpty)
    }

    func testBadInputIsASentenceAndNonZeroExit() throws {
        let dir = TestCorpus.folder()
        let cases: [(String, [String], String)] = [
            ("missing model", ["sample", dir.appendingPathComponent("none.safetensors").path], "does not exist"),
            ("folder without a model", ["sample", dir.path], "holds no model.safetensors"),
            ("device", ["sample", "/dev/zero"], "not a regular file"),
            ("truncated model", ["sample", try TrainedModel.truncatedCopy(in: dir)], "truncated.safetensors"),
            ("random bytes", ["sample", try TrainedModel.randomBytes(in: dir)], "random.safetensors"),
            ("foreign safetensors", ["sample", try TrainedModel.foreignSafeTensors(in: dir)], "not a Quill model"),
            ("negative temperature", ["sample", model, "--temperature=-0.5"], "temperature"),
            ("NaN temperature", ["sample", model, "--temperature", "nan"], "temperature"),
            ("infinite temperature", ["sample", model, "--temperature", "inf"], "temperature"),
            ("top-p zero", ["sample", model, "--top-p", "0"], "top-p"),
            ("top-p above one", ["sample", model, "--top-p", "1.5"], "top-p"),
            ("top-p NaN", ["sample", model, "--top-p", "nan"], "top-p"),
            ("top-k negative", ["sample", model, "--top-k=-1"], "top-k"),
            ("length zero", ["sample", model, "--length", "0"], "length"),
            ("length absurd", ["sample", model, "--length", "1000000000000"], "length"),
            ("samples zero", ["sample", model, "--samples", "0"], "number of samples"),
            ("samples absurd", ["sample", model, "--samples", "100000"], "number of samples"),
            ("empty stop string", ["sample", model, "--stop", ""], "stop string is empty"),
            ("bad unknown policy", ["sample", model, "--unknown", "ignore"], "unknown"),
        ]
        for (name, arguments, phrase) in cases {
            let result = try QuillBinary.run(arguments)
            XCTAssertNotEqual(result.status, 0, name)
            XCTAssertFalse(result.crashed, "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(phrase), "\(name): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", name)
        }
    }
}
