import Foundation

/// How fast this machine trains a model of a given shape: the figure a time budget is counted in
/// by `--size auto` and `--regularization auto` (`TrainingBudget`).
///
/// A time limit means very different amounts of training on different CPUs: the same two cores
/// train 2 x 512 at about 17,000 characters a second with AVX-512 BF16 and about 5,900 with AVX2
/// alone (BENCHMARKS.md). The probe builds a throwaway model of the shape, runs one untimed window
/// forward and backward with an Adam step, then times `windows` more: about a second for 2 x 512
/// with AVX2 alone, five for 2 x 1024, paid only when a rule needs the figure. The ids are random
/// (the speed does not depend on them) and no regularizer is applied.
public enum TrainingSpeedProbe {
    /// Windows timed after the untimed one: two runs of the probe agree within about a tenth.
    public static let defaultWindows = 3

    /// Training characters a second of a `layers` x `hiddenSize` model with `configuration`'s
    /// embedding, batch, window and precision, for a vocabulary of `vocabularySize` ids.
    ///
    /// Under several ranks each process trains its share of the lanes on one thread: each times
    /// its own share alone (no collective operation runs, so ranks whose settings differ cannot hang
    /// here), and every rank takes rank 0's figure times the number of ranks, so all of them choose alike.
    public static func charactersPerSecond(hiddenSize: Int, layers: Int, vocabularySize: Int,
                                           configuration: TrainingConfiguration, windows: Int = defaultWindows,
                                           threads: Int = defaultEngineThreadCount,
                                           communicator: Communicator = SingleProcess()) -> Double {
        precondition(windows >= 1, "time at least one window")
        var shape = configuration
        shape.hiddenSize = hiddenSize
        shape.layers = layers
        shape.dropout = 0
        let ranks = communicator.size
        let lanes = ranks > 1 ? LaneShard.split(batch: shape.batch, count: ranks)[communicator.rank].lanes : shape.batch
        var random = QuillRandom(seed: 1)
        let model = LanguageModel.initialized(shape.modelConfiguration(vocabularySize: vocabularySize), random: &random)
        let step = TrainingStep(model: model, batch: lanes, seq: shape.seq, precision: shape.precision,
                                threads: ranks > 1 ? 1 : threads)
        let optimizer = AdamOptimizer(layout: model.layout, configuration: shape)
        let gradients = ParameterBuffer(layout: model.layout)
        let state = RecurrentState(configuration: model.configuration, batch: lanes)
        let ids = (0..<(lanes * shape.seq)).map { _ in Int32(random.next() % UInt64(vocabularySize)) }
        var seconds = 0.0
        ids.withUnsafeBufferPointer { ids in
            func window() {
                step.run(inputs: ids, targets: ids, state: state, gradients: gradients, random: &random)
                optimizer.step(weights: model.weights, gradients: gradients, learningRate: shape.learningRate)
            }
            window()  // untimed: first touches of the buffers, packing, thread start-up
            let stopwatch = Stopwatch()
            for _ in 0..<windows { window() }
            seconds = stopwatch.seconds
        }
        let own = Double(windows * lanes * shape.seq) / max(seconds, 1e-9)
        return ranks > 1 ? communicator.broadcast(own * Double(ranks)) : own
    }
}
