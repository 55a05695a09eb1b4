/// A problem the library API reports to its caller: a model that cannot be read, text the model cannot
/// take, a setting out of range, a training run that cannot start or go on, or a cancelled task.
public enum QuillError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model file is missing, unreadable or not a Quill model; `reason` says which.
    case unreadableModel(path: String, reason: String)
    /// A character of the given text is not in the model's vocabulary.
    case unknownCharacter(name: String, position: Int)
    /// A sampling setting or length is out of range.
    case invalidParameter(SamplingError)
    /// The training corpus cannot be read or encoded.
    case unreadableCorpus(reason: String)
    /// The training settings or data cannot start a run, or the run failed.
    case trainingFailed(reason: String)
    /// The task was cancelled; a training run saved its checkpoint first.
    case cancelled

    public var description: String {
        switch self {
        case let .unreadableModel(path, reason):
            return "The model \(path) cannot be loaded: \(reason)"
        case let .unknownCharacter(name, position):
            return "The character \(name) at position \(position) is not in the model's vocabulary; remove it, or use only characters of the training text."
        case let .invalidParameter(error):
            return error.description
        case let .unreadableCorpus(reason):
            return "The training text cannot be used: \(reason)"
        case let .trainingFailed(reason):
            return "Training failed: \(reason)"
        case .cancelled:
            return "The work was cancelled before it finished; start it again to get a result."
        }
    }
}
