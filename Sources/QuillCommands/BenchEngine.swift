import ArgumentParser
import Foundation
import Quill

/// The model shape, corpus and engine settings shared by the engine benchmarks.
struct BenchEngineOptions: ParsableArguments {
    @Option(help: "Benchmark configuration: small (H128), medium (H512) or large (H1024).")
    var config: BenchConfigurationName = .medium
    @Option(help: "Embedding width E, overriding the configuration (typical 32 to 256).")
    var embed: Int?
    @Option(help: "Hidden width H of each LSTM layer, overriding the configuration (typical 128 to 1024).")
    var hidden: Int?
    @Option(help: "Number of LSTM layers, overriding the configuration (typical 1 to 3).")
    var layers: Int?
    @Option(help: "Lanes per step, overriding the configuration (typical 16 to 64).")
    var batch: Int?
    @Option(help: "Steps per window, overriding the configuration (typical 32 to 128).")
    var seq: Int?
    @Option(help: ArgumentHelp("The benchmark corpus, tiny-shakespeare (default: corpora/data/tinyshakespeare.txt, which corpora/tinyshakespeare.sh downloads, else ../shared/corpora/tinyshakespeare.txt).", valueName: "file"))
    var corpus: String?
    @Option(help: "Worker threads of the engine (1 or 2 on this machine).")
    var threads: Int = defaultEngineThreadCount
    @Option(help: "Arithmetic of the matrix products: float32 or bfloat16.")
    var precision: ComputePrecision = .bfloat16

    func validate() throws {
        for (name, value) in [("embed", embed), ("hidden", hidden), ("layers", layers), ("batch", batch), ("seq", seq)] {
            if let value, value < 1 { throw ValidationError("--\(name) must be positive, not \(value).") }
        }
        if threads < 1 { throw ValidationError("--threads must be at least 1, not \(threads).") }
    }

    /// The shape with the overrides applied.
    var sizes: (embed: Int, hidden: Int, layers: Int, batch: Int, seq: Int) {
        let base: (Int, Int) = switch config {
        case .small: (64, 128)
        case .medium: (64, 512)
        case .large: (64, 1024)
        }
        return (embed ?? base.0, hidden ?? base.1, layers ?? 2, batch ?? 32, seq ?? 64)
    }

    /// The corpus encoded as training does (NFC, one document), split as the benchmark splits it:
    /// the last 10% held out.
    func loadCorpus() throws -> (training: [Int32], validation: [Int32], vocabulary: Vocabulary) {
        guard let path = corpus ?? ["corpora/data/tinyshakespeare.txt", "../shared/corpora/tinyshakespeare.txt"]
            .first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw CommandError("No benchmark corpus here: run corpora/tinyshakespeare.sh from the project's root, or pass --corpus FILE.")
        }
        let encoded = try CorpusEncoder.encode(CorpusSource(paths: [URL(fileURLWithPath: path)], documents: .wholeFiles),
                                               options: TextOptions())
        let split = try TrainingSplit.split(tokens: encoded.tokens, validationFraction: 0.1)
        return (split.training, split.validation, encoded.vocabulary)
    }

    func configuration(vocabularySize: Int) -> ModelConfiguration {
        let s = sizes
        return ModelConfiguration(vocabularySize: vocabularySize, embeddingSize: s.embed,
                                  hiddenSize: s.hidden, layers: s.layers)
    }

    /// The leading fields of the JSON line, as the PyTorch peer prints them.
    func jsonHead(mode: String, vocabularySize: Int) -> String {
        let s = sizes
        return "{\"mode\":\"\(mode)\",\"impl\":\"quill-\(quillVersion)\",\"precision\":\"\(precision.effective.rawValue)\","
            + "\"threads\":\(threads),\"vocab\":\(vocabularySize),\"embed\":\(s.embed),\"hidden\":\(s.hidden),"
            + "\"layers\":\(s.layers),\"batch\":\(s.batch),\"seq\":\(s.seq)"
    }
}

/// A named benchmark configuration.
enum BenchConfigurationName: String, ExpressibleByArgument, CaseIterable {
    case small, medium, large
}

extension ComputePrecision: ExpressibleByArgument {}

/// Seconds elapsed since `start`.
private func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

/// Training characters per second: forward, backward, clipping and an Adam step on the corpus.
struct BenchThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Measure training characters per second on the benchmark configurations.")

    @OptionGroup var options: BenchEngineOptions
    @Option(help: "Timed training steps, after 3 untimed warm-up steps.")
    var steps: Int = 30

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1, not \(steps).") }
    }

    func run() throws {
        let (training, _, vocabulary) = try options.loadCorpus()
        let v = vocabulary.count
        let s = options.sizes
        var batcher = try Batcher(tokens: training, batch: s.batch, seq: s.seq)
        var random = QuillRandom(seed: 1)
        let model = LanguageModel.initialized(options.configuration(vocabularySize: v), random: &random)
        let step = TrainingStep(model: model, batch: s.batch, seq: s.seq,
                                precision: options.precision, threads: options.threads)
        let gradients = ParameterBuffer(layout: model.layout)
        let adam = AdamOptimizer(layout: model.layout)
        let state = RecurrentState(configuration: model.configuration, batch: s.batch)
        var inputs = [Int32](repeating: 0, count: s.batch * s.seq)
        var targets = inputs
        func trainOne() {
            let window = batcher.next(inputs: &inputs, targets: &targets)
            inputs.withUnsafeBufferPointer { x in
                targets.withUnsafeBufferPointer { y in
                    _ = step.run(inputs: x, targets: y, state: state, gradients: gradients, random: &random)
                }
            }
            GradientClipping.clip(gradients, maxNorm: 5)
            adam.step(weights: model.weights, gradients: gradients, learningRate: 2e-3)
            if window.endsEpoch { state.zero() }
        }
        for _ in 0..<3 { trainOne() }
        let start = ContinuousClock.now
        for _ in 0..<steps { trainOne() }
        let rate = Double(steps * s.batch * s.seq) / seconds(since: start)
        try writeLine(options.jsonHead(mode: "throughput", vocabularySize: v)
              + ",\"train_chars_per_s\":\(String(format: "%.1f", rate)),\"steps\":\(steps),\"peak_rss_mb\":\(String(format: "%.1f", peakResidentMegabytes()))}")
    }
}

/// Validation loss after a fixed wall-clock budget of training with the benchmark's settings.
struct BenchBudget: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget",
        abstract: "Train for a wall-clock budget with the peer's settings, then score the validation split.",
        discussion: """
        The peer's settings: Adam at 0.002, clip 5, dropout 0, no warm-up, no decay, seed 1. \
        Pass --quill-defaults to train with Quill's own defaults instead (dropout 0.1, warm-up, \
        cosine decay over the budget). The final score is computed in float32 whatever \
        precision trained.
        """)

    @OptionGroup var options: BenchEngineOptions
    @Option(help: "Training wall-clock budget in seconds.")
    var seconds: Double = 600
    @Flag(name: .customLong("quill-defaults"), help: "Train with Quill's defaults rather than the peer's settings.")
    var quillDefaults = false

    func validate() throws {
        if !(seconds > 0 && seconds.isFinite) { throw ValidationError("--seconds must be a positive number, not \(seconds).") }
    }

    func run() throws {
        let (training, validation, vocabulary) = try options.loadCorpus()
        let v = vocabulary.count
        let s = options.sizes
        var c = TrainingConfiguration()
        c.embeddingSize = s.embed
        c.hiddenSize = s.hidden
        c.layers = s.layers
        c.batch = s.batch
        c.seq = s.seq
        c.precision = options.precision
        c.steps = 0
        c.timeLimit = seconds
        c.evalEvery = Int.max / 2
        if !quillDefaults {
            c.dropout = 0
            c.warmupSteps = 0
            c.decay = .none
        }
        let folder = ModelFolder(FileManager.default.temporaryDirectory.appendingPathComponent("quill-budget-\(getpid())"))
        defer { try? FileManager.default.removeItem(at: folder.url) }
        let trainer = try Trainer(configuration: c, training: training, validation: validation,
                                  vocabulary: vocabulary, textOptions: TextOptions(), folder: folder)
        let summary = try trainer.run()
        let exact = Evaluator(model: trainer.model, batch: 32, seq: s.seq, precision: .float32).evaluate(validation)
        let nats = exact.natsPerCharacter
        try writeLine(options.jsonHead(mode: "budget", vocabularySize: v)
              + String(format: ",\"seconds\":%.1f,\"steps\":%d,\"train_chars\":%d,\"val_nats_per_char\":%.4f,\"val_bits_per_char\":%.4f,\"val_perplexity\":%.4f,\"settings\":\"%@\"}",
                       summary.seconds, summary.steps, summary.trainingCharacters, nats, nats / log(2), exp(nats),
                       quillDefaults ? "quill-defaults" : "peer"))
    }
}

/// Batch-1 sampling characters per second at temperature 1, through the sampler `quill sample` uses.
struct BenchSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Measure batch-1 sampling characters per second (temperature 1).")

    @OptionGroup var options: BenchEngineOptions
    @Option(help: "Characters to generate.")
    var length: Int = 2000

    func validate() throws {
        if length < 1 { throw ValidationError("--length must be at least 1, not \(length).") }
    }

    func run() throws {
        let (_, _, vocabulary) = try options.loadCorpus()
        let v = vocabulary.count
        var random = QuillRandom(seed: 1)
        let model = LanguageModel.initialized(options.configuration(vocabularySize: v), random: &random)
        let generator = TextGenerator(model: model, vocabulary: vocabulary, precision: options.precision)
        // Warm-up: the first characters pay for page faults and thread start-up.
        try generator.generate(prompt: [], length: 10, settings: .unchanged, seed: 1, ignoreEndOfDocument: true) { _, _ in }
        let start = ContinuousClock.now
        try generator.generate(prompt: [], length: length, settings: .unchanged, seed: 1, ignoreEndOfDocument: true) { _, _ in }
        let rate = Double(length) / seconds(since: start)
        try writeLine(options.jsonHead(mode: "sample", vocabularySize: v)
              + ",\"sample_chars_per_s\":\(String(format: "%.1f", rate)),\"length\":\(length)}")
    }
}

/// Forward-only evaluation characters per second over the validation split in lanes.
struct BenchEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure evaluation characters per second over the validation split (fresh weights).")

    @OptionGroup var options: BenchEngineOptions

    func run() throws {
        let (_, validation, vocabulary) = try options.loadCorpus()
        let v = vocabulary.count
        var random = QuillRandom(seed: 1)
        let model = LanguageModel.initialized(options.configuration(vocabularySize: v), random: &random)
        let evaluator = Evaluator(model: model, batch: 32, seq: options.sizes.seq, precision: options.precision)
        let start = ContinuousClock.now
        let result = evaluator.evaluate(validation)
        let rate = Double(result.count) / seconds(since: start)
        try writeLine(options.jsonHead(mode: "eval", vocabularySize: v)
              + ",\"eval_chars_per_s\":\(String(format: "%.1f", rate)),\"val_nats_per_char\":\(String(format: "%.4f", result.natsPerCharacter))}")
    }
}
