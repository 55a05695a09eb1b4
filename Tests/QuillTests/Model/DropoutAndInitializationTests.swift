import XCTest
import _QuillKernels
@testable import Quill

/// Dropout in training is real, seeded and absent otherwise; initialization is seeded and bounded.
final class DropoutAndInitializationTests: XCTestCase {
    func loss(_ model: LanguageModel, seed: UInt64, training: Bool, inputs: [Int32], targets: [Int32]) -> Float {
        let step = TrainingStep(model: model, batch: 2, seq: 5)
        var random = QuillRandom(seed: seed)
        return inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                step.run(inputs: x, targets: y, state: RecurrentState(configuration: model.configuration, batch: 2),
                         gradients: ParameterBuffer(layout: model.layout), random: &random, training: training)
            }
        }
    }

    func testDropoutChangesTheLossReproduciblyAndOnlyInTraining() {
        let withDropout = ModelConfiguration(vocabularySize: 8, embeddingSize: 4, hiddenSize: 16, layers: 2, dropout: 0.5)
        var random = QuillRandom(seed: 4)
        let model = LanguageModel.initialized(withDropout, random: &random)
        var plainConfiguration = withDropout
        plainConfiguration.dropout = 0
        let plainWeights = ParameterBuffer(layout: ParameterLayout(plainConfiguration))
        plainWeights.pointer.update(from: model.weights.pointer, count: model.weights.count)
        let plain = LanguageModel(weights: plainWeights)
        let inputs = randomTokens(count: 10, vocabularySize: 8, random: &random)
        let targets = randomTokens(count: 10, vocabularySize: 8, random: &random)

        let noDropout = loss(plain, seed: 1, training: true, inputs: inputs, targets: targets)
        let a = loss(model, seed: 1, training: true, inputs: inputs, targets: targets)
        let b = loss(model, seed: 1, training: true, inputs: inputs, targets: targets)
        let c = loss(model, seed: 2, training: true, inputs: inputs, targets: targets)
        let evaluation = loss(model, seed: 1, training: false, inputs: inputs, targets: targets)
        XCTAssertEqual(a, b, "same seed, same masks")
        XCTAssertNotEqual(a, noDropout)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(evaluation, noDropout, accuracy: 1e-6)
    }

    func testInitializationIsSeededAndWithinBounds() {
        let configuration = ModelConfiguration(vocabularySize: 100, embeddingSize: 64, hiddenSize: 25, layers: 2)
        var r1 = QuillRandom(seed: 7), r2 = QuillRandom(seed: 7), r3 = QuillRandom(seed: 8)
        let a = LanguageModel.initialized(configuration, random: &r1)
        let b = LanguageModel.initialized(configuration, random: &r2)
        let c = LanguageModel.initialized(configuration, random: &r3)
        XCTAssertEqual(Array(a.weights.elements), Array(b.weights.elements))
        XCTAssertNotEqual(Array(a.weights.elements), Array(c.weights.elements))
        let bound: Float = 1 / 5
        for (index, slot) in a.layout.slots.enumerated() {
            let values = (0..<slot.count).map { a.weights.view(slot)[$0] }
            if index == a.layout.embeddingIndex {
                let mean = values.reduce(0) { $0 + Double($1) } / Double(values.count)
                let variance = values.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
                XCTAssertEqual(mean, 0, accuracy: 0.05, "embedding is N(0, 1)")
                XCTAssertEqual(variance, 1, accuracy: 0.06, "embedding is N(0, 1)")
                XCTAssertLessThanOrEqual(values.map(abs).max()!, 6)
            } else {
                XCTAssertLessThanOrEqual(values.map(abs).max()!, bound, slot.name)
                // Spread over the whole interval: uniform, not a narrower or constant fill.
                XCTAssertGreaterThan(values.max()!, 0.7 * bound, slot.name)
                XCTAssertLessThan(values.min()!, -0.7 * bound, slot.name)
            }
        }
    }

    func testFastActivationsAgreeWithTheLibraryFunctions() {
        var worstExp = 0.0, worstSigmoid = 0.0, worstTanh = 0.0
        var x: Float = -30
        while x <= 30 {
            worstExp = max(worstExp, abs(Double(quillExp(x)) / Foundation.exp(Double(x)) - 1))
            worstSigmoid = max(worstSigmoid, abs(Double(quillSigmoid(x)) - 1 / (1 + Foundation.exp(-Double(x)))))
            worstTanh = max(worstTanh, abs(Double(quillTanh(x)) - Foundation.tanh(Double(x))))
            x += 0.001_3
        }
        XCTAssertLessThan(worstExp, 1e-6)
        XCTAssertLessThan(worstSigmoid, 1e-6)
        XCTAssertLessThan(worstTanh, 1e-6)
        XCTAssertEqual(quillExp(-200), Foundation.exp(-87), accuracy: 1e-38)
        XCTAssertTrue(quillExp(200).isFinite)
    }

    /// The one exp gives the same bits one value at a time and eight at a time.
    func testExpOfEightLanesEqualsExpOfEachLane() {
        var random = QuillRandom(seed: 19)
        for _ in 0..<2000 {
            var x = SIMD8<Float>()
            for i in 0..<8 { x[i] = (random.nextUnitFloat() - 0.7) * 250 }
            let eight = quill_exp8(x)
            for i in 0..<8 { XCTAssertEqual(eight[i].bitPattern, quillExp(x[i]).bitPattern, "exp(\(x[i]))") }
        }
    }
}
