import XCTest
@testable import Quill

/// A lane's state is zeroed exactly before it reads `[DOC]`, and nowhere else.
final class ResetTests: XCTestCase {
    let configuration = ModelConfiguration(vocabularySize: 6, embeddingSize: 3, hiddenSize: 5, layers: 2)

    /// Logits of one lane's window, through the inference engine.
    func logits(_ model: LanguageModel, _ inputs: [Int32], state: RecurrentState) -> [Float] {
        let engine = InferenceEngine(model: model, batch: 1, maxSeq: inputs.count)
        var out = [Float](repeating: 0, count: inputs.count * 6)
        inputs.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { engine.logits(inputs: x, seq: inputs.count, state: state, output: $0.baseAddress!) }
        }
        return out
    }

    func testResetHappensExactlyAtTheDocumentToken() {
        var random = QuillRandom(seed: 8)
        let model = LanguageModel.initialized(configuration, random: &random)
        let carried = RecurrentState(configuration: configuration, batch: 1)
        randomize(carried, random: &random)
        let inputs: [Int32] = [3, 1, 4, 0, 5, 2, 2, 1]
        let p = 3
        let whole = logits(model, inputs, state: carried.copy())
        // From [DOC] on, the window equals the segment run from a fresh zero state.
        let segment = logits(model, Array(inputs[p...]), state: RecurrentState(configuration: configuration, batch: 1))
        XCTAssertLessThan(maxAbsDifference(whole[(p * 6)...], segment), 1e-6)
        // Before it, the carried state is still used: the prefix equals the prefix run from the carried state
        // and differs from a prefix run from zero (so the reset did not come early).
        let prefix = logits(model, Array(inputs[..<p]), state: carried.copy())
        XCTAssertLessThan(maxAbsDifference(whole[..<(p * 6)], prefix), 1e-6)
        let prefixFromZero = logits(model, Array(inputs[..<p]), state: RecurrentState(configuration: configuration, batch: 1))
        XCTAssertGreaterThan(maxAbsDifference(whole[((p - 1) * 6)..<(p * 6)], prefixFromZero[((p - 1) * 6)...]), 1e-4)
        // Reading [DOC] after the prefix one token at a time zeroes just the same.
        let noReset = logits(model, [Int32(0)], state: {
            let s = carried.copy()
            _ = logits(model, Array(inputs[..<p]), state: s)
            return s
        }())
        XCTAssertLessThan(maxAbsDifference(whole[(p * 6)..<((p + 1) * 6)], noReset), 1e-6, "a [DOC] input always zeroes first")
        let reference = ReferenceForward(model: model, inputs: inputs, batch: 1, seq: inputs.count, state: carried)
        XCTAssertLessThan(maxAbsDifference(whole, reference.logits), 1e-5)
    }

    func testTrainingLossSeesTheResetOnlyInItsLane() {
        // Two lanes share carried state values; lane 0 resets mid-window, lane 1 does not.
        var random = QuillRandom(seed: 9)
        let model = LanguageModel.initialized(configuration, random: &random)
        let state = RecurrentState(configuration: configuration, batch: 2)
        randomize(state, random: &random)
        let inputs: [Int32] = [2, 3, 0, 4, 1, 5,   2, 3, 1, 4, 1, 5]
        let targets: [Int32] = [3, 0, 4, 1, 5, 0,   3, 1, 4, 1, 5, 0]
        let step = TrainingStep(model: model, batch: 2, seq: 6)
        var r = QuillRandom(seed: 1)
        let s = state.copy()
        inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                _ = step.run(inputs: x, targets: y, state: s, gradients: ParameterBuffer(layout: model.layout), random: &r)
            }
        }
        let reference = ReferenceForward(model: model, inputs: inputs, batch: 2, seq: 6, state: state)
        XCTAssertEqual(step.lastLossSum, reference.crossEntropy(targets: targets, vocabularySize: 6), accuracy: 1e-5)
        XCTAssertLessThan(maxAbsDifference(s.h, reference.h), 1e-6)
        // Lane 0's final state equals its segment from [DOC] run from zero.
        let segment = ReferenceForward(model: model, inputs: [0, 4, 1, 5], batch: 1, seq: 4,
                                       state: RecurrentState(configuration: configuration, batch: 1))
        for k in 0..<2 {
            for j in 0..<5 {
                XCTAssertEqual(Double(s.h[(k * 2 + 0) * 5 + j]), segment.h[k * 5 + j], accuracy: 1e-6)
            }
        }
    }
}
