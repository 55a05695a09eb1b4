/// Every setting of a training run: model shape, windows, optimizer, schedule, limits and evaluation.
///
/// The defaults aim at a good model of a 1 to 4 MB corpus in about ten minutes on two CPU cores.
/// The default model (E 64, H 512, 2 layers, about 3.3M parameters for 65 characters) costs about
/// 20 MFLOP per training character, so those cores train some 10,000 characters a second; 3,000 steps
/// of 32 x 64 windows are 6.1M characters, about six passes over Tiny Shakespeare. A wider model
/// (H 1024) runs three times slower and would see two passes in that time; a narrower one (H 128)
/// stops improving well before. Windows of 32 lanes x 64 steps keep each matrix product large enough
/// for the BLAS kernels while giving many updates per epoch (the benchmark's peer uses the same).
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    // Model shape.
    /// Embedding width (E). Default 64; typical 32 to 256. Flag `--embed`.
    public var embeddingSize: Int = 64
    /// LSTM hidden and cell width (H). Default 512; typical 128 to 1024. Flag `--hidden`.
    public var hiddenSize: Int = 512
    /// Stacked LSTM layers (L). Default 2; typical 1 to 3. Flag `--layers`.
    public var layers: Int = 2
    /// Dropout probability between layers and before the decoder, in training only. Default 0.1
    /// (mild: a 3.3M-parameter model starts to overfit 1 MB after a few passes); 0 turns it off. Flag `--dropout`.
    public var dropout: Float = 0.1

    // Windows.
    /// Lanes per window (B). Default 32; typical 16 to 128. Flag `--batch`.
    public var batch: Int = 32
    /// Steps of truncated backpropagation per window, in tokens (T). Default 64; typical 32 to 256. Flag `--seq`.
    public var seq: Int = 64

    // Optimizer: Adam, or AdamW when weightDecay > 0.
    /// Peak learning rate. Default 2e-3; typical 5e-4 to 5e-3. Flag `--lr`.
    public var learningRate: Float = 2e-3
    /// Adam's first-moment decay. Default 0.9. Flag `--beta1`.
    public var beta1: Double = 0.9
    /// Adam's second-moment decay. Default 0.999 (0.99 for short runs). Flag `--beta2`.
    public var beta2: Double = 0.999
    /// Adam's epsilon. Default 1e-8. Flag `--eps`.
    public var epsilon: Double = 1e-8
    /// AdamW's decoupled weight decay, per unit of learning rate, applied to every parameter.
    /// Default 0 (plain Adam); typical 0.01 to 0.1. Flag `--weight-decay`.
    public var weightDecay: Double = 0
    /// Largest global L2 norm of the gradients; larger ones are scaled down to it. Default 5. Flag `--clip`.
    public var clip: Float = 5

    // Schedule.
    /// Steps of linear warm-up to the peak learning rate. Default 100 (3% of the default run). Flag `--warmup`.
    public var warmupSteps: Int = 100
    /// Decay after warm-up: cosine (default), linear or none. It runs to the step limit (or the epoch
    /// limit in steps); with only a time limit the rate stays at the peak. Flag `--decay`.
    public var decay: LearningRateDecay = .cosine
    /// Steps over which the decay runs, warm-up included. Default 0: the step limit (or the epoch
    /// limit in steps); with only a time limit, the steps the measured speed fits in the time.
    /// Flag `--decay-steps`.
    public var decaySteps: Int = 0
    /// The decay's floor as a fraction of the peak. Default 0.1; 0 to 1. Flag `--min-lr-fraction`.
    public var minimumLearningRateFraction: Float = 0.1

    // Limits: training stops at the first one reached; 0 means no limit from that one.
    /// Optimizer steps. Default 3000 (about 6.1M characters). Flag `--steps`.
    public var steps: Int = 3000
    /// Passes over the training lanes. Default 0 (no limit). Flag `--epochs`.
    public var epochs: Int = 0
    /// Wall-clock training time, in seconds. Default 0 (no limit). Flag `--time`.
    public var timeLimit: Double = 0

    // Evaluation.
    /// Steps between evaluations on the validation split (also evaluated at the end). Default 500
    /// (one pass over 110K validation characters costs a few seconds). Flag `--eval-every`.
    public var evalEvery: Int = 500
    /// Fraction of the corpus, taken from its end, held out to validate. Default 0.1; (0, 0.5]. Flag `--val-frac`.
    public var validationFraction: Double = 0.1
    /// Evaluations in a row without a new best validation loss before training stops.
    /// Default 0 (never stop early); typical 3 to 5. Flag `--patience`.
    public var earlyStopPatience: Int = 0

    /// Arithmetic of the engine's matrix products: bfloat16 (default; about twice as fast on CPUs
    /// with AVX-512 BF16, float32 elsewhere) or float32. Master weights, gradients and Adam stay in
    /// float32 either way. Flag `--precision`.
    public var precision: ComputePrecision = .bfloat16

    /// Seed of the random generator for initialization and dropout. Default 1. Flag `--seed`.
    public var seed: UInt64 = 1

    /// The defaults above.
    public init() {}

    /// Largest accepted values; larger ones are taken as typing mistakes.
    public static let maximumBatch = 4096
    public static let maximumSeq = 4096

    /// The model shape these settings describe, for a vocabulary of `vocabularySize` ids.
    public func modelConfiguration(vocabularySize: Int) -> ModelConfiguration {
        ModelConfiguration(vocabularySize: vocabularySize, embeddingSize: embeddingSize,
                           hiddenSize: hiddenSize, layers: layers, dropout: dropout)
    }

    /// The step count at which the decay ends: the step limit, the epoch limit in steps, or the smaller
    /// of both; nil when only time limits the run.
    public func totalSteps(windowsPerEpoch: Int) -> Int? {
        let byEpochs = epochs > 0 ? epochs * windowsPerEpoch : nil
        let bySteps = steps > 0 ? steps : nil
        switch (bySteps, byEpochs) {
        case let (s?, e?): return min(s, e)
        case let (s?, nil): return s
        case let (nil, e?): return e
        case (nil, nil): return nil
        }
    }

    /// The learning-rate schedule of this run; constant after warm-up when no step count bounds it.
    public func learningRateSchedule(windowsPerEpoch: Int) -> LearningRateSchedule {
        guard let total = decaySteps > 0 ? decaySteps : totalSteps(windowsPerEpoch: windowsPerEpoch) else {
            return LearningRateSchedule(peak: learningRate, warmupSteps: warmupSteps, decay: .none,
                                        minimumFraction: minimumLearningRateFraction)
        }
        return LearningRateSchedule(peak: learningRate, warmupSteps: warmupSteps, totalSteps: total,
                                    decay: decay, minimumFraction: minimumLearningRateFraction)
    }

    /// Checks every value against its range.
    ///
    /// - Throws: `TrainingError.invalidOption` naming the first bad value by its flag.
    public func validate() throws {
        func fail(_ flag: String, _ value: CustomStringConvertible, _ expected: String) -> TrainingError {
            .invalidOption(flag: flag, value: value.description, expected: expected)
        }
        func count(_ flag: String, _ value: Int, _ range: ClosedRange<Int>, _ example: String) throws {
            guard range.contains(value) else {
                throw fail(flag, value, "a whole number from \(range.lowerBound) to \(range.upperBound), such as \(example)")
            }
        }
        try count("--embed", embeddingSize, 1...ModelConfiguration.maximumWidth, "64")
        try count("--hidden", hiddenSize, 1...ModelConfiguration.maximumWidth, "512")
        try count("--layers", layers, 1...ModelConfiguration.maximumLayers, "2")
        guard dropout.isFinite, dropout >= 0, dropout < 1 else {
            throw fail("--dropout", dropout, "a probability in [0, 1), such as 0.1")
        }
        try count("--batch", batch, 1...Self.maximumBatch, "32")
        try count("--seq", seq, 1...Self.maximumSeq, "64")
        guard learningRate.isFinite, learningRate > 0, learningRate <= 1 else {
            throw fail("--lr", learningRate, "a positive rate no larger than 1, such as 0.002")
        }
        guard beta1.isFinite, beta1 >= 0, beta1 < 1 else {
            throw fail("--beta1", beta1, "a value in [0, 1), such as 0.9")
        }
        guard beta2.isFinite, beta2 >= 0, beta2 < 1 else {
            throw fail("--beta2", beta2, "a value in [0, 1), such as 0.999")
        }
        guard epsilon.isFinite, epsilon > 0, epsilon <= 1 else {
            throw fail("--eps", epsilon, "a small positive value, such as 1e-8")
        }
        guard weightDecay.isFinite, weightDecay >= 0, weightDecay <= 1,
              Double(learningRate) * weightDecay < 1 else {
            throw fail("--weight-decay", weightDecay, "a value from 0 to 1 whose product with --lr is below 1, such as 0.1")
        }
        guard clip.isFinite, clip > 0 else {
            throw fail("--clip", clip, "a positive norm, such as 5")
        }
        guard warmupSteps >= 0 else {
            throw fail("--warmup", warmupSteps, "a step count of 0 or more, such as 100")
        }
        guard decaySteps >= 0 else {
            throw fail("--decay-steps", decaySteps, "0 (the step limit) or a positive step count, such as 3000")
        }
        guard minimumLearningRateFraction.isFinite, minimumLearningRateFraction >= 0,
              minimumLearningRateFraction <= 1 else {
            throw fail("--min-lr-fraction", minimumLearningRateFraction, "a fraction from 0 to 1, such as 0.1")
        }
        guard steps >= 0 else {
            throw fail("--steps", steps, "a step count of 0 (no limit) or more, such as 3000")
        }
        guard epochs >= 0 else {
            throw fail("--epochs", epochs, "a number of passes of 0 (no limit) or more, such as 5")
        }
        guard timeLimit.isFinite, timeLimit >= 0 else {
            throw fail("--time", timeLimit, "a number of seconds of 0 (no limit) or more, such as 600")
        }
        guard steps > 0 || epochs > 0 || timeLimit > 0 else {
            throw fail("--steps", steps, "a positive limit on --steps, --epochs or --time, or training never ends")
        }
        guard evalEvery >= 1 else {
            throw fail("--eval-every", evalEvery, "a step count of 1 or more, such as 500")
        }
        guard validationFraction.isFinite, validationFraction > 0, validationFraction <= 0.5 else {
            throw fail("--val-frac", validationFraction, "a fraction in (0, 0.5], such as 0.1")
        }
        guard earlyStopPatience >= 0 else {
            throw fail("--patience", earlyStopPatience, "a number of evaluations of 0 (never stop early) or more, such as 4")
        }
    }
}
