import Foundation

/// How strongly `quill train` regularizes: chosen from the budget, or one of four fixed recipes.
///
/// A recipe sets dropout, its masks, input dropout, DropConnect, and for some the weight decay and
/// the learning-rate decay (`parts`); each of those given by its own flag overrides the recipe's
/// value. Embedding dropout keeps its own setting: measured at ten minutes it did not pay
/// (BENCHMARKS.md, quality ablation).
public enum RegularizationPreset: String, Codable, CaseIterable, Sendable {
    /// `RegularizationRule` decides from how many times the budget reads the training text.
    case auto
    /// No dropout.
    case off
    /// Dropout 0.1 between layers and before the decoder, a mask per step: for budgets that read the
    /// text a few times, where a model underfits.
    case light
    /// Locked masks (one per lane per window), dropout 0.2, input dropout 0.1, AdamW's weight decay
    /// 0.1: for budgets that read the text many times, where a model overfits.
    case strong
    /// Locked masks, dropout 0.4, input dropout 0.15, DropConnect 0.25, AdamW's weight decay 0.1 and a
    /// cosine decay: for budgets that read the text dozens of times. There the model overfits at the
    /// peak rate whatever the dropout, and gains only as the rate falls, so the rate falls from the
    /// start rather than over the last fifth (BENCHMARKS.md, the hour on tiny-shakespeare). The weight
    /// decay is `strong`'s, which paid at ten minutes; with it 2 x 512 made the best hour (1.3864).
    case heavy

    /// What a recipe sets.
    public struct Values: Equatable, Sendable {
        public var dropout: Float
        public var masks: DropoutMasks
        public var inputDropout: Float
        public var weightDrop: Float
        /// AdamW's weight decay, or nil to leave it as configured.
        public var weightDecay: Double? = nil
        /// The learning-rate decay, or nil to leave the schedule as configured.
        public var decay: LearningRateDecay?
    }

    /// The values this recipe gives; nil for `auto`.
    public var values: Values? {
        switch self {
        case .auto: nil
        case .off: Values(dropout: 0, masks: .step, inputDropout: 0, weightDrop: 0, decay: nil)
        case .light: Values(dropout: 0.1, masks: .step, inputDropout: 0, weightDrop: 0, decay: nil)
        case .strong: Values(dropout: 0.2, masks: .window, inputDropout: 0.1, weightDrop: 0, weightDecay: 0.1, decay: nil)
        case .heavy: Values(dropout: 0.4, masks: .window, inputDropout: 0.15, weightDrop: 0.25, weightDecay: 0.1, decay: .cosine)
        }
    }

    /// The values as a phrase: `dropout 0.2 with locked masks, input dropout 0.1`; no DropConnect and
    /// a schedule left alone are not mentioned.
    public var phrase: String {
        guard let v = values else { return "chosen from the budget" }
        if v.dropout == 0 && v.inputDropout == 0 { return "no dropout" }
        var text = "dropout \(TrainingSetting<Float>.decimal(v.dropout))"
        text += v.masks == .window ? " with locked masks" : " with a mask per step"
        if v.inputDropout > 0 { text += ", input dropout \(TrainingSetting<Float>.decimal(v.inputDropout))" }
        if v.weightDrop > 0 { text += ", DropConnect \(TrainingSetting<Float>.decimal(v.weightDrop))" }
        if let decay = v.weightDecay, decay > 0 { text += ", weight decay \(TrainingSetting<Double>.decimal(decay))" }
        if let decay = v.decay { text += ", \(decay.rawValue) decay" }
        return text
    }
}

/// The recipe a run trains with, and why.
public struct RegularizationChoice: Equatable, Sendable {
    /// Never `auto`.
    public var preset: RegularizationPreset
    /// One sentence: what was chosen and the figure that chose it.
    public var reason: String

    /// The names of the settings the recipe sets (the weight decay and the learning-rate decay only for a recipe that has them).
    public var parts: Set<String> {
        var names: Set<String> = [TrainingSettings.dropout.name, TrainingSettings.dropoutMasks.name,
                                  TrainingSettings.inputDropout.name, TrainingSettings.weightDrop.name]
        if preset.values?.decay != nil { names.insert(TrainingSettings.decay.name) }
        if preset.values?.weightDecay != nil { names.insert(TrainingSettings.weightDecay.name) }
        return names
    }

    /// Sets the recipe's values (`parts`) in `configuration`, except the ones `given`.
    public func apply(to configuration: inout TrainingConfiguration, except given: Set<String> = []) {
        guard let v = preset.values else { return }
        if !given.contains(TrainingSettings.dropout.name) { configuration.dropout = v.dropout }
        if !given.contains(TrainingSettings.dropoutMasks.name) { configuration.dropoutMasks = v.masks }
        if !given.contains(TrainingSettings.inputDropout.name) { configuration.inputDropout = v.inputDropout }
        if !given.contains(TrainingSettings.weightDrop.name) { configuration.weightDrop = v.weightDrop }
        if let decay = v.decay, !given.contains(TrainingSettings.decay.name) { configuration.decay = decay }
        if let weightDecay = v.weightDecay, !given.contains(TrainingSettings.weightDecay.name) {
            configuration.weightDecay = weightDecay
        }
    }
}

/// The rule of `--regularization auto`: light below a few passes of the training text, strong from
/// `strongFromPasses`, heavy from `heavyFromPasses`, counted as passes of the default model
/// (2 x 512) at the speed measured on this machine (`TrainingBudget`, `TrainingSpeedProbe`).
///
/// Measured (BENCHMARKS.md, quality), on a machine that trains 2 x 512 at about 16,100 characters a
/// second in a run:
/// - ten minutes on tiny-shakespeare read it 9.7 times: `strong` reached 1.4092 against `light`'s 1.4637;
/// - ten minutes on the KJV read it 2.4 times: `light` reached 1.1630 against `strong`'s 1.1764;
/// - an hour on tiny-shakespeare is 58 passes of 2 x 512: 2 x 1024 with dropout 0.3 and WSD overfit
///   at the peak rate (best 1.4416); `heavy`'s values reached 1.4081, and more of each (dropout 0.5,
///   DropConnect 0.3) 1.4241. On an Intel Xeon that trains in float32 (33 passes of 2 x 512 by the
///   probe, 27.6 in the run), 2 x 512 with `heavy`'s values and weight decay 0.1 reached 1.3864.
/// Each threshold sits near the geometric middle of two measured points: 5 between 2.4 and 9.7, and
/// 24 between 9.7 and 58; budgets between them are not measured. (They were first set as 3 and 15
/// passes at a fixed 10,000 characters a second, the same points counted at that speed.)
public enum RegularizationRule {
    /// Passes of the training text (`TrainingBudget.passes`) from which `auto` chooses `strong`.
    public static let strongFromPasses = 5.0
    /// Passes from which `auto` chooses `heavy`.
    public static let heavyFromPasses = 24.0

    /// The recipe for a corpus of `corpusCharacters` training characters under `configuration`'s limits.
    ///
    /// - Parameter charactersPerSecond: the default model's training speed on this machine
    ///   (`TrainingSpeedProbe`), asked only when a time limit is set and the recipe is `auto`.
    public static func choose(_ preset: RegularizationPreset, corpusCharacters: Int,
                              configuration: TrainingConfiguration,
                              charactersPerSecond: () -> Double) -> RegularizationChoice {
        guard preset == .auto else {
            return RegularizationChoice(preset: preset, reason: "--regularization \(preset.rawValue) is \(preset.phrase)")
        }
        let budget = TrainingBudget(corpusCharacters: corpusCharacters, configuration: configuration,
                                    charactersPerSecond: charactersPerSecond)
        let chosen: RegularizationPreset
        let comparison: String
        switch budget.passes {
        case heavyFromPasses...:
            (chosen, comparison) = (.heavy, "at least \(TrainingSetting<Double>.decimal(heavyFromPasses))")
        case strongFromPasses...:
            (chosen, comparison) = (.strong, "at least \(TrainingSetting<Double>.decimal(strongFromPasses)), fewer than \(TrainingSetting<Double>.decimal(heavyFromPasses))")
        default:
            (chosen, comparison) = (.light, "fewer than \(TrainingSetting<Double>.decimal(strongFromPasses))")
        }
        let reason = String(format: "--regularization auto chose %@ (%@): the budget reads the training text %.2f times, %@",
                            chosen.rawValue, chosen.phrase, budget.passes, comparison)
        return RegularizationChoice(preset: chosen, reason: reason)
    }
}
