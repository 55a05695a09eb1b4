import Foundation

/// A workspace that runs forward and backward over `[batch, seq]` windows of one model.
///
/// Everything is allocated once, in `init`; `run` allocates nothing. The lanes are split into
/// fixed shards (two for any batch of two or more, whatever the thread count up to 2), each with
/// its own workspace and gradient buffer; shards run on separate threads with no synchronization
/// inside the window, and their gradients are summed in shard order at the end, so results are
/// the same run to run and for 1 or 2 threads.
///
/// Inside a shard, rows are time-major: row `t * lanes + b` is the shard's lane `b` at step `t`.
/// Per layer, the input projection of the whole window is one product, each step adds
/// `h W_hh^T` in place and runs one fused gate pass, and backward forms `dW_hh`, `dW_ih` and the
/// input gradient as single products over the window from the kept per-step gate gradients.
///
/// The state of a lane is zeroed exactly before a `[DOC]` token (id 0) is read as input;
/// no gradient crosses that reset, nor flows into the window's carried-in state.
public final class TrainingStep {
    public let model: LanguageModel
    public let batch: Int
    public let seq: Int
    /// The arithmetic of the matrix products (after the CPU check).
    public let precision: ComputePrecision
    /// Worker threads the shards run on.
    public let threads: Int

    /// Test-only: lets gradient flow backward across resets (which is wrong), to show the gradient check can fail.
    var debugLeakGradientAcrossResets = false {
        didSet { for shard in shards { shard.debugLeakGradientAcrossResets = debugLeakGradientAcrossResets } }
    }
    /// The last window's summed cross-entropy in nats, accumulated in `Double`.
    private(set) var lastLossSum: Double = 0

    let shards: [TrainingShard]
    /// Gradient buffers of shards 1..., summed into the caller's buffer (shard 0 writes there directly).
    let shardGradients: [ParameterBuffer]
    /// The bfloat16 copies of the LSTM weights, packed once per `run`; nil in float32.
    let packedWeights: [PackedLayerWeights]?
    /// The fp32 copies of each `W_hh` for the per-step products, packed once per `run`; nil in bfloat16
    /// or without AVX-512F (then OpenBLAS runs those products).
    let recurrentFloat32: [PackedRecurrentFloat32]?

    /// A workspace for `[batch, seq]` windows; dropout buffers exist only if the model has dropout.
    ///
    /// - Parameters:
    ///   - precision: `.float32` (default) or `.bfloat16` products; bfloat16 falls back to float32
    ///     on a CPU without AVX-512 BF16.
    ///   - threads: worker threads (the lanes are split into `max(2, threads)` shards at most).
    ///     With more than one thread, OpenBLAS is set to one thread per call.
    public init(model: LanguageModel, batch: Int, seq: Int,
                precision: ComputePrecision = .float32, threads: Int = defaultEngineThreadCount) {
        precondition(batch >= 1 && seq >= 1, "batch and seq must be positive")
        precondition(threads >= 1, "threads must be positive")
        self.model = model
        self.batch = batch
        self.seq = seq
        self.precision = precision.effective
        let shardCount = min(batch, max(2, threads))
        self.threads = min(threads, shardCount)
        if self.threads > 1 { BLAS.threadCount = 1 }
        let c = model.configuration
        shards = laneShards(batch: batch, count: shardCount).map {
            TrainingShard(model: model, firstLane: $0.first, lanes: $0.lanes, totalLanes: batch, seq: seq,
                          bfloat16: precision.effective == .bfloat16)
        }
        shardGradients = (1..<shardCount).map { _ in ParameterBuffer(layout: model.layout) }
        packedWeights = self.precision == .bfloat16
            ? (0..<c.layers).map { PackedLayerWeights(hiddenSize: c.hiddenSize, inputSize: c.inputSize(ofLayer: $0)) }
            : nil
        recurrentFloat32 = self.precision == .float32 && Float32Kernels.isAvailable
            ? (0..<c.layers).map { _ in PackedRecurrentFloat32(hiddenSize: c.hiddenSize) } : nil
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
        let rows = batch * seq
        precondition(inputs.count == rows && targets.count == rows, "inputs and targets must be [batch, seq]")
        precondition(state.batch == batch && state.layers == c.layers && state.hiddenSize == c.hiddenSize, "state shape mismatch")
        precondition(gradients.layout == model.layout, "gradient layout mismatch")
        let applyDropout = training && c.dropout > 0
        if applyDropout { drawDropoutMasks(random: &random) }
        if let packedWeights {
            let w = model.weights, layout = model.layout
            // Four packings per layer, spread over the threads.
            parallel(4 * c.layers) { job in
                let slot = layout.layerIndex(job / 4)
                packedWeights[job / 4].pack(part: job % 4, inputWeights: w.view(at: slot), recurrentWeights: w.view(at: slot + 1))
            }
        }
        if let recurrentFloat32 {
            let w = model.weights, layout = model.layout
            // Two packings per layer, spread over the threads.
            parallel(2 * c.layers) { job in
                recurrentFloat32[job / 2].pack(part: job % 2, recurrentWeights: w.view(at: layout.layerIndex(job / 2) + 1))
            }
        }
        let shards = self.shards, shardGradients = self.shardGradients
        let inputBase = inputs.baseAddress!, targetBase = targets.baseAddress!
        let packed = packedWeights, recurrentFloat32 = self.recurrentFloat32
        var totals = [Double](repeating: 0, count: shards.count)
        totals.withUnsafeMutableBufferPointer { totals in
            let totalsBase = totals.baseAddress!
            parallel(shards.count) { s in
                let shard = shards[s]
                let offset = shard.firstLane * self.seq
                totalsBase[s] = shard.run(
                    inputs: inputBase + offset, targets: targetBase + offset, state: state,
                    gradients: s == 0 ? gradients : shardGradients[s - 1],
                    applyDropout: applyDropout, packed: packed, recurrentFloat32: recurrentFloat32)
            }
        }
        if !shardGradients.isEmpty { sumShardGradients(into: gradients) }
        var total = 0.0
        for t in totals { total += t }
        lastLossSum = total
        return Float(total / Double(rows))
    }

    /// Runs `body(0..<count)`, on up to `threads` threads.
    private func parallel(_ count: Int, _ body: (Int) -> Void) {
        if threads > 1 && count > 1 {
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        } else {
            for i in 0..<count { body(i) }
        }
    }

    /// Adds the other shards' gradients into `gradients`, in shard order, split by ranges across threads.
    private func sumShardGradients(into gradients: ParameterBuffer) {
        let total = gradients.count
        let pieces = threads > 1 ? 8 : 1
        let others = shardGradients
        parallel(pieces) { piece in
            let lower = total * piece / pieces, upper = total * (piece + 1) / pieces
            let g = gradients.pointer
            for other in others {
                let o = other.pointer
                for i in lower..<upper { g[i] += o[i] }
            }
        }
    }

    /// Draws every dropout mask of the window in the order of an unsharded pass: layer by layer,
    /// then time-major rows over all lanes, each row H draws.
    private func drawDropoutMasks(random: inout QuillRandom) {
        let c = model.configuration
        let h = c.hiddenSize
        let dropout = c.dropout
        let scale = 1 / (1 - dropout)
        for k in 0..<c.layers {
            for t in 0..<seq {
                for shard in shards {
                    let mask = shard.layerBuffers[k].dropMask!.pointer
                    for b in 0..<shard.batch {
                        let row = mask + (t * shard.batch + b) * h
                        for j in 0..<h { row[j] = random.nextUnitFloat() < dropout ? 0 : scale }
                    }
                }
            }
        }
    }
}

/// The bfloat16 copies of one LSTM layer's weights, in the four packings the products use.
final class PackedLayerWeights: @unchecked Sendable {
    let hiddenSize: Int, inputSize: Int
    /// `W_ih` as the right operand of `X W_ih^T` (n = 4H, k = in).
    let inputForward: PackedBFloat16
    /// `W_hh` as the right operand of `h W_hh^T` (n = 4H, k = H).
    let recurrentForward: PackedBFloat16
    /// `W_ih^T` as the right operand of `dG W_ih` (n = in, k = 4H).
    let inputBackward: PackedBFloat16
    /// `W_hh^T` as the right operand of `dG W_hh` (n = H, k = 4H).
    let recurrentBackward: PackedBFloat16

    init(hiddenSize h: Int, inputSize: Int) {
        hiddenSize = h
        self.inputSize = inputSize
        inputForward = PackedBFloat16(right: 4 * h, k: inputSize)
        recurrentForward = PackedBFloat16(right: 4 * h, k: h)
        inputBackward = PackedBFloat16(right: inputSize, k: 4 * h)
        recurrentBackward = PackedBFloat16(right: h, k: 4 * h)
    }

    /// Rounds and packs one of the four packings (`part` 0...3) of the fp32 weights `W_ih` [4H, in], `W_hh` [4H, H].
    func pack(part: Int, inputWeights wih: UnsafePointer<Float>, recurrentWeights whh: UnsafePointer<Float>) {
        let h = hiddenSize
        switch part {
        case 0: inputForward.packRight(wih, rowStride: inputSize, columnStride: 1, n: 4 * h, k: inputSize)
        case 1: recurrentForward.packRight(whh, rowStride: h, columnStride: 1, n: 4 * h, k: h)
        case 2: inputBackward.packRight(wih, rowStride: 1, columnStride: inputSize, n: inputSize, k: 4 * h)
        default: recurrentBackward.packRight(whh, rowStride: 1, columnStride: h, n: h, k: 4 * h)
        }
    }
}

/// The fp32 copies of one layer's `W_hh` [4H, H] in the panels of `Float32Kernels`.
final class PackedRecurrentFloat32: @unchecked Sendable {
    let hiddenSize: Int
    /// `W_hh` as the right operand of `h W_hh^T` (n = 4H, k = H).
    let forward: PackedFloat32
    /// `W_hh^T` as the right operand of `d(gates) W_hh` (n = H, k = 4H).
    let backward: PackedFloat32

    init(hiddenSize h: Int) {
        hiddenSize = h
        forward = PackedFloat32(right: 4 * h, k: h)
        backward = PackedFloat32(right: h, k: 4 * h)
    }

    /// Copies one of the two packings (`part` 0 forward, 1 backward) of `W_hh` [4H, H].
    func pack(part: Int, recurrentWeights whh: UnsafePointer<Float>) {
        let h = hiddenSize
        if part == 0 {
            forward.pack(whh, rowStride: h, columnStride: 1)
        } else {
            backward.pack(whh, rowStride: 1, columnStride: h)
        }
    }
}

/// The workspace of one shard of lanes: forward and backward over `[lanes, seq]`.
final class TrainingShard: @unchecked Sendable {
    let model: LanguageModel
    /// The shard's lanes are `firstLane ..< firstLane + batch` of `totalLanes`.
    let firstLane: Int
    let batch: Int
    let totalLanes: Int
    let seq: Int
    let bfloat16: Bool
    var debugLeakGradientAcrossResets = false

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

    /// - packedLeft: [max(rows * 4H, 4H * rows)] bfloat16, the gate gradients packed (either way); nil in float32.
    let packedLeft: PackedBFloat16?
    /// - packedRight: [max(H, in) * rows] bfloat16, an activation matrix packed as a right operand; nil in float32.
    let packedRight: PackedBFloat16?
    /// - packedStep: [lanes, 4H] bfloat16, one step's left operand; nil in float32.
    let packedStep: PackedBFloat16?

    /// A workspace for `lanes` lanes starting at `firstLane`; dropout buffers exist only if the model has dropout.
    init(model: LanguageModel, firstLane: Int, lanes batch: Int, totalLanes: Int, seq: Int, bfloat16: Bool) {
        self.model = model
        self.firstLane = firstLane
        self.batch = batch
        self.totalLanes = totalLanes
        self.seq = seq
        self.bfloat16 = bfloat16
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
        let widest = max(c.hiddenSize, c.embeddingSize)
        packedLeft = bfloat16 ? PackedBFloat16(count: max(
            PackedBFloat16.leftCount(m: rows, k: 4 * c.hiddenSize), PackedBFloat16.leftCount(m: 4 * c.hiddenSize, k: rows),
            PackedBFloat16.leftCount(m: rows, k: widest), PackedBFloat16.rightCount(n: 4 * c.hiddenSize, k: rows))) : nil
        packedRight = bfloat16 ? PackedBFloat16(right: widest, k: rows) : nil
        packedStep = bfloat16 ? PackedBFloat16(left: batch, k: 4 * c.hiddenSize) : nil
    }

    /// Forward and backward over the shard's lanes; returns the summed cross-entropy in nats.
    ///
    /// - inputs, targets: [lanes, seq], lane-major.
    /// - gradients: overwritten with this shard's part of `d(mean loss over all lanes)/d(weights)`.
    func run(inputs: UnsafePointer<Int32>, targets: UnsafePointer<Int32>, state: RecurrentState,
             gradients: ParameterBuffer, applyDropout: Bool, packed: [PackedLayerWeights]?,
             recurrentFloat32: [PackedRecurrentFloat32]? = nil) -> Double {
        let x = UnsafeBufferPointer(start: inputs, count: rows)
        let y = UnsafeBufferPointer(start: targets, count: rows)
        forward(inputs: x, state: state, applyDropout: applyDropout, packed: packed, recurrentFloat32: recurrentFloat32)
        return backward(inputs: x, targets: y, gradients: gradients, applyDropout: applyDropout, packed: packed,
                        recurrentFloat32: recurrentFloat32)
    }

    // MARK: Forward

    func forward(inputs: UnsafeBufferPointer<Int32>, state: RecurrentState, applyDropout: Bool, packed: [PackedLayerWeights]?,
                 recurrentFloat32: [PackedRecurrentFloat32]? = nil) {
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
            if let packed, let left = packedLeft {
                BFloat16Kernels.packLeft(input, rowStride: inputSize, columnStride: 1, m: rows, k: inputSize, into: left)
                BFloat16Kernels.gemm(m: rows, n: 4 * h, k: inputSize, a: left, b: packed[k].inputForward, beta: 0,
                                     c: buffers.gates.pointer, ldc: 4 * h)
            } else {
                BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: 4 * h, k: inputSize,
                          a: input, lda: inputSize, b: wih, ldb: inputSize, beta: 0, c: buffers.gates.pointer, ldc: 4 * h)
            }
            let stateH = state.hidden(layer: k) + firstLane * h, stateC = state.cell(layer: k) + firstLane * h
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
                if let packed, let left = packedStep {
                    BFloat16Kernels.packLeft(prevH, rowStride: h, columnStride: 1, m: batch, k: h, into: left)
                    BFloat16Kernels.gemm(m: batch, n: 4 * h, k: h, a: left, b: packed[k].recurrentForward, beta: 1,
                                         c: gates, ldc: 4 * h)
                } else if let recurrentFloat32 {
                    Float32Kernels.gemm(m: batch, n: 4 * h, k: h, a: prevH, lda: h, b: recurrentFloat32[k].forward, beta: 1,
                                        c: gates, ldc: 4 * h)
                } else {
                    BLAS.gemm(transposeA: false, transposeB: true, m: batch, n: 4 * h, k: h,
                              a: prevH, lda: h, b: whh, ldb: h, beta: 1, c: gates, ldc: 4 * h)
                }
                LSTMKernels.forwardStep(
                    gates: gates, bias: buffers.biasSum.pointer, previousCell: prevC,
                    cell: buffers.cell.pointer + offset, hidden: buffers.hidden.pointer + offset,
                    tanhCell: buffers.tanhCell.pointer + offset, batch: batch, hiddenSize: h)
            }
            let last = (seq - 1) * batch * h
            stateH.update(from: buffers.hidden.pointer + last, count: batch * h)
            stateC.update(from: buffers.cell.pointer + last, count: batch * h)
            if applyDropout {
                // The mask was drawn by `TrainingStep` for every shard in a fixed order.
                let mask = buffers.dropMask!.pointer, out = buffers.dropped!.pointer, hid = buffers.hidden.pointer
                for i in 0..<(rows * h) { out[i] = hid[i] * mask[i] }
            }
        }
    }

    // MARK: Backward

    func backward(inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>,
                  gradients: ParameterBuffer, applyDropout: Bool, packed: [PackedLayerWeights]?,
                  recurrentFloat32: [PackedRecurrentFloat32]? = nil) -> Double {
        let c = model.configuration
        let h = c.hiddenSize, e = c.embeddingSize, v = c.vocabularySize
        let w = model.weights, layout = model.layout
        // Every tensor but the embedding is written whole (beta 0) below; only the scatter-add needs zeros.
        let embeddingSlot = layout.slots[layout.embeddingIndex]
        gradients.view(embeddingSlot).update(repeating: 0, count: embeddingSlot.count)
        let top = layerBuffers[c.layers - 1]
        let decoderInput = applyDropout ? top.dropped!.pointer : top.hidden.pointer
        let dw = w.view(at: layout.decoderWeightIndex), db = w.view(at: layout.decoderBiasIndex)
        // Decoder: logits = X W_d^T, then softmax, cross-entropy and d(logits) in one pass.
        BLAS.gemm(transposeA: false, transposeB: true, m: rows, n: v, k: h,
                  a: decoderInput, lda: h, b: dw, ldb: h, beta: 0, c: logits.pointer, ldc: v)
        let batch = self.batch, seq = self.seq
        let total = SoftmaxCrossEntropy.forward(
            logits: logits.pointer, rows: rows, vocabularySize: v, bias: db,
            gradientScale: 1 / Float(totalLanes * seq)) { row in
                Int(targets[(row % batch) * seq + row / batch])
            }
        BLAS.gemm(transposeA: true, transposeB: false, m: v, n: h, k: rows,
                  a: logits.pointer, lda: v, b: decoderInput, ldb: h, beta: 0,
                  c: gradients.view(at: layout.decoderWeightIndex), ldc: h)
        BLAS.gemv(transpose: true, rows: rows, columns: v, a: logits.pointer, lda: v,
                  x: ones.pointer, beta: 0, y: gradients.view(at: layout.decoderBiasIndex))
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
                    if let packed, let left = packedStep {
                        BFloat16Kernels.packLeft(gates, rowStride: 4 * h, columnStride: 1, m: batch, k: 4 * h, into: left)
                        BFloat16Kernels.gemm(m: batch, n: h, k: 4 * h, a: left, b: packed[k].recurrentBackward, beta: 0,
                                             c: recurrentHidden.pointer, ldc: h)
                    } else if let recurrentFloat32 {
                        Float32Kernels.gemm(m: batch, n: h, k: 4 * h, a: gates, lda: 4 * h, b: recurrentFloat32[k].backward,
                                            beta: 0, c: recurrentHidden.pointer, ldc: h)
                    } else {
                        BLAS.gemm(transposeA: false, transposeB: false, m: batch, n: h, k: 4 * h,
                                  a: gates, lda: 4 * h, b: whh, ldb: h, beta: 0, c: recurrentHidden.pointer, ldc: h)
                    }
                }
            }
            let dGates = buffers.gates.pointer
            let dbih = gradients.view(at: slot + 2), dbhh = gradients.view(at: slot + 3)
            BLAS.gemv(transpose: true, rows: rows, columns: 4 * h, a: dGates, lda: 4 * h,
                      x: ones.pointer, beta: 0, y: dbih)
            dbhh.update(from: dbih, count: 4 * h)
            let dInput = k == 0 ? embeddedGradient.pointer : hiddenGradient.pointer
            if let packed, let left = packedLeft, let right = packedRight {
                // dW = dG^T [4H, rows] times the activations [rows, width], summed over the window.
                left.packRight(dGates, rowStride: 1, columnStride: 4 * h, n: 4 * h, k: rows)
                right.packRight(buffers.previousHidden.pointer, rowStride: 1, columnStride: h, n: h, k: rows)
                BFloat16Kernels.gemm(m: 4 * h, n: h, k: rows, a: left, aBlocked: true, b: right, beta: 0,
                                     c: gradients.view(at: slot + 1), ldc: h)
                right.packRight(buffers.input, rowStride: 1, columnStride: inputSize, n: inputSize, k: rows)
                BFloat16Kernels.gemm(m: 4 * h, n: inputSize, k: rows, a: left, aBlocked: true, b: right, beta: 0,
                                     c: gradients.view(at: slot), ldc: inputSize)
                // d(input) = dG W_ih.
                BFloat16Kernels.packLeft(dGates, rowStride: 4 * h, columnStride: 1, m: rows, k: 4 * h, into: left)
                BFloat16Kernels.gemm(m: rows, n: inputSize, k: 4 * h, a: left, b: packed[k].inputBackward, beta: 0,
                                     c: dInput, ldc: inputSize)
            } else {
                BLAS.gemm(transposeA: true, transposeB: false, m: 4 * h, n: h, k: rows,
                          a: dGates, lda: 4 * h, b: buffers.previousHidden.pointer, ldb: h, beta: 0,
                          c: gradients.view(at: slot + 1), ldc: h)
                BLAS.gemm(transposeA: true, transposeB: false, m: 4 * h, n: inputSize, k: rows,
                          a: dGates, lda: 4 * h, b: buffers.input, ldb: inputSize, beta: 0,
                          c: gradients.view(at: slot), ldc: inputSize)
                BLAS.gemm(transposeA: false, transposeB: false, m: rows, n: inputSize, k: 4 * h,
                          a: dGates, lda: 4 * h, b: wih, ldb: inputSize, beta: 0, c: dInput, ldc: inputSize)
            }
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
