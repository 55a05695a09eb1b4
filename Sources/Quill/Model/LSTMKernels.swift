import _QuillKernels

/// The fused per-step passes of an LSTM layer, over `batch` lanes at one time step.
///
/// Gate pre-activations and activations are laid out per lane as `[i | f | g | o]`, each H wide,
/// PyTorch's order. The passes run in C (`_QuillKernels/lstm_step.c`), with AVX-512 where the
/// CPU has it; the activations are the same polynomial as `quillExp`, `quillSigmoid` and `quillTanh`,
/// with the same operations in the same order, so vector and scalar paths agree to the bit.
enum LSTMKernels {
    /// Forward pass of one step: activations, cell and hidden update.
    ///
    /// - gates: [batch, 4H]; holds `x W_ih^T + h W_hh^T` on entry (biases not yet added),
    ///   the activations `i, f, g, o` on return.
    /// - bias: [4H], `b_ih + b_hh`.
    /// - previousCell: [batch, H]; may equal `cell` (updated in place).
    /// - cell, hidden: [batch, H] outputs.
    /// - tanhCell: [batch, H] output `tanh(c)`, or nil when not kept.
    static func forwardStep(
        gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
        previousCell: UnsafePointer<Float>,
        cell: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>,
        tanhCell: UnsafeMutablePointer<Float>?,
        batch: Int, hiddenSize h: Int
    ) {
        quill_lstm_forward_step(gates, bias, previousCell, cell, hidden, tanhCell, batch, h)
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
    static func backwardStep(
        gates: UnsafeMutablePointer<Float>,
        previousCell: UnsafePointer<Float>, tanhCell: UnsafePointer<Float>,
        hiddenGradient: UnsafePointer<Float>,
        recurrentHidden: UnsafePointer<Float>, recurrentCell: UnsafeMutablePointer<Float>,
        recurrentScale: UnsafePointer<Float>?,
        batch: Int, hiddenSize h: Int
    ) {
        quill_lstm_backward_step(gates, previousCell, tanhCell, hiddenGradient, recurrentHidden,
                                 recurrentCell, recurrentScale, batch, h)
    }
}
