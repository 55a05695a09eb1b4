import Foundation
import Quill
import XCTest

/// Layouts of a few sizes, to get `ParameterBuffer`s of known length.
enum TrainingTestLayouts {
    /// 22 scalars: V 2, E 1, H 1, L 1 (the size of the PyTorch fixture).
    static let tiny = ParameterLayout(ModelConfiguration(vocabularySize: 2, embeddingSize: 1, hiddenSize: 1, layers: 1))
    /// 344 scalars: V 5, E 3, H 4, L 2.
    static let small = ParameterLayout(ModelConfiguration(vocabularySize: 5, embeddingSize: 3, hiddenSize: 4, layers: 2))
    /// A buffer of `layout` filled from `values`.
    static func buffer(_ layout: ParameterLayout, _ values: [Float]) -> ParameterBuffer {
        precondition(values.count == layout.count)
        let b = ParameterBuffer(layout: layout)
        for i in 0..<values.count { b.pointer[i] = values[i] }
        return b
    }
    /// Values of both signs with magnitudes spread over several decades, some exactly zero.
    static func spread(_ count: Int, _ random: inout QuillRandom, zeroEvery: Int = 0) -> [Float] {
        (0..<count).map { i in
            if zeroEvery > 0, i % zeroEvery == 0 { return 0 }
            let magnitude = Float(pow(10, -3 + 3.5 * random.nextUnitDouble()))
            return random.nextUnitFloat() < 0.5 ? -magnitude : magnitude
        }
    }
}

/// `|actual - expected| <= relative * max(|expected|, floor)`.
func assertClose(_ actual: Float, _ expected: Double, relative: Double, floor: Double,
                 _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    let tolerance = relative * max(abs(expected), floor)
    XCTAssertLessThanOrEqual(abs(Double(actual) - expected), tolerance,
                             "\(actual) vs \(expected) \(message())", file: file, line: line)
}

final class AdamTests: XCTestCase {
    func testFirstStepMovesEachParameterByLearningRateTimesSignOfGradient() {
        let layout = TrainingTestLayouts.small
        var random = QuillRandom(seed: 3)
        let initial = (0..<layout.count).map { _ in random.nextUnitFloat() * 2 - 1 }
        let g = TrainingTestLayouts.spread(layout.count, &random, zeroEvery: 7)
        let weights = TrainingTestLayouts.buffer(layout, initial)
        let gradients = TrainingTestLayouts.buffer(layout, g)
        let adam = AdamOptimizer(layout: layout)
        let lr: Float = 1e-2
        adam.step(weights: weights, gradients: gradients, learningRate: lr)
        XCTAssertEqual(adam.stepCount, 1)
        for i in 0..<layout.count {
            if g[i] == 0 {
                XCTAssertEqual(weights.pointer[i], initial[i], "a zero gradient leaves its parameter in place")
            } else {
                // Bias-corrected m / sqrt(v) is g / |g| exactly, up to eps and rounding.
                let moved = Double(weights.pointer[i]) - Double(initial[i])
                let expected = -Double(lr) * (g[i] > 0 ? 1 : -1)
                XCTAssertEqual(moved, expected, accuracy: Double(lr) * 1e-4, "index \(i), g \(g[i])")
            }
        }
    }

    func testSeveralStepsAgreeWithDoubleReference() {
        for weightDecay in [0.0, 0.05] {
            let layout = TrainingTestLayouts.small
            var random = QuillRandom(seed: 11)
            let initial = (0..<layout.count).map { _ in random.nextUnitFloat() * 2 - 1 }
            let weights = TrainingTestLayouts.buffer(layout, initial)
            let adam = AdamOptimizer(layout: layout, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: weightDecay)

            // Textbook Adam / AdamW in Double, from the formulas of torch.optim.Adam's documentation.
            var p = initial.map(Double.init)
            var m = [Double](repeating: 0, count: layout.count)
            var v = [Double](repeating: 0, count: layout.count)
            // The size of the terms summed into m, against which its rounding error is measured:
            // where gradients change sign m is a small difference of larger terms.
            var mTerms = [Double](repeating: 0, count: layout.count)
            let rates: [Float] = [1e-3, 5e-3, 2e-3, 2e-3, 1e-2, 4e-3, 3e-3]
            for (index, lr) in rates.enumerated() {
                let g = TrainingTestLayouts.spread(layout.count, &random, zeroEvery: 13)
                adam.step(weights: weights, gradients: TrainingTestLayouts.buffer(layout, g), learningRate: lr)
                let t = Double(index + 1)
                let lrD = Double(lr)
                let bc1 = 1 - pow(0.9, t)
                let bc2 = 1 - pow(0.999, t)
                for i in 0..<layout.count {
                    let gi = Double(g[i])
                    p[i] -= lrD * weightDecay * p[i]
                    m[i] = 0.9 * m[i] + 0.1 * gi
                    mTerms[i] = 0.9 * mTerms[i] + 0.1 * abs(gi)
                    v[i] = 0.999 * v[i] + 0.001 * gi * gi
                    p[i] -= (lrD / bc1) * m[i] / (v[i].squareRoot() / bc2.squareRoot() + 1e-8)
                }
            }
            let vScale = v.map(abs).max()!
            for i in 0..<layout.count {
                assertClose(weights.pointer[i], p[i], relative: 1e-6, floor: 0.1, "weight \(i), wd \(weightDecay)")
                assertClose(adam.m.pointer[i], m[i], relative: 1e-6, floor: mTerms[i], "m \(i)")
                assertClose(adam.v.pointer[i], v[i], relative: 1e-6, floor: vScale * 1e-6, "v \(i)")
            }
            XCTAssertEqual(adam.stepCount, rates.count)
        }
    }

    func testAdamWDecayShrinksWeightsByOneMinusLearningRateTimesDecay() {
        let layout = TrainingTestLayouts.tiny
        var random = QuillRandom(seed: 5)
        let initial = (0..<layout.count).map { _ in random.nextUnitFloat() * 4 - 2 }
        var g = TrainingTestLayouts.spread(layout.count, &random)
        for i in stride(from: 0, to: layout.count, by: 2) { g[i] = 0 }
        let weights = TrainingTestLayouts.buffer(layout, initial)
        let adam = AdamOptimizer(layout: layout, weightDecay: 0.1)
        let lr: Float = 0.05
        adam.step(weights: weights, gradients: TrainingTestLayouts.buffer(layout, g), learningRate: lr)
        let factor = 1 - Double(lr) * 0.1
        for i in 0..<layout.count {
            let decayed = Double(initial[i]) * factor
            // Zero gradient: decay alone. Otherwise decay, then the first Adam step of lr * sign(g).
            let expected = g[i] == 0 ? decayed : decayed - Double(lr) * (g[i] > 0 ? 1 : -1)
            XCTAssertEqual(Double(weights.pointer[i]), expected, accuracy: 1e-6, "index \(i)")
        }
        // Plain Adam leaves zero-gradient weights exactly where they were.
        let plain = AdamOptimizer(layout: layout)
        let w2 = TrainingTestLayouts.buffer(layout, initial)
        plain.step(weights: w2, gradients: TrainingTestLayouts.buffer(layout, g), learningRate: lr)
        XCTAssertEqual(w2.pointer[0], initial[0])
        XCTAssertNotEqual(weights.pointer[0], initial[0])
    }

    func testResetClearsMomentsAndStepCount() {
        let layout = TrainingTestLayouts.tiny
        let adam = AdamOptimizer(layout: layout)
        let w = ParameterBuffer(layout: layout)
        let g = ParameterBuffer(layout: layout)
        g.pointer.update(repeating: 0.5, count: g.count)
        adam.step(weights: w, gradients: g, learningRate: 1e-3)
        XCTAssertNotEqual(adam.m.pointer[0], 0)
        adam.reset()
        XCTAssertEqual(adam.stepCount, 0)
        XCTAssertTrue(adam.m.elements.allSatisfy { $0 == 0 } && adam.v.elements.allSatisfy { $0 == 0 })
    }

    func testMatchesPyTorchAdamFixture() throws {
        let fixture = try TorchOptimizerFixture.load()
        let layout = TrainingTestLayouts.tiny
        XCTAssertEqual(fixture.count, layout.count)
        XCTAssertEqual(fixture.adam.count, 3)
        for c in fixture.adam {
            let weights = TrainingTestLayouts.buffer(layout, c.initial)
            let adam = AdamOptimizer(layout: layout, beta1: c.beta1, beta2: c.beta2, epsilon: c.eps, weightDecay: c.weight_decay)
            for (step, g) in c.gradients.enumerated() {
                adam.step(weights: weights, gradients: TrainingTestLayouts.buffer(layout, g), learningRate: Float(c.learning_rate))
                let expected = c.weights_after_each_step[step]
                for i in 0..<layout.count {
                    assertClose(weights.pointer[i], Double(expected[i]), relative: 1e-6, floor: 0.1,
                                "\(c.name) step \(step + 1) index \(i)")
                }
            }
        }
    }
}

/// `Fixtures/adam_torch.json`, written by `scripts/make_adam_fixture.py` with PyTorch.
struct TorchOptimizerFixture: Decodable {
    struct AdamCase: Decodable {
        var name: String
        var learning_rate: Double
        var beta1: Double
        var beta2: Double
        var eps: Double
        var weight_decay: Double
        var initial: [Float]
        var gradients: [[Float]]
        var weights_after_each_step: [[Float]]
    }
    struct ClipCase: Decodable {
        var name: String
        var max_norm: Float
        var gradients: [Float]
        var norm: Double
        var clipped: [Float]
    }
    var count: Int
    var adam: [AdamCase]
    var clip: [ClipCase]

    static func load() throws -> TorchOptimizerFixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "adam_torch", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(TorchOptimizerFixture.self, from: Data(contentsOf: url))
    }
}
