import XCTest
@testable import Quill

/// Checks the packed fp32 product against a `Double` reference and the float32 engine that uses it.
///
/// Tolerances: both paths sum `k` fp32 products in depth order, so each result is within about
/// `k * 2^-24` of the exact sum relative to the sum of magnitudes; for the depths here (up to 70)
/// that is below 5e-6, and 1e-5 is asked. The engine's losses and states are asked to agree with
/// the training forward (OpenBLAS products) as tightly as the existing inference tests ask.
final class Float32KernelTests: XCTestCase {
    func testPackedProductMatchesDoubleReferenceWithTailsStridesAndColumnRanges() {
        var random = QuillRandom(seed: 17)
        for (m, n, k) in [(1, 37, 19), (3, 16, 8), (13, 70, 33), (8, 48, 64), (20, 5, 1), (16, 130, 70)] {
            let lda = k + 3
            let a = (0..<(m * lda)).map { _ in 2 * random.nextUnitFloat() - 1 }
            // B stored transposed ([k, n]) to exercise the strided packing.
            let bT = (0..<(k * n)).map { _ in 2 * random.nextUnitFloat() - 1 }
            let c0 = (0..<(m * n)).map { _ in random.nextUnitFloat() }
            let right = PackedFloat32(right: n, k: k)
            bT.withUnsafeBufferPointer { right.pack($0.baseAddress!, rowStride: 1, columnStride: n) }
            for portable in [false, true] {
                for beta: Float in [0, 1] {
                    // Columns from the second block on (when there is one), then the rest: all written once.
                    let split = n > 16 ? 16 : 0
                    var c = c0
                    c.withUnsafeMutableBufferPointer { out in
                        a.withUnsafeBufferPointer { a in
                            Float32Kernels.gemm(m: m, n: n, k: k, a: a.baseAddress!, lda: lda, b: right, beta: beta,
                                                c: out.baseAddress!, ldc: n, columns: split..<n, portable: portable)
                            Float32Kernels.gemm(m: m, n: n, k: k, a: a.baseAddress!, lda: lda, b: right, beta: beta,
                                                c: out.baseAddress!, ldc: n, columns: 0..<split, portable: portable)
                        }
                    }
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<n {
                            var exact = Double(beta) * Double(c0[i * n + j]), magnitude = 1.0
                            for p in 0..<k {
                                exact += Double(a[i * lda + p]) * Double(bT[p * n + j])
                                magnitude += abs(Double(a[i * lda + p]) * Double(bT[p * n + j]))
                            }
                            worst = max(worst, abs(Double(c[i * n + j]) - exact) / magnitude)
                        }
                    }
                    XCTAssertLessThan(worst, 1e-5, "m \(m) n \(n) k \(k) portable \(portable) beta \(beta)")
                }
            }
        }
    }

    func testPackedProductIsFusedMultiplyAddsInDepthOrderBitForBit() throws {
        // Whichever vector path runs (AVX-512F or AVX2 with FMA), each output is one fused multiply-add
        // per depth step from zero, then `beta * C` fused onto it: so every CPU with either gives these bits.
        try XCTSkipUnless(Float32Kernels.isAvailable, "the CPU has neither AVX-512F nor AVX2 with FMA")
        var random = QuillRandom(seed: 41)
        for (m, n, k) in [(1, 37, 19), (5, 16, 8), (7, 70, 33), (13, 48, 64), (32, 130, 70), (6, 9, 512)] {
            let a = (0..<(m * k)).map { _ in 2 * random.nextUnitFloat() - 1 }
            let b = (0..<(n * k)).map { _ in 2 * random.nextUnitFloat() - 1 }
            let c0 = (0..<(m * n)).map { _ in 2 * random.nextUnitFloat() - 1 }
            let right = PackedFloat32(right: n, k: k)
            b.withUnsafeBufferPointer { right.pack($0.baseAddress!, rowStride: k, columnStride: 1) }
            for beta: Float in [0, 1, 0.75] {
                var c = c0
                c.withUnsafeMutableBufferPointer { out in
                    a.withUnsafeBufferPointer { a in
                        Float32Kernels.gemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: right, beta: beta,
                                            c: out.baseAddress!, ldc: n)
                    }
                }
                var mismatches = 0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum: Float = 0
                        for p in 0..<k { sum = sum.addingProduct(a[i * k + p], b[j * k + p]) }
                        if beta != 0 { sum = sum.addingProduct(beta, c0[i * n + j]) }
                        if sum.bitPattern != c[i * n + j].bitPattern { mismatches += 1 }
                    }
                }
                XCTAssertEqual(mismatches, 0, "m \(m) n \(n) k \(k) beta \(beta)")
            }
        }
    }

    func testPackedAndPortableProductsAgreeAndMatchBLAS() {
        var random = QuillRandom(seed: 29)
        let m = 11, n = 96, k = 40
        let a = (0..<(m * k)).map { _ in 2 * random.nextUnitFloat() - 1 }
        let b = (0..<(n * k)).map { _ in 2 * random.nextUnitFloat() - 1 }
        let right = PackedFloat32(right: n, k: k)
        b.withUnsafeBufferPointer { right.pack($0.baseAddress!, rowStride: k, columnStride: 1) }
        var fast = [Float](repeating: 0.5, count: m * n), slow = fast, blas = fast
        a.withUnsafeBufferPointer { a in
            fast.withUnsafeMutableBufferPointer {
                Float32Kernels.gemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: right, beta: 1, c: $0.baseAddress!, ldc: n)
            }
            slow.withUnsafeMutableBufferPointer {
                Float32Kernels.gemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: right, beta: 1, c: $0.baseAddress!, ldc: n,
                                    portable: true)
            }
            b.withUnsafeBufferPointer { b in
                blas.withUnsafeMutableBufferPointer {
                    BLAS.gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, a: a.baseAddress!, lda: k,
                              b: b.baseAddress!, ldb: k, beta: 1, c: $0.baseAddress!, ldc: n)
                }
            }
        }
        XCTAssertLessThan(maxAbsDifference(fast, slow), 1e-5)
        XCTAssertLessThan(maxAbsDifference(fast, blas), 1e-5)
        XCTAssertGreaterThan(maxAbsDifference(fast, [Float](repeating: 0.5, count: m * n)), 0.1, "the product must be written")
    }

    /// Shards of 10 and 9 lanes exercise the 8-row tiles and their remainders; 4H = 80 a partial column block.
    func testFloat32EngineWithPackedRecurrentWeightsAgreesWithTrainingAndReference() {
        let configuration = ModelConfiguration(vocabularySize: 11, embeddingSize: 6, hiddenSize: 20, layers: 2)
        let batch = 19, seq = 6
        var random = QuillRandom(seed: 41)
        let model = LanguageModel.initialized(configuration, random: &random)
        let state = RecurrentState(configuration: configuration, batch: batch)
        randomize(state, random: &random)
        var inputs = randomTokens(count: batch * seq, vocabularySize: 11, random: &random)
        inputs[0 * seq + 2] = 0
        inputs[12 * seq + 0] = 0
        inputs[18 * seq + 4] = 0
        let targets = randomTokens(count: batch * seq, vocabularySize: 11, random: &random)

        let engine = InferenceEngine(model: model, batch: batch, maxSeq: seq, precision: .float32, threads: 2)
        XCTAssertEqual(engine.layers.strategy == .packedFloat32, Float32Kernels.isAvailable)
        let inferenceState = state.copy()
        let summed = inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                engine.crossEntropy(inputs: x, targets: y, seq: seq, state: inferenceState)
            }
        }
        let step = TrainingStep(model: model, batch: batch, seq: seq)
        let trainingState = state.copy()
        var dropout = QuillRandom(seed: 3)
        _ = inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                step.run(inputs: x, targets: y, state: trainingState, gradients: ParameterBuffer(layout: model.layout),
                         random: &dropout)
            }
        }
        XCTAssertEqual(summed, step.lastLossSum, accuracy: 1e-4)
        let reference = ReferenceForward(model: model, inputs: inputs, batch: batch, seq: seq, state: state)
        XCTAssertEqual(summed, reference.crossEntropy(targets: targets, vocabularySize: 11), accuracy: 1e-4)
        XCTAssertLessThan(maxAbsDifference(inferenceState.h, trainingState.h), 1e-5)
        XCTAssertLessThan(maxAbsDifference(inferenceState.c, trainingState.c), 1e-5)
        XCTAssertLessThan(maxAbsDifference(inferenceState.h, reference.h), 1e-5)

        // Changed weights are seen after `refreshWeights()`, and only then, when the engine packs
        // copies of them; without AVX-512F the products read the weights themselves, so at once.
        let whh = model.weights.view(at: model.layout.layerIndex(1) + 1)
        for i in 0..<(4 * 20 * 20) { whh[i] *= 0.5 }
        let changed = ReferenceForward(model: model, inputs: inputs, batch: batch, seq: seq, state: state)
        let stale = inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in engine.crossEntropy(inputs: x, targets: y, seq: seq, state: state.copy()) }
        }
        if engine.layers.strategy == .packedFloat32 {
            XCTAssertEqual(stale, summed, accuracy: 1e-9)
        } else {
            XCTAssertEqual(stale, changed.crossEntropy(targets: targets, vocabularySize: 11), accuracy: 1e-4)
        }
        engine.refreshWeights()
        let fresh = inputs.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in engine.crossEntropy(inputs: x, targets: y, seq: seq, state: state.copy()) }
        }
        XCTAssertEqual(fresh, changed.crossEntropy(targets: targets, vocabularySize: 11), accuracy: 1e-4)
        XCTAssertGreaterThan(abs(fresh - summed), 1e-3)
    }

    /// A training step gives the same loss, state and gradients with the packed recurrent weights as with OpenBLAS.
    func testTrainingWithPackedRecurrentWeightsMatchesTheOpenBLASProducts() throws {
        try XCTSkipUnless(Float32Kernels.isAvailable, "the CPU has neither AVX-512F nor AVX2 with FMA")
        let configuration = ModelConfiguration(vocabularySize: 11, embeddingSize: 6, hiddenSize: 20, layers: 2)
        let batch = 19, seq = 6
        var random = QuillRandom(seed: 43)
        let model = LanguageModel.initialized(configuration, random: &random)
        let state = RecurrentState(configuration: configuration, batch: batch)
        randomize(state, random: &random)
        var inputs = randomTokens(count: batch * seq, vocabularySize: 11, random: &random)
        inputs[1 * seq + 2] = 0
        let targets = randomTokens(count: batch * seq, vocabularySize: 11, random: &random)
        func run(_ strategy: ProductStrategy) -> (Float, RecurrentState, ParameterBuffer) {
            let step = TrainingStep(model: model, batch: batch, seq: seq, strategy: strategy, threads: 1)
            XCTAssertEqual(step.layers.strategy, strategy)
            let s = state.copy(), g = ParameterBuffer(layout: model.layout)
            let loss = inputs.withUnsafeBufferPointer { x in
                targets.withUnsafeBufferPointer { y in
                    step.run(inputs: x, targets: y, state: s, gradients: g, random: &random, training: false)
                }
            }
            return (loss, s, g)
        }
        let (packedLoss, packedState, packedGradients) = run(.packedFloat32)
        let (blasLoss, blasState, blasGradients) = run(.blas)
        XCTAssertEqual(packedLoss, blasLoss, accuracy: 1e-4)
        XCTAssertLessThan(maxAbsDifference(packedState.h, blasState.h), 1e-5)
        XCTAssertLessThan(maxAbsDifference(packedState.c, blasState.c), 1e-5)
        XCTAssertLessThan(maxAbsDifference(packedGradients.elements, blasGradients.elements), 1e-5)
        XCTAssertNotEqual(Array(packedGradients.elements), Array(blasGradients.elements), "the products must differ in rounding")
        XCTAssertGreaterThan(maxAbsDifference(packedGradients.elements, [Float](repeating: 0, count: packedGradients.count)), 1e-3,
                             "the gradients must be written")
    }
}
