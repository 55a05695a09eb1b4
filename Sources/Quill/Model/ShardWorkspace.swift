/// The buffers of one shard of lanes for windows of up to `seq` steps, allocated once.
///
/// Rows are time-major: row `t * lanes + b` is the shard's lane `b` at step `t`. For training every
/// layer keeps its activations and there are gradient buffers; for inference the layers share one
/// gates buffer and two output buffers (one layer's output feeding the next).
final class ShardWorkspace: @unchecked Sendable {
    let shard: LaneShard
    var lanes: Int { shard.lanes }
    /// The most steps a window may have.
    let seq: Int

    /// - embedded: [rows, E], the embedding rows of the inputs.
    let embedded: FloatBuffer
    /// - keep: [rows], 0 where the lane resets before reading that step's input, else 1.
    let keep: FloatBuffer
    /// - logits: [rows, V]; logits without bias, then (training) their gradients.
    let logits: FloatBuffer
    /// Per layer, its buffers.
    let layers: [LSTMLayer.Activations]
    /// Room for packed operands.
    let scratch: LayerWeights.Scratch

    /// Training only (empty otherwise):
    /// - hiddenGradient: [rows, H], the gradient reaching the current layer's output.
    let hiddenGradient: FloatBuffer
    /// - embeddedGradient: [rows, E].
    let embeddedGradient: FloatBuffer
    /// - recurrentHidden, recurrentCell: [lanes, H], gradients carried from step t+1 to step t.
    let recurrentHidden: FloatBuffer, recurrentCell: FloatBuffer
    /// - ones: [max(rows, lanes)], all 1, for column sums.
    let ones: FloatBuffer

    init(configuration c: ModelConfiguration, shard: LaneShard, seq: Int, strategy: ProductStrategy, use: EngineUse) {
        self.shard = shard
        self.seq = seq
        let rows = shard.lanes * seq, h = c.hiddenSize, lanes = shard.lanes
        let training = use == .training
        embedded = FloatBuffer(count: rows * c.embeddingSize)
        keep = FloatBuffer(count: rows)
        logits = FloatBuffer(count: rows * c.vocabularySize)
        if training {
            layers = (0..<c.layers).map { _ in
                LSTMLayer.Activations(rows: rows, hiddenSize: h, gates: FloatBuffer(count: rows * 4 * h),
                                      hidden: FloatBuffer(count: rows * h), kept: true, dropout: c.dropout > 0)
            }
        } else {
            let gates = FloatBuffer(count: rows * 4 * h)
            let outputs = [FloatBuffer(count: rows * h), FloatBuffer(count: rows * h)]
            layers = (0..<c.layers).map {
                LSTMLayer.Activations(rows: rows, hiddenSize: h, gates: gates, hidden: outputs[$0 % 2], kept: false, dropout: false)
            }
        }
        let trainingOnly = { (n: Int) in FloatBuffer(count: training ? n : 0) }
        hiddenGradient = trainingOnly(rows * h)
        embeddedGradient = trainingOnly(rows * c.embeddingSize)
        recurrentHidden = trainingOnly(lanes * h)
        recurrentCell = trainingOnly(lanes * h)
        ones = trainingOnly(max(rows, lanes))
        ones.pointer.update(repeating: 1, count: ones.count)

        scratch = LayerWeights.Scratch(strategy: strategy, use: use, configuration: c, lanes: lanes, seq: seq)
    }
}
