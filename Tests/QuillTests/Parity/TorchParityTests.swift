import Foundation
import Quill
import XCTest

/// Quill's forward pass and evaluation against PyTorch's own LSTM on the same weights.
///
/// `Fixtures/torch_parity/` holds a model written by `quill train`, a held-out text, and
/// `expected.json`, made by `scripts/make_torch_fixture.py` with PyTorch (its docstring says how):
/// the token stream from Python's own tokenizer, PyTorch's logits with the state reset before
/// every `[DOC]`, and the mean cross-entropy in one lane and in lanes with burn-in as the
/// Evaluator plans them (its own implementation of the plan). Tolerance: 1e-4, absolute, on
/// logits and on nats per character (float32 in both; observed differences are near 1e-6).
final class TorchParityTests: XCTestCase {
    struct Expected: Decodable {
        var vocab_size: Int
        var tokens: [Int32]
        var logits: [Float]
        var nats_per_char_lanes_1: Double
        var nats_per_char_lanes_4: Double
        var plan_lanes_4: [Int]
        var nats_per_char_lanes_4_burn_in_16: Double
        var plan_lanes_4_burn_in_16: [Int]
        var nats_per_char_lanes_4_from_zero: Double
        var targets: Int
    }

    private var folder: URL {
        get throws {
            let url = try XCTUnwrap(Bundle.module.url(forResource: "expected", withExtension: "json", subdirectory: "Fixtures/torch_parity"))
            return url.deletingLastPathComponent()
        }
    }

    private func load() throws -> (ModelFile, Expected) {
        let dir = try folder
        let model = try ModelFile.read(from: dir.appendingPathComponent("model.safetensors"))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: dir.appendingPathComponent("expected.json")))
        return (model, expected)
    }

    func testQuillTokenizesTheTextAsTheIndependentPythonTokenizerDoes() throws {
        let (model, expected) = try load()
        let source = CorpusSource(paths: [try folder.appendingPathComponent("eval.txt")], documents: .separatorLine("%"))
        let encoded = try CorpusEncoder.encode(source, options: model.textOptions, vocabulary: model.vocabulary, unknown: .error)
        XCTAssertEqual(encoded.tokens, expected.tokens)
        XCTAssertEqual(model.configuration.vocabularySize, expected.vocab_size)
    }

    func testLogitsMatchPyTorchWithResetsBeforeEveryDocument() throws {
        let (file, expected) = try load()
        let model = LanguageModel(weights: file.weights)
        let inputs = Array(expected.tokens.dropLast())
        XCTAssertGreaterThan(inputs.filter { $0 == 0 }.count, 2, "the text must hold several documents")
        let v = expected.vocab_size
        XCTAssertEqual(expected.logits.count, inputs.count * v)
        let engine = InferenceEngine(model: model, batch: 1, maxSeq: inputs.count)
        let state = RecurrentState(configuration: model.configuration, batch: 1)
        var logits = [Float](repeating: .nan, count: inputs.count * v)
        inputs.withUnsafeBufferPointer { i in
            logits.withUnsafeMutableBufferPointer { engine.logits(inputs: i, seq: inputs.count, state: state, output: $0.baseAddress!) }
        }
        var worst: Float = 0
        for k in 0..<logits.count { worst = max(worst, abs(logits[k] - expected.logits[k])) }
        XCTAssertLessThan(worst, 1e-4, "largest logit difference from PyTorch")
        print("largest logit difference from PyTorch: \(worst)")
    }

    func testEvaluationMatchesPyTorchCrossEntropy() throws {
        let (file, expected) = try load()
        let model = LanguageModel(weights: file.weights)
        let one = Evaluator(model: model, batch: 1, seq: 64).evaluate(expected.tokens)
        XCTAssertEqual(one.count, expected.targets)
        XCTAssertEqual(one.natsPerCharacter, expected.nats_per_char_lanes_1, accuracy: 1e-4)
        // The default: at most 4 lanes, each burning in back to its document's start, scores as one lane.
        let evaluator = Evaluator(model: model, batch: 4, seq: 16)
        let plan = evaluator.plan(expected.tokens)
        XCTAssertEqual([plan.lanes, plan.laneLength, plan.burnIn], expected.plan_lanes_4)
        XCTAssertGreaterThan(plan.lanes, 1)
        let four = evaluator.evaluate(expected.tokens)
        XCTAssertEqual(four.count, expected.targets)
        XCTAssertEqual(four.natsPerCharacter, expected.nats_per_char_lanes_4, accuracy: 1e-4)
        XCTAssertEqual(expected.nats_per_char_lanes_4, expected.nats_per_char_lanes_1, accuracy: 1e-6, "PyTorch's lanes give the one-lane figure")
        // A short burn-in leaves some lanes starting mid-document with 16 tokens of context; PyTorch agrees on that figure too.
        let short = Evaluator(model: model, batch: 4, seq: 16, burnIn: 16)
        let shortPlan = short.plan(expected.tokens)
        XCTAssertEqual([shortPlan.lanes, shortPlan.laneLength, shortPlan.burnIn], expected.plan_lanes_4_burn_in_16)
        XCTAssertEqual(short.evaluate(expected.tokens).natsPerCharacter, expected.nats_per_char_lanes_4_burn_in_16, accuracy: 1e-4)
        // Lanes from a zero state, no burn-in: the old figure, which the checks can tell apart.
        let fromZero = Evaluator(model: model, batch: 4, seq: 16, burnIn: 0).evaluate(expected.tokens)
        XCTAssertEqual(fromZero.natsPerCharacter, expected.nats_per_char_lanes_4_from_zero, accuracy: 1e-4)
        XCTAssertGreaterThan(abs(expected.nats_per_char_lanes_1 - expected.nats_per_char_lanes_4_from_zero), 1e-3)
    }
}
