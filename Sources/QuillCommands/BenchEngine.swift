import ArgumentParser
import Foundation
import Quill

/// The model shape, corpus and engine settings shared by the engine benchmarks.
///
/// The sizes default to the training defaults of `TrainingSettings`, except the hidden width,
/// which `--config` picks (medium is the training default).
struct BenchEngineOptions: ParsableArguments {
    @Option(help: "Benchmark configuration: small (H128), medium (H512, the training default) or large (H1024).")
    var config: BenchConfigurationName = .medium
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.embeddingSize.help)) var embed: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Overrides --config. " + TrainingSettings.hiddenSize.help)) var hidden: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.layers.help)) var layers: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.batch.help)) var batch: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp(TrainingSettings.seq.help)) var seq: Int?
    @Option(help: ArgumentHelp("The benchmark corpus, tiny-shakespeare (default: \(Self.defaultCorpus), which corpora/tinyshakespeare.sh writes).", valueName: "file"))
    var corpus: String?
    @Option(parsing: .unconditional, help: ArgumentHelp("Instead of a corpus, a synthetic one of this many ids ([DOC] included) and the length of tiny-shakespeare, such as 6000 for a Chinese-sized vocabulary.", valueName: "ids"))
    var vocab: Int?
    @Option(parsing: .unconditional, help: "Worker threads of the engine (1 or 2 on this machine).")
    var threads: Int = defaultEngineThreadCount
    @Option(help: ArgumentHelp(TrainingSettings.precision.summary + ". Without it a benchmark runs the one quill train chooses from this CPU.", valueName: "precision"))
    var precision: ComputePrecision = PrecisionRule.choose().precision

    /// The length of a synthetic corpus: tiny-shakespeare's, in characters.
    static let syntheticLength = 1_115_394

    /// Where the project's own recipe writes tiny-shakespeare, relative to the project's root.
    static let defaultCorpus = "corpora/data/tinyshakespeare.txt"

    /// Each size option bound to its training setting.
    static let settingFlags: [SettingFlag<BenchEngineOptions>] = [
        SettingFlag("--embed", TrainingSettings.embeddingSize) { $0.embed },
        SettingFlag("--hidden", TrainingSettings.hiddenSize) { $0.hidden },
        SettingFlag("--layers", TrainingSettings.layers) { $0.layers },
        SettingFlag("--batch", TrainingSettings.batch) { $0.batch },
        SettingFlag("--seq", TrainingSettings.seq) { $0.seq },
    ]

    func validate() throws {
        try Self.settingFlags.validate(self)
        if threads < 1 || threads > 64 { throw ValidationError("--threads must be from 1 to 64, not \(threads).") }
        if let vocab {
            let largest = BenchSyntheticCorpus.largestVocabulary
            guard (2...largest).contains(vocab) else {
                throw ValidationError("--vocab must be from 2 to \(largest), not \(vocab).")
            }
            if corpus != nil { throw ValidationError("--vocab makes a synthetic corpus; leave out --corpus.") }
        }
    }

    /// The training settings of a benchmark run: the defaults, the configuration's hidden width and the
    /// size options, with the peer's optimizer settings unless `quillDefaults` (Adam at the default
    /// rate and clip, no dropout, no warm-up, no decay, seed 1), and no evaluation on the way.
    func trainingConfiguration(quillDefaults: Bool = false) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        switch config {
        case .small: c.hiddenSize = 128
        case .medium: break
        case .large: c.hiddenSize = 1024
        }
        for binding in Self.settingFlags { binding.apply(self, &c) }
        c.precision = precision
        c.evalEvery = 1_000_000_000
        if !quillDefaults {
            c.dropout = 0
            c.warmupSteps = 0
            c.decay = .none
        }
        return c
    }

    /// The corpus encoded as training does (NFC, one document), split as the benchmark splits it:
    /// the last 10% held out.
    func loadCorpus() throws -> (training: [Int32], validation: [Int32], vocabulary: Vocabulary) {
        if let vocab {
            let synthetic = BenchSyntheticCorpus.make(vocabularySize: vocab, characters: max(Self.syntheticLength, 2 * vocab))
            let split = try TrainingSplit.split(tokens: synthetic.tokens, validationFraction: 0.1)
            return (split.training, split.validation, synthetic.vocabulary)
        }
        let path = corpus ?? Self.defaultCorpus
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandError(corpus == nil
                ? "The benchmark corpus \(path) does not exist; run corpora/tinyshakespeare.sh from the project's root, or pass --corpus FILE."
                : "The benchmark corpus \(path) does not exist; check the path given to --corpus.")
        }
        let encoded = try CorpusEncoder.encode(CorpusSource(paths: [URL(fileURLWithPath: path)], documents: .wholeFiles),
                                               options: TextOptions())
        let split = try TrainingSplit.split(tokens: encoded.tokens, validationFraction: 0.1)
        return (split.training, split.validation, encoded.vocabulary)
    }

    /// Fresh weights of the benchmark's shape, from seed 1.
    func freshModel(vocabularySize: Int) -> LanguageModel {
        var random = QuillRandom(seed: 1)
        return LanguageModel.initialized(trainingConfiguration().modelConfiguration(vocabularySize: vocabularySize), random: &random)
    }

    /// Prints the JSON line: the leading fields as the PyTorch peer prints them, then the mode's own.
    func printLine<Figures: Encodable>(mode: String, vocabularySize: Int, _ figures: Figures) throws {
        let c = trainingConfiguration()
        let head = BenchHead(mode: mode, impl: "quill-\(quillVersion)", precision: precision.effective.rawValue,
                             threads: threads, vocab: vocabularySize, embed: c.embeddingSize, hidden: c.hiddenSize,
                             layers: c.layers, batch: c.batch, seq: c.seq, blasCore: BLAS.core ?? "unknown")
        try writeLine(try JSONOutput.line(BenchLine(head: head, figures: figures)))
    }

    /// A scratch model folder for a benchmark's training run, removed by the caller.
    static func scratchFolder(_ name: String) -> ModelFolder {
        ModelFolder(FileManager.default.temporaryDirectory.appendingPathComponent("quill-\(name)-\(getpid())"))
    }
}

/// The fields every engine benchmark line starts with (the names of the PyTorch peer's).
struct BenchHead: Encodable {
    var mode: String
    var impl: String
    var precision: String
    var threads: Int
    var vocab: Int
    var embed: Int
    var hidden: Int
    var layers: Int
    var batch: Int
    var seq: Int
    /// The kernels OpenBLAS ran (after Quill's correction of its SSE3 fallback, `BLAS.coreNote`),
    /// "unknown" when the BLAS linked does not say; not a field of the peer's.
    var blasCore: String

    enum CodingKeys: String, CodingKey {
        case mode, impl, precision, threads, vocab, embed, hidden, layers, batch, seq
        case blasCore = "blas_core"
    }
}

/// One benchmark line: the head's fields and the mode's figures in one object.
struct BenchLine<Figures: Encodable>: Encodable {
    var head: BenchHead
    var figures: Figures

    func encode(to encoder: Encoder) throws {
        try head.encode(to: encoder)
        try figures.encode(to: encoder)
    }
}

/// A named benchmark configuration.
enum BenchConfigurationName: String, ExpressibleByArgument, CaseIterable {
    case small, medium, large
}

extension ComputePrecision: ExpressibleByArgument {}

/// Training characters per second of the real trainer: forward, backward, clipping and an Adam step on the corpus.
struct BenchThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Measure training characters per second on the benchmark configurations.",
        discussion: "Runs the trainer `quill train` uses with the peer's settings; the steps after 3 untimed warm-up steps are timed.")

    @OptionGroup var options: BenchEngineOptions
    @Option(parsing: .unconditional, help: "Timed training steps, after 3 untimed warm-up steps.")
    var steps: Int = 30

    func validate() throws {
        if steps < 1 || steps > 1_000_000 { throw ValidationError("--steps must be from 1 to 1000000, not \(steps).") }
    }

    private struct Figures: Encodable {
        var train_chars_per_s: Double
        var steps: Int
        var peak_rss_mb: Double
    }

    func run() throws {
        let (training, validation, vocabulary) = try options.loadCorpus()
        let warmUp = 3
        var c = options.trainingConfiguration()
        c.steps = warmUp + steps
        c.timeLimit = 0
        let folder = BenchEngineOptions.scratchFolder("throughput")
        defer { try? FileManager.default.removeItem(at: folder.url) }
        // Throughput does not score: a short validation slice keeps the run's final evaluation cheap.
        let trainer = try Trainer(configuration: c, training: training, validation: Array(validation.prefix(c.seq + 1)),
                                  vocabulary: vocabulary, textOptions: TextOptions(), folder: folder,
                                  threads: options.threads)
        var timer: Stopwatch?
        var seconds = 0.0
        _ = try trainer.run { event in
            guard case let .step(progress) = event else { return }
            if progress.step == warmUp { timer = Stopwatch() }
            if progress.step == warmUp + steps, let timer { seconds = timer.seconds }
        }
        let rate = Double(steps * c.batch * c.seq) / max(seconds, 1e-9)
        try options.printLine(mode: "throughput", vocabularySize: vocabulary.count, Figures(
            train_chars_per_s: JSONOutput.decimal(rate, 1), steps: steps,
            peak_rss_mb: JSONOutput.decimal(peakResidentMegabytes(), 1)))
    }
}

/// Validation loss after a fixed wall-clock budget of training with the benchmark's settings.
struct BenchBudget: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget",
        abstract: "Train for a wall-clock budget with the peer's settings, then score the validation split.",
        discussion: """
        The peer's settings: Adam at 0.002, clip 5, dropout 0, no warm-up, no decay, seed 1. \
        Pass --quill-defaults to train with Quill's own defaults instead (the regularization \
        --regularization auto picks for the corpus and budget, warm-up, the default decay over the budget). Any training setting given as quill train spells it \
        (--dropout, --weight-drop, --lr, ...) then replaces its value, and the line's settings \
        field lists them. The final score is computed in float32 whatever precision trained.

        Example: quill bench budget --seconds 600 --quill-defaults --dropout-masks window --weight-drop 0.3
        """)

    @OptionGroup var options: BenchEngineOptions
    @Option(parsing: .unconditional, help: "Training wall-clock budget in seconds.")
    var seconds: Double = 600
    @Flag(name: .customLong("quill-defaults"), help: "Train with Quill's defaults rather than the peer's settings.")
    var quillDefaults = false
    @OptionGroup(title: "Training settings")
    var settings: RecipeOptions

    func validate() throws {
        guard seconds > 0, TrainingSettings.timeLimit.contains(seconds) else {
            throw ValidationError("--seconds must be a positive number of seconds up to one year (\(Int(TrainingSettings.maximumTime))), not \(seconds).")
        }
    }

    private struct Figures: Encodable {
        var seconds: Double
        var steps: Int
        var train_chars: Int
        var val_nats_per_char: Double
        var val_bits_per_char: Double
        var val_perplexity: Double
        var settings: String
    }

    func run() throws {
        let (training, validation, vocabulary) = try options.loadCorpus()
        var c = options.trainingConfiguration(quillDefaults: quillDefaults)
        settings.apply(to: &c)
        c.steps = 0
        c.timeLimit = seconds
        var described = [quillDefaults ? "quill-defaults" : "peer"]
        if quillDefaults || c.regularization != .auto {
            // Quill's defaults choose the regularization from the budget as train does; a recipe named applies either way.
            let shape = c
            let choice = settings.applyRegularization(to: &c, corpusCharacters: training.count) {
                TrainingSpeedProbe.charactersPerSecond(hiddenSize: ModelSizeRule.widths[.medium]!, layers: 2,
                                                       vocabularySize: vocabulary.count, configuration: shape,
                                                       threads: options.threads)
            }
            if settings.regularization == nil { described.append("regularization \(choice.preset.rawValue)") }
        }
        if !settings.typed.isEmpty { described.append(settings.typed) }
        do { try c.validate() } catch { throw RecipeOptions.settingFlags.naming(error) }
        let folder = BenchEngineOptions.scratchFolder("budget")
        defer { try? FileManager.default.removeItem(at: folder.url) }
        let trainer = try Trainer(configuration: c, training: training, validation: validation,
                                  vocabulary: vocabulary, textOptions: TextOptions(), folder: folder,
                                  threads: options.threads)
        let summary = try trainer.run()
        let exact = Evaluator(model: trainer.evaluatedModel, batch: 32, seq: c.seq, precision: .float32).evaluate(validation)
        let nats = exact.natsPerCharacter
        try options.printLine(mode: "budget", vocabularySize: vocabulary.count, Figures(
            seconds: JSONOutput.decimal(summary.seconds, 1), steps: summary.steps, train_chars: summary.trainingCharacters,
            val_nats_per_char: JSONOutput.decimal(nats, 4), val_bits_per_char: JSONOutput.decimal(nats / log(2), 4),
            val_perplexity: JSONOutput.decimal(exp(nats), 4), settings: described.joined(separator: " ")))
    }
}

/// Batch-1 sampling characters per second at temperature 1, through the sampler `quill sample` uses.
struct BenchSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Measure batch-1 sampling characters per second (temperature 1).")

    @OptionGroup var options: BenchEngineOptions
    @Option(parsing: .unconditional, help: "Characters to generate.")
    var length: Int = 2000

    func validate() throws {
        if length < 1 || length > 100_000_000 { throw ValidationError("--length must be from 1 to 100000000, not \(length).") }
    }

    private struct Figures: Encodable {
        var sample_chars_per_s: Double
        var length: Int
    }

    func run() throws {
        let (_, _, vocabulary) = try options.loadCorpus()
        let model = options.freshModel(vocabularySize: vocabulary.count)
        let generator = TextGenerator(model: model, vocabulary: vocabulary, precision: options.precision, threads: options.threads)
        // Warm-up: the first characters pay for page faults and thread start-up.
        try generator.generate(prompt: [], length: 10, settings: .unchanged, seed: 1, ignoreEndOfDocument: true) { _, _ in }
        let timer = Stopwatch()
        try generator.generate(prompt: [], length: length, settings: .unchanged, seed: 1, ignoreEndOfDocument: true) { _, _ in }
        let rate = Double(length) / max(timer.seconds, 1e-9)
        try options.printLine(mode: "sample", vocabularySize: vocabulary.count,
                              Figures(sample_chars_per_s: JSONOutput.decimal(rate, 1), length: length))
    }
}

/// Forward-only evaluation characters per second over the validation split in lanes.
struct BenchEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure evaluation characters per second over the validation split (fresh weights).")

    @OptionGroup var options: BenchEngineOptions

    private struct Figures: Encodable {
        var eval_chars_per_s: Double
        var val_nats_per_char: Double
    }

    func run() throws {
        let (_, validation, vocabulary) = try options.loadCorpus()
        let model = options.freshModel(vocabularySize: vocabulary.count)
        let evaluator = Evaluator(model: model, batch: 32, seq: options.trainingConfiguration().seq, precision: options.precision)
        let timer = Stopwatch()
        let result = evaluator.evaluate(validation)
        let rate = Double(result.count) / max(timer.seconds, 1e-9)
        try options.printLine(mode: "eval", vocabularySize: vocabulary.count, Figures(
            eval_chars_per_s: JSONOutput.decimal(rate, 1), val_nats_per_char: JSONOutput.decimal(result.natsPerCharacter, 4)))
    }
}
