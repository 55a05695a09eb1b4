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
/// from it by the one figure that matters most for an LSTM on a CPU: how many times the default
/// model would read the corpus in the budget (`passes`, at the default model's speed on two cores,
/// about 10,000 characters a second, or the step or epoch limit when one is given):
/// - under 1/8 of a pass: 2 x 128 (a big model would not get through its first epoch);
/// - under 1/2 of a pass: 2 x 256;
/// - over 12 passes of a corpus of at least 1M characters: 2 x 1024, about three times slower, so
///   still four passes or more (a long budget on a big corpus);
/// - otherwise 2 x 512 (a small corpus with a long budget keeps it: more width would only overfit sooner).
public enum ModelSizeRule {
    /// The widths of `small`, `medium` and `large`; every size has two layers.
    public static let widths: [ModelSize: Int] = [.small: 128, .medium: 512, .large: 1024]

    /// The size for a corpus of `corpusCharacters` training characters under `configuration`'s limits.
    public static func choose(_ size: ModelSize, corpusCharacters: Int, configuration c: TrainingConfiguration) -> ModelSizeChoice {
        if size != .auto {
            let width = widths[size]!
            return ModelSizeChoice(hiddenSize: width, layers: 2, reason: "--size \(size.rawValue) is 2 x \(width)")
        }
        let budget = TrainingBudget(corpusCharacters: corpusCharacters, configuration: c)
        let width: Int
        switch budget.passes {
        case ..<0.125: width = 128
        case ..<0.5: width = 256
        case 12... where corpusCharacters >= 1_000_000: width = 1024
        default: width = 512
        }
        let reason = String(format: "--size auto chose 2 x %d: the default 2 x 512 would read the %@ training characters %.2f times in the budget (%@)",
                            width, "\(corpusCharacters)", budget.passes, budget.text)
        return ModelSizeChoice(hiddenSize: width, layers: 2, reason: reason)
    }
}

/// How many times the default model would read the training text within a run's limits: the one
/// figure `--size auto` and `--regularization auto` decide by.
public struct TrainingBudget: Equatable, Sendable {
    /// Training characters a second of the default model (2 x 512, bfloat16, two cores), for budgets in
    /// time. A low estimate: this machine's two cores train 16,000 to 17,500 a second with AVX-512 BF16,
    /// about half that in float32; the rules' thresholds are set in passes at this figure.
    public static let defaultModelSpeed = 10_000.0

    /// Training characters the tightest limit allows.
    public var characters: Double
    /// That budget as a phrase (`600 s at about 10000 characters a second`).
    public var text: String
    /// `characters` over the training text's length.
    public var passes: Double

    /// The budget of `configuration`'s limits (600 s when none is set) over `corpusCharacters`.
    public init(corpusCharacters: Int, configuration c: TrainingConfiguration) {
        let n = Double(max(corpusCharacters, 1))
        var budgets: [(characters: Double, text: String)] = []
        if c.timeLimit > 0 {
            budgets.append((Self.defaultModelSpeed * c.timeLimit,
                            "\(Int(c.timeLimit)) s at about \(Int(Self.defaultModelSpeed)) characters a second"))
        }
        if c.steps > 0 { budgets.append((Double(c.steps * c.batch * c.seq), "\(c.steps) steps of \(c.batch) x \(c.seq)")) }
        if c.epochs > 0 { budgets.append((Double(c.epochs) * n, "\(c.epochs) epochs")) }
        let budget = budgets.min { $0.characters < $1.characters } ?? (Self.defaultModelSpeed * 600, "600 s")
        characters = budget.characters
        text = budget.text
        passes = budget.characters / n
    }
}
