import Foundation
import Quill
import XCTest

/// Fault matrix, family 3 (sampling): `quill sample` always ends, whatever the model file holds.
///
/// The models are written with the library: all weights zero except the decoder bias and, for the
/// overflow cases, a few huge weights, so what the model predicts is known exactly. Each run has a
/// generous time limit; a run that reaches it is a hang.
final class FaultMatrixSamplingTests: XCTestCase {
    /// V = 4 ([DOC], a, b, c), E = 2, H = 2, one layer.
    private static let configuration = ModelConfiguration(vocabularySize: 4, embeddingSize: 2, hiddenSize: 2, layers: 1)

    /// Writes a model whose weights are zero except what `edit` sets; returns its path.
    private func writeModel(in folder: URL, name: String = "model.safetensors",
                            _ edit: (ParameterBuffer, ParameterLayout) -> Void) throws -> String {
        let layout = ParameterLayout(Self.configuration)
        let weights = ParameterBuffer(layout: layout)
        weights.zero()
        edit(weights, layout)
        let file = ModelFile(configuration: Self.configuration, vocabulary: Vocabulary(scalars: "abc".unicodeScalars),
                             textOptions: TextOptions(form: .nfc, caseFold: false), weights: weights)
        let url = folder.appendingPathComponent(name)
        try file.write(to: url)
        return url.path
    }

    /// Sets the decoder bias, so [DOC] (id 0) is the most likely next token by `margin`.
    private func documentEndFirst(_ margin: Float) -> (ParameterBuffer, ParameterLayout) -> Void {
        { weights, layout in
            let bias = weights.view(layout.slots[layout.decoderBiasIndex])
            bias[0] = margin
        }
    }

    private func sample(_ model: String, _ extra: [String]) -> RawQuill.Result {
        let result = RawQuill.run((["sample", model] + extra).map(RawQuill.arg), timeout: 60)
        XCTAssertFalse(result.timedOut, "sample \(extra) did not end: a hang")
        return result
    }

    func testGreedyIgnoringDocumentEndsOnAModelThatOnlyEndsDocumentsStops() throws {
        let folder = TestCorpus.folder("fault-sampling")
        let model = try writeModel(in: folder, documentEndFirst(10))
        let before = FileTreeSnapshot.take(folder)
        for extra in [["--temperature", "0"], ["--top-k", "1"], ["--temperature", "0", "--samples", "3"]] {
            let result = sample(model, extra + ["--ignore-eod", "--length", "50"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertFalse(result.asResult.crashed, result.stderr)
            // Every step ends a document; after 100 empty ones in a row the sample ends, empty.
            let text = String(decoding: result.stdout, as: UTF8.self)
            XCTAssertEqual(text.replacingOccurrences(of: "--- sample \\d of 3 ---\n", with: "", options: .regularExpression)
                .trimmingCharacters(in: .newlines), "")
            XCTAssertTrue(result.stderr.contains("ended early and is empty: the model ended 100 documents in a row"), result.stderr)
        }
        assertUnchanged(folder, since: before)
    }

    func testAWeightAt3e38OnTheDocumentEndStopsAtEveryTemperature() throws {
        let folder = TestCorpus.folder("fault-sampling")
        let model = try writeModel(in: folder, documentEndFirst(3e38))
        for temperature in ["0", "0.5", "1", "2"] {
            let result = sample(model, ["--temperature", temperature, "--ignore-eod", "--length", "200"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertFalse(result.asResult.crashed, result.stderr)
        }
    }

    func testWithoutIgnoringDocumentEndsTheSampleEndsAtTheFirstOne() throws {
        // Already handled before: the end of the document ends the sample.
        let folder = TestCorpus.folder("fault-sampling")
        let model = try writeModel(in: folder, documentEndFirst(10))
        let result = sample(model, ["--temperature", "0", "--prompt", "ab"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(String(decoding: result.stdout, as: UTF8.self), "ab\n")
    }

    func testIgnoredDocumentEndsLeaveTheLengthInCharacters() throws {
        // Bias: [DOC] 0, a 0, b 0, c -100: a, b and [DOC] are equally likely, so about a third of the steps end documents.
        let folder = TestCorpus.folder("fault-sampling")
        let model = try writeModel(in: folder) { weights, layout in
            weights.view(layout.slots[layout.decoderBiasIndex])[3] = -100
        }
        let result = sample(model, ["--ignore-eod", "--length", "300", "--seed", "4"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let text = String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .newlines)
        XCTAssertTrue(text.allSatisfy { $0 == "a" || $0 == "b" }, text)
        XCTAssertEqual(text.count, 300)
        XCTAssertEqual(result.stderr, "")
    }

    func testScoresThatOverflowToInfinityAreASentenceNotACrash() throws {
        let folder = TestCorpus.folder("fault-sampling")
        // Zero LSTM weights and large gate biases give h = tanh(1) x 1 on both units; two decoder
        // weights of 3e38 on one row then sum past the largest float.
        let model = try writeModel(in: folder) { weights, layout in
            let h = Self.configuration.hiddenSize
            let biasIH = weights.view(layout.slots[layout.layerIndex(0) + 2])
            for k in 0..<(4 * h) { biasIH[k] = 20 }
            let decoder = weights.view(layout.slots[layout.decoderWeightIndex])
            decoder[1 * h + 0] = 3e38
            decoder[1 * h + 1] = 3e38
        }
        let before = FileTreeSnapshot.take(folder)
        for precision in ["float32", "bfloat16"] {
            for extra in [["--temperature", "0"], ["--temperature", "1"], ["--top-p", "0.9"]] {
                let result = sample(model, extra + ["--precision", precision, "--ignore-eod"])
                assertRefused(result.asResult, status: 1, saying: "are not finite numbers")
            }
        }
        let eval = RawQuill.run(["eval", model, TestCorpus.file(in: TestCorpus.folder(), characters: 200)].map(RawQuill.arg))
        assertRefused(eval.asResult, status: 1, saying: "are not finite numbers")
        assertUnchanged(folder, since: before)
    }

    func testOneHugeWeightAnywhereEndsInTextOrASentence() throws {
        // Seeded small weights, then one weight of +-3e38 in each tensor in turn: every run ends,
        // with text or with the sentence about scores that are not finite.
        let folder = TestCorpus.folder("fault-sampling")
        let layout = ParameterLayout(Self.configuration)
        for (index, slot) in layout.slots.enumerated() {
            for sign: Float in [1, -1] {
                let model = try writeModel(in: folder, name: "huge-\(index)-\(sign > 0 ? "plus" : "minus").safetensors") { weights, _ in
                    var random = QuillRandom(seed: 7)
                    for i in 0..<weights.count { weights.pointer[i] = random.nextUnitFloat() - 0.5 }
                    weights.view(slot)[slot.count / 2] = sign * 3e38
                }
                for temperature in ["0", "1"] {
                    let result = sample(model, ["--temperature", temperature, "--ignore-eod", "--length", "40"])
                    if result.status == 0 {
                        XCTAssertFalse(result.asResult.crashed, result.stderr)
                    } else {
                        assertRefused(result.asResult, status: 1, saying: "are not finite numbers")
                    }
                }
            }
        }
    }

    func testTheLibrarysGeneratorEndsAfterARunOfEmptyDocuments() throws {
        let folder = TestCorpus.folder("fault-sampling")
        let file = try ModelFile.read(from: URL(fileURLWithPath: try writeModel(in: folder, documentEndFirst(10))))
        let generator = TextGenerator(model: LanguageModel(weights: file.weights), vocabulary: file.vocabulary, samples: 2)
        var pieces = 0
        let endings = try generator.generate(prompt: [], length: 7, settings: .unchanged, seed: 1, ignoreEndOfDocument: true) { _, _ in
            pieces += 1
        }
        XCTAssertEqual(endings, [.emptyDocuments, .emptyDocuments])
        XCTAssertEqual(pieces, 0)
    }
}
