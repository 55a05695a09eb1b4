/// The decoder `Linear(H, V)` with its softmax and cross-entropy loss.
///
/// A training engine with the bfloat16 strategy runs the decoder's three products in bfloat16, as
/// the LSTM's, on copies of `W` packed by `pack(job:)` (a vocabulary of thousands makes these
/// products as large as the LSTM's); otherwise, and in every forward-only engine, they run in
/// OpenBLAS in float32, so evaluation and sampling figures do not depend on the training precision.
final class DecoderLayer: @unchecked Sendable {
    /// - weight: [V, H]; bias: [V] (views into the model's parameters).
    let weight: UnsafePointer<Float>
    let bias: UnsafePointer<Float>
    let vocabularySize: Int
    let hiddenSize: Int
    /// bfloat16 training only: `W` as the right operand of `input W^T` (n = V, k = H) and `W^T` as
    /// that of `dLogits W` (n = H, k = V).
    private let forwardWeight: PackedBFloat16?, backwardWeight: PackedBFloat16?

    init(model: LanguageModel, strategy: ProductStrategy = .blas, use: EngineUse = .inference) {
        weight = UnsafePointer(model.weights.view(at: model.layout.decoderWeightIndex))
        bias = UnsafePointer(model.weights.view(at: model.layout.decoderBiasIndex))
        vocabularySize = model.configuration.vocabularySize
        hiddenSize = model.configuration.hiddenSize
        let packed = strategy == .bfloat16 && use == .training
        forwardWeight = packed ? PackedBFloat16(right: vocabularySize, k: hiddenSize) : nil
        backwardWeight = packed ? PackedBFloat16(right: hiddenSize, k: vocabularySize) : nil
    }

    /// The number of independent jobs of a refresh, for `pack(job:)`: one per packed copy.
    var packJobs: Int { forwardWeight == nil ? 0 : 2 }

    /// Refreshes one packed copy from the weights (job 0 `W`, job 1 `W^T`); jobs may run concurrently.
    func pack(job: Int) {
        let v = vocabularySize, h = hiddenSize
        if job == 0 {
            forwardWeight!.packRight(weight, rowStride: h, columnStride: 1, n: v, k: h)
        } else {
            backwardWeight!.packRight(weight, rowStride: 1, columnStride: h, n: h, k: v)
        }
    }

    /// `logits = input W^T`, the bias not yet added (the loss or `writeLogits` adds it).
    ///
    /// - input: [rows, H]; logits: [rows, V].
    /// - left: room for `input` packed as a left operand (bfloat16 training only).
    /// - rowByRow: each row runs as its own matrix-vector product, so a row's logits are the same
    ///   bits whatever the number of rows (the forward-only single steps: a lane samples the same
    ///   text alone or beside others).
    func forward(input: UnsafePointer<Float>, rows: Int, logits: UnsafeMutablePointer<Float>, left: PackedBFloat16? = nil,
                 rowByRow: Bool) {
        let v = vocabularySize, h = hiddenSize
        if let forwardWeight, let left {
            BFloat16Kernels.packLeft(input, rowStride: h, columnStride: 1, m: rows, k: h, into: left)
            BFloat16Kernels.gemm(m: rows, n: v, k: h, a: left, b: forwardWeight, beta: 0, c: logits, ldc: v)
        } else if rowByRow {
            for r in 0..<rows {
                BLAS.gemv(transpose: false, rows: v, columns: h, a: weight, lda: h, x: input + r * h, beta: 0, y: logits + r * v)
            }
        } else {
            BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: v, k: h,
                      a: input, lda: h, b: weight, ldb: h, beta: 0, c: logits, ldc: v)
        }
    }

    /// The summed cross-entropy of time-major rows against lane-major targets, in nats, in the order of
    /// `SoftmaxCrossEntropy.forward`, so float32 losses keep their bits.
    ///
    /// - logits: [seq * lanes, V] from `forward`; with `gradientScale`, overwritten with
    ///   `gradientScale * (softmax - onehot(target))`, the gradient of `gradientScale * loss`.
    /// - targets: [lanes, seq], lane-major.
    func loss(logits: UnsafeMutablePointer<Float>, lanes: Int, seq: Int, targets: UnsafePointer<Int32>,
              gradientScale: Float?) -> Double {
        SoftmaxCrossEntropy.forward(logits: logits, rows: lanes * seq, vocabularySize: vocabularySize, bias: bias,
                                    gradientScale: gradientScale) { row in
            Int(targets[(row % lanes) * seq + row / lanes])
        }
    }

    /// The summed cross-entropy of a training window (as `loss`) and the weight, bias and input gradients
    /// of `gradientScale` times it.
    ///
    /// A bfloat16 training engine sums each row in eight lanes and writes the logit gradients straight
    /// into the packed operands of its products (`SoftmaxCrossEntropy.forwardEightLanesPacked`; the
    /// products are rounded already); every other engine overwrites `logits` with the gradients and
    /// runs the products in float32.
    ///
    /// - logits: [rows, V] from `forward`, rows = seq * lanes; input: [rows, H], what `forward` read.
    /// - weightGradient: [V, H], biasGradient: [V], inputGradient: [rows, H] (all written).
    /// - ones: at least [rows], all 1.
    func lossAndBackward(logits: UnsafeMutablePointer<Float>, lanes: Int, seq: Int, targets: UnsafePointer<Int32>,
                         gradientScale: Float, input: UnsafePointer<Float>, ones: UnsafePointer<Float>,
                         weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
                         inputGradient: UnsafeMutablePointer<Float>, scratch: LayerWeights.Scratch) -> Double {
        let v = vocabularySize, h = hiddenSize, rows = lanes * seq
        if let backwardWeight, let left = scratch.window, let right = scratch.right,
           let blocked = scratch.logitGradients, let softmaxRows = scratch.softmaxRows {
            let total = SoftmaxCrossEntropy.forwardEightLanesPacked(
                logits: logits, rows: rows, vocabularySize: v, bias: bias, gradientScale: gradientScale,
                target: { row in Int(targets[(row % lanes) * seq + row / lanes]) },
                scratch: softmaxRows.pointer, rowsLayout: left, blockedLayout: blocked, biasGradient: biasGradient)
            // dW = dLogits^T [V, rows] times input [rows, H].
            right.packRight(input, rowStride: 1, columnStride: h, n: h, k: rows)
            BFloat16Kernels.gemm(m: v, n: h, k: rows, a: blocked, aBlocked: true, b: right, beta: 0, c: weightGradient, ldc: h)
            // d(input) = dLogits W.
            BFloat16Kernels.gemm(m: rows, n: h, k: v, a: left, b: backwardWeight, beta: 0, c: inputGradient, ldc: h)
            return total
        }
        let total = loss(logits: logits, lanes: lanes, seq: seq, targets: targets, gradientScale: gradientScale)
        BLAS.gemv(transpose: true, rows: rows, columns: v, a: logits, lda: v, x: ones, beta: 0, y: biasGradient)
        BLAS.gemm(transposeA: true, transposeB: false, m: v, n: h, k: rows,
                  a: logits, lda: v, b: input, ldb: h, beta: 0, c: weightGradient, ldc: h)
        BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: h, k: v,
                  a: logits, lda: v, b: weight, ldb: h, beta: 0, c: inputGradient, ldc: h)
        return total
    }

    /// Adds the bias to time-major logits from `forward` and writes them lane-major.
    ///
    /// - logits: [seq * lanes, V]; output: [lanes, seq, V].
    func writeLogits(_ logits: UnsafePointer<Float>, lanes: Int, seq: Int, into output: UnsafeMutablePointer<Float>) {
        let v = vocabularySize
        for b in 0..<lanes {
            for t in 0..<seq {
                let source = logits + (t * lanes + b) * v
                let target = output + (b * seq + t) * v
                for j in 0..<v { target[j] = source[j] + bias[j] }
            }
        }
    }
}
