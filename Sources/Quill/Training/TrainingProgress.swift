/// Why a training run ended.
public enum TrainingStopReason: Equatable, Sendable, CustomStringConvertible {
    case stepLimit
    case epochLimit
    case timeLimit
    /// Validation stopped improving for `earlyStopPatience` evaluations.
    case earlyStop
    /// A signal asked to stop (SIGINT, SIGTERM, SIGHUP or SIGQUIT); the step in progress was finished and saved.
    case interrupted(signal: Int32)

    public var description: String {
        switch self {
        case .stepLimit: return "reached the step limit"
        case .epochLimit: return "reached the epoch limit"
        case .timeLimit: return "reached the time limit"
        case .earlyStop: return "validation loss stopped improving"
        case let .interrupted(signal): return "interrupted by signal \(signal)"
        }
    }
}

/// A snapshot of a running training job, for progress lines.
public struct TrainingProgress: Sendable {
    /// Optimizer steps taken so far (including those of earlier runs when resumed).
    public var step: Int
    /// The step at which the run will stop, when a step or epoch limit bounds it.
    public var stepLimit: Int?
    /// Epochs completed plus the fraction of the current one.
    public var epoch: Double
    /// Exponential moving average of the training loss, nats per character.
    public var smoothedLoss: Double
    /// The most recent validation loss, nats per character.
    public var validationLoss: Double?
    /// Learning rate of the last step.
    public var learningRate: Float
    /// Training characters per second over recent steps.
    public var charactersPerSecond: Double
    /// Seconds spent in this run.
    public var elapsed: Double
    /// Estimated seconds until a limit stops the run, when one can be estimated.
    public var secondsLeft: Double?
}

/// What a training run tells its caller while it works.
public enum TrainingEvent: Sendable {
    /// After every optimizer step.
    case step(TrainingProgress)
    /// After each evaluation of the validation split.
    case evaluated(step: Int, loss: Double, isBest: Bool)
    /// A step whose loss or gradient was not finite; its update was not applied.
    case skipped(step: Int, reason: String)
    /// A checkpoint (model file and training state) was written.
    case checkpoint(step: Int)
}

/// The outcome of a training run.
public struct TrainingSummary: Sendable {
    public var reason: TrainingStopReason
    public var steps: Int
    public var epochs: Double
    public var trainingCharacters: Int
    public var seconds: Double
    /// Best validation loss, nats per character (the model file holds these weights).
    public var bestValidationLoss: Double?
    /// Step at which the best validation loss was reached.
    public var bestStep: Int?
    /// Validation loss of the final weights.
    public var finalValidationLoss: Double?
}
