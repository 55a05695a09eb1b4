import Foundation

/// Forward-only paths for evaluation and sampling: no activations kept, everything allocated once.
///
/// The lanes are split into fixed shards (two for any batch of two or more), run on separate
/// threads; each shard's rows are time-major (row `t * lanes + b`). Each window's input
/// projection is one product per layer; each step adds `h W_hh^T` and runs one fused gate pass
/// updating the state in place. A lane's state is zeroed exactly before it reads a `[DOC]`
/// token (id 0). Dropout is never applied.
///
/// With `.bfloat16` the engine rounds a copy of the weights to bfloat16 at `init`; with `.float32`
/// on a CPU with AVX-512F it copies each `W_hh` into the packed panels of `Float32Kernels`, so the
/// per-step products repack nothing. Either way, call `refreshWeights()` after changing the model's weights.
public final class InferenceEngine {
    public let model: LanguageModel
    public let batch: Int
    public let maxSeq: Int
    /// The arithmetic of the matrix products (after the CPU check).
    public let precision: ComputePrecision
    /// Worker threads the shards run on.
    public let threads: Int

    let shards: [InferenceShard]
    /// - biasSums: [layers, 4H], `b_ih + b_hh` of each layer.
    let biasSums: FloatBuffer
    /// The bfloat16 weights; nil in float32.
    let packed: PackedInferenceWeights?
    /// Per layer, `W_hh` as the fp32 right operand of `h W_hh^T` (n = 4H, k = H); nil in bfloat16
    /// or without AVX-512F (then OpenBLAS runs the recurrent products).
    let packedRecurrent: [PackedFloat32]?

    /// A workspace for windows of up to `maxSeq` steps of `batch` lanes.
    ///
    /// - Parameters:
    ///   - precision: `.float32` (default) or `.bfloat16` products; bfloat16 falls back to float32
    ///     on a CPU without AVX-512 BF16.
    ///   - threads: worker threads (lanes are split into at most `max(2, threads)` shards).
    ///     With more than one thread, OpenBLAS is set to one thread per call.
    public init(model: LanguageModel, batch: Int, maxSeq: Int,
                precision: ComputePrecision = .float32, threads: Int = defaultEngineThreadCount) {
        precondition(batch >= 1 && maxSeq >= 1, "batch and maxSeq must be positive")
        precondition(threads >= 1, "threads must be positive")
        self.model = model
        self.batch = batch
        self.maxSeq = maxSeq
        self.precision = precision.effective
        let shardCount = min(batch, max(2, threads))
        // A single lane keeps the threads: its steps split each product's columns instead.
        self.threads = batch == 1 ? min(threads, 2) : min(threads, shardCount)
        if self.threads > 1 { BLAS.threadCount = 1 }
        let c = model.configuration
        biasSums = FloatBuffer(count: c.layers * 4 * c.hiddenSize)
        packed = self.precision == .bfloat16 ? PackedInferenceWeights(configuration: c) : nil
        let bfloat16 = packed != nil
        packedRecurrent = !bfloat16 && Float32Kernels.isAvailable
            ? (0..<c.layers).map { _ in PackedFloat32(right: 4 * c.hiddenSize, k: c.hiddenSize) } : nil
        shards = laneShards(batch: batch, count: shardCount).map {
            InferenceShard(model: model, firstLane: $0.first, lanes: $0.lanes, maxSeq: maxSeq, bfloat16: bfloat16)
        }
        refreshWeights()
    }

    /// Re-reads the model's weights: the bias sums and the packed (fp32) or rounded (bfloat16) copies.
    public func refreshWeights() {
        let c = model.configuration
        let h = c.hiddenSize
        let w = model.weights, layout = model.layout
        for k in 0..<c.layers {
            let slot = layout.layerIndex(k)
            let bih = w.view(at: slot + 2), bhh = w.view(at: slot + 3)
            let bias = biasSums.pointer + k * 4 * h
            for j in 0..<(4 * h) { bias[j] = bih[j] + bhh[j] }
        }
        packed?.pack(model.weights)
        if let packedRecurrent {
            for k in 0..<c.layers {
                packedRecurrent[k].pack(w.view(at: layout.layerIndex(k) + 1), rowStride: h, columnStride: 1)
            }
        }
    }

    /// Summed cross-entropy of a window, with resets; advances `state`.
    ///
    /// - Parameters:
    ///   - inputs, targets: [batch, seq] token ids, lane-major.
    ///   - seq: steps in the window, at most `maxSeq`.
    /// - Returns: the sum over `batch * seq` tokens of `-log p(target)`, in nats, accumulated in `Double`
    ///   (per shard, then over shards in order).
    public func crossEntropy(inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>,
                             seq: Int, state: RecurrentState) -> Double {
        precondition(targets.count == batch * seq, "targets must be [batch, seq]")
        check(inputs: inputs, seq: seq, state: state)
        let x = inputs.baseAddress!, y = targets.baseAddress!
        var totals = [Double](repeating: 0, count: shards.count)
        totals.withUnsafeMutableBufferPointer { totals in
            let out = totals.baseAddress!
            parallel { shard, s in
                out[s] = shard.crossEntropy(inputs: x + shard.firstLane * seq, targets: y + shard.firstLane * seq,
                                            seq: seq, state: state, engine: self)
            }
        }
        var total = 0.0
        for t in totals { total += t }
        return total
    }

    /// Writes the logits of a window, with resets, into `output`; advances `state`.
    ///
    /// - Parameters:
    ///   - inputs: [batch, seq] token ids, lane-major.
    ///   - output: [batch, seq, V], lane-major.
    public func logits(inputs: UnsafeBufferPointer<Int32>, seq: Int, state: RecurrentState,
                       output: UnsafeMutablePointer<Float>) {
        check(inputs: inputs, seq: seq, state: state)
        let v = model.configuration.vocabularySize
        let x = inputs.baseAddress!
        parallel { shard, _ in
            shard.logits(inputs: x + shard.firstLane * seq, seq: seq, state: state, engine: self,
                         output: output + shard.firstLane * seq * v)
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

    private func check(inputs: UnsafeBufferPointer<Int32>, seq: Int, state: RecurrentState) {
        let c = model.configuration
        precondition(seq >= 1 && seq <= maxSeq, "seq must be in 1...maxSeq")
        precondition(inputs.count == batch * seq, "inputs must be [batch, seq]")
        precondition(state.batch == batch && state.layers == c.layers && state.hiddenSize == c.hiddenSize, "state shape mismatch")
    }

    /// Runs `body` for every shard, on up to `threads` threads.
    private func parallel(_ body: (InferenceShard, Int) -> Void) {
        let shards = self.shards
        if threads > 1 && shards.count > 1 {
            DispatchQueue.concurrentPerform(iterations: shards.count) { body(shards[$0], $0) }
        } else {
            for (s, shard) in shards.enumerated() { body(shard, s) }
        }
    }
}

/// The bfloat16 copies of a model's LSTM weights for the forward-only paths.
final class PackedInferenceWeights: @unchecked Sendable {
    let configuration: ModelConfiguration
    /// Per layer, `W_ih` as the right operand of `X W_ih^T` (n = 4H, k = in).
    let input: [PackedBFloat16]
    /// Per layer, `W_hh` as the right operand of `h W_hh^T` (n = 4H, k = H).
    let recurrent: [PackedBFloat16]
    /// Per layer, `[W_ih | W_hh]` as the right operand of `[x | h] [W_ih | W_hh]^T` (n = 4H, k = in + H).
    let joined: [PackedBFloat16]
    /// - joinedSource: [4H, max(in) + H], the fp32 rows of `[W_ih | W_hh]` while packing.
    let joinedSource: FloatBuffer

    init(configuration c: ModelConfiguration) {
        configuration = c
        let h = c.hiddenSize
        input = (0..<c.layers).map { PackedBFloat16(right: 4 * h, k: c.inputSize(ofLayer: $0)) }
        recurrent = (0..<c.layers).map { _ in PackedBFloat16(right: 4 * h, k: h) }
        joined = (0..<c.layers).map { PackedBFloat16(right: 4 * h, k: c.inputSize(ofLayer: $0) + h) }
        joinedSource = FloatBuffer(count: 4 * h * (max(c.embeddingSize, h) + h))
    }

    func pack(_ w: ParameterBuffer) {
        let c = configuration
        let h = c.hiddenSize
        for k in 0..<c.layers {
            let n = c.inputSize(ofLayer: k)
            let slot = w.layout.layerIndex(k)
            let wih = w.view(at: slot), whh = w.view(at: slot + 1)
            input[k].packRight(wih, rowStride: n, columnStride: 1, n: 4 * h, k: n)
            recurrent[k].packRight(whh, rowStride: h, columnStride: 1, n: 4 * h, k: h)
            let width = n + h
            for r in 0..<(4 * h) {
                (joinedSource.pointer + r * width).update(from: wih + r * n, count: n)
                (joinedSource.pointer + r * width + n).update(from: whh + r * h, count: h)
            }
            joined[k].packRight(joinedSource.pointer, rowStride: width, columnStride: 1, n: 4 * h, k: width)
        }
    }
}

/// The workspace of one shard of lanes for the forward-only paths.
final class InferenceShard: @unchecked Sendable {
    let model: LanguageModel
    /// The shard's lanes are `firstLane ..< firstLane + batch`.
    let firstLane: Int
    let batch: Int
    let maxSeq: Int

    /// - embedded: [maxSeq * lanes, E]
    let embedded: FloatBuffer
    /// - gates: [maxSeq * lanes, 4H]
    let gates: FloatBuffer
    /// - outputs: two [maxSeq * lanes, H] buffers, one layer's output feeding the next.
    let outputs: (FloatBuffer, FloatBuffer)
    /// - logitRows: [maxSeq * lanes, V], time-major.
    let logitRows: FloatBuffer
    /// - keep: [maxSeq * lanes], 0 where a lane resets before that step, else 1.
    let keep: FloatBuffer
    /// - packedWindow: [maxSeq * lanes, max(E, H)] bfloat16, a window's input; nil in float32.
    let packedWindow: PackedBFloat16?
    /// - packedStep: [lanes, max(E, H) + H] bfloat16, one step's `h` or `[x | h]`; nil in float32.
    let packedStep: PackedBFloat16?
    /// - joinedInput: [lanes, max(E, H) + H], `[x | h]` of one step in fp32; for the single-step path.
    let joinedInput: FloatBuffer

    init(model: LanguageModel, firstLane: Int, lanes batch: Int, maxSeq: Int, bfloat16: Bool) {
        self.model = model
        self.firstLane = firstLane
        self.batch = batch
        self.maxSeq = maxSeq
        let c = model.configuration
        let rows = batch * maxSeq
        embedded = FloatBuffer(count: rows * c.embeddingSize)
        gates = FloatBuffer(count: rows * 4 * c.hiddenSize)
        outputs = (FloatBuffer(count: rows * c.hiddenSize), FloatBuffer(count: rows * c.hiddenSize))
        logitRows = FloatBuffer(count: rows * c.vocabularySize)
        keep = FloatBuffer(count: rows)
        let widest = max(c.embeddingSize, c.hiddenSize)
        packedWindow = bfloat16 ? PackedBFloat16(left: rows, k: widest) : nil
        packedStep = bfloat16 ? PackedBFloat16(left: batch, k: widest + c.hiddenSize) : nil
        joinedInput = FloatBuffer(count: bfloat16 ? batch * (widest + c.hiddenSize) : 0)
    }

    /// Summed cross-entropy of the shard's lanes; inputs and targets are [lanes, seq], lane-major.
    func crossEntropy(inputs: UnsafePointer<Int32>, targets: UnsafePointer<Int32>, seq: Int,
                      state: RecurrentState, engine: InferenceEngine) -> Double {
        forward(inputs: inputs, seq: seq, state: state, engine: engine)
        let v = model.configuration.vocabularySize
        let batch = self.batch
        return SoftmaxCrossEntropy.forward(
            logits: logitRows.pointer, rows: batch * seq, vocabularySize: v,
            bias: model.weights.view(at: model.layout.decoderBiasIndex), gradientScale: nil) { row in
                Int(targets[(row % batch) * seq + row / batch])
            }
    }

    /// Writes the shard's logits, [lanes, seq, V] lane-major, into `output`.
    func logits(inputs: UnsafePointer<Int32>, seq: Int, state: RecurrentState, engine: InferenceEngine,
                output: UnsafeMutablePointer<Float>) {
        forward(inputs: inputs, seq: seq, state: state, engine: engine)
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

    /// Runs the layers and the decoder product (without its bias) over a window into `logitRows`.
    func forward(inputs: UnsafePointer<Int32>, seq: Int, state: RecurrentState, engine: InferenceEngine) {
        let c = model.configuration
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
        let packed = engine.packed, packedRecurrent = engine.packedRecurrent
        var input = embedded.pointer
        for k in 0..<c.layers {
            let inputSize = c.inputSize(ofLayer: k)
            let slot = layout.layerIndex(k)
            let wih = w.view(at: slot), whh = w.view(at: slot + 1)
            let bias = engine.biasSums.pointer + k * 4 * h
            let output = k % 2 == 0 ? outputs.0.pointer : outputs.1.pointer
            let stateH = state.hidden(layer: k) + firstLane * h, stateC = state.cell(layer: k) + firstLane * h
            if let packed, seq == 1, let left = packedStep {
                // One step: gates = [x | h] [W_ih | W_hh]^T as a single product.
                for b in 0..<batch where keep.pointer[b] == 0 {
                    (stateH + b * h).update(repeating: 0, count: h)
                    (stateC + b * h).update(repeating: 0, count: h)
                }
                let width = inputSize + h
                for b in 0..<batch {
                    (joinedInput.pointer + b * width).update(from: input + b * inputSize, count: inputSize)
                    (joinedInput.pointer + b * width + inputSize).update(from: stateH + b * h, count: h)
                }
                BFloat16Kernels.packLeft(joinedInput.pointer, rowStride: width, columnStride: 1, m: batch, k: width, into: left)
                if engine.threads > 1 && engine.shards.count == 1 {
                    // A single lane: split the columns of the product with the helper thread.
                    BFloat16Kernels.gemmPair(m: batch, n: 4 * h, k: width, a: left, b: packed.joined[k], beta: 0,
                                             c: gates.pointer, ldc: 4 * h)
                } else {
                    BFloat16Kernels.gemm(m: batch, n: 4 * h, k: width, a: left, b: packed.joined[k], beta: 0,
                                         c: gates.pointer, ldc: 4 * h)
                }
                LSTMKernels.forwardStep(gates: gates.pointer, bias: bias, previousCell: stateC, cell: stateC,
                                        hidden: stateH, tanhCell: nil, batch: batch, hiddenSize: h)
                output.update(from: stateH, count: batch * h)
                input = output
                continue
            }
            if let packed, let window = packedWindow {
                BFloat16Kernels.packLeft(input, rowStride: inputSize, columnStride: 1, m: rows, k: inputSize, into: window)
                BFloat16Kernels.gemm(m: rows, n: 4 * h, k: inputSize, a: window, b: packed.input[k], beta: 0,
                                     c: gates.pointer, ldc: 4 * h)
            } else if rows == 1 {
                BLAS.gemv(transpose: false, rows: 4 * h, columns: inputSize, a: wih, lda: inputSize,
                          x: input, beta: 0, y: gates.pointer)
            } else {
                BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: 4 * h, k: inputSize,
                          a: input, lda: inputSize, b: wih, ldb: inputSize, beta: 0, c: gates.pointer, ldc: 4 * h)
            }
            for t in 0..<seq {
                for b in 0..<batch where keep.pointer[t * batch + b] == 0 {
                    (stateH + b * h).update(repeating: 0, count: h)
                    (stateC + b * h).update(repeating: 0, count: h)
                }
                let g = gates.pointer + t * batch * 4 * h
                if let packed, let left = packedStep {
                    BFloat16Kernels.packLeft(stateH, rowStride: h, columnStride: 1, m: batch, k: h, into: left)
                    BFloat16Kernels.gemm(m: batch, n: 4 * h, k: h, a: left, b: packed.recurrent[k], beta: 1,
                                         c: g, ldc: 4 * h)
                } else if let packedRecurrent, batch > 1 {
                    Float32Kernels.gemm(m: batch, n: 4 * h, k: h, a: stateH, lda: h, b: packedRecurrent[k], beta: 1,
                                        c: g, ldc: 4 * h)
                } else if batch == 1 {
                    BLAS.gemv(transpose: false, rows: 4 * h, columns: h, a: whh, lda: h, x: stateH, beta: 1, y: g)
                } else {
                    BLAS.gemm(transposeA: false, transposeB: true, m: batch, n: 4 * h, k: h,
                              a: stateH, lda: h, b: whh, ldb: h, beta: 1, c: g, ldc: 4 * h)
                }
                LSTMKernels.forwardStep(gates: g, bias: bias, previousCell: stateC, cell: stateC,
                                        hidden: stateH, tanhCell: nil, batch: batch, hiddenSize: h)
                (output + t * batch * h).update(from: stateH, count: batch * h)
            }
            input = output
        }
        if rows == 1 {
            BLAS.gemv(transpose: false, rows: v, columns: h, a: w.view(at: layout.decoderWeightIndex), lda: h,
                      x: input, beta: 0, y: logitRows.pointer)
        } else {
            BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: v, k: h,
                      a: input, lda: h, b: w.view(at: layout.decoderWeightIndex), ldb: h,
                      beta: 0, c: logitRows.pointer, ldc: v)
        }
    }
}
