/// A workspace that runs forward and backward over `[batch, seq]` windows of one model.
///
/// Everything is allocated once, in `init`; `run` allocates nothing. Inside, rows are
/// time-major: row `t * batch + b` is lane `b` at step `t`. Per layer, the input projection
/// of the whole window is one product, each step adds `h W_hh^T` in place and runs one fused
/// gate pass, and backward forms `dW_hh`, `dW_ih` and the input gradient as single products
/// over the window from the kept per-step gate gradients.
///
/// The state of a lane is zeroed exactly before a `[DOC]` token (id 0) is read as input;
/// no gradient crosses that reset, nor flows into the window's carried-in state.
public final class TrainingStep {
    public let model: LanguageModel
    public let batch: Int
    public let seq: Int

    /// Test-only: lets gradient flow backward across resets (which is wrong), to show the gradient check can fail.
    var debugLeakGradientAcrossResets = false
    /// The last window's summed cross-entropy in nats, accumulated in `Double`.
    private(set) var lastLossSum: Double = 0

    @usableFromInline let rows: Int
    /// Per layer k, the buffers of one window.
    @usableFromInline final class LayerBuffers {
        /// - input: [rows, in]; for k > 0 and no dropout this aliases the previous layer's `hidden`.
        var input: UnsafeMutablePointer<Float>
        /// - gates: [rows, 4H]; pre-activations, then activations, then pre-activation gradients.
        let gates: FloatBuffer
        /// - hidden, cell, tanhCell: [rows, H], the step outputs.
        let hidden: FloatBuffer, cell: FloatBuffer, tanhCell: FloatBuffer
        /// - previousHidden, previousCell: [rows, H], the state each step read (zeroed after a reset).
        let previousHidden: FloatBuffer, previousCell: FloatBuffer
        /// - dropMask: [rows, H], 0 or 1/(1-p), applied to this layer's output; nil without dropout.
        let dropMask: FloatBuffer?
        /// - dropped: [rows, H], `hidden * dropMask`; nil without dropout.
        let dropped: FloatBuffer?
        /// - biasSum: [4H], `b_ih + b_hh`.
        let biasSum: FloatBuffer

        init(rows: Int, hiddenSize h: Int, dropout: Bool, input: UnsafeMutablePointer<Float>) {
            self.input = input
            gates = FloatBuffer(count: rows * 4 * h)
            hidden = FloatBuffer(count: rows * h)
            cell = FloatBuffer(count: rows * h)
            tanhCell = FloatBuffer(count: rows * h)
            previousHidden = FloatBuffer(count: rows * h)
            previousCell = FloatBuffer(count: rows * h)
            dropMask = dropout ? FloatBuffer(count: rows * h) : nil
            dropped = dropout ? FloatBuffer(count: rows * h) : nil
            biasSum = FloatBuffer(count: 4 * h)
        }

        /// This layer's output as the next layer (or the decoder) sees it.
        var output: UnsafeMutablePointer<Float> { dropped?.pointer ?? hidden.pointer }
    }

    @usableFromInline let layerBuffers: [LayerBuffers]
    /// - embedded: [rows, E], the embedding rows of the inputs.
    let embedded: FloatBuffer
    /// - logits: [rows, V]; logits, then their gradients.
    let logits: FloatBuffer
    /// - hiddenGradient: [rows, H], gradient reaching the current layer's output.
    let hiddenGradient: FloatBuffer
    /// - embeddedGradient: [rows, E].
    let embeddedGradient: FloatBuffer
    /// - recurrentHidden, recurrentCell: [batch, H], gradients carried from step t+1 to step t.
    let recurrentHidden: FloatBuffer, recurrentCell: FloatBuffer
    /// - keep: [rows], 0 where the lane resets before reading that step's input, else 1.
    let keep: FloatBuffer
    /// - ones: [max(rows, batch)], all 1, for column sums and for the leaking test switch.
    let ones: FloatBuffer

    /// A workspace for `[batch, seq]` windows; dropout buffers exist only if the model has dropout.
    public init(model: LanguageModel, batch: Int, seq: Int) {
        precondition(batch >= 1 && seq >= 1, "batch and seq must be positive")
        self.model = model
        self.batch = batch
        self.seq = seq
        let c = model.configuration
        rows = batch * seq
        embedded = FloatBuffer(count: rows * c.embeddingSize)
        let useDropout = c.dropout > 0
        var layers: [LayerBuffers] = []
        for k in 0..<c.layers {
            let input = k == 0 ? embedded.pointer : layers[k - 1].output
            layers.append(LayerBuffers(rows: rows, hiddenSize: c.hiddenSize, dropout: useDropout, input: input))
        }
        layerBuffers = layers
        logits = FloatBuffer(count: rows * c.vocabularySize)
        hiddenGradient = FloatBuffer(count: rows * c.hiddenSize)
        embeddedGradient = FloatBuffer(count: rows * c.embeddingSize)
        recurrentHidden = FloatBuffer(count: batch * c.hiddenSize)
        recurrentCell = FloatBuffer(count: batch * c.hiddenSize)
        keep = FloatBuffer(count: rows)
        ones = FloatBuffer(count: max(rows, batch))
        ones.pointer.update(repeating: 1, count: ones.count)
    }

    /// Forward and backward over one window.
    ///
    /// - Parameters:
    ///   - inputs, targets: [batch, seq] token ids, lane-major (lane b's window is `b*seq ..< (b+1)*seq`).
    ///   - state: carried in; on return holds the state after the window.
    ///   - gradients: overwritten with `d(loss)/d(weights)`, loss = mean cross-entropy over `batch*seq`.
    ///   - random: draws the dropout masks (untouched when dropout is 0 or `training` is false).
    ///   - training: whether dropout is applied.
    /// - Returns: the mean loss in nats per token.
    @discardableResult
    public func run(
        inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>,
        state: RecurrentState, gradients: ParameterBuffer,
        random: inout QuillRandom, training: Bool = true
    ) -> Float {
        let c = model.configuration
        precondition(inputs.count == rows && targets.count == rows, "inputs and targets must be [batch, seq]")
        precondition(state.batch == batch && state.layers == c.layers && state.hiddenSize == c.hiddenSize, "state shape mismatch")
        precondition(gradients.layout == model.layout, "gradient layout mismatch")
        let applyDropout = training && c.dropout > 0
        forward(inputs: inputs, state: state, applyDropout: applyDropout, random: &random)
        let total = backward(inputs: inputs, targets: targets, gradients: gradients, applyDropout: applyDropout)
        lastLossSum = total
        return Float(total / Double(rows))
    }

    // MARK: Forward

    func forward(inputs: UnsafeBufferPointer<Int32>, state: RecurrentState, applyDropout: Bool, random: inout QuillRandom) {
        let c = model.configuration
        let h = c.hiddenSize, e = c.embeddingSize, v = c.vocabularySize
        let w = model.weights, layout = model.layout
        // Embedding gather and reset mask, time-major.
        let table = w.view(at: layout.embeddingIndex)
        for t in 0..<seq {
            for b in 0..<batch {
                let token = Int(inputs[b * seq + t])
                precondition(token >= 0 && token < v, "token id out of range")
                (embedded.pointer + (t * batch + b) * e).update(from: table + token * e, count: e)
                keep.pointer[t * batch + b] = token == 0 ? 0 : 1
            }
        }
        let dropout = c.dropout
        for k in 0..<c.layers {
            let buffers = layerBuffers[k]
            let inputSize = c.inputSize(ofLayer: k)
            let slot = layout.layerIndex(k)
            let wih = w.view(at: slot), whh = w.view(at: slot + 1)
            let bih = w.view(at: slot + 2), bhh = w.view(at: slot + 3)
            for j in 0..<(4 * h) { buffers.biasSum.pointer[j] = bih[j] + bhh[j] }
            let input: UnsafeMutablePointer<Float> = k == 0 ? embedded.pointer
                : (applyDropout ? layerBuffers[k - 1].dropped!.pointer : layerBuffers[k - 1].hidden.pointer)
            buffers.input = input
            // Input projection of the whole window: gates = X W_ih^T.
            BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: 4 * h, k: inputSize,
                      a: input, lda: inputSize, b: wih, ldb: inputSize, beta: 0, c: buffers.gates.pointer, ldc: 4 * h)
            let stateH = state.hidden(layer: k), stateC = state.cell(layer: k)
            for t in 0..<seq {
                let offset = t * batch * h
                let sourceH: UnsafePointer<Float> = t == 0 ? UnsafePointer(stateH) : UnsafePointer(buffers.hidden.pointer + offset - batch * h)
                let sourceC: UnsafePointer<Float> = t == 0 ? UnsafePointer(stateC) : UnsafePointer(buffers.cell.pointer + offset - batch * h)
                let prevH = buffers.previousHidden.pointer + offset
                let prevC = buffers.previousCell.pointer + offset
                for b in 0..<batch {
                    let scale = keep.pointer[t * batch + b]
                    let sh = sourceH + b * h, sc = sourceC + b * h
                    let dh = prevH + b * h, dc = prevC + b * h
                    for j in 0..<h { dh[j] = scale * sh[j]; dc[j] = scale * sc[j] }
                }
                let gates = buffers.gates.pointer + t * batch * 4 * h
                BLAS.gemm(transposeA: false, transposeB: true, m: batch, n: 4 * h, k: h,
                          a: prevH, lda: h, b: whh, ldb: h, beta: 1, c: gates, ldc: 4 * h)
                LSTMKernels.forwardStep(
                    gates: gates, bias: buffers.biasSum.pointer, previousCell: prevC,
                    cell: buffers.cell.pointer + offset, hidden: buffers.hidden.pointer + offset,
                    tanhCell: buffers.tanhCell.pointer + offset, batch: batch, hiddenSize: h)
            }
            let last = (seq - 1) * batch * h
            stateH.update(from: buffers.hidden.pointer + last, count: batch * h)
            stateC.update(from: buffers.cell.pointer + last, count: batch * h)
            if applyDropout {
                let mask = buffers.dropMask!.pointer, out = buffers.dropped!.pointer, hid = buffers.hidden.pointer
                let scale = 1 / (1 - dropout)
                for i in 0..<(rows * h) {
                    let m: Float = random.nextUnitFloat() < dropout ? 0 : scale
                    mask[i] = m
                    out[i] = hid[i] * m
                }
            }
        }
    }

    // MARK: Backward

    func backward(inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>,
                  gradients: ParameterBuffer, applyDropout: Bool) -> Double {
        let c = model.configuration
        let h = c.hiddenSize, e = c.embeddingSize, v = c.vocabularySize
        let w = model.weights, layout = model.layout
        gradients.zero()
        let top = layerBuffers[c.layers - 1]
        let decoderInput = applyDropout ? top.dropped!.pointer : top.hidden.pointer
        let dw = w.view(at: layout.decoderWeightIndex), db = w.view(at: layout.decoderBiasIndex)
        // Decoder: logits = X W_d^T, then softmax, cross-entropy and d(logits) in one pass.
        BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: v, k: h,
                  a: decoderInput, lda: h, b: dw, ldb: h, beta: 0, c: logits.pointer, ldc: v)
        let batch = self.batch, seq = self.seq
        let total = SoftmaxCrossEntropy.forward(
            logits: logits.pointer, rows: rows, vocabularySize: v, bias: db,
            gradientScale: 1 / Float(rows)) { row in
                Int(targets[(row % batch) * seq + row / batch])
            }
        BLAS.gemm(transposeA: true, transposeB: false, m: v, n: h, k: rows,
                  a: logits.pointer, lda: v, b: decoderInput, ldb: h, beta: 1,
                  c: gradients.view(at: layout.decoderWeightIndex), ldc: h)
        BLAS.gemv(transpose: true, rows: rows, columns: v, a: logits.pointer, lda: v,
                  x: ones.pointer, beta: 1, y: gradients.view(at: layout.decoderBiasIndex))
        BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: h, k: v,
                  a: logits.pointer, lda: v, b: dw, ldb: h, beta: 0, c: hiddenGradient.pointer, ldc: h)
        if applyDropout { multiply(hiddenGradient.pointer, by: top.dropMask!.pointer, count: rows * h) }

        for k in stride(from: c.layers - 1, through: 0, by: -1) {
            let buffers = layerBuffers[k]
            let inputSize = c.inputSize(ofLayer: k)
            let slot = layout.layerIndex(k)
            let wih = w.view(at: slot), whh = w.view(at: slot + 1)
            recurrentHidden.zero()
            recurrentCell.zero()
            for t in stride(from: seq - 1, through: 0, by: -1) {
                let offset = t * batch * h
                let gates = buffers.gates.pointer + t * batch * 4 * h
                let scale: UnsafePointer<Float>? = t == seq - 1 ? nil
                    : UnsafePointer(debugLeakGradientAcrossResets ? ones.pointer : keep.pointer + (t + 1) * batch)
                LSTMKernels.backwardStep(
                    gates: gates, previousCell: buffers.previousCell.pointer + offset,
                    tanhCell: buffers.tanhCell.pointer + offset,
                    hiddenGradient: hiddenGradient.pointer + offset,
                    recurrentHidden: recurrentHidden.pointer, recurrentCell: recurrentCell.pointer,
                    recurrentScale: scale, batch: batch, hiddenSize: h)
                if t > 0 {
                    // d(previous h) = d(gates) W_hh.
                    BLAS.gemm(transposeA: false, transposeB: false, m: batch, n: h, k: 4 * h,
                              a: gates, lda: 4 * h, b: whh, ldb: h, beta: 0, c: recurrentHidden.pointer, ldc: h)
                }
            }
            let dGates = buffers.gates.pointer
            BLAS.gemm(transposeA: true, transposeB: false, m: 4 * h, n: h, k: rows,
                      a: dGates, lda: 4 * h, b: buffers.previousHidden.pointer, ldb: h, beta: 1,
                      c: gradients.view(at: slot + 1), ldc: h)
            BLAS.gemm(transposeA: true, transposeB: false, m: 4 * h, n: inputSize, k: rows,
                      a: dGates, lda: 4 * h, b: buffers.input, ldb: inputSize, beta: 1,
                      c: gradients.view(at: slot), ldc: inputSize)
            let dbih = gradients.view(at: slot + 2), dbhh = gradients.view(at: slot + 3)
            BLAS.gemv(transpose: true, rows: rows, columns: 4 * h, a: dGates, lda: 4 * h,
                      x: ones.pointer, beta: 1, y: dbih)
            dbhh.update(from: dbih, count: 4 * h)
            let dInput = k == 0 ? embeddedGradient.pointer : hiddenGradient.pointer
            BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: inputSize, k: 4 * h,
                      a: dGates, lda: 4 * h, b: wih, ldb: inputSize, beta: 0, c: dInput, ldc: inputSize)
            if k > 0 && applyDropout {
                multiply(hiddenGradient.pointer, by: layerBuffers[k - 1].dropMask!.pointer, count: rows * h)
            }
        }
        // Embedding: scatter-add each row's gradient into its token's row.
        let dTable = gradients.view(at: layout.embeddingIndex)
        for t in 0..<seq {
            for b in 0..<batch {
                let token = Int(inputs[b * seq + t])
                let source = embeddedGradient.pointer + (t * batch + b) * e
                let target = dTable + token * e
                for j in 0..<e { target[j] += source[j] }
            }
        }
        return total
    }

    @inline(__always)
    private func multiply(_ x: UnsafeMutablePointer<Float>, by m: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] *= m[i] }
    }
}
