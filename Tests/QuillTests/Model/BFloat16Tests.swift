import XCTest
@testable import Quill

/// Checks the bfloat16 kernels and engines against the float32 ones and an independent reference.
///
/// Tolerances: a bfloat16 operand carries a relative rounding error of at most 2^-9 (about 2e-3),
/// so a product of two rounded operands is within about 4e-3 of the exact one; sums of many such
/// products with mixed signs keep the error of the same order relative to the sum of magnitudes.
/// Loss and gradients of a whole window are therefore asked to agree with float32 within 1e-2
/// relative (norm of the difference over norm of the float32 tensor), the largest error observed
/// being a fraction of that. The packed product itself must match a `Double` reference computed
/// from the bfloat16-rounded operands to 1e-5 relative, as only fp32 summation errors remain.
final class BFloat16Tests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(ComputePrecision.bfloat16Available, "the CPU has no AVX-512 BF16")
    }

    /// Round to nearest even to bfloat16, written independently of the C kernels.
    static func rounded(_ x: Float) -> Double {
        let bits = x.bitPattern
        let lsb = (bits >> 16) & 1
        let r = (bits &+ 0x7FFF &+ lsb) & 0xFFFF_0000
        return Double(Float(bitPattern: r))
    }

    func testPackedProductMatchesReferenceOnRoundedOperandsWithTailsAndStrides() {
        var random = QuillRandom(seed: 11)
        for (m, n, k) in [(1, 37, 19), (3, 16, 8), (13, 70, 33), (8, 48, 64), (20, 5, 1)] {
            let a = (0..<(m * k)).map { _ in 2 * random.nextUnitFloat() - 1 }
            // B stored transposed ([k, n]) to exercise the strided packing.
            let bT = (0..<(k * n)).map { _ in 2 * random.nextUnitFloat() - 1 }
            let c0 = (0..<(m * n)).map { _ in random.nextUnitFloat() }
            let left = PackedBFloat16(left: m, k: k), right = PackedBFloat16(right: n, k: k)
            a.withUnsafeBufferPointer { BFloat16Kernels.packLeft($0.baseAddress!, rowStride: k, columnStride: 1, m: m, k: k, into: left) }
            bT.withUnsafeBufferPointer { right.packRight($0.baseAddress!, rowStride: 1, columnStride: n, n: n, k: k) }
            var c = c0
            c.withUnsafeMutableBufferPointer {
                BFloat16Kernels.gemm(m: m, n: n, k: k, a: left, b: right, beta: 1, c: $0.baseAddress!, ldc: n)
            }
            var worst = 0.0, worstVsExact = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var rounded = Double(c0[i * n + j]), exact = rounded, magnitude = 1.0
                    for p in 0..<k {
                        rounded += Self.rounded(a[i * k + p]) * Self.rounded(bT[p * n + j])
                        exact += Double(a[i * k + p]) * Double(bT[p * n + j])
                        magnitude += abs(Double(a[i * k + p]) * Double(bT[p * n + j]))
                    }
                    worst = max(worst, abs(Double(c[i * n + j]) - rounded) / magnitude)
                    worstVsExact = max(worstVsExact, abs(Double(c[i * n + j]) - exact) / magnitude)
                }
            }
            XCTAssertLessThan(worst, 1e-5, "m \(m) n \(n) k \(k)")
            XCTAssertLessThan(worstVsExact, 8e-3, "m \(m) n \(n) k \(k)")
            XCTAssertGreaterThan(worstVsExact, 0, "the operands must actually be rounded")
        }
    }

    /// Loss and every gradient tensor of one window, in the given precision and thread count.
    func window(_ precision: ComputePrecision, threads: Int, model: LanguageModel, batch: Int, seq: Int)
        -> (loss: Float, gradients: ParameterBuffer, state: RecurrentState) {
        var random = QuillRandom(seed: 5)
        var inputs = randomTokens(count: batch * seq, vocabularySize: model.configuration.vocabularySize, random: &random)
        inputs[1 * seq + 3] = 0
        let targets = randomTokens(count: batch * seq, vocabularySize: model.configuration.vocabularySize, random: &random)
        let state = RecurrentState(configuration: model.configuration, batch: batch)
        randomize(state, random: &random)
        let step = TrainingStep(model: model, batch: batch, seq: seq, precision: precision, threads: threads)
        let gradients = ParameterBuffer(layout: model.layout)
        let loss = inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                step.run(inputs: x, targets: y, state: state, gradients: gradients, random: &random)
            }
        }
        return (loss, gradients, state)
    }

    func testTrainingWindowAgreesWithFloat32WithinOnePercent() {
        var random = QuillRandom(seed: 3)
        let model = LanguageModel.initialized(
            ModelConfiguration(vocabularySize: 11, embeddingSize: 9, hiddenSize: 40, layers: 2), random: &random)
        let single = window(.float32, threads: 1, model: model, batch: 5, seq: 12)
        let half = window(.bfloat16, threads: 2, model: model, batch: 5, seq: 12)
        XCTAssertEqual(Double(half.loss), Double(single.loss), accuracy: 1e-2 * Double(single.loss))
        XCTAssertNotEqual(half.loss, single.loss, "bfloat16 must actually round")
        for slot in model.layout.slots {
            let a = half.gradients.view(slot), b = single.gradients.view(slot)
            var difference = 0.0, norm = 0.0
            for i in 0..<slot.count {
                difference += pow(Double(a[i]) - Double(b[i]), 2)
                norm += pow(Double(b[i]), 2)
            }
            XCTAssertGreaterThan(norm, 0, slot.name)
            XCTAssertLessThan((difference / norm).squareRoot(), 1e-2, slot.name)
        }
        XCTAssertLessThan(maxAbsDifference(half.state.h, single.state.h), 1e-2)
    }

    func testResultsAreTheSameForOneAndTwoThreadsInBothPrecisions() {
        var random = QuillRandom(seed: 4)
        let model = LanguageModel.initialized(
            ModelConfiguration(vocabularySize: 9, embeddingSize: 6, hiddenSize: 24, layers: 2), random: &random)
        for precision in ComputePrecision.allCases {
            let one = window(precision, threads: 1, model: model, batch: 6, seq: 7)
            let two = window(precision, threads: 2, model: model, batch: 6, seq: 7)
            XCTAssertEqual(one.loss, two.loss)
            XCTAssertEqual(Array(one.gradients.elements), Array(two.gradients.elements))
            XCTAssertEqual(Array(one.state.h), Array(two.state.h))
        }
    }

    func testTrainingInBFloat16LowersTheLossAsFloat32Does() {
        let configuration = ModelConfiguration(vocabularySize: 8, embeddingSize: 8, hiddenSize: 32, layers: 2)
        // A repetitive stream the model can learn quickly.
        let pattern: [Int32] = [1, 2, 3, 4, 5, 6, 7, 3, 2, 1, 5, 7]
        let batch = 4, seq = 12
        let stream = (0..<(batch * (seq + 1) * 4)).map { pattern[$0 % pattern.count] }
        func train(_ precision: ComputePrecision) -> (first: Float, last: Float) {
            var random = QuillRandom(seed: 1)
            let model = LanguageModel.initialized(configuration, random: &random)
            let step = TrainingStep(model: model, batch: batch, seq: seq, precision: precision, threads: 2)
            let gradients = ParameterBuffer(layout: model.layout)
            let adam = AdamOptimizer(layout: model.layout)
            let state = RecurrentState(configuration: configuration, batch: batch)
            var first: Float = 0, last: Float = 0
            for iteration in 0..<60 {
                var x = [Int32](), y = [Int32]()
                for b in 0..<batch {
                    let start = (b * 7 + iteration * seq) % (stream.count - seq - 1)
                    x += stream[start..<(start + seq)]
                    y += stream[(start + 1)..<(start + seq + 1)]
                }
                let loss = x.withUnsafeBufferPointer { xs in
                    y.withUnsafeBufferPointer { ys in
                        step.run(inputs: xs, targets: ys, state: state, gradients: gradients, random: &random)
                    }
                }
                if iteration == 0 { first = loss }
                last = loss
                GradientClipping.clip(gradients, maxNorm: 5)
                adam.step(weights: model.weights, gradients: gradients, learningRate: 1e-2)
            }
            return (first, last)
        }
        let single = train(.float32), half = train(.bfloat16)
        XCTAssertLessThan(single.last, 0.5 * single.first)
        XCTAssertLessThan(half.last, 0.5 * half.first)
        XCTAssertEqual(Double(half.last), Double(single.last), accuracy: 0.1 + 0.2 * Double(single.last))
    }

    func testInferenceInBFloat16AgreesWithFloat32ForWindowsAndSteps() {
        var random = QuillRandom(seed: 6)
        let configuration = ModelConfiguration(vocabularySize: 10, embeddingSize: 7, hiddenSize: 36, layers: 2)
        let model = LanguageModel.initialized(configuration, random: &random)
        let batch = 3, seq = 9
        var inputs = randomTokens(count: batch * seq, vocabularySize: 10, random: &random)
        inputs[2 * seq + 4] = 0
        let targets = randomTokens(count: batch * seq, vocabularySize: 10, random: &random)
        let start = RecurrentState(configuration: configuration, batch: batch)
        randomize(start, random: &random)
        func score(_ precision: ComputePrecision) -> Double {
            let engine = InferenceEngine(model: model, batch: batch, maxSeq: seq, precision: precision)
            return inputs.withUnsafeBufferPointer { x in
                targets.withUnsafeBufferPointer { y in engine.crossEntropy(inputs: x, targets: y, seq: seq, state: start.copy()) }
            }
        }
        let single = score(.float32), half = score(.bfloat16)
        XCTAssertEqual(half, single, accuracy: 1e-2 * single)
        XCTAssertNotEqual(half, single)
        // Stepping one token at a time (the joined [x | h] product) against the float32 window.
        let window = InferenceEngine(model: model, batch: batch, maxSeq: seq)
        var expected = [Float](repeating: 0, count: batch * seq * 10)
        let windowState = start.copy()
        inputs.withUnsafeBufferPointer { x in
            expected.withUnsafeMutableBufferPointer { window.logits(inputs: x, seq: seq, state: windowState, output: $0.baseAddress!) }
        }
        let stepper = InferenceEngine(model: model, batch: batch, maxSeq: 1, precision: .bfloat16)
        let stepState = start.copy()
        var tokens = [Int32](repeating: 0, count: batch), out = [Float](repeating: 0, count: batch * 10)
        var worst = 0.0, scale = 0.0
        for t in 0..<seq {
            for b in 0..<batch { tokens[b] = inputs[b * seq + t] }
            tokens.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { stepper.step(tokens: x, state: stepState, logits: $0.baseAddress!) }
            }
            for b in 0..<batch {
                for j in 0..<10 {
                    let e = Double(expected[(b * seq + t) * 10 + j])
                    worst = max(worst, abs(Double(out[b * 10 + j]) - e))
                    scale = max(scale, abs(e))
                }
            }
        }
        XCTAssertLessThan(worst, 1e-2 * scale)
        XCTAssertLessThan(maxAbsDifference(stepState.h, windowState.h), 1e-2)
    }

    func testSingleLaneStepsWithTheHelperThreadEqualOneThreadAndAgreeWithFloat32() {
        var random = QuillRandom(seed: 7)
        let configuration = ModelConfiguration(vocabularySize: 12, embeddingSize: 8, hiddenSize: 40, layers: 2)
        let model = LanguageModel.initialized(configuration, random: &random)
        let tokens: [Int32] = [0, 3, 5, 1, 11, 0, 7, 2, 2, 9]
        func run(_ precision: ComputePrecision, threads: Int) -> [Float] {
            let engine = InferenceEngine(model: model, batch: 1, maxSeq: 1, precision: precision, threads: threads)
            let state = RecurrentState(configuration: configuration, batch: 1)
            var all: [Float] = [], out = [Float](repeating: 0, count: 12)
            for token in tokens {
                [token].withUnsafeBufferPointer { x in
                    out.withUnsafeMutableBufferPointer { engine.step(tokens: x, state: state, logits: $0.baseAddress!) }
                }
                all += out
            }
            return all + Array(state.h) + Array(state.c)
        }
        let paired = run(.bfloat16, threads: 2), alone = run(.bfloat16, threads: 1), single = run(.float32, threads: 1)
        XCTAssertEqual(paired, alone)
        let scale = single.map { abs(Double($0)) }.max()!
        XCTAssertLessThan(maxAbsDifference(paired, single), 1e-2 * scale)
        XCTAssertGreaterThan(maxAbsDifference(paired, single), 0)
    }

    /// The helper thread may take any chunks of columns, or none (its core busy, then the caller
    /// runs alone for a while): the paired product is always the plain product's bits.
    func testPairedProductEqualsThePlainProductWhetherTheHelperRunsOrNot() {
        var random = QuillRandom(seed: 12)
        defer { BFloat16Kernels.pauseHelperForTesting(false) }
        for (m, n, k) in [(1, 2048, 576), (1, 37, 19), (2, 1000, 90), (1, 160, 48), (3, 16, 8)] {
            let a = (0..<(m * k)).map { _ in 2 * random.nextUnitFloat() - 1 }
            let b = (0..<(n * k)).map { _ in 2 * random.nextUnitFloat() - 1 }
            let left = PackedBFloat16(left: m, k: k), right = PackedBFloat16(right: n, k: k)
            a.withUnsafeBufferPointer { BFloat16Kernels.packLeft($0.baseAddress!, rowStride: k, columnStride: 1, m: m, k: k, into: left) }
            b.withUnsafeBufferPointer { right.packRight($0.baseAddress!, rowStride: k, columnStride: 1, n: n, k: k) }
            var plain = [Float](repeating: 0, count: m * n)
            plain.withUnsafeMutableBufferPointer {
                BFloat16Kernels.gemm(m: m, n: n, k: k, a: left, b: right, beta: 0, c: $0.baseAddress!, ldc: n)
            }
            XCTAssertTrue(plain.contains { $0 != 0 })
            for paused in [false, true, false] {
                BFloat16Kernels.pauseHelperForTesting(paused)
                for repeat_ in 0..<40 {
                    var paired = [Float](repeating: .nan, count: m * n)
                    paired.withUnsafeMutableBufferPointer {
                        BFloat16Kernels.gemmPair(m: m, n: n, k: k, a: left, b: right, beta: 0, c: $0.baseAddress!, ldc: n)
                    }
                    XCTAssertEqual(paired, plain, "m \(m) n \(n) k \(k), helper paused \(paused), call \(repeat_)")
                }
            }
        }
    }
}
