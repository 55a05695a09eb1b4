/// Forward-only passes for evaluation and sampling: the training layers without kept activations.
///
/// The lanes are split into fixed shards (two for any batch of two or more), run on separate
/// threads; each step adds `h W_hh^T` and runs one fused gate pass updating the state in place.
/// A lane's state is zeroed exactly before it reads a `[DOC]` token (id 0). Dropout is never
/// applied. Each lane's state is its own row of the `RecurrentState` passed in, which can be read,
/// written, reset and moved between calls (`RecurrentState.lane(_:)` and the like), so lanes can
/// start and stop independently.
///
/// The engine copies the weights into the packed form its arithmetic reads; call
/// `refreshWeights()` after changing the model's weights.
public final class InferenceEngine {
    public let model: LanguageModel
    public let batch: Int
    public let maxSeq: Int
    /// The arithmetic of the matrix products (after the CPU check).
    public let precision: ComputePrecision
    /// Worker threads the shards run on.
    public let threads: Int

    let layers: ModelLayers
    let workspaces: [ShardWorkspace]

    /// A workspace for windows of up to `maxSeq` steps of `batch` lanes.
    ///
    /// - Parameters:
    ///   - precision: `.float32` (default) or `.bfloat16` products; bfloat16 falls back to float32
    ///     on a CPU without AVX-512 BF16.
    ///   - threads: worker threads (lanes are split into at most `max(2, threads)` shards; a single
    ///     lane splits its bfloat16 steps' products with a helper thread instead).
    ///     With more than one thread, OpenBLAS is set to one thread per call.
    public init(model: LanguageModel, batch: Int, maxSeq: Int,
                precision: ComputePrecision = .float32, threads: Int = defaultEngineThreadCount) {
        self.model = model
        self.batch = batch
        self.maxSeq = maxSeq
        layers = ModelLayers(model: model, strategy: ProductStrategy(precision: precision), use: .inference)
        self.precision = layers.strategy.precision
        let split = layers.shards(batch: batch, seq: maxSeq, threads: threads)
        workspaces = split.workspaces
        self.threads = split.threads
        refreshWeights()
    }

    /// Re-reads the model's weights into the bias sums and packed copies.
    public func refreshWeights() {
        layers.pack(threads: 1)
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
        let y = targets.baseAddress!, decoder = layers.decoder
        var totals = [Double](repeating: 0, count: workspaces.count)
        totals.withUnsafeMutableBufferPointer { totals in
            let out = totals.baseAddress!
            forward(inputs: inputs, seq: seq, state: state) { w, s in
                out[s] = decoder.loss(logits: w.logits.pointer, lanes: w.lanes, seq: seq, targets: y + w.shard.first * seq,
                                      gradientScale: nil)
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
        let v = model.configuration.vocabularySize, decoder = layers.decoder
        forward(inputs: inputs, seq: seq, state: state) { w, _ in
            decoder.writeLogits(w.logits.pointer, lanes: w.lanes, seq: seq, into: output + w.shard.first * seq * v)
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

    /// Runs the forward of every shard, then `finish(workspace, shard index)` on the same thread.
    private func forward(inputs: UnsafeBufferPointer<Int32>, seq: Int, state: RecurrentState,
                         finish: (ShardWorkspace, Int) -> Void) {
        let c = model.configuration
        precondition(seq >= 1 && seq <= maxSeq, "seq must be in 1...maxSeq")
        precondition(inputs.count == batch * seq, "inputs must be [batch, seq]")
        precondition(state.batch == batch && state.layers == c.layers && state.hiddenSize == c.hiddenSize, "state shape mismatch")
        let x = inputs.baseAddress!, layers = self.layers, workspaces = self.workspaces
        // A single lane: split each step's product between this thread and the helper thread.
        let splitSteps = threads > 1 && workspaces.count == 1
        LaneShard.run(workspaces.count, threads: threads) { s in
            let w = workspaces[s]
            layers.forward(w, inputs: x + w.shard.first * seq, seq: seq, state: state, applyDropout: false, splitSteps: splitSteps)
            finish(w, s)
        }
    }
}
