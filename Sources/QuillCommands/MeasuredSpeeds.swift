import Quill

/// This machine's training speed for the rules of `--size auto` and `--regularization auto`, measured
/// by `TrainingSpeedProbe` the first time a rule asks for a width, and printed once per width.
final class MeasuredSpeeds {
    private let configuration: TrainingConfiguration
    private let vocabularySize: Int
    private let communicator: Communicator
    private let terminal: Terminal
    private var measured: [Int: Double] = [:]

    init(configuration: TrainingConfiguration, vocabularySize: Int, communicator: Communicator, terminal: Terminal) {
        self.configuration = configuration
        self.vocabularySize = vocabularySize
        self.communicator = communicator
        self.terminal = terminal
    }

    /// Training characters a second of a 2-layer model `width` wide, at the run's embedding, batch, window and precision.
    func charactersPerSecond(width: Int) -> Double {
        if let known = measured[width] { return known }
        let speed = TrainingSpeedProbe.charactersPerSecond(hiddenSize: width, layers: 2, vocabularySize: vocabularySize,
                                                           configuration: configuration, communicator: communicator)
        measured[width] = speed
        terminal.line("speed: 2 x \(width) trains about \(Int(speed.rounded())) characters a second on this machine "
                      + "(timed over \(TrainingSpeedProbe.defaultWindows) windows of \(configuration.batch) x \(configuration.seq)); the time limit is counted in it")
        return speed
    }
}
