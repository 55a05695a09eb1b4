import XCTest
@testable import Quill

/// Checks the real engine's backward (`TrainingStep.run`) against central finite differences of its own forward.
///
/// Precision: the engine runs in `Float`; the loss of each perturbed run is summed in `Double`
/// (`lastLossSum`). With a step of 1e-2 the finite-difference noise from Float rounding is about
/// 1e-6 and the truncation error of order 1e-6, so an analytic and a numeric derivative agree
/// when `|a - n| <= 2e-5 + 2e-3 * max(|a|, |n|)` (observed worst: a tenth of that). Every element of every tensor is checked.
final class GradientCheckTests: XCTestCase {
    static let configuration = ModelConfiguration(vocabularySize: 7, embeddingSize: 5, hiddenSize: 6, layers: 2)
    static let batch = 3, seq = 6
    static let step: Float = 1e-2
    static let absoluteTolerance = 2e-5, relativeTolerance = 2e-3

    /// Lane 0 reads `[DOC]` at step 2, lane 1 at step 4, lane 2 never: resets in some lanes, at different steps.
    static func window(random: inout QuillRandom) -> (inputs: [Int32], targets: [Int32]) {
        var inputs = randomTokens(count: batch * seq, vocabularySize: 7, random: &random)
        inputs[0 * seq + 2] = 0
        inputs[1 * seq + 4] = 0
        var targets = randomTokens(count: batch * seq, vocabularySize: 7, random: &random)
        targets[0 * seq + 1] = 0  // the model also predicts document ends
        return (inputs, targets)
    }

    struct Outcome {
        var checked = 0
        var failures = 0
        var worstRatio = 0.0
        var worst = ""
    }

    /// Compares every gradient element of `model` with central differences; dropout masks come from `seed` in every run.
    func check(model: LanguageModel, inputs: [Int32], targets: [Int32], state: RecurrentState,
               seed: UInt64, leak: Bool, regularization: Regularization = .none) -> Outcome {
        let step = TrainingStep(model: model, batch: Self.batch, seq: Self.seq, regularization: regularization)
        step.leaksGradientAcrossResetsForTesting = leak
        let analytic = ParameterBuffer(layout: model.layout)
        let scratch = ParameterBuffer(layout: model.layout)
        let n = Double(Self.batch * Self.seq)
        func loss(into gradients: ParameterBuffer) -> Double {
            var random = QuillRandom(seed: seed)
            let s = state.copy()
            inputs.withUnsafeBufferPointer { x in
                targets.withUnsafeBufferPointer { y in
                    _ = step.run(inputs: x, targets: y, state: s, gradients: gradients, random: &random)
                }
            }
            return step.lastLossSum / n
        }
        _ = loss(into: analytic)
        var outcome = Outcome()
        let w = model.weights.pointer
        for slot in model.layout.slots {
            for e in 0..<slot.count {
                let i = slot.offset + e
                let original = w[i]
                let plus = original + Self.step, minus = original - Self.step
                w[i] = plus
                let lossPlus = loss(into: scratch)
                w[i] = minus
                let lossMinus = loss(into: scratch)
                w[i] = original
                let numeric = (lossPlus - lossMinus) / (Double(plus) - Double(minus))
                let a = Double(analytic.pointer[i])
                let ratio = abs(a - numeric) / (Self.absoluteTolerance + Self.relativeTolerance * max(abs(a), abs(numeric)))
                outcome.checked += 1
                if ratio > 1 { outcome.failures += 1 }
                if ratio > outcome.worstRatio {
                    outcome.worstRatio = ratio
                    outcome.worst = "\(slot.name)[\(e)]: analytic \(a), numeric \(numeric)"
                }
            }
        }
        return outcome
    }

    func makeCase(dropout: Float) -> (LanguageModel, [Int32], [Int32], RecurrentState) {
        var random = QuillRandom(seed: 11)
        var configuration = Self.configuration
        configuration.dropout = dropout
        let model = LanguageModel.initialized(configuration, random: &random)
        let state = RecurrentState(configuration: configuration, batch: Self.batch)
        randomize(state, random: &random)
        let (inputs, targets) = Self.window(random: &random)
        return (model, inputs, targets, state)
    }

    func testEveryGradientMatchesFiniteDifferencesWithResetsAndCarriedState() {
        let (model, inputs, targets, state) = makeCase(dropout: 0)
        let outcome = check(model: model, inputs: inputs, targets: targets, state: state, seed: 1, leak: false)
        XCTAssertEqual(outcome.checked, model.layout.count)
        XCTAssertEqual(outcome.failures, 0, "worst: \(outcome.worst) (ratio \(outcome.worstRatio))")
        print("gradient check: \(outcome.checked) elements, worst ratio \(outcome.worstRatio): \(outcome.worst)")
    }

    func testLeakingGradientAcrossResetsFailsTheCheck() {
        let (model, inputs, targets, state) = makeCase(dropout: 0)
        let outcome = check(model: model, inputs: inputs, targets: targets, state: state, seed: 1, leak: true)
        XCTAssertGreaterThan(outcome.failures, 10, "a backward that ignores resets must disagree with finite differences")
        XCTAssertGreaterThan(outcome.worstRatio, 10)
        print("leaking check: \(outcome.failures) of \(outcome.checked) fail, worst ratio \(outcome.worstRatio): \(outcome.worst)")
    }

    func testGradientsMatchFiniteDifferencesWithAFixedDropoutMask() {
        let (model, inputs, targets, state) = makeCase(dropout: 0.3)
        let outcome = check(model: model, inputs: inputs, targets: targets, state: state, seed: 5, leak: false)
        XCTAssertEqual(outcome.failures, 0, "worst: \(outcome.worst) (ratio \(outcome.worstRatio))")
        print("dropout gradient check: worst ratio \(outcome.worstRatio): \(outcome.worst)")
    }

    /// Checks every gradient with `regularization` on, its masks fixed by the seed.
    func assertGradientsMatch(dropout: Float = 0, _ regularization: Regularization, file: StaticString = #filePath, line: UInt = #line) {
        let (model, inputs, targets, state) = makeCase(dropout: dropout)
        let outcome = check(model: model, inputs: inputs, targets: targets, state: state, seed: 5, leak: false,
                            regularization: regularization)
        XCTAssertEqual(outcome.checked, model.layout.count, file: file, line: line)
        XCTAssertEqual(outcome.failures, 0, "worst: \(outcome.worst) (ratio \(outcome.worstRatio))", file: file, line: line)
        print("\(regularization) gradient check: worst ratio \(outcome.worstRatio): \(outcome.worst)")
    }

    func testGradientsMatchFiniteDifferencesWithLockedDropoutMasks() {
        assertGradientsMatch(dropout: 0.3, Regularization(dropoutMasks: .window))
    }

    func testGradientsMatchFiniteDifferencesWithInputDropout() {
        assertGradientsMatch(Regularization(dropoutMasks: .window, inputDropout: 0.4))
    }

    func testGradientsMatchFiniteDifferencesWithDropConnectOnTheRecurrentWeights() {
        assertGradientsMatch(Regularization(weightDrop: 0.4))
    }

    func testGradientsMatchFiniteDifferencesWithEmbeddingDropout() {
        assertGradientsMatch(Regularization(embeddingDropout: 0.4))
    }

    func testGradientsMatchFiniteDifferencesWithEveryRegularizerOn() {
        assertGradientsMatch(dropout: 0.2, Regularization(dropoutMasks: .window, inputDropout: 0.3, weightDrop: 0.3,
                                                          embeddingDropout: 0.3))
    }

    func testTrainingForwardMatchesScalarReferenceLossAndFinalState() {
        let (model, inputs, targets, state) = makeCase(dropout: 0)
        let reference = ReferenceForward(model: model, inputs: inputs, batch: Self.batch, seq: Self.seq, state: state)
        let step = TrainingStep(model: model, batch: Self.batch, seq: Self.seq)
        let gradients = ParameterBuffer(layout: model.layout)
        let s = state.copy()
        var random = QuillRandom(seed: 1)
        let loss = inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                step.run(inputs: x, targets: y, state: s, gradients: gradients, random: &random)
            }
        }
        let expected = reference.crossEntropy(targets: targets, vocabularySize: 7) / Double(Self.batch * Self.seq)
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-5)
        XCTAssertEqual(step.lastLossSum / Double(Self.batch * Self.seq), expected, accuracy: 1e-5)
        XCTAssertLessThan(maxAbsDifference(s.h, reference.h), 1e-5)
        XCTAssertLessThan(maxAbsDifference(s.c, reference.c), 1e-5)
        // The carried-in state mattered: lane 2 never resets, so its final state differs from a zero start.
        let fromZero = ReferenceForward(model: model, inputs: inputs, batch: Self.batch, seq: Self.seq,
                                        state: RecurrentState(configuration: model.configuration, batch: Self.batch))
        XCTAssertGreaterThan(maxAbsDifference(reference.h, fromZero.h), 1e-3)
    }
}
