import Foundation

/// How `quill train` picks the model's width and depth: from the corpus and the budget, or a fixed size.
public enum ModelSize: String, Codable, CaseIterable, Sendable {
    /// `ModelSizeRule` decides from the corpus's size and the run's limits.
    case auto
    /// 2 x 128, the benchmark's small configuration.
    case small
    /// 2 x 512, the default model.
    case medium
    /// 2 x 1024, the benchmark's large configuration.
    case large
}

/// The width and depth a run trains at, and why.
public struct ModelSizeChoice: Equatable, Sendable {
    public var hiddenSize: Int
    public var layers: Int
    /// One sentence: what was chosen and the figures that chose it.
    public var reason: String
}

/// The rule of `--size auto`: a model the budget can take through the corpus a sensible number of times.
///
/// The rule is not fitted to measurements of final quality; it reproduces the default model
/// (2 x 512) where the defaults were chosen, a 1 to 4 MB corpus in ten minutes, and moves away
/// from it by the one figure that matters most for an LSTM on a CPU: how many times a model reads
/// the corpus in the budget (`TrainingBudget.passes`, at the speed `TrainingSpeedProbe` measures on
/// this machine, or the step or epoch limit when one is tighter):
/// - the default model under 1/5 of a pass: 2 x 128 (a big model would not get through its first epoch);
/// - under 4/5 of a pass: 2 x 256;
/// - a corpus of at least 1M characters that 2 x 1024 itself reads 16 times or more: 2 x 1024 (a
///   long budget on a big corpus). Both hours of the wide model on tiny-shakespeare lost to an hour
///   of 2 x 512 with `heavy` and weight decay (1.3864 in 27.6 passes): 1.4081 in 14.5 passes on
///   the AMD machine, and 1.4092 in 7.3 passes on the Intel Xeon (9.24 by the probe, which runs
///   ahead of a real run). So the wide model needs more passes than either hour gave it; 16 is a
///   judgment, as no budget that reads the text that often with it is measured;
/// - otherwise 2 x 512 (a small corpus with a long budget keeps it: more width would only overfit sooner).
///
/// The thresholds were first set in passes at a fixed 10,000 characters a second on a machine that
/// trains 2 x 512 at 16,100 in a run (0.125, 0.5 and 12 passes of the default model); they are
/// now in passes at the measured speed, so a slower machine gets the model its own speed can train.
public enum ModelSizeRule {
    /// The widths of `small`, `medium` and `large`; every size has two layers.
    public static let widths: [ModelSize: Int] = [.small: 128, .medium: 512, .large: 1024]
    /// Passes of the default model under which `auto` picks 2 x 128.
    public static let smallBelowPasses = 0.2
    /// Passes of the default model under which `auto` picks 2 x 256.
    public static let narrowBelowPasses = 0.8
    /// The wide model's own passes from which `auto` picks it, on a corpus of `largeFromCharacters` or more.
    public static let largeFromPasses = 16.0
    /// The smallest corpus `auto` gives the wide model, in training characters.
    public static let largeFromCharacters = 1_000_000

    /// The size for a corpus of `corpusCharacters` training characters under `configuration`'s limits.
    ///
    /// - Parameter speed: training characters a second of a two-layer model of the given width on this
    ///   machine (`TrainingSpeedProbe`). It is asked only when a time limit is set: for 2 x 512, and for
    ///   2 x 1024 when the wide model could be chosen.
    public static func choose(_ size: ModelSize, corpusCharacters: Int, configuration c: TrainingConfiguration,
                              speed: (Int) -> Double) -> ModelSizeChoice {
        if size != .auto {
            let width = widths[size]!
            return ModelSizeChoice(hiddenSize: width, layers: 2, reason: "--size \(size.rawValue) is 2 x \(width)")
        }
        let medium = widths[.medium]!, large = widths[.large]!
        let budget = TrainingBudget(corpusCharacters: corpusCharacters, configuration: c) { speed(medium) }
        var width = medium
        var wideNote = ""
        switch budget.passes {
        case ..<smallBelowPasses: width = widths[.small]!
        case ..<narrowBelowPasses: width = 256
        case largeFromPasses... where corpusCharacters >= largeFromCharacters:
            // The wide model reads fewer passes than 2 x 512 in the same budget, so it is measured only here.
            let wide = TrainingBudget(corpusCharacters: corpusCharacters, configuration: c) { speed(large) }
            if wide.passes >= largeFromPasses { width = large }
            wideNote = String(format: ", and 2 x %d %.2f times (%@), %@ %@", large, wide.passes, wide.text,
                              wide.passes >= largeFromPasses ? "at least" : "fewer than",
                              TrainingSetting<Double>.decimal(largeFromPasses))
        default: break
        }
        let reason = String(format: "--size auto chose 2 x %d: the default 2 x 512 would read the %@ training characters %.2f times in the budget (%@)%@",
                            width, "\(corpusCharacters)", budget.passes, budget.text, wideNote)
        return ModelSizeChoice(hiddenSize: width, layers: 2, reason: reason)
    }
}

/// How many times a model would read the training text within a run's limits: the one figure
/// `--size auto` and `--regularization auto` decide by.
public struct TrainingBudget: Equatable, Sendable {
    /// Training characters the tightest limit allows.
    public var characters: Double
    /// That budget as a phrase (`600 s at about 5700 characters a second`, `200 steps of 32 x 64`).
    public var text: String
    /// `characters` over the training text's length.
    public var passes: Double

    /// The budget of `configuration`'s limits (600 s when none is set) over `corpusCharacters`, for a
    /// model that trains `charactersPerSecond()` characters a second (asked only when time is a limit).
    public init(corpusCharacters: Int, configuration c: TrainingConfiguration, charactersPerSecond: () -> Double) {
        let n = Double(max(corpusCharacters, 1))
        var budgets: [(characters: Double, text: String)] = []
        let seconds = c.timeLimit > 0 || (c.steps == 0 && c.epochs == 0) ? (c.timeLimit > 0 ? c.timeLimit : 600) : 0
        if seconds > 0 {
            let speed = max(charactersPerSecond(), 0)
            budgets.append((speed * seconds, "\(Int(seconds)) s at about \(Int(speed.rounded())) characters a second"))
        }
        if c.steps > 0 { budgets.append((Double(c.steps * c.batch * c.seq), "\(c.steps) steps of \(c.batch) x \(c.seq)")) }
        if c.epochs > 0 { budgets.append((Double(c.epochs) * n, "\(c.epochs) epochs")) }
        let budget = budgets.min { $0.characters < $1.characters }!
        characters = budget.characters
        text = budget.text
        passes = budget.characters / n
    }
}
