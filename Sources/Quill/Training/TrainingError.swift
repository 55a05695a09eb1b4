/// A training setup that cannot run: a bad setting, a corpus too small for the windows, a bad resume position.
///
/// Messages name settings as `TrainingSettings` does (`learningRate`); a command line that spells
/// them as flags prints `description(naming:)` instead.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// A setting's value is out of its range; `name` is the setting's name in `TrainingSettings`.
    case settingOutOfRange(name: String, value: String, expected: String)
    /// The weight decay times the learning rate reaches 1, which would flip the weights' sign.
    case weightDecayTooLarge(weightDecay: Double, learningRate: Float)
    /// No step, epoch or time limit is set, so training would never end.
    case noLimit
    /// The training tokens cannot fill one window of every lane.
    case corpusTooShort(tokens: Int, needed: Int, batch: Int, seq: Int)
    /// The validation fraction leaves no token to predict.
    case emptyValidationSplit(tokens: Int, validationFraction: Double)
    /// A saved data position does not fit the lanes of this corpus and window.
    case positionOutOfRange(offset: Int, laneLength: Int, seq: Int)
    /// Too many steps in a row had non-finite gradients.
    case diverged(step: Int, consecutiveSkippedSteps: Int)

    public var description: String { description(naming: { $0 }) }

    /// The message with each setting called what `name` returns for its name (a flag, say).
    public func description(naming name: (String) -> String) -> String {
        let s = TrainingSettings.self
        switch self {
        case let .settingOutOfRange(setting, value, expected):
            return "The value \(value) for \(name(setting)) is out of range; use \(expected)."
        case let .weightDecayTooLarge(decay, rate):
            return "The \(name(s.weightDecay.name)) \(TrainingSetting<Double>.decimal(decay)) times the \(name(s.learningRate.name)) \(TrainingSetting<Float>.decimal(rate)) must be below 1; lower one of them, such as a weight decay of 0.1."
        case .noLimit:
            return "No limit is set, so training would never end; give a positive \(name(s.steps.name)), \(name(s.epochs.name)) or \(name(s.timeLimit.name))."
        case let .corpusTooShort(tokens, needed, batch, seq):
            return "The training text has \(tokens) tokens but \(batch) lanes of \(seq)-token windows need at least \(needed); use a larger corpus or a smaller \(name(s.batch.name)) or \(name(s.seq.name))."
        case let .emptyValidationSplit(tokens, fraction):
            return "A validation fraction of \(fraction) of \(tokens) tokens leaves nothing to validate on; use a larger corpus or a larger \(name(s.validationFraction.name))."
        case let .positionOutOfRange(offset, laneLength, seq):
            return "The saved data position \(offset) does not fit lanes of \(laneLength) tokens with \(name(s.seq.name)) \(seq); resume with the corpus and settings of the original run."
        case let .diverged(step, skipped):
            return "Training diverged at step \(step): the gradients were not finite for \(skipped) steps in a row; lower the \(name(s.learningRate.name)) or the \(name(s.clip.name))."
        }
    }
}
