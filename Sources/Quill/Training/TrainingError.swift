/// A training setup that cannot run: a bad option, a corpus too small for the windows, a bad resume position.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// An option's value is out of its range; `flag` is spelled as the user types it (`--batch`).
    case invalidOption(flag: String, value: String, expected: String)
    /// The training tokens cannot fill one window of every lane.
    case corpusTooShort(tokens: Int, needed: Int, batch: Int, seq: Int)
    /// The validation fraction leaves no token to predict.
    case emptyValidationSplit(tokens: Int, validationFraction: Double)
    /// A saved data position does not fit the lanes of this corpus and window.
    case positionOutOfRange(offset: Int, laneLength: Int, seq: Int)
    /// Too many steps in a row had non-finite gradients.
    case diverged(step: Int, consecutiveSkippedSteps: Int)

    public var description: String {
        switch self {
        case let .invalidOption(flag, value, expected):
            return "The value \(value) for \(flag) is invalid; use \(expected)."
        case let .corpusTooShort(tokens, needed, batch, seq):
            return "The training text has \(tokens) tokens but \(batch) lanes of \(seq)-token windows need at least \(needed); use a larger corpus or a smaller --batch or --seq."
        case let .emptyValidationSplit(tokens, fraction):
            return "A validation fraction of \(fraction) of \(tokens) tokens leaves nothing to validate on; use a larger corpus or a larger --val-frac."
        case let .positionOutOfRange(offset, laneLength, seq):
            return "The saved data position \(offset) does not fit lanes of \(laneLength) tokens with --seq \(seq); resume with the corpus and options of the original run."
        case let .diverged(step, skipped):
            return "Training diverged at step \(step): the gradients were not finite for \(skipped) steps in a row; lower --lr or --clip."
        }
    }
}
