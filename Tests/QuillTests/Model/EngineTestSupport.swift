import Foundation
@testable import Quill

/// A plain, scalar, `Double` LSTM language model forward, written independently of the engine.
///
/// It follows PyTorch's `nn.LSTM` equations literally, lane by lane and step by step, and
/// zeroes a lane's state of every layer right before it reads a `[DOC]` (id 0).
struct ReferenceForward {
    /// - logits: [batch, seq, V], lane-major.
    var logits: [Double]
    /// - h, c: [layers, batch, H], the state after the window.
    var h: [Double]
    var c: [Double]

    init(model: LanguageModel, inputs: [Int32], batch: Int, seq: Int, state: RecurrentState) {
        let cf = model.configuration
        let H = cf.hiddenSize, V = cf.vocabularySize, E = cf.embeddingSize, L = cf.layers
        let w = model.weights, layout = model.layout
        func tensor(_ index: Int) -> [Double] {
            let slot = layout.slots[index]
            return (0..<slot.count).map { Double(w.view(slot)[$0]) }
        }
        let emb = tensor(layout.embeddingIndex)
        let decW = tensor(layout.decoderWeightIndex), decB = tensor(layout.decoderBiasIndex)
        var hOut = [Double](repeating: 0, count: L * batch * H)
        var cOut = hOut
        var out = [Double](repeating: 0, count: batch * seq * V)
        func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
        for b in 0..<batch {
            var hs = (0..<L).map { k in (0..<H).map { Double(state.h[(k * batch + b) * H + $0]) } }
            var cs = (0..<L).map { k in (0..<H).map { Double(state.c[(k * batch + b) * H + $0]) } }
            for t in 0..<seq {
                let token = Int(inputs[b * seq + t])
                if token == 0 {
                    hs = Array(repeating: Array(repeating: 0, count: H), count: L)
                    cs = hs
                }
                var x = Array(emb[(token * E)..<((token + 1) * E)])
                for k in 0..<L {
                    let wih = tensor(layout.layerIndex(k)), whh = tensor(layout.layerIndex(k) + 1)
                    let bih = tensor(layout.layerIndex(k) + 2), bhh = tensor(layout.layerIndex(k) + 3)
                    let n = x.count
                    var pre = [Double](repeating: 0, count: 4 * H)
                    for r in 0..<(4 * H) {
                        var s = bih[r] + bhh[r]
                        for j in 0..<n { s += wih[r * n + j] * x[j] }
                        for j in 0..<H { s += whh[r * H + j] * hs[k][j] }
                        pre[r] = s
                    }
                    for j in 0..<H {
                        let i = sigmoid(pre[j]), f = sigmoid(pre[H + j])
                        let g = Foundation.tanh(pre[2 * H + j]), o = sigmoid(pre[3 * H + j])
                        cs[k][j] = f * cs[k][j] + i * g
                        hs[k][j] = o * Foundation.tanh(cs[k][j])
                    }
                    x = hs[k]
                }
                for r in 0..<V {
                    var s = decB[r]
                    for j in 0..<H { s += decW[r * H + j] * x[j] }
                    out[(b * seq + t) * V + r] = s
                }
            }
            for k in 0..<L {
                for j in 0..<H {
                    hOut[(k * batch + b) * H + j] = hs[k][j]
                    cOut[(k * batch + b) * H + j] = cs[k][j]
                }
            }
        }
        logits = out
        h = hOut
        c = cOut
    }

    /// Summed cross-entropy of the logits against lane-major targets.
    func crossEntropy(targets: [Int32], vocabularySize V: Int) -> Double {
        summedCrossEntropy(logits: logits, targets: targets, vocabularySize: V)
    }
}

/// `sum over rows of -log softmax(row)[target]`, in `Double`.
func summedCrossEntropy<C: Collection>(logits: C, targets: [Int32], vocabularySize V: Int) -> Double where C.Element: BinaryFloatingPoint, C.Index == Int {
    var total = 0.0
    for row in 0..<targets.count {
        let z = (0..<V).map { Double(logits[logits.startIndex + row * V + $0]) }
        let m = z.max()!
        let lse = m + Foundation.log(z.reduce(0) { $0 + Foundation.exp($1 - m) })
        total += lse - z[Int(targets[row])]
    }
    return total
}

/// Fills a state with uniform values in (-scale, scale).
func randomize(_ state: RecurrentState, random: inout QuillRandom, scale: Float = 0.8) {
    for i in 0..<state.count {
        state.h[i] = (2 * random.nextUnitFloat() - 1) * scale
        state.c[i] = (2 * random.nextUnitFloat() - 1) * scale
    }
}

/// Uniform random token ids in `1..<V` (no `[DOC]`), lane-major [batch, seq].
func randomTokens(count: Int, vocabularySize V: Int, random: inout QuillRandom) -> [Int32] {
    (0..<count).map { _ in Int32(1 + Int(random.next() % UInt64(V - 1))) }
}

/// Largest absolute difference between two sequences.
func maxAbsDifference<A: Sequence, B: Sequence>(_ a: A, _ b: B) -> Double where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
    zip(a, b).map { abs(Double($0) - Double($1)) }.max() ?? 0
}

extension Trainer {
    /// Puts a NaN into the gradient of the given steps (counted from 1), as a diverging run would.
    func poisonGradients(atSteps steps: Set<Int>) {
        gradientHookForTesting = { step, gradients in
            if steps.contains(step) { gradients.pointer[gradients.count / 2] = .nan }
        }
    }
}
