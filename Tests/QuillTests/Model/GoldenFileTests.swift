import Foundation
import XCTest
@testable import Quill

/// The engine's results, bit for bit, against golden files recorded from an earlier engine.
///
/// `Fixtures/golden/` holds, from pinned runs on a CPU with AVX-512 (the products those runs use):
/// - `training_<case>.f32`: every parameter, raw little-endian float32 in layout order, after 30
///   training steps of a small model (forward, backward, clipping, Adam) on `torch_parity/train.txt`;
/// - `golden.json`: seeded samples of the `torch_parity` model (text and token ids) and the summed
///   cross-entropy of evaluations of its `eval.txt`, as the bits of the `Double`.
///
/// Any change to the arithmetic of the engine shows here as a mismatch, so a refactoring that
/// claims to leave the results unchanged can be checked. To record new files after a deliberate
/// change of the arithmetic, run this test with `QUILL_RECORD_GOLDEN=1` in the environment.
final class GoldenFileTests: XCTestCase {
    struct Sample: Codable, Equatable {
        var name: String
        var texts: [String]
    }

    struct Evaluation: Codable, Equatable {
        var name: String
        var count: Int
        /// `totalNats.bitPattern`, in hexadecimal.
        var totalNatsBits: String
    }

    struct Golden: Codable, Equatable {
        var samples: [Sample]
        var evaluations: [Evaluation]
    }

    /// The training runs: name, precision, dropout.
    static let trainingCases: [(name: String, precision: ComputePrecision, dropout: Float)] = [
        ("float32", .float32, 0),
        ("float32_dropout", .float32, 0.25),
        ("bfloat16", .bfloat16, 0),
    ]

    static var recording: Bool { ProcessInfo.processInfo.environment["QUILL_RECORD_GOLDEN"] == "1" }

    /// Where the files are recorded: the source tree's fixture folder.
    static let sourceFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/golden")

    override func setUpWithError() throws {
        // The recorded bits come from an AVX-512 machine. With AVX2 alone the packed products give the
        // same bits (Float32KernelTests), but OpenBLAS's window products round differently there.
        try XCTSkipUnless(Float32Kernels.usesAVX512, "the golden files were recorded on a CPU with AVX-512F")
    }

    private func parityFolder() throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "expected", withExtension: "json", subdirectory: "Fixtures/torch_parity"))
            .deletingLastPathComponent()
    }

    private func goldenURL(_ name: String) throws -> URL {
        if Self.recording { return Self.sourceFolder.appendingPathComponent(name) }
        let base = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
        return try XCTUnwrap(Bundle.module.url(forResource: base, withExtension: ext, subdirectory: "Fixtures/golden"),
                             "missing golden file \(name)")
    }

    private func parityModel() throws -> ModelFile {
        try ModelFile.read(from: parityFolder().appendingPathComponent("model.safetensors"))
    }

    // MARK: Training

    /// The weights after 30 pinned training steps, from seed 7, with `threads` worker threads.
    func trainedWeights(precision: ComputePrecision, dropout: Float, threads: Int) throws -> ParameterBuffer {
        let file = try parityModel()
        let source = CorpusSource(paths: [try parityFolder().appendingPathComponent("train.txt")], documents: .separatorLine("%"))
        let tokens = try CorpusEncoder.encode(source, options: file.textOptions, vocabulary: file.vocabulary, unknown: .error).tokens
        let configuration = ModelConfiguration(vocabularySize: file.vocabulary.count, embeddingSize: 8, hiddenSize: 32,
                                               layers: 2, dropout: dropout)
        let batch = 4, seq = 16
        var random = QuillRandom(seed: 7)
        let model = LanguageModel.initialized(configuration, random: &random)
        var batcher = try Batcher(tokens: tokens, batch: batch, seq: seq)
        // The regularizers added after these files were recorded are pinned off: their arithmetic is not in them.
        let step = TrainingStep(model: model, batch: batch, seq: seq, precision: precision, threads: threads,
                                regularization: .none)
        let adam = AdamOptimizer(layout: model.layout, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0)
        let gradients = ParameterBuffer(layout: model.layout)
        let state = RecurrentState(configuration: configuration, batch: batch)
        var inputs = [Int32](repeating: 0, count: batch * seq), targets = inputs
        for _ in 0..<30 {
            let window = batcher.next(inputs: &inputs, targets: &targets)
            let loss = inputs.withUnsafeBufferPointer { x in
                targets.withUnsafeBufferPointer { y in
                    step.run(inputs: x, targets: y, state: state, gradients: gradients, random: &random)
                }
            }
            XCTAssertTrue(loss.isFinite)
            GradientClipping.clip(gradients, maxNorm: 1)
            adam.step(weights: model.weights, gradients: gradients, learningRate: 1e-2)
            if window.endsEpoch { state.zero() }
        }
        return model.weights
    }

    func testWeightsAfterThirtyTrainingStepsMatchTheGoldenFilesForOneAndTwoThreads() throws {
        for run in Self.trainingCases {
            if run.precision == .bfloat16 && !ComputePrecision.bfloat16Available { continue }
            let name = "training_\(run.name).f32"
            let two = try trainedWeights(precision: run.precision, dropout: run.dropout, threads: 2)
            let bytes = Data(buffer: UnsafeBufferPointer(two.elements))
            if Self.recording {
                try FileManager.default.createDirectory(at: Self.sourceFolder, withIntermediateDirectories: true)
                try bytes.write(to: goldenURL(name))
                continue
            }
            let golden = try Data(contentsOf: goldenURL(name))
            XCTAssertEqual(golden.count, bytes.count, name)
            XCTAssertTrue(golden == bytes, "\(name): the weights after 30 steps differ from the golden file")
            let one = try trainedWeights(precision: run.precision, dropout: run.dropout, threads: 1)
            XCTAssertTrue(Data(buffer: UnsafeBufferPointer(one.elements)) == golden, "\(name): one thread differs")
        }
    }

    // MARK: Sampling and evaluation

    /// Seeded samples of the parity model: (name, precision, samples).
    static let sampleCases: [(name: String, precision: ComputePrecision, samples: Int)] = [
        ("float32_1", .float32, 1),
        ("float32_3", .float32, 3),
        ("bfloat16_1", .bfloat16, 1),
        ("bfloat16_3", .bfloat16, 3),
    ]

    func samples(precision: ComputePrecision, count: Int, threads: Int = defaultEngineThreadCount) throws -> [String] {
        let file = try parityModel()
        let generator = TextGenerator(model: LanguageModel(weights: file.weights), vocabulary: file.vocabulary,
                                      samples: count, precision: precision, threads: threads)
        let prompt = try CorpusEncoder.encode(text: "King", options: file.textOptions, vocabulary: file.vocabulary,
                                              unknown: .error).tokens
        var texts = [String](repeating: "", count: count)
        try generator.generate(prompt: prompt, length: 300, settings: SamplingSettings(temperature: 0.9, topK: 20),
                               seed: 11, ignoreEndOfDocument: true) { i, text in texts[i] += text }
        return texts
    }

    /// Evaluations of `eval.txt`: (name, precision, batch, seq).
    static let evaluationCases: [(name: String, precision: ComputePrecision, batch: Int, seq: Int)] = [
        ("sequential_float32", .float32, 1, 64),
        ("lanes4_float32", .float32, 4, 16),
        ("sequential_bfloat16", .bfloat16, 1, 64),
        ("lanes4_bfloat16", .bfloat16, 4, 16),
    ]

    func evaluation(precision: ComputePrecision, batch: Int, seq: Int) throws -> EvaluationResult {
        let file = try parityModel()
        let source = CorpusSource(paths: [try parityFolder().appendingPathComponent("eval.txt")], documents: .separatorLine("%"))
        let tokens = try CorpusEncoder.encode(source, options: file.textOptions, vocabulary: file.vocabulary, unknown: .error).tokens
        return Evaluator(model: LanguageModel(weights: file.weights), batch: batch, seq: seq, precision: precision).evaluate(tokens)
    }

    func current() throws -> Golden {
        var golden = Golden(samples: [], evaluations: [])
        for c in Self.sampleCases where c.precision == .float32 || ComputePrecision.bfloat16Available {
            golden.samples.append(Sample(name: c.name, texts: try samples(precision: c.precision, count: c.samples)))
        }
        for c in Self.evaluationCases where c.precision == .float32 || ComputePrecision.bfloat16Available {
            let result = try evaluation(precision: c.precision, batch: c.batch, seq: c.seq)
            golden.evaluations.append(Evaluation(name: c.name, count: result.count,
                                                 totalNatsBits: String(result.totalNats.bitPattern, radix: 16)))
        }
        return golden
    }

    func testSeededSamplesAndEvaluationsMatchTheGoldenFile() throws {
        let now = try current()
        if Self.recording {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try FileManager.default.createDirectory(at: Self.sourceFolder, withIntermediateDirectories: true)
            try encoder.encode(now).write(to: goldenURL("golden.json"))
            return
        }
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: goldenURL("golden.json")))
        for sample in now.samples {
            let expected = try XCTUnwrap(golden.samples.first { $0.name == sample.name }, sample.name)
            XCTAssertEqual(sample.texts, expected.texts, sample.name)
            XCTAssertTrue(sample.texts.allSatisfy { $0.unicodeScalars.count >= 300 }, sample.name)
        }
        // One and two threads (a single lane's helper thread included) give the same text.
        for c in Self.sampleCases where c.precision == .float32 || ComputePrecision.bfloat16Available {
            for threads in [1, 2] {
                let texts = try samples(precision: c.precision, count: c.samples, threads: threads)
                XCTAssertEqual(texts, golden.samples.first { $0.name == c.name }?.texts, "\(c.name), \(threads) threads")
            }
        }
        for evaluation in now.evaluations {
            let expected = try XCTUnwrap(golden.evaluations.first { $0.name == evaluation.name }, evaluation.name)
            XCTAssertEqual(evaluation, expected, evaluation.name)
        }
        XCTAssertEqual(now.samples.count + now.evaluations.count, golden.samples.count + golden.evaluations.count,
                       "every recorded case must be checked on this CPU")
    }
}
