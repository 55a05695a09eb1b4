/// Every setting of a training run: model shape, windows, optimizer, schedule, limits and evaluation.
///
/// Each field's default, range, unit and meaning are declared once, in `TrainingSettings`; the
/// defaults train the default model for ten minutes.
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    // Model shape.
    /// How the width and depth are picked when `hiddenSize` and `layers` are not given (`ModelSizeRule`).
    public var size: ModelSize = TrainingSettings.size.defaultValue
    /// Embedding width (E).
    public var embeddingSize: Int = TrainingSettings.embeddingSize.defaultValue
    /// LSTM hidden and cell width (H).
    public var hiddenSize: Int = TrainingSettings.hiddenSize.defaultValue
    /// Stacked LSTM layers (L).
    public var layers: Int = TrainingSettings.layers.defaultValue
    /// How dropout, its masks and input dropout are picked when not given (`RegularizationRule`).
    public var regularization: RegularizationPreset = TrainingSettings.regularization.defaultValue
    /// Dropout probability between layers and before the decoder, in training only; 0 turns it off.
    public var dropout: Float = TrainingSettings.dropout.defaultValue
    /// How dropout masks are drawn: per step, or one per lane per window (variational).
    public var dropoutMasks: DropoutMasks = TrainingSettings.dropoutMasks.defaultValue
    /// Locked dropout on the first layer's input; 0 turns it off.
    public var inputDropout: Float = TrainingSettings.inputDropout.defaultValue
    /// DropConnect on `W_hh`; 0 turns it off.
    public var weightDrop: Float = TrainingSettings.weightDrop.defaultValue
    /// Embedding dropout, whole characters; 0 turns it off.
    public var embeddingDropout: Float = TrainingSettings.embeddingDropout.defaultValue

    // Windows.
    /// Lanes per window (B).
    public var batch: Int = TrainingSettings.batch.defaultValue
    /// Steps of truncated backpropagation per window, in tokens (T).
    public var seq: Int = TrainingSettings.seq.defaultValue

    // Optimizer: Adam, or AdamW when weightDecay > 0.
    /// Peak learning rate.
    public var learningRate: Float = TrainingSettings.learningRate.defaultValue
    /// Adam's first-moment decay.
    public var beta1: Double = TrainingSettings.beta1.defaultValue
    /// Adam's second-moment decay.
    public var beta2: Double = TrainingSettings.beta2.defaultValue
    /// Adam's epsilon.
    public var epsilon: Double = TrainingSettings.epsilon.defaultValue
    /// AdamW's decoupled weight decay, per unit of learning rate, applied to every parameter; 0 is plain Adam.
    public var weightDecay: Double = TrainingSettings.weightDecay.defaultValue
    /// Largest global L2 norm of the gradients; larger ones are scaled down to it.
    public var clip: Float = TrainingSettings.clip.defaultValue
    /// Decay of the exponential moving average of the weights that is evaluated and saved (`WeightAverage`); 0 is off.
    public var ema: Float = TrainingSettings.ema.defaultValue

    // Schedule.
    /// Steps of linear warm-up to the peak learning rate.
    public var warmupSteps: Int = TrainingSettings.warmupSteps.defaultValue
    /// Decay after warm-up. It runs to the step limit (or the epoch limit in steps); with only a time
    /// limit, to the steps the measured speed fits in the time.
    public var decay: LearningRateDecay = TrainingSettings.decay.defaultValue
    /// Steps over which the decay runs, warm-up included; 0 for the step limit (or the epoch limit in
    /// steps, or with only a time limit the steps the measured speed fits in the time).
    public var decaySteps: Int = TrainingSettings.decaySteps.defaultValue
    /// The decay's floor as a fraction of the peak.
    public var minimumLearningRateFraction: Float = TrainingSettings.minimumLearningRateFraction.defaultValue

    // Limits: training stops at the first one reached; 0 means no limit from that one.
    /// Optimizer steps.
    public var steps: Int = TrainingSettings.steps.defaultValue
    /// Passes over the training lanes.
    public var epochs: Int = TrainingSettings.epochs.defaultValue
    /// Wall-clock training time, in seconds.
    public var timeLimit: Double = TrainingSettings.timeLimit.defaultValue

    // Evaluation.
    /// Steps between evaluations on the validation split (also evaluated at the end).
    public var evalEvery: Int = TrainingSettings.evalEvery.defaultValue
    /// Fraction of the corpus, taken from its end, held out to validate.
    public var validationFraction: Double = TrainingSettings.validationFraction.defaultValue
    /// Evaluations in a row without a new best validation loss before training stops; 0 never stops early.
    public var earlyStopPatience: Int = TrainingSettings.earlyStopPatience.defaultValue
    /// Periodic snapshots of the weights kept, the last ones; nil keeps none.
    public var keepSnapshots: Int? = TrainingSettings.keepSnapshots.defaultValue

    /// Arithmetic of the engine's matrix products; master weights, gradients and Adam stay in float32 either way.
    public var precision: ComputePrecision = TrainingSettings.precision.defaultValue

    /// Seed of the random generator for initialization and dropout.
    public var seed: UInt64 = TrainingSettings.seed.defaultValue

    /// The defaults of `TrainingSettings`.
    public init() {}

    /// The model shape these settings describe, for a vocabulary of `vocabularySize` ids.
    public func modelConfiguration(vocabularySize: Int) -> ModelConfiguration {
        ModelConfiguration(vocabularySize: vocabularySize, embeddingSize: embeddingSize,
                           hiddenSize: hiddenSize, layers: layers, dropout: dropout)
    }

    /// The regularizers the training step applies beyond the model's dropout.
    public var regularizers: Regularization {
        Regularization(dropoutMasks: dropoutMasks, inputDropout: inputDropout, weightDrop: weightDrop,
                       embeddingDropout: embeddingDropout)
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

    /// Checks every value against its range, and the settings against each other.
    ///
    /// - Throws: `TrainingError.settingOutOfRange` naming the first bad setting, `.weightDecayTooLarge`
    ///   or `.noLimit`.
    public func validate() throws {
        for setting in TrainingSettings.all { try setting.check(self) }
        guard Double(learningRate) * weightDecay < 1 else {
            throw TrainingError.weightDecayTooLarge(weightDecay: weightDecay, learningRate: learningRate)
        }
        guard steps > 0 || epochs > 0 || timeLimit > 0 else { throw TrainingError.noLimit }
    }

    /// The saved run's settings with the ones a resumed run may change (the limits and the evaluation
    /// cadence) taken from `limits`.
    public func resumed(with limits: TrainingConfiguration) -> TrainingConfiguration {
        var configuration = self
        for setting in TrainingSettings.all where !setting.fixedOnResume {
            setting.copy(from: limits, to: &configuration)
        }
        return configuration
    }
}
