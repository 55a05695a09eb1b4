import XCTest
@testable import Quill

/// The decoder at the engine's precision: the eight-lane softmax pass and the bfloat16 decoder
/// products against the float32 ones, on vocabularies that are not multiples of the lane width.
final class LargeVocabularyTests: XCTestCase {
    func testEightLaneSoftmaxPassAgreesWithTheSequentialOne() {
        for v in [3, 37, 6001] {
            let rows = 5
            var random = QuillRandom(seed: UInt64(v))
            let logits = (0..<(rows * v)).map { _ in random.nextUnitFloat() * 12 - 6 }
            let bias = (0..<v).map { _ in random.nextUnitFloat() - 0.5 }
            let targets = (0..<rows).map { _ in Int(random.next() % UInt64(v)) }
            var a = logits, b = logits
            let sequential = a.withUnsafeMutableBufferPointer { z in
                SoftmaxCrossEntropy.forward(logits: z.baseAddress!, rows: rows, vocabularySize: v, bias: bias,
                                            gradientScale: 0.5) { targets[$0] }
            }
            let lanes = b.withUnsafeMutableBufferPointer { z in
                SoftmaxCrossEntropy.forwardEightLanes(logits: z.baseAddress!, rows: rows, vocabularySize: v, bias: bias,
                                                      gradientScale: 0.5) { targets[$0] }
            }
            XCTAssertEqual(lanes, sequential, accuracy: 1e-5 * abs(sequential), "V \(v)")
            XCTAssertLessThan(maxAbsDifference(a, b), 1e-7, "V \(v): gradients")
            // The gradient rows sum to zero (softmax minus one-hot, times the scale).
            for r in 0..<rows { XCTAssertEqual(b[(r * v)..<((r + 1) * v)].reduce(0, +), 0, accuracy: 1e-5) }
        }
    }

    /// The bfloat16 engine's pass writes its gradients straight into the two packed operands: the same
    /// bits as the float gradients of `forwardEightLanes` packed by the packers, padding included, and
    /// the bias gradient is their column sum in row order. Odd and even row counts, vocabularies that
    /// are not multiples of 16, one that is odd.
    func testPackedSoftmaxPassWritesTheBitsOfPackingTheFloatGradients() {
        for v in [3, 37, 6001] {
            for rows in [5, 8] {
                var random = QuillRandom(seed: UInt64(v * 10 + rows))
                let logits = (0..<(rows * v)).map { _ in random.nextUnitFloat() * 12 - 6 }
                let bias = (0..<v).map { _ in random.nextUnitFloat() - 0.5 }
                let targets = (0..<rows).map { _ in Int(random.next() % UInt64(v)) }
                var gradients = logits
                let reference = gradients.withUnsafeMutableBufferPointer { z in
                    SoftmaxCrossEntropy.forwardEightLanes(logits: z.baseAddress!, rows: rows, vocabularySize: v, bias: bias,
                                                          gradientScale: 0.25) { targets[$0] }
                }
                let expectedRows = PackedBFloat16(left: rows, k: v), expectedBlocked = PackedBFloat16(right: v, k: rows)
                gradients.withUnsafeBufferPointer { g in
                    BFloat16Kernels.packLeft(g.baseAddress!, rowStride: v, columnStride: 1, m: rows, k: v, into: expectedRows)
                    expectedBlocked.packRight(g.baseAddress!, rowStride: 1, columnStride: v, n: v, k: rows)
                }
                // Filled with a NaN pattern first, so padding left unwritten shows.
                let packedRows = PackedBFloat16(left: rows, k: v), packedBlocked = PackedBFloat16(right: v, k: rows)
                packedRows.pointer.update(repeating: 0x7FC1, count: packedRows.count)
                packedBlocked.pointer.update(repeating: 0x7FC1, count: packedBlocked.count)
                var biasGradient = [Float](repeating: .nan, count: v)
                let scratch = FloatBuffer(count: 2 * v)
                let total = logits.withUnsafeBufferPointer { z in
                    biasGradient.withUnsafeMutableBufferPointer { b in
                        SoftmaxCrossEntropy.forwardEightLanesPacked(
                            logits: z.baseAddress!, rows: rows, vocabularySize: v, bias: bias, gradientScale: 0.25,
                            target: { targets[$0] }, scratch: scratch.pointer, rowsLayout: packedRows,
                            blockedLayout: packedBlocked, biasGradient: b.baseAddress!)
                    }
                }
                let name = "V \(v), \(rows) rows"
                XCTAssertEqual(total.bitPattern, reference.bitPattern, name)
                let leftCount = PackedBFloat16.leftCount(m: rows, k: v), rightCount = PackedBFloat16.rightCount(n: v, k: rows)
                XCTAssertEqual(Array(UnsafeBufferPointer(start: packedRows.pointer, count: leftCount)),
                               Array(UnsafeBufferPointer(start: expectedRows.pointer, count: leftCount)), name)
                XCTAssertEqual(Array(UnsafeBufferPointer(start: packedBlocked.pointer, count: rightCount)),
                               Array(UnsafeBufferPointer(start: expectedBlocked.pointer, count: rightCount)), name)
                for j in 0..<v {
                    var sum: Float = 0
                    for r in 0..<rows { sum += gradients[r * v + j] }
                    XCTAssertEqual(biasGradient[j].bitPattern, sum.bitPattern, "\(name), column \(j)")
                }
            }
        }
    }

    func testBFloat16DecoderTrainsWithinOnePercentOfFloat32OnALargeVocabulary() throws {
        try XCTSkipUnless(ComputePrecision.bfloat16Available, "the CPU has no AVX-512 BF16")
        let v = 301, batch = 4, seq = 9
        var random = QuillRandom(seed: 8)
        let model = LanguageModel.initialized(
            ModelConfiguration(vocabularySize: v, embeddingSize: 8, hiddenSize: 24, layers: 1), random: &random)
        let inputs = randomTokens(count: batch * seq, vocabularySize: v, random: &random)
        let targets = randomTokens(count: batch * seq, vocabularySize: v, random: &random)
        func run(_ precision: ComputePrecision) -> (Float, ParameterBuffer) {
            let step = TrainingStep(model: model, batch: batch, seq: seq, precision: precision, threads: 2)
            let g = ParameterBuffer(layout: model.layout)
            var r = QuillRandom(seed: 1)
            let loss = inputs.withUnsafeBufferPointer { x in
                targets.withUnsafeBufferPointer { y in
                    step.run(inputs: x, targets: y, state: RecurrentState(configuration: model.configuration, batch: batch),
                             gradients: g, random: &r)
                }
            }
            return (loss, g)
        }
        let (exact, exactGradients) = run(.float32), (half, halfGradients) = run(.bfloat16)
        XCTAssertEqual(Double(half), Double(exact), accuracy: 1e-2 * Double(exact))
        for index in [model.layout.decoderWeightIndex, model.layout.decoderBiasIndex, model.layout.layerIndex(0) + 1] {
            let slot = model.layout.slots[index]
            let a = halfGradients.view(slot), b = exactGradients.view(slot)
            var difference = 0.0, norm = 0.0
            for i in 0..<slot.count {
                difference += pow(Double(a[i]) - Double(b[i]), 2)
                norm += pow(Double(b[i]), 2)
            }
            XCTAssertGreaterThan(norm, 0, slot.name)
            XCTAssertGreaterThan(difference, 0, "\(slot.name): bfloat16 must actually round")
            XCTAssertLessThan((difference / norm).squareRoot(), 1e-2, slot.name)
        }
    }
}
