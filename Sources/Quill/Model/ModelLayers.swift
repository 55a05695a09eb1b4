/// The layers of a model as one engine drives them: embedding, the LSTM stack and the decoder,
/// forward through all of them and backward through all of them, for one shard of lanes.
///
/// The training step and the inference engine each hold one; training keeps every activation
/// for backward, inference runs the same forward without keeping them.
final class ModelLayers: @unchecked Sendable {
    let model: LanguageModel
    let strategy: ProductStrategy
    let use: EngineUse
    let embedding: Embedding
    let lstm: [LSTMLayer]
    let decoder: DecoderLayer
    /// Per LSTM layer, the jobs of a weight refresh (`LayerWeights.packJobs`).
    private let packJobs: [Int]

    init(model: LanguageModel, strategy: ProductStrategy, use: EngineUse) {
        self.model = model
        self.strategy = strategy
        self.use = use
        embedding = Embedding(model: model)
        lstm = (0..<model.configuration.layers).map {
            LSTMLayer(model: model, layer: $0, strategy: strategy, use: use)
        }
        decoder = DecoderLayer(model: model, strategy: strategy, use: use)
        packJobs = lstm.map(\.weights.packJobs) + [decoder.packJobs]
    }

    /// Workspaces for `batch` lanes split into shards (two for any batch of two or more), for windows
    /// of up to `seq` steps, and the threads they run on (a single forward-only lane keeps a second
    /// thread: its steps share their products with the helper). With more than one thread,
    /// OpenBLAS is set to one thread per call.
    func shards(batch: Int, seq: Int, threads: Int) -> (workspaces: [ShardWorkspace], threads: Int) {
        precondition(batch >= 1 && seq >= 1, "batch and seq must be positive")
        precondition(threads >= 1, "threads must be positive")
        let workspaces = LaneShard.split(batch: batch, count: min(batch, max(2, threads))).map {
            ShardWorkspace(configuration: model.configuration, shard: $0, seq: seq, strategy: strategy, use: use)
        }
        let used = use == .inference && batch == 1 ? min(threads, 2) : min(threads, workspaces.count)
        if used > 1 { BLAS.threadCount = 1 }
        return (workspaces, used)
    }

    /// Refreshes every layer's bias sums and packed weights, the decoder's last, spread over `threads` threads.
    func pack(threads: Int) {
        let jobs = packJobs, lstm = self.lstm, decoder = self.decoder
        var total = 0
        for count in jobs { total += count }
        LaneShard.run(total, threads: threads) { job in
            var layer = 0, index = job
            while index >= jobs[layer] { index -= jobs[layer]; layer += 1 }
            if layer == lstm.count { decoder.pack(job: index) } else { lstm[layer].weights.pack(job: index) }
        }
    }

    /// Embedding, every LSTM layer and the decoder product over one shard's window; advances `state`.
    ///
    /// - inputs: [lanes, seq] token ids of the shard, lane-major.
    /// - On return `w.logits` holds [seq * lanes, V] logits without the decoder bias.
    /// - masks: training only: the embedding's row and lane masks of the window.
    /// - splitSteps: a single forward-only step may split its products with the helper thread.
    func forward(_ w: ShardWorkspace, inputs: UnsafePointer<Int32>, seq: Int, state: RecurrentState,
                 applyDropout: Bool, masks: WindowMasks = WindowMasks(), splitSteps: Bool = false) {
        precondition(seq >= 1 && seq <= w.seq, "seq must be in 1...maxSeq")
        let h = model.configuration.hiddenSize, lanes = w.lanes
        embedding.forward(inputs: inputs, lanes: lanes, seq: seq, embedded: w.embedded.pointer, keep: w.keep.pointer,
                          masks: masks)
        var input = UnsafePointer(w.embedded.pointer)
        for (k, layer) in lstm.enumerated() {
            layer.forward(input: input, seq: seq, lanes: lanes, keep: w.keep.pointer,
                          hiddenState: state.hidden(layer: k) + w.shard.first * h, cellState: state.cell(layer: k) + w.shard.first * h,
                          activations: w.layers[k], applyDropout: applyDropout, scratch: w.scratch, splitSteps: splitSteps)
            input = UnsafePointer(w.layers[k].output)
        }
        decoder.forward(input: input, rows: seq * lanes, logits: w.logits.pointer, left: w.scratch.window,
                        rowByRow: use == .inference && seq == 1)
    }

    /// The loss and every gradient of the window `forward` last ran on `w` (with kept activations).
    ///
    /// - targets: [lanes, seq], lane-major.
    /// - gradients: overwritten with `d(loss)/d(weights)` where loss is the summed cross-entropy times `lossScale`.
    /// - masks: the masks `forward` applied.
    /// - leakAcrossResets: a test seam: lets gradient flow backward across resets (which is wrong).
    /// - Returns: the summed cross-entropy in nats.
    func backward(_ w: ShardWorkspace, inputs: UnsafePointer<Int32>, targets: UnsafePointer<Int32>,
                  gradients: ParameterBuffer, lossScale: Float, masks: WindowMasks = WindowMasks(),
                  leakAcrossResets: Bool = false) -> Double {
        let layout = model.layout, lanes = w.lanes, seq = w.seq
        let total = decoder.lossAndBackward(
            logits: w.logits.pointer, lanes: lanes, seq: seq, targets: targets, gradientScale: lossScale,
            input: w.layers[lstm.count - 1].output, ones: w.ones.pointer,
            weightGradient: gradients.view(at: layout.decoderWeightIndex),
            biasGradient: gradients.view(at: layout.decoderBiasIndex), inputGradient: w.hiddenGradient.pointer,
            scratch: w.scratch)
        let recurrentKeep = UnsafePointer(leakAcrossResets ? w.ones.pointer : w.keep.pointer)
        for k in stride(from: lstm.count - 1, through: 0, by: -1) {
            let slot = layout.layerIndex(k)
            lstm[k].backward(
                seq: seq, lanes: lanes, outputGradient: w.hiddenGradient.pointer, recurrentKeep: recurrentKeep,
                activations: w.layers[k], recurrentHidden: w.recurrentHidden.pointer, recurrentCell: w.recurrentCell.pointer,
                ones: w.ones.pointer, dWih: gradients.view(at: slot), dWhh: gradients.view(at: slot + 1),
                dBih: gradients.view(at: slot + 2), dBhh: gradients.view(at: slot + 3),
                inputGradient: k == 0 ? w.embeddedGradient.pointer : w.hiddenGradient.pointer, scratch: w.scratch)
        }
        embedding.backward(inputs: inputs, lanes: lanes, seq: seq, embeddedGradient: w.embeddedGradient.pointer,
                           tableGradient: gradients.view(at: layout.embeddingIndex), masks: masks)
        return total
    }
}
