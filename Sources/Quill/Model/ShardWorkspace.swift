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
    let scratch: LSTMLayer.Scratch

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
        let count = { (n: Int) in FloatBuffer(count: training ? n : 0) }
        hiddenGradient = count(rows * h)
        embeddedGradient = count(rows * c.embeddingSize)
        recurrentHidden = count(lanes * h)
        recurrentCell = count(lanes * h)
        ones = count(max(rows, lanes))
        ones.pointer.update(repeating: 1, count: ones.count)

        let widest = max(h, c.embeddingSize)
        var scratch = LSTMLayer.Scratch()
        if strategy == .bfloat16 && training {
            scratch.window = PackedBFloat16(count: max(
                PackedBFloat16.leftCount(m: rows, k: 4 * h), PackedBFloat16.leftCount(m: 4 * h, k: rows),
                PackedBFloat16.leftCount(m: rows, k: widest), PackedBFloat16.rightCount(n: 4 * h, k: rows)))
            scratch.right = PackedBFloat16(right: widest, k: rows)
            scratch.step = PackedBFloat16(left: lanes, k: 4 * h)
        } else if strategy == .bfloat16 {
            scratch.window = PackedBFloat16(left: rows, k: widest)
            scratch.step = PackedBFloat16(left: lanes, k: widest + h)
            scratch.joined = FloatBuffer(count: lanes * (widest + h))
        }
        self.scratch = scratch
    }
}
