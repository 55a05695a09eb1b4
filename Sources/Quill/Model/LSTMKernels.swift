/// The fused per-step passes of an LSTM layer, over `batch` lanes at one time step.
///
/// Gate pre-activations and activations are laid out per lane as `[i | f | g | o]`, each H wide,
/// PyTorch's order. Loops are over contiguous `H`-wide runs so they vectorize.
@usableFromInline
enum LSTMKernels {
    /// Forward pass of one step: activations, cell and hidden update.
    ///
    /// - gates: [batch, 4H]; holds `x W_ih^T + h W_hh^T` on entry (biases not yet added),
    ///   the activations `i, f, g, o` on return.
    /// - bias: [4H], `b_ih + b_hh`.
    /// - previousCell: [batch, H]; may equal `cell` (updated in place).
    /// - cell, hidden: [batch, H] outputs.
    /// - tanhCell: [batch, H] output `tanh(c)`, or nil when not kept.
    @inlinable
    static func forwardStep(
        gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
        previousCell: UnsafePointer<Float>,
        cell: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
        tanhCell: UnsafeMutablePointer<Float>?,
        batch: Int, hiddenSize h: Int
    ) {
        for b in 0..<batch {
            let gi = gates + b * 4 * h
            let gf = gi + h, gg = gi + 2 * h, go = gi + 3 * h
            let bi = bias, bf = bias + h, bg = bias + 2 * h, bo = bias + 3 * h
            let cp = previousCell + b * h
            let cOut = cell + b * h
            let hOut = hidden + b * h
            if let tanhCell {
                let tOut = tanhCell + b * h
                for j in 0..<h {
                    let i = quillSigmoid(gi[j] + bi[j])
                    let f = quillSigmoid(gf[j] + bf[j])
                    let g = quillTanh(gg[j] + bg[j])
                    let o = quillSigmoid(go[j] + bo[j])
                    let c = f * cp[j] + i * g
                    let t = quillTanh(c)
                    gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o
                    cOut[j] = c
                    tOut[j] = t
                    hOut[j] = o * t
                }
            } else {
                for j in 0..<h {
                    let i = quillSigmoid(gi[j] + bi[j])
                    let f = quillSigmoid(gf[j] + bf[j])
                    let g = quillTanh(gg[j] + bg[j])
                    let o = quillSigmoid(go[j] + bo[j])
                    let c = f * cp[j] + i * g
                    cOut[j] = c
                    hOut[j] = o * quillTanh(c)
                }
            }
        }
    }

    /// Backward pass of one step: from the gradients of `h` and `c` to those of the gate pre-activations.
    ///
    /// - gates: [batch, 4H]; the activations `i, f, g, o` on entry, `d(pre-activation)` on return.
    /// - previousCell: [batch, H], the cell state this step read (zero after a reset).
    /// - tanhCell: [batch, H], `tanh(c)` of this step.
    /// - hiddenGradient: [batch, H], gradient reaching this step's `h` from above.
    /// - recurrentHidden, recurrentCell: [batch, H]; on entry the gradients reaching this step's
    ///   `h` and `c` from the next step, on return `recurrentCell` holds `dc * f`, the gradient
    ///   for the previous step's `c`. `recurrentHidden` is only read.
    /// - recurrentScale: [batch], 1 where the next step did not reset the lane, 0 where it did
    ///   (so no gradient crosses a reset), or nil at the last step of a window (no gradient at all).
    @inlinable
    static func backwardStep(
        gates: UnsafeMutablePointer<Float>,
        previousCell: UnsafePointer<Float>, tanhCell: UnsafePointer<Float>,
        hiddenGradient: UnsafePointer<Float>,
        recurrentHidden: UnsafePointer<Float>, recurrentCell: UnsafeMutablePointer<Float>,
        recurrentScale: UnsafePointer<Float>?,
        batch: Int, hiddenSize h: Int
    ) {
        for b in 0..<batch {
            let gi = gates + b * 4 * h
            let gf = gi + h, gg = gi + 2 * h, go = gi + 3 * h
            let cp = previousCell + b * h
            let tc = tanhCell + b * h
            let dH = hiddenGradient + b * h
            let rh = recurrentHidden + b * h
            let rc = recurrentCell + b * h
            let keep: Float = recurrentScale.map { $0[b] } ?? 0
            for j in 0..<h {
                let i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tc[j]
                let dh = dH[j] + keep * rh[j]
                let dc = keep * rc[j] + dh * o * (1 - t * t)
                gi[j] = dc * g * i * (1 - i)
                gf[j] = dc * cp[j] * f * (1 - f)
                gg[j] = dc * i * (1 - g * g)
                go[j] = dh * t * o * (1 - o)
                rc[j] = dc * f
            }
        }
    }
}
