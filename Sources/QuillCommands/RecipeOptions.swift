import ArgumentParser
import Quill

/// The training recipe beyond the model's size: regularization, optimizer, schedule and seed.
///
/// Declared once and used by `quill train` and `quill bench budget`, so every setting that shapes
/// a trained model can be measured by one command with the flags `train` takes (the budget sets
/// the limits, and the benchmark's split and cadence are fixed). Each option is bound to its entry
/// of `TrainingSettings`, so help, ranges and names come from the table.
struct RecipeOptions: ParsableArguments {
    @Option(help: ArgumentHelp(TrainingSettings.regularization.help)) var regularization: RegularizationPreset?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.dropout.help)) var dropout: Float?
    @Option(name: .customLong("dropout-masks"), help: ArgumentHelp(TrainingSettings.dropoutMasks.help))
    var dropoutMasks: DropoutMasks?
    @Option(name: .customLong("input-dropout"), parsing: .unconditional, help: ArgumentHelp(TrainingSettings.inputDropout.help))
    var inputDropout: Float?
    @Option(name: .customLong("weight-drop"), parsing: .unconditional, help: ArgumentHelp(TrainingSettings.weightDrop.help))
    var weightDrop: Float?
    @Option(name: .customLong("embed-dropout"), parsing: .unconditional, help: ArgumentHelp(TrainingSettings.embeddingDropout.help))
    var embedDropout: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.learningRate.help)) var lr: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.beta1.help)) var beta1: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.beta2.help)) var beta2: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.epsilon.help)) var eps: Double?
    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: ArgumentHelp(TrainingSettings.weightDecay.help))
    var weightDecay: Double?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.clip.help)) var clip: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.ema.help)) var ema: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.warmupSteps.help)) var warmup: Int?
    @Option(help: ArgumentHelp(TrainingSettings.decay.help)) var decay: LearningRateDecay?
    @Option(name: .customLong("decay-steps"), parsing: .unconditional, help: ArgumentHelp(TrainingSettings.decaySteps.help))
    var decaySteps: Int?
    @Option(name: .customLong("min-lr-fraction"), parsing: .unconditional,
            help: ArgumentHelp(TrainingSettings.minimumLearningRateFraction.help))
    var minLRFraction: Float?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.seed.help)) var seed: UInt64?

    /// Each option bound to its setting.
    static let settingFlags: [SettingFlag<RecipeOptions>] = [
        SettingFlag("--regularization", TrainingSettings.regularization) { $0.regularization },
        SettingFlag("--dropout", TrainingSettings.dropout) { $0.dropout },
        SettingFlag("--dropout-masks", TrainingSettings.dropoutMasks) { $0.dropoutMasks },
        SettingFlag("--input-dropout", TrainingSettings.inputDropout) { $0.inputDropout },
        SettingFlag("--weight-drop", TrainingSettings.weightDrop) { $0.weightDrop },
        SettingFlag("--embed-dropout", TrainingSettings.embeddingDropout) { $0.embedDropout },
        SettingFlag("--lr", TrainingSettings.learningRate) { $0.lr },
        SettingFlag("--beta1", TrainingSettings.beta1) { $0.beta1 },
        SettingFlag("--beta2", TrainingSettings.beta2) { $0.beta2 },
        SettingFlag("--eps", TrainingSettings.epsilon) { $0.eps },
        SettingFlag("--weight-decay", TrainingSettings.weightDecay) { $0.weightDecay },
        SettingFlag("--clip", TrainingSettings.clip) { $0.clip },
        SettingFlag("--ema", TrainingSettings.ema) { $0.ema },
        SettingFlag("--warmup", TrainingSettings.warmupSteps) { $0.warmup },
        SettingFlag("--decay", TrainingSettings.decay) { $0.decay },
        SettingFlag("--decay-steps", TrainingSettings.decaySteps) { $0.decaySteps },
        SettingFlag("--min-lr-fraction", TrainingSettings.minimumLearningRateFraction) { $0.minLRFraction },
        SettingFlag("--seed", TrainingSettings.seed) { $0.seed },
    ]

    func validate() throws {
        try Self.settingFlags.validate(self)
    }

    /// Applies the given options over `configuration`.
    func apply(to configuration: inout TrainingConfiguration) {
        for binding in Self.settingFlags { binding.apply(self, &configuration) }
    }

    /// The names of the settings given (`dropout`), which a recipe chosen later must not replace.
    var givenSettings: Set<String> {
        Set(Self.settingFlags.filter { $0.typed(self) != nil }.map(\.setting.name))
    }

    /// The flags given that override part of `choice`'s recipe (`--dropout`), in flag order.
    func givenParts(of choice: RegularizationChoice) -> [String] {
        let parts = choice.parts
        return Self.settingFlags.filter { parts.contains($0.setting.name) && $0.typed(self) != nil }.map(\.flag)
    }

    /// Sets the regularization recipe's values in `configuration`, except the ones given as flags;
    /// `auto` is decided by `RegularizationRule` from `corpusCharacters`, the limits and the default
    /// model's speed on this machine (`charactersPerSecond`, asked only for a time limit).
    func applyRegularization(to configuration: inout TrainingConfiguration, corpusCharacters: Int,
                             charactersPerSecond: () -> Double) -> RegularizationChoice {
        let choice = RegularizationRule.choose(configuration.regularization, corpusCharacters: corpusCharacters,
                                               configuration: configuration, charactersPerSecond: charactersPerSecond)
        choice.apply(to: &configuration, except: givenSettings)
        return choice
    }

    /// The given options as typed, such as `--weight-drop 0.3 --seed 2`, or empty.
    var typed: String {
        Self.settingFlags.compactMap { binding in binding.typed(self).map { "\(binding.flag) \($0)" } }.joined(separator: " ")
    }
}
