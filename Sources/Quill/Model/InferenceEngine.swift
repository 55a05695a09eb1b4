/// Forward-only paths for evaluation and sampling: no activations kept, everything allocated once.
///
/// Inside, rows are time-major (row `t * batch + b`). Each window's input projection is one
/// product per layer; each step adds `h W_hh^T` and runs one fused gate pass updating the
/// state in place. A lane's state is zeroed exactly before it reads a `[DOC]` token (id 0).
/// Dropout is never applied.
public final class InferenceEngine {
    public let model: LanguageModel
    public let batch: Int
    public let maxSeq: Int

    /// - embedded: [maxSeq * batch, E]
    let embedded: FloatBuffer
    /// - gates: [maxSeq * batch, 4H]
    let gates: FloatBuffer
    /// - outputs: two [maxSeq * batch, H] buffers, one layer's output feeding the next.
    let outputs: (FloatBuffer, FloatBuffer)
    /// - logitRows: [maxSeq * batch, V], time-major.
    let logitRows: FloatBuffer
    /// - biasSums: [layers, 4H], `b_ih + b_hh` of each layer.
    let biasSums: FloatBuffer
    /// - keep: [maxSeq * batch], 0 where a lane resets before that step, else 1.
    let keep: FloatBuffer
    /// - zeroBias: [V], zeros, for the logits path (bias added while transposing).
    let zeroBias: FloatBuffer

    /// A workspace for windows of up to `maxSeq` steps of `batch` lanes.
    public init(model: LanguageModel, batch: Int, maxSeq: Int,
                precision: ComputePrecision = .float32, threads: Int = defaultEngineThreadCount) {
        precondition(batch >= 1 && maxSeq >= 1, "batch and maxSeq must be positive")
        self.model = model
        self.batch = batch
        self.maxSeq = maxSeq
        let c = model.configuration
        let rows = batch * maxSeq
        embedded = FloatBuffer(count: rows * c.embeddingSize)
        gates = FloatBuffer(count: rows * 4 * c.hiddenSize)
        outputs = (FloatBuffer(count: rows * c.hiddenSize), FloatBuffer(count: rows * c.hiddenSize))
        logitRows = FloatBuffer(count: rows * c.vocabularySize)
        biasSums = FloatBuffer(count: c.layers * 4 * c.hiddenSize)
        keep = FloatBuffer(count: rows)
        zeroBias = FloatBuffer(count: c.vocabularySize)
    }

    /// Summed cross-entropy of a window, with resets; advances `state`.
    ///
    /// - Parameters:
    ///   - inputs, targets: [batch, seq] token ids, lane-major.
    ///   - seq: steps in the window, at most `maxSeq`.
    /// - Returns: the sum over `batch * seq` tokens of `-log p(target)`, in nats, accumulated in `Double`.
    public func crossEntropy(inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>,
                             seq: Int, state: RecurrentState) -> Double {
        precondition(targets.count == batch * seq, "targets must be [batch, seq]")
        forward(inputs: inputs, seq: seq, state: state)
        let v = model.configuration.vocabularySize
        let batch = self.batch
        return SoftmaxCrossEntropy.forward(
            logits: logitRows.pointer, rows: batch * seq, vocabularySize: v,
            bias: model.weights.view(at: model.layout.decoderBiasIndex), gradientScale: nil) { row in
                Int(targets[(row % batch) * seq + row / batch])
            }
    }

    /// Writes the logits of a window, with resets, into `output`; advances `state`.
    ///
    /// - Parameters:
    ///   - inputs: [batch, seq] token ids, lane-major.
    ///   - output: [batch, seq, V], lane-major.
    public func logits(inputs: UnsafeBufferPointer<Int32>, seq: Int, state: RecurrentState,
                       output: UnsafeMutablePointer<Float>) {
        forward(inputs: inputs, seq: seq, state: state)
        let v = model.configuration.vocabularySize
        let bias = model.weights.view(at: model.layout.decoderBiasIndex)
        for b in 0..<batch {
            for t in 0..<seq {
                let source = logitRows.pointer + (t * batch + b) * v
                let target = output + (b * seq + t) * v
                for j in 0..<v { target[j] = source[j] + bias[j] }
            }
        }
    }

    /// Advances every lane by one token and writes the next-token logits; allocates nothing.
    ///
    /// - Parameters:
    ///   - tokens: [batch], one token per lane; a `[DOC]` resets that lane first.
    ///   - logits: [batch, V].
    public func step(tokens: UnsafeBufferPointer<Int32>, state: RecurrentState, logits: UnsafeMutablePointer<Float>) {
        self.logits(inputs: tokens, seq: 1, state: state, output: logits)
    }

    /// Runs the layers and the decoder product (without its bias) over a window into `logitRows`.
    func forward(inputs: UnsafeBufferPointer<Int32>, seq: Int, state: RecurrentState) {
        let c = model.configuration
        precondition(seq >= 1 && seq <= maxSeq, "seq must be in 1...maxSeq")
        precondition(inputs.count == batch * seq, "inputs must be [batch, seq]")
        precondition(state.batch == batch && state.layers == c.layers && state.hiddenSize == c.hiddenSize, "state shape mismatch")
        let h = c.hiddenSize, e = c.embeddingSize, v = c.vocabularySize
        let w = model.weights, layout = model.layout
        let rows = batch * seq
        let table = w.view(at: layout.embeddingIndex)
        for t in 0..<seq {
            for b in 0..<batch {
                let token = Int(inputs[b * seq + t])
                precondition(token >= 0 && token < v, "token id out of range")
                (embedded.pointer + (t * batch + b) * e).update(from: table + token * e, count: e)
                keep.pointer[t * batch + b] = token == 0 ? 0 : 1
            }
        }
        var input = embedded.pointer
        for k in 0..<c.layers {
            let inputSize = c.inputSize(ofLayer: k)
            let slot = layout.layerIndex(k)
            let wih = w.view(at: slot), whh = w.view(at: slot + 1)
            let bih = w.view(at: slot + 2), bhh = w.view(at: slot + 3)
            let bias = biasSums.pointer + k * 4 * h
            for j in 0..<(4 * h) { bias[j] = bih[j] + bhh[j] }
            let output = k % 2 == 0 ? outputs.0.pointer : outputs.1.pointer
            BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: 4 * h, k: inputSize,
                      a: input, lda: inputSize, b: wih, ldb: inputSize, beta: 0, c: gates.pointer, ldc: 4 * h)
            let stateH = state.hidden(layer: k), stateC = state.cell(layer: k)
            for t in 0..<seq {
                for b in 0..<batch where keep.pointer[t * batch + b] == 0 {
                    (stateH + b * h).update(repeating: 0, count: h)
                    (stateC + b * h).update(repeating: 0, count: h)
                }
                let g = gates.pointer + t * batch * 4 * h
                BLAS.gemm(transposeA: false, transposeB: true, m: batch, n: 4 * h, k: h,
                          a: stateH, lda: h, b: whh, ldb: h, beta: 1, c: g, ldc: 4 * h)
                LSTMKernels.forwardStep(gates: g, bias: bias, previousCell: stateC, cell: stateC,
                                        hidden: stateH, tanhCell: nil, batch: batch, hiddenSize: h)
                (output + t * batch * h).update(from: stateH, count: batch * h)
            }
            input = output
        }
        BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: v, k: h,
                  a: input, lda: h, b: w.view(at: layout.decoderWeightIndex), ldb: h,
                  beta: 0, c: logitRows.pointer, ldc: v)
    }
}
