import XCTest
@testable import Quill

/// The forward-only paths agree with the training forward, with a scalar reference, and with each other.
final class InferenceEngineTests: XCTestCase {
    let configuration = ModelConfiguration(vocabularySize: 9, embeddingSize: 4, hiddenSize: 8, layers: 2)
    let batch = 3, seq = 7

    func makeCase() -> (LanguageModel, [Int32], [Int32], RecurrentState) {
        var random = QuillRandom(seed: 21)
        let model = LanguageModel.initialized(configuration, random: &random)
        let state = RecurrentState(configuration: configuration, batch: batch)
        randomize(state, random: &random)
        var inputs = randomTokens(count: batch * seq, vocabularySize: 9, random: &random)
        inputs[0 * seq + 3] = 0
        inputs[2 * seq + 0] = 0
        inputs[2 * seq + 5] = 0
        let targets = randomTokens(count: batch * seq, vocabularySize: 9, random: &random)
        return (model, inputs, targets, state)
    }

    func testCrossEntropyEqualsTrainingLossTimesTokenCount() {
        let (model, inputs, targets, state) = makeCase()
        let engine = InferenceEngine(model: model, batch: batch, maxSeq: seq + 2)
        let inferenceState = state.copy()
        let summed = inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                engine.crossEntropy(inputs: x, targets: y, seq: seq, state: inferenceState)
            }
        }
        let step = TrainingStep(model: model, batch: batch, seq: seq)
        let trainingState = state.copy()
        var random = QuillRandom(seed: 3)
        let mean = inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                step.run(inputs: x, targets: y, state: trainingState, gradients: ParameterBuffer(layout: model.layout), random: &random)
            }
        }
        XCTAssertEqual(summed, Double(mean) * Double(batch * seq), accuracy: 1e-4)
        XCTAssertEqual(summed, step.lastLossSum, accuracy: 1e-5)
        let reference = ReferenceForward(model: model, inputs: inputs, batch: batch, seq: seq, state: state)
        XCTAssertEqual(summed, reference.crossEntropy(targets: targets, vocabularySize: 9), accuracy: 1e-4)
        XCTAssertLessThan(maxAbsDifference(inferenceState.h, trainingState.h), 1e-6)
        XCTAssertLessThan(maxAbsDifference(inferenceState.c, trainingState.c), 1e-6)
    }

    func testLogitsMatchReferenceAndGiveTheSameCrossEntropy() {
        let (model, inputs, targets, state) = makeCase()
        let engine = InferenceEngine(model: model, batch: batch, maxSeq: seq)
        var logits = [Float](repeating: .nan, count: batch * seq * 9)
        let s = state.copy()
        inputs.withUnsafeBufferPointer { x in
            logits.withUnsafeMutableBufferPointer { engine.logits(inputs: x, seq: seq, state: s, output: $0.baseAddress!) }
        }
        let reference = ReferenceForward(model: model, inputs: inputs, batch: batch, seq: seq, state: state)
        XCTAssertLessThan(maxAbsDifference(logits, reference.logits), 1e-5)
        XCTAssertLessThan(maxAbsDifference(s.h, reference.h), 1e-5)
        let manual = summedCrossEntropy(logits: logits, targets: targets, vocabularySize: 9)
        let summed = inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                engine.crossEntropy(inputs: x, targets: y, seq: seq, state: state.copy())
            }
        }
        XCTAssertEqual(manual, summed, accuracy: 1e-4)
    }

    func testSteppingOneTokenAtATimeMatchesTheWindow() {
        let (model, inputs, _, state) = makeCase()
        let window = InferenceEngine(model: model, batch: batch, maxSeq: seq)
        var expected = [Float](repeating: 0, count: batch * seq * 9)
        let windowState = state.copy()
        inputs.withUnsafeBufferPointer { x in
            expected.withUnsafeMutableBufferPointer { window.logits(inputs: x, seq: seq, state: windowState, output: $0.baseAddress!) }
        }
        let stepper = InferenceEngine(model: model, batch: batch, maxSeq: 1)
        let stepState = state.copy()
        var tokens = [Int32](repeating: 0, count: batch)
        var out = [Float](repeating: 0, count: batch * 9)
        var worst = 0.0
        for t in 0..<seq {
            for b in 0..<batch { tokens[b] = inputs[b * seq + t] }
            tokens.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { stepper.step(tokens: x, state: stepState, logits: $0.baseAddress!) }
            }
            for b in 0..<batch {
                for j in 0..<9 {
                    worst = max(worst, Double(abs(out[b * 9 + j] - expected[(b * seq + t) * 9 + j])))
                }
            }
        }
        XCTAssertLessThan(worst, 1e-5)
        XCTAssertLessThan(maxAbsDifference(stepState.h, windowState.h), 1e-6)
        XCTAssertLessThan(maxAbsDifference(stepState.c, windowState.c), 1e-6)
    }
}
