/// One LSTM layer, exactly PyTorch's `nn.LSTM` (gates i, f, g, o): forward over a window, and backward.
///
/// Rows are time-major within a shard of `lanes` lanes: row `t * lanes + b` is lane `b` at step `t`.
/// The input projection of the whole window is one product; each step adds `h W_hh^T` in place and
/// runs one fused gate pass. Backward keeps the per-step gate gradients and forms `dW_hh`, `dW_ih`
/// and the input gradient as single products over the window. A lane's state is zeroed exactly
/// before it reads a `[DOC]` (where `keep` is 0), and no gradient crosses that reset.
final class LSTMLayer: @unchecked Sendable {
    /// The weights, their packed copies and the products.
    let weights: LayerWeights
    var hiddenSize: Int { weights.hiddenSize }
    var inputSize: Int { weights.inputSize }

    init(model: LanguageModel, layer k: Int, strategy: ProductStrategy, use: EngineUse) {
        weights = LayerWeights(model: model, layer: k, strategy: strategy, use: use)
    }

    /// One shard's buffers of one window for this layer.
    final class Activations {
        /// - input: [seq, lanes, in], set by `forward` (the embedding or the layer below's output).
        var input: UnsafePointer<Float>
        /// - gates: [seq, lanes, 4H]; pre-activations, then activations, then (backward) pre-activation gradients.
        let gates: FloatBuffer
        /// - hidden: [seq, lanes, H], each step's `h`.
        let hidden: FloatBuffer
        /// What backward reads, nil for a forward-only pass:
        /// - cell, tanhCell: [seq, lanes, H], each step's `c` and `tanh(c)`;
        /// - previousHidden, previousCell: [seq, lanes, H], the state each step read (zero after a reset).
        let cell: FloatBuffer?, tanhCell: FloatBuffer?, previousHidden: FloatBuffer?, previousCell: FloatBuffer?
        /// - dropMask: [seq, lanes, H], 0 or 1/(1-p), applied to the layer's output; nil without dropout.
        let dropMask: FloatBuffer?
        /// - dropped: [seq, lanes, H], `hidden * dropMask`; nil without dropout.
        let dropped: FloatBuffer?

        /// Buffers for `rows = seq * lanes` rows; `gates` and `hidden` may be shared with other layers when `kept` is false.
        init(rows: Int, hiddenSize h: Int, gates: FloatBuffer, hidden: FloatBuffer, kept: Bool, dropout: Bool) {
            input = UnsafePointer(hidden.pointer)
            self.gates = gates
            self.hidden = hidden
            cell = kept ? FloatBuffer(count: rows * h) : nil
            tanhCell = kept ? FloatBuffer(count: rows * h) : nil
            previousHidden = kept ? FloatBuffer(count: rows * h) : nil
            previousCell = kept ? FloatBuffer(count: rows * h) : nil
            dropMask = dropout ? FloatBuffer(count: rows * h) : nil
            dropped = dropout ? FloatBuffer(count: rows * h) : nil
        }

        /// Whether the last forward applied the dropout mask.
        var dropoutApplied = false

        /// The layer's output as the next layer (or the decoder) sees it.
        var output: UnsafeMutablePointer<Float> { dropoutApplied ? dropped!.pointer : hidden.pointer }
    }

    /// Forward over a window of `seq` steps of `lanes` lanes.
    ///
    /// - input: [seq, lanes, in].
    /// - keep: [seq, lanes], 0 where the lane resets before reading that step's input, else 1.
    /// - hiddenState, cellState: [lanes, H]: carried in, the state after the window on return.
    /// - activations: `input` is set; `hidden` [seq, lanes, H] receives each step's `h`; with the kept
    ///   buffers everything backward needs is written, else the state is updated in place.
    /// - applyDropout: writes `dropped = hidden * dropMask` (masks drawn beforehand).
    /// - splitSteps: a single forward-only step may split its product with the helper thread.
    func forward(input: UnsafePointer<Float>, seq: Int, lanes: Int, keep: UnsafePointer<Float>,
                 hiddenState: UnsafeMutablePointer<Float>, cellState: UnsafeMutablePointer<Float>,
                 activations a: Activations, applyDropout: Bool, scratch: LayerWeights.Scratch, splitSteps: Bool) {
        let h = hiddenSize, rows = seq * lanes
        let bias = UnsafePointer(weights.biasSum.pointer)
        a.input = input
        a.dropoutApplied = applyDropout
        if a.previousHidden == nil {
            forwardOnly(input: input, seq: seq, lanes: lanes, keep: keep, hiddenState: hiddenState, cellState: cellState,
                        activations: a, scratch: scratch, splitSteps: splitSteps)
            return
        }
        let previousHidden = a.previousHidden!.pointer, previousCell = a.previousCell!.pointer
        let hidden = a.hidden.pointer, cell = a.cell!.pointer, tanhCell = a.tanhCell!.pointer
        weights.inputForward(input, rows: rows, into: a.gates.pointer, left: scratch.window, vectorForOneRow: false)
        for t in 0..<seq {
            let offset = t * lanes * h
            let sourceH = t == 0 ? UnsafePointer(hiddenState) : UnsafePointer(hidden + offset - lanes * h)
            let sourceC = t == 0 ? UnsafePointer(cellState) : UnsafePointer(cell + offset - lanes * h)
            let prevH = previousHidden + offset, prevC = previousCell + offset
            for b in 0..<lanes {
                let scale = keep[t * lanes + b]
                let sh = sourceH + b * h, sc = sourceC + b * h
                let dh = prevH + b * h, dc = prevC + b * h
                for j in 0..<h { dh[j] = scale * sh[j]; dc[j] = scale * sc[j] }
            }
            let gates = a.gates.pointer + t * lanes * 4 * h
            weights.recurrentForward(prevH, lanes: lanes, into: gates, left: scratch.step, vectorForOneRow: false)
            LSTMKernels.forwardStep(gates: gates, bias: bias, previousCell: prevC, cell: cell + offset,
                                    hidden: hidden + offset, tanhCell: tanhCell + offset, batch: lanes, hiddenSize: h)
        }
        let last = (seq - 1) * lanes * h
        hiddenState.update(from: hidden + last, count: lanes * h)
        cellState.update(from: cell + last, count: lanes * h)
        if applyDropout {
            let mask = a.dropMask!.pointer, out = a.dropped!.pointer
            for i in 0..<(rows * h) { out[i] = hidden[i] * mask[i] }
        }
    }

    /// Backward over the window `forward` last ran with kept activations.
    ///
    /// - outputGradient: [seq, lanes, H], the gradient reaching the layer's output; scaled in place by the
    ///   dropout mask when the forward applied one.
    /// - recurrentKeep: [seq, lanes], the factors for gradients from step t+1 to step t, read at
    ///   step t+1's rows: `keep`, so no gradient crosses a reset.
    /// - recurrentHidden, recurrentCell: [lanes, H] workspace.
    /// - dWih: [4H, in], dWhh: [4H, H], dBih, dBhh: [4H], inputGradient: [seq, lanes, in] (all written);
    ///   with DropConnect on, `dWhh` is the gradient of the raw `W_hh` (scaled by the mask).
    /// - ones: at least [seq * lanes], all 1.
    func backward(seq: Int, lanes: Int, outputGradient: UnsafeMutablePointer<Float>, recurrentKeep: UnsafePointer<Float>,
                  activations a: Activations, recurrentHidden: UnsafeMutablePointer<Float>,
                  recurrentCell: UnsafeMutablePointer<Float>, ones: UnsafePointer<Float>,
                  dWih: UnsafeMutablePointer<Float>, dWhh: UnsafeMutablePointer<Float>,
                  dBih: UnsafeMutablePointer<Float>, dBhh: UnsafeMutablePointer<Float>,
                  inputGradient: UnsafeMutablePointer<Float>, scratch: LayerWeights.Scratch) {
        let h = hiddenSize, rows = seq * lanes
        if a.dropoutApplied {
            let mask = a.dropMask!.pointer
            for i in 0..<(rows * h) { outputGradient[i] *= mask[i] }
        }
        let previousCell = a.previousCell!.pointer, tanhCell = a.tanhCell!.pointer
        recurrentHidden.update(repeating: 0, count: lanes * h)
        recurrentCell.update(repeating: 0, count: lanes * h)
        for t in stride(from: seq - 1, through: 0, by: -1) {
            let offset = t * lanes * h
            let gates = a.gates.pointer + t * lanes * 4 * h
            LSTMKernels.backwardStep(
                gates: gates, previousCell: previousCell + offset, tanhCell: tanhCell + offset,
                hiddenGradient: outputGradient + offset, recurrentHidden: recurrentHidden, recurrentCell: recurrentCell,
                recurrentScale: t == seq - 1 ? nil : recurrentKeep + (t + 1) * lanes, batch: lanes, hiddenSize: h)
            if t > 0 {
                // d(previous h) = d(gates) W_hh.
                weights.recurrentBackward(gates, lanes: lanes, into: recurrentHidden, left: scratch.step)
            }
        }
        let dGates = UnsafePointer(a.gates.pointer)
        BLAS.gemv(transpose: true, rows: rows, columns: 4 * h, a: dGates, lda: 4 * h, x: ones, beta: 0, y: dBih)
        dBhh.update(from: dBih, count: 4 * h)
        weights.windowBackward(dGates: dGates, previousHidden: a.previousHidden!.pointer, input: a.input, rows: rows,
                               dWhh: dWhh, dWih: dWih, dInput: inputGradient, left: scratch.window, right: scratch.right)
        if let mask = weights.recurrentMask {
            // DropConnect: the products read W_hh * mask, so d(W_hh) = d(W_hh * mask) * mask.
            for i in 0..<(4 * h * h) { dWhh[i] *= mask[i] }
        }
    }

    /// The forward without kept activations: the state is reset and updated in place.
    private func forwardOnly(input: UnsafePointer<Float>, seq: Int, lanes: Int, keep: UnsafePointer<Float>,
                             hiddenState: UnsafeMutablePointer<Float>, cellState: UnsafeMutablePointer<Float>,
                             activations a: Activations, scratch: LayerWeights.Scratch, splitSteps: Bool) {
        let h = hiddenSize
        let bias = UnsafePointer(weights.biasSum.pointer)
        let joint = seq == 1 && weights.hasJointStep
        if !joint {
            weights.inputForward(input, rows: seq * lanes, into: a.gates.pointer, left: scratch.window, vectorForOneRow: true)
        }
        for t in 0..<seq {
            for b in 0..<lanes where keep[t * lanes + b] == 0 {
                (hiddenState + b * h).update(repeating: 0, count: h)
                (cellState + b * h).update(repeating: 0, count: h)
            }
            let gates = a.gates.pointer + t * lanes * 4 * h
            if joint {
                weights.jointStep(input: input, hidden: hiddenState, lanes: lanes, into: gates, joined: scratch.joined!.pointer,
                                  left: scratch.step!, split: splitSteps)
            } else {
                weights.recurrentForward(hiddenState, lanes: lanes, into: gates, left: scratch.step, vectorForOneRow: true)
            }
            LSTMKernels.forwardStep(gates: gates, bias: bias, previousCell: cellState, cell: cellState,
                                    hidden: hiddenState, tanhCell: nil, batch: lanes, hiddenSize: h)
            (a.hidden.pointer + t * lanes * h).update(from: hiddenState, count: lanes * h)
        }
    }
}
