/// The decoder `Linear(H, V)` with its softmax and cross-entropy loss.
struct DecoderLayer {
    /// - weight: [V, H]; bias: [V] (views into the model's parameters).
    let weight: UnsafePointer<Float>
    let bias: UnsafePointer<Float>
    let vocabularySize: Int
    let hiddenSize: Int

    init(model: LanguageModel) {
        weight = UnsafePointer(model.weights.view(at: model.layout.decoderWeightIndex))
        bias = UnsafePointer(model.weights.view(at: model.layout.decoderBiasIndex))
        vocabularySize = model.configuration.vocabularySize
        hiddenSize = model.configuration.hiddenSize
    }

    /// `logits = input W^T`, the bias not yet added (the loss or `writeLogits` adds it).
    ///
    /// - input: [rows, H]; logits: [rows, V].
    /// - vectorForOneRow: a single row runs as a matrix-vector product (the forward-only passes).
    func forward(input: UnsafePointer<Float>, rows: Int, logits: UnsafeMutablePointer<Float>, vectorForOneRow: Bool) {
        let v = vocabularySize, h = hiddenSize
        if rows == 1 && vectorForOneRow {
            BLAS.gemv(transpose: false, rows: v, columns: h, a: weight, lda: h, x: input, beta: 0, y: logits)
        } else {
            BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: v, k: h,
                      a: input, lda: h, b: weight, ldb: h, beta: 0, c: logits, ldc: v)
        }
    }

    /// The summed cross-entropy of time-major rows against lane-major targets, in nats.
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

    /// The weight, bias and input gradients from the logits' gradients.
    ///
    /// - logitGradient: [rows, V]; input: [rows, H], what `forward` read.
    /// - weightGradient: [V, H], biasGradient: [V], inputGradient: [rows, H] (all written).
    /// - ones: at least [rows], all 1.
    func backward(logitGradient: UnsafePointer<Float>, input: UnsafePointer<Float>, rows: Int, ones: UnsafePointer<Float>,
                  weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
                  inputGradient: UnsafeMutablePointer<Float>) {
        let v = vocabularySize, h = hiddenSize
        BLAS.gemm(transposeA: true, transposeB: false, m: v, n: h, k: rows,
                  a: logitGradient, lda: v, b: input, ldb: h, beta: 0, c: weightGradient, ldc: h)
        BLAS.gemv(transpose: true, rows: rows, columns: v, a: logitGradient, lda: v, x: ones, beta: 0, y: biasGradient)
        BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: h, k: v,
                  a: logitGradient, lda: v, b: weight, ldb: h, beta: 0, c: inputGradient, ldc: h)
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
