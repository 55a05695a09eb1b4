import Foundation

/// How strongly `quill train` regularizes: chosen from the budget, or one of three fixed recipes.
///
/// A recipe sets dropout, its masks and input dropout; each of those given by its own flag
/// overrides the recipe's value. DropConnect, embedding dropout and weight decay keep their own
/// settings: measured at ten minutes they did not pay (BENCHMARKS.md, quality ablation).
public enum RegularizationPreset: String, Codable, CaseIterable, Sendable {
    /// `RegularizationRule` decides from how many times the budget reads the training text.
    case auto
    /// No dropout.
    case off
    /// Dropout 0.1 between layers and before the decoder, a mask per step: for budgets that read the
    /// text a few times, where a model underfits.
    case light
    /// Locked masks (one per lane per window), dropout 0.2, input dropout 0.1: for budgets that read
    /// the text many times, where a model overfits.
    case strong

    /// The values this recipe gives; nil for `auto`.
    public var values: (dropout: Float, masks: DropoutMasks, inputDropout: Float)? {
        switch self {
        case .auto: nil
        case .off: (0, .step, 0)
        case .light: (0.1, .step, 0)
        case .strong: (0.2, .window, 0.1)
        }
    }

    /// The values as a phrase: `dropout 0.2 with locked masks, input dropout 0.1`.
    public var phrase: String {
        guard let v = values else { return "chosen from the budget" }
        if v.dropout == 0 && v.inputDropout == 0 { return "no dropout" }
        var text = "dropout \(TrainingSetting<Float>.decimal(v.dropout))"
        text += v.masks == .window ? " with locked masks" : " with a mask per step"
        if v.inputDropout > 0 { text += ", input dropout \(TrainingSetting<Float>.decimal(v.inputDropout))" }
        return text
    }
}

/// The recipe a run trains with, and why.
public struct RegularizationChoice: Equatable, Sendable {
    /// Never `auto`.
    public var preset: RegularizationPreset
    /// One sentence: what was chosen and the figure that chose it.
    public var reason: String

    /// The names of the settings a recipe sets.
    public static let parts: Set<String> = [TrainingSettings.dropout.name, TrainingSettings.dropoutMasks.name,
                                            TrainingSettings.inputDropout.name]

    /// Sets the recipe's dropout, masks and input dropout (`parts`) in `configuration`, except the ones `given`.
    public func apply(to configuration: inout TrainingConfiguration, except given: Set<String> = []) {
        guard let v = preset.values else { return }
        if !given.contains(TrainingSettings.dropout.name) { configuration.dropout = v.dropout }
        if !given.contains(TrainingSettings.dropoutMasks.name) { configuration.dropoutMasks = v.masks }
        if !given.contains(TrainingSettings.inputDropout.name) { configuration.inputDropout = v.inputDropout }
    }
}

/// The rule of `--regularization auto`: strong regularization once the budget reads the training text
/// several times, light below.
///
/// Measured at ten minutes (BENCHMARKS.md, quality): on tiny-shakespeare, which that budget reads
/// 6 times by `TrainingBudget`'s estimate (about 10 in fact), `strong` reached 1.4092 against `light`'s
/// 1.4637; on the KJV, read 1.5 times (2.4 in fact), `light` reached 1.1630 against `strong`'s 1.1764.
/// The threshold sits between those two points.
public enum RegularizationRule {
    /// Passes of the training text (`TrainingBudget.passes`) from which `auto` chooses `strong`.
    public static let strongFromPasses = 3.0

    /// The recipe for a corpus of `corpusCharacters` training characters under `configuration`'s limits.
    public static func choose(_ preset: RegularizationPreset, corpusCharacters: Int,
                              configuration: TrainingConfiguration) -> RegularizationChoice {
        guard preset == .auto else {
            return RegularizationChoice(preset: preset, reason: "--regularization \(preset.rawValue) is \(preset.phrase)")
        }
        let budget = TrainingBudget(corpusCharacters: corpusCharacters, configuration: configuration)
        let chosen: RegularizationPreset = budget.passes >= strongFromPasses ? .strong : .light
        let comparison = chosen == .strong ? "at least" : "fewer than"
        let reason = String(format: "--regularization auto chose %@ (%@): the budget reads the training text %.2f times, %@ %@",
                            chosen.rawValue, chosen.phrase, budget.passes, comparison,
                            TrainingSetting<Double>.decimal(strongFromPasses))
        return RegularizationChoice(preset: chosen, reason: reason)
    }
}
