import Quill

/// This machine's training speed for the rules of `--size auto` and `--regularization auto`, measured
/// by `TrainingSpeedProbe` the first time a rule asks for a width, and printed once per width. A
/// width whose training would not fit the memory allowed is not timed: its speed counts as 0, so
/// the rules do not choose it.
final class MeasuredSpeeds {
    private let configuration: TrainingConfiguration
    private let vocabularySize: Int
    private let communicator: Communicator
    private let terminal: Terminal
    private let fits: (Int) -> Bool
    private var measured: [Int: Double] = [:]

    init(configuration: TrainingConfiguration, vocabularySize: Int, communicator: Communicator, terminal: Terminal,
         fits: @escaping (Int) -> Bool) {
        self.fits = fits
        self.configuration = configuration
        self.vocabularySize = vocabularySize
        self.communicator = communicator
        self.terminal = terminal
    }

    /// Training characters a second of a 2-layer model `width` wide, at the run's embedding, batch, window and precision.
    func charactersPerSecond(width: Int) -> Double {
        if let known = measured[width] { return known }
        // Rank 0 decides for every rank (their memory may differ), so all of them time the same widths.
        let fitsHere = communicator.size > 1 ? communicator.broadcast(fits(width) ? 1 : 0) == 1 : fits(width)
        guard fitsHere else {
            measured[width] = 0
            terminal.line("speed: 2 x \(width) not timed: training it would need more memory than this run may use")
            return 0
        }
        let speed = TrainingSpeedProbe.charactersPerSecond(hiddenSize: width, layers: 2, vocabularySize: vocabularySize,
                                                           configuration: configuration, communicator: communicator)
        measured[width] = speed
        terminal.line("speed: 2 x \(width) trains about \(Int(speed.rounded())) characters a second on this machine "
                      + "(timed over \(TrainingSpeedProbe.defaultWindows) windows of \(configuration.batch) x \(configuration.seq)); the time limit is counted in it")
        return speed
    }
}
