/// A workspace that runs forward and backward over `[batch, seq]` windows of one model.
///
/// Everything is allocated once, in `init`; `run` allocates nothing. The lanes are split into
/// fixed shards (two for any batch of two or more, whatever the thread count up to 2), each with
/// its own workspace and gradient buffer; shards run on separate threads with no synchronization
/// inside the window, and their gradients are summed in shard order at the end, so results are
/// the same run to run and for 1 or 2 threads. The layers and their arithmetic are `ModelLayers`'.
///
/// Across processes (a `Communicator` of several ranks) the lanes are split into one shard per rank
/// (`LaneShard.split(batch:count:)`, as threads split them), each rank runs its own shard, and
/// the gradients and losses are summed in rank order, which is shard order: two ranks give the
/// bits of one process, and every rank holds the same gradients.
public final class TrainingStep {
    public let model: LanguageModel
    public let batch: Int
    public let seq: Int
    /// The arithmetic of the matrix products (after the CPU check).
    public let precision: ComputePrecision
    /// Worker threads the shards run on.
    public let threads: Int
    /// The last window's summed cross-entropy in nats, accumulated in `Double`.
    private(set) var lastLossSum: Double = 0

    let layers: ModelLayers
    let workspaces: [ShardWorkspace]
    /// Gradient buffers of shards 1..., summed into the caller's buffer (shard 0 writes there directly).
    let shardGradients: [ParameterBuffer]
    /// The ranks that share the lanes; `SingleProcess` when this process has them all.
    let communicator: Communicator
    /// Every shard of the batch in lane order, this process's and the other ranks'.
    let allShards: [LaneShard]
    /// The regularizers beyond the model's dropout (all off by default).
    public let regularization: Regularization
    /// Training-only masks, allocated when their regularizer is on:
    /// - rowMask: [V], embedding dropout; laneMasks: per workspace [lanes, E], input dropout;
    /// - recurrentMasks: per layer [4H, H], DropConnect.
    let rowMask: FloatBuffer?
    let laneMasks: [FloatBuffer]
    let recurrentMasks: [FloatBuffer]
    /// A test seam: lets gradient flow backward across resets (which is wrong), to show the gradient check can fail.
    var leaksGradientAcrossResetsForTesting = false

    /// A workspace for `[batch, seq]` windows; dropout buffers exist only if the model has dropout.
    ///
    /// - Parameters:
    ///   - precision: `.float32` (default) or `.bfloat16` products; bfloat16 falls back to float32
    ///     on a CPU without AVX-512 BF16.
    ///   - threads: worker threads (the lanes are split into `max(2, threads)` shards at most).
    ///     With more than one thread, OpenBLAS is set to one thread per call.
    ///   - regularization: the regularizers beyond the model's dropout, applied when `run` trains.
    public convenience init(model: LanguageModel, batch: Int, seq: Int,
                            precision: ComputePrecision = .float32, threads: Int = defaultEngineThreadCount,
                            communicator: Communicator = SingleProcess(), regularization: Regularization = .none) {
        self.init(model: model, batch: batch, seq: seq, strategy: ProductStrategy(precision: precision), threads: threads,
                  communicator: communicator, regularization: regularization)
    }

    /// A workspace whose products follow `strategy` (which must run on this CPU).
    ///
    /// With a communicator of several ranks (at most `batch`), this process runs only its rank's shard, on one thread.
    init(model: LanguageModel, batch: Int, seq: Int, strategy: ProductStrategy, threads: Int,
         communicator: Communicator = SingleProcess(), regularization: Regularization = .none) {
        self.model = model
        self.batch = batch
        self.seq = seq
        self.communicator = communicator
        self.regularization = regularization
        layers = ModelLayers(model: model, strategy: strategy, use: .training)
        self.precision = layers.strategy.precision
        if communicator.size > 1 {
            precondition(communicator.size <= batch, "more ranks than lanes")
            allShards = LaneShard.split(batch: batch, count: communicator.size)
            workspaces = [ShardWorkspace(configuration: model.configuration, shard: allShards[communicator.rank], seq: seq,
                                         strategy: layers.strategy, use: .training)]
            self.threads = 1
            BLAS.threadCount = 1  // the ranks are the parallelism
        } else {
            let split = layers.shards(batch: batch, seq: seq, threads: threads)
            workspaces = split.workspaces
            allShards = workspaces.map(\.shard)
            self.threads = split.threads
        }
        shardGradients = (1..<workspaces.count).map { _ in ParameterBuffer(layout: model.layout) }
        let c = model.configuration
        rowMask = regularization.embeddingDropout > 0 ? FloatBuffer(count: c.vocabularySize) : nil
        laneMasks = regularization.inputDropout > 0 ? workspaces.map { FloatBuffer(count: $0.lanes * c.embeddingSize) } : []
        recurrentMasks = regularization.weightDrop > 0
            ? (0..<c.layers).map { _ in FloatBuffer(count: 4 * c.hiddenSize * c.hiddenSize) } : []
    }

    /// Forward and backward over one window.
    ///
    /// - Parameters:
    ///   - inputs, targets: [batch, seq] token ids, lane-major (lane b's window is `b*seq ..< (b+1)*seq`).
    ///   - state: carried in; on return holds the state after the window.
    ///   - gradients: overwritten with `d(loss)/d(weights)`, loss = mean cross-entropy over `batch*seq`.
    ///   - random: draws the dropout masks (untouched when every regularizer is off or `training` is false).
    ///   - training: whether dropout and the other regularizers are applied.
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
        let masks = drawRegularizationMasks(random: &random, training: training)
        layers.pack(threads: threads)
        let layers = self.layers, workspaces = self.workspaces, shardGradients = self.shardGradients
        let inputBase = inputs.baseAddress!, targetBase = targets.baseAddress!
        let lossScale = 1 / Float(batch * seq), leak = leaksGradientAcrossResetsForTesting
        var totals = [Double](repeating: 0, count: workspaces.count)
        totals.withUnsafeMutableBufferPointer { totals in
            let totalsBase = totals.baseAddress!
            LaneShard.run(workspaces.count, threads: threads) { s in
                let w = workspaces[s]
                let x = inputBase + w.shard.first * self.seq, y = targetBase + w.shard.first * self.seq
                let shardMasks = masks.isEmpty ? WindowMasks() : masks[s]
                layers.forward(w, inputs: x, seq: self.seq, state: state, applyDropout: applyDropout, masks: shardMasks)
                totalsBase[s] = layers.backward(w, inputs: x, targets: y, gradients: s == 0 ? gradients : shardGradients[s - 1],
                                                lossScale: lossScale, masks: shardMasks, leakAcrossResets: leak)
            }
        }
        if !shardGradients.isEmpty { sumShardGradients(into: gradients) }
        var total = 0.0
        for t in totals { total += t }
        if communicator.size > 1 {
            // The other ranks' shards, added after this one's in rank order: the sum a single process forms.
            communicator.sumInRankOrder(UnsafeMutableBufferPointer(start: gradients.pointer, count: gradients.count))
            total = communicator.sumInRankOrder(total)
        }
        lastLossSum = total
        return Float(total / Double(rows))
    }

    /// Adds the other shards' gradients into `gradients`, in shard order, split by ranges across threads.
    private func sumShardGradients(into gradients: ParameterBuffer) {
        let total = gradients.count
        let pieces = threads > 1 ? 8 : 1
        let others = shardGradients
        LaneShard.run(pieces, threads: threads) { piece in
            let lower = total * piece / pieces, upper = total * (piece + 1) / pieces
            let g = gradients.pointer
            for other in others {
                let o = other.pointer
                for i in lower..<upper { g[i] += o[i] }
            }
        }
    }

    /// Draws every dropout mask of the window in the order of an unsharded pass: layer by layer,
    /// then time-major rows over all lanes, each row H draws; with masks per window, one row per
    /// lane (lanes in order), repeated at every step. The lanes of other ranks' shards are drawn and
    /// dropped, so every rank's generator stays in step.
    private func drawDropoutMasks(random: inout QuillRandom) {
        let c = model.configuration
        let h = c.hiddenSize
        let dropout = c.dropout
        let scale = 1 / (1 - dropout)
        let owner = allShards.map { shard in workspaces.first { $0.shard == shard } }
        if regularization.dropoutMasks == .window {
            for k in 0..<c.layers {
                for (shard, w) in zip(allShards, owner) {
                    guard let w else { Self.skip(shard.lanes * h, random: &random); continue }
                    let mask = w.layers[k].dropMask!.pointer, width = w.lanes * h
                    Self.draw(mask, count: width, probability: dropout, random: &random)
                    for t in 1..<seq { (mask + t * width).update(from: mask, count: width) }
                }
            }
            return
        }
        for k in 0..<c.layers {
            for t in 0..<seq {
                for (shard, w) in zip(allShards, owner) {
                    guard let w else {
                        for _ in 0..<(shard.lanes * h) { _ = random.nextUnitFloat() }
                        continue
                    }
                    let mask = w.layers[k].dropMask!.pointer
                    for b in 0..<w.lanes {
                        let row = mask + (t * w.lanes + b) * h
                        for j in 0..<h { row[j] = random.nextUnitFloat() < dropout ? 0 : scale }
                    }
                }
            }
        }
    }

    /// Draws the masks of the regularizers that are on, in a fixed order: embedding rows [V], each
    /// shard's lane masks [lanes, E] in lane order (other ranks' drawn and dropped), then each
    /// layer's DropConnect mask [4H, H] (which it applies to that layer's `W_hh` at once). Returns
    /// each workspace's embedding masks, or nothing when neither embedding mask is on. Without any
    /// regularizer on, or outside training, it draws nothing (and `W_hh` is read as it is).
    private func drawRegularizationMasks(random: inout QuillRandom, training: Bool) -> [WindowMasks] {
        guard training else {
            for layer in layers.lstm { layer.weights.useRecurrentMask(nil) }
            return []
        }
        let r = regularization, e = model.configuration.embeddingSize
        if let rowMask { Self.draw(rowMask.pointer, count: rowMask.count, probability: r.embeddingDropout, random: &random) }
        if !laneMasks.isEmpty {
            for shard in allShards {
                if let s = workspaces.firstIndex(where: { $0.shard == shard }) {
                    Self.draw(laneMasks[s].pointer, count: laneMasks[s].count, probability: r.inputDropout, random: &random)
                } else {
                    Self.skip(shard.lanes * e, random: &random)
                }
            }
        }
        for (k, layer) in layers.lstm.enumerated() {
            if recurrentMasks.isEmpty {
                layer.weights.useRecurrentMask(nil)
            } else {
                let mask = recurrentMasks[k]
                Self.draw(mask.pointer, count: mask.count, probability: r.weightDrop, random: &random)
                layer.weights.useRecurrentMask(UnsafePointer(mask.pointer))
            }
        }
        guard rowMask != nil || !laneMasks.isEmpty else { return [] }
        return workspaces.indices.map { s in
            WindowMasks(rows: rowMask.map { UnsafePointer($0.pointer) },
                        lanes: laneMasks.isEmpty ? nil : UnsafePointer(laneMasks[s].pointer))
        }
    }

    /// Fills `count` mask entries: 0 with probability `p`, else `1 / (1 - p)`.
    private static func draw(_ mask: UnsafeMutablePointer<Float>, count: Int, probability p: Float, random: inout QuillRandom) {
        let scale = 1 / (1 - p)
        for i in 0..<count { mask[i] = random.nextUnitFloat() < p ? 0 : scale }
    }

    /// Advances the generator past `count` draws of another rank's masks.
    private static func skip(_ count: Int, random: inout QuillRandom) {
        for _ in 0..<count { _ = random.nextUnitFloat() }
    }
}
