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
    @Option(help: "UTF-8 text file; its distinct characters form the vocabulary.")
    var corpus: String = "../shared/corpora/tinyshakespeare.txt"
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

    /// The corpus as token ids (distinct code points sorted, mapped to 1...) and the vocabulary size.
    func loadCorpus() throws -> (ids: [Int32], vocabularySize: Int) {
        guard let text = try? String(contentsOfFile: corpus, encoding: .utf8) else {
            throw ValidationError("Cannot read the corpus '\(corpus)' as UTF-8; pass an existing text file with --corpus.")
        }
        let scalars = Array(text.unicodeScalars)
        let distinct = Set(scalars).sorted { $0.value < $1.value }
        var index: [Unicode.Scalar: Int32] = [:]
        for (i, s) in distinct.enumerated() { index[s] = Int32(i + 1) }
        return (scalars.map { index[$0]! }, distinct.count + 1)
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

/// Splits a stream into `batch` contiguous lanes of `n` tokens: `[batch, n]`, lane-major.
private func lanes(_ ids: ArraySlice<Int32>, batch: Int) -> (data: [Int32], length: Int) {
    let n = ids.count / batch
    return (Array(ids.prefix(n * batch)), n)
}

/// Training characters per second: forward, backward, clipping and an Adam step on the corpus.
struct BenchThroughput: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Measure training characters per second on the benchmark configurations.")

    @OptionGroup var options: BenchEngineOptions
    @Option(help: "Timed training steps, after 3 untimed warm-up steps.")
    var steps: Int = 30

    func run() throws {
        let (ids, v) = try options.loadCorpus()
        let s = options.sizes
        let train = ids.prefix(ids.count - ids.count / 10)
        let (data, n) = lanes(train, batch: s.batch)
        guard n > s.seq + 1 else { throw ValidationError("The corpus is too short for --batch \(s.batch) --seq \(s.seq).") }
        var random = QuillRandom(seed: 1)
        let model = LanguageModel.initialized(options.configuration(vocabularySize: v), random: &random)
        let step = TrainingStep(model: model, batch: s.batch, seq: s.seq,
                                precision: options.precision, threads: options.threads)
        let gradients = ParameterBuffer(layout: model.layout)
        let adam = AdamOptimizer(layout: model.layout)
        let state = RecurrentState(configuration: model.configuration, batch: s.batch)
        var inputs = [Int32](repeating: 0, count: s.batch * s.seq)
        var targets = inputs
        var position = 0
        func trainOne() {
            if position + s.seq + 1 > n { position = 0; state.zero() }
            for b in 0..<s.batch {
                for t in 0..<s.seq {
                    inputs[b * s.seq + t] = data[b * n + position + t]
                    targets[b * s.seq + t] = data[b * n + position + t + 1]
                }
            }
            inputs.withUnsafeBufferPointer { x in
                targets.withUnsafeBufferPointer { y in
                    _ = step.run(inputs: x, targets: y, state: state, gradients: gradients, random: &random)
                }
            }
            GradientClipping.clip(gradients, maxNorm: 5)
            adam.step(weights: model.weights, gradients: gradients, learningRate: 2e-3)
            position += s.seq
        }
        for _ in 0..<3 { trainOne() }
        let start = ContinuousClock.now
        for _ in 0..<steps { trainOne() }
        let elapsed = seconds(since: start)
        let rate = Double(steps * s.batch * s.seq) / elapsed
        print(options.jsonHead(mode: "throughput", vocabularySize: v)
              + ",\"train_chars_per_s\":\(String(format: "%.1f", rate)),\"steps\":\(steps)}")
    }
}

/// Batch-1 sampling characters per second at temperature 1.
struct BenchSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Measure batch-1 sampling characters per second (temperature 1).")

    @OptionGroup var options: BenchEngineOptions
    @Option(help: "Characters to generate.")
    var length: Int = 2000

    func run() throws {
        let (_, v) = try options.loadCorpus()
        var random = QuillRandom(seed: 1)
        let model = LanguageModel.initialized(options.configuration(vocabularySize: v), random: &random)
        let engine = InferenceEngine(model: model, batch: 1, maxSeq: 1,
                                     precision: options.precision, threads: options.threads)
        let state = RecurrentState(configuration: model.configuration, batch: 1)
        let logits = FloatBuffer(count: v)
        var token: Int32 = 0
        func sampleOne() {
            withUnsafePointer(to: token) { p in
                engine.step(tokens: UnsafeBufferPointer(start: p, count: 1), state: state, logits: logits.pointer)
            }
            let z = logits.pointer
            var maximum = -Float.infinity
            for j in 0..<v { maximum = max(maximum, z[j]) }
            var sum: Float = 0
            for j in 0..<v { z[j] = quillExp(z[j] - maximum); sum += z[j] }
            var u = random.nextUnitFloat() * sum
            var next = v - 1
            for j in 0..<v {
                u -= z[j]
                if u < 0 { next = j; break }
            }
            token = Int32(next)
        }
        sampleOne()
        let start = ContinuousClock.now
        for _ in 0..<length { sampleOne() }
        let rate = Double(length) / seconds(since: start)
        print(options.jsonHead(mode: "sample", vocabularySize: v)
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
        let (ids, v) = try options.loadCorpus()
        let s = options.sizes
        let validation = ids.suffix(ids.count / 10)
        let lanesCount = 32
        let (data, n) = lanes(validation, batch: lanesCount)
        var random = QuillRandom(seed: 1)
        let model = LanguageModel.initialized(options.configuration(vocabularySize: v), random: &random)
        let engine = InferenceEngine(model: model, batch: lanesCount, maxSeq: s.seq,
                                     precision: options.precision, threads: options.threads)
        let state = RecurrentState(configuration: model.configuration, batch: lanesCount)
        var inputs = [Int32](repeating: 0, count: lanesCount * s.seq)
        var targets = inputs
        var total = 0.0, count = 0
        let start = ContinuousClock.now
        var position = 0
        while position < n - 1 {
            let w = min(s.seq, n - 1 - position)
            for b in 0..<lanesCount {
                for t in 0..<w {
                    inputs[b * w + t] = data[b * n + position + t]
                    targets[b * w + t] = data[b * n + position + t + 1]
                }
            }
            total += inputs.withUnsafeBufferPointer { x in
                targets.withUnsafeBufferPointer { y in
                    engine.crossEntropy(inputs: UnsafeBufferPointer(rebasing: x[0..<(lanesCount * w)]),
                                        targets: UnsafeBufferPointer(rebasing: y[0..<(lanesCount * w)]),
                                        seq: w, state: state)
                }
            }
            count += lanesCount * w
            position += w
        }
        let rate = Double(count) / seconds(since: start)
        print(options.jsonHead(mode: "eval", vocabularySize: v)
              + ",\"eval_chars_per_s\":\(String(format: "%.1f", rate)),\"val_nats_per_char\":\(String(format: "%.4f", total / Double(count)))}")
    }
}
