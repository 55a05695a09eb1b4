import XCTest
@testable import Quill

/// Checks the C gate passes against the same equations written in Swift with `quillSigmoid` and `quillTanh`.
///
/// The C passes promise the same operations in the same order (no fused multiply-adds) on the
/// vector and scalar paths, so the comparison is exact. H = 37 runs two 16-wide vectors and a tail.
final class LSTMKernelTests: XCTestCase {
    func testForwardStepEqualsTheSwiftEquationsBitForBit() {
        var random = QuillRandom(seed: 21)
        let batch = 3, h = 37
        let pre = (0..<(batch * 4 * h)).map { _ in (2 * random.nextUnitFloat() - 1) * 6 }
        let bias = (0..<(4 * h)).map { _ in random.nextUnitFloat() - 0.5 }
        let previous = (0..<(batch * h)).map { _ in (2 * random.nextUnitFloat() - 1) * 2 }
        var gates = pre
        var cell = [Float](repeating: 0, count: batch * h), hidden = cell, tanhCell = cell
        LSTMKernels.forwardStep(gates: &gates, bias: bias, previousCell: previous, cell: &cell, hidden: &hidden,
                                tanhCell: &tanhCell, batch: batch, hiddenSize: h)
        for b in 0..<batch {
            for j in 0..<h {
                let at = { (gate: Int) in b * 4 * h + gate * h + j }
                let i = quillSigmoid(pre[at(0)] + bias[j]), f = quillSigmoid(pre[at(1)] + bias[h + j])
                let g = quillTanh(pre[at(2)] + bias[2 * h + j]), o = quillSigmoid(pre[at(3)] + bias[3 * h + j])
                let c = f * previous[b * h + j] + i * g
                XCTAssertEqual(gates[at(0)], i); XCTAssertEqual(gates[at(1)], f)
                XCTAssertEqual(gates[at(2)], g); XCTAssertEqual(gates[at(3)], o)
                XCTAssertEqual(cell[b * h + j], c)
                XCTAssertEqual(tanhCell[b * h + j], quillTanh(c))
                XCTAssertEqual(hidden[b * h + j], o * quillTanh(c))
            }
        }
    }

    func testBackwardStepEqualsTheSwiftEquationsBitForBit() {
        var random = QuillRandom(seed: 22)
        let batch = 3, h = 37
        func uniform(_ n: Int) -> [Float] { (0..<n).map { _ in 2 * random.nextUnitFloat() - 1 } }
        let activations = uniform(batch * 4 * h).map { abs($0) }
        let previous = uniform(batch * h), tanhCell = uniform(batch * h), dH = uniform(batch * h)
        let rh = uniform(batch * h), rcIn = uniform(batch * h)
        let scale: [Float] = [1, 0, 1]
        var gates = activations, rc = rcIn
        LSTMKernels.backwardStep(gates: &gates, previousCell: previous, tanhCell: tanhCell, hiddenGradient: dH,
                                 recurrentHidden: rh, recurrentCell: &rc, recurrentScale: scale, batch: batch, hiddenSize: h)
        for b in 0..<batch {
            for j in 0..<h {
                let at = { (gate: Int) in b * 4 * h + gate * h + j }
                let i = activations[at(0)], f = activations[at(1)], g = activations[at(2)], o = activations[at(3)]
                let t = tanhCell[b * h + j], keep = scale[b]
                let dh = dH[b * h + j] + keep * rh[b * h + j]
                let dc = keep * rcIn[b * h + j] + dh * o * (1 - t * t)
                XCTAssertEqual(gates[at(0)], dc * g * i * (1 - i))
                XCTAssertEqual(gates[at(1)], dc * previous[b * h + j] * f * (1 - f))
                XCTAssertEqual(gates[at(2)], dc * i * (1 - g * g))
                XCTAssertEqual(gates[at(3)], dh * t * o * (1 - o))
                XCTAssertEqual(rc[b * h + j], dc * f)
            }
        }
    }
}
