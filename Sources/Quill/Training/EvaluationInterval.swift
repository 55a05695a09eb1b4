import Foundation

/// How often `quill train` evaluates when `--eval-every` is not given: from the validation text's length.
///
/// An evaluation reads the whole validation split forward, at about a third of the cost of training
/// on as many characters. Evaluating after about ten times the split's length of training keeps
/// evaluation near 4% of a run, whatever the corpus:
/// - tiny-shakespeare (111.5k validation characters): every 550 steps, near the old fixed 500;
/// - a 100 KB corpus: every 50 steps, about once an epoch, where the fixed 500 came 11 epochs in,
///   long after the model had begun to overfit;
/// - a corpus of tens of megabytes: every 2,000 steps at most, where the fixed 500 spent a third of a
///   five-minute run on its 1.4M validation characters.
public enum EvaluationInterval {
    /// Characters of training between evaluations, per validation character.
    public static let trainingPerValidationCharacter = 10
    /// The interval's bounds, in steps; it is rounded to a multiple of the lower one.
    public static let steps: ClosedRange<Int> = 50...2000

    /// The steps between evaluations for `validationCharacters` held out and `charactersPerStep`
    /// trained a step, and the sentence that says why.
    public static func choose(validationCharacters: Int, charactersPerStep: Int) -> (steps: Int, reason: String) {
        let ideal = Double(trainingPerValidationCharacter * validationCharacters) / Double(max(charactersPerStep, 1))
        let rounded = Int((ideal / Double(steps.lowerBound)).rounded()) * steps.lowerBound
        let chosen = min(max(rounded, steps.lowerBound), steps.upperBound)
        var reason = "every \(chosen) steps, about \(trainingPerValidationCharacter) times the \(validationCharacters) validation characters of training"
        if rounded != chosen {
            reason += " (\(Int(ideal.rounded())) steps, kept within \(steps.lowerBound) to \(steps.upperBound))"
        }
        return (chosen, reason + "; --eval-every sets it")
    }
}
