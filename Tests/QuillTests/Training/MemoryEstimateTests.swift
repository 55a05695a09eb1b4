import Foundation
@testable import Quill
import _QuillKernels
import XCTest

/// The memory estimate against the bytes that building the engine's objects really allocates,
/// as glibc's allocator counts them (`quill_heap_bytes_in_use`).
final class MemoryEstimateTests: XCTestCase {
    private func allocatedBytes() -> Double {
        Double(quill_heap_bytes_in_use())
    }

    /// Bytes that `build` allocates and keeps.
    private func measure<T>(_ build: () throws -> T) throws -> (T, Double) {
        guard allocatedBytes() > 0 else { throw XCTSkip("this C library does not report its heap") }
        let before = allocatedBytes()
        let value = try build()
        return (value, allocatedBytes() - before)
    }

    private let model = ModelConfiguration(vocabularySize: 300, embeddingSize: 64, hiddenSize: 256, layers: 2, dropout: 0.1)

    /// For the evaluator, whose engines follow a plan made from the text: the estimate (the
    /// largest plan) must bound what one pass keeps, and not by more than a factor of 4.
    private func assertBounds(_ estimate: Double, _ measured: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        print(String(format: "memory estimate, %@: estimated %.0f bytes, allocated %.0f (ratio %.3f)", what, estimate, measured, estimate / measured))
        XCTAssertGreaterThanOrEqual(estimate, measured, "\(what): the estimate is below what was allocated", file: file, line: line)
        XCTAssertLessThan(estimate, 4 * measured, "\(what): the estimate is far above what was allocated", file: file, line: line)
    }

    private func assertClose(_ estimate: Double, _ measured: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertGreaterThan(measured, 1_000_000, "\(what): too little measured to compare", file: file, line: line)
        print(String(format: "memory estimate, %@: estimated %.0f bytes, allocated %.0f (ratio %.3f)", what, estimate, measured, estimate / measured))
        XCTAssertEqual(estimate / measured, 1, accuracy: 0.1,
                       "\(what): estimated \(estimate) bytes, allocated \(measured)", file: file, line: line)
    }

    func testTrainingEstimateMatchesWhatATrainerAllocates() throws {
        for (precision, weightDrop) in [(ComputePrecision.float32, Float(0)), (.bfloat16, 0), (.float32, 0.3), (.bfloat16, 0.3)] {
            var c = TrainingConfiguration()
            c.weightDrop = weightDrop
            c.embeddingSize = model.embeddingSize
            c.hiddenSize = model.hiddenSize
            c.layers = model.layers
            c.dropout = model.dropout
            c.batch = 16
            c.seq = 64
            c.precision = precision
            c.steps = 10
            let scalars = (0..<299).map { Unicode.Scalar(UInt32(0x100 + $0))! }
            var random = QuillRandom(seed: 3)
            let tokens = (0..<20_000).map { _ in Int32(1 + random.next() % 299) }
            let (trainer, measured) = try measure {
                try Trainer(configuration: c, training: tokens, validation: Array(tokens.prefix(500)),
                            vocabulary: Vocabulary(scalars: scalars), textOptions: TextOptions(),
                            folder: ModelFolder(FileManager.default.temporaryDirectory.appendingPathComponent("unused-\(UUID())")))
            }
            let estimate = MemoryEstimate.training(trainer.model.configuration, batch: 16, seq: 64, precision: precision,
                                                   weightDrop: weightDrop > 0)
            assertClose(estimate.bytes(of: "weights, gradients and optimizer") + estimate.bytes(of: "training windows")
                            + estimate.bytes(of: "recurrent weight masks"),
                        measured, "trainer, \(precision), weight drop \(weightDrop)")

            // The evaluator makes its engines on first use and keeps them: measure across one pass.
            let (evaluator, evaluation) = try measure { () -> Evaluator in
                let evaluator = Evaluator(model: trainer.model, batch: Trainer.evaluationBatch, seq: 128, precision: precision)
                _ = evaluator.evaluate(tokens)
                return evaluator
            }
            // The evaluator's state is made per pass; its lanes' state is counted in the estimate.
            assertBounds(estimate.bytes(of: "validation passes"), evaluation + 4 * 2 * 2 * 32 * 256, "validation, \(precision)")
            withExtendedLifetime(evaluator) {}
        }
    }

    func testSamplingAndScoringEstimatesMatchWhatTheEnginesAllocate() throws {
        var random = QuillRandom(seed: 5)
        let model = LanguageModel.initialized(self.model, random: &random)
        let vocabulary = Vocabulary(scalars: (0..<299).map { Unicode.Scalar(UInt32(0x100 + $0))! })
        for precision in [ComputePrecision.float32, .bfloat16] {
            let (generator, measured) = try measure {
                TextGenerator(model: model, vocabulary: vocabulary, samples: 512, precision: precision)
            }
            let sampling = MemoryEstimate.sampling(self.model, samples: 512, precision: precision)
            // The sampler's scratch rows are made per call, not by the generator.
            assertClose(sampling.bytes(of: "sampling batch") - 4 * 3.125 * 300, measured, "sampling, \(precision)")
            withExtendedLifetime(generator) {}

            // A [DOC] every 32 tokens keeps burn-ins short, so the plan fills all 64 lanes: the largest plan.
            let tokens: [Int32] = (0..<20_000).map { (i: Int) -> Int32 in i % 32 == 0 ? 0 : Int32(1 + i % 299) }
            let (evaluator, scoring) = try measure { () -> Evaluator in
                let evaluator = Evaluator(model: model, batch: 64, seq: 128, precision: precision)
                _ = evaluator.evaluate(tokens)
                return evaluator
            }
            let estimate = MemoryEstimate.evaluation(self.model, batch: 64, precision: precision)
            // The largest plan was measured, so the estimate should match it, as the trainer's does.
            assertClose(estimate.bytes(of: "scoring windows"), scoring + 4 * 2 * 2 * 64 * 256, "scoring, \(precision)")
            withExtendedLifetime(evaluator) {}
        }
    }

    func testTheIssuesExamplesAreRefusedWithTheEstimate() {
        // --hidden 16384 --layers 1: tens of gigabytes (the issue reckoned about 65 GB; about 38 GB
        // where the products read W_hh itself, more where the kernels pack copies of it).
        let wide = MemoryEstimate.training(ModelConfiguration(vocabularySize: 100, embeddingSize: 64, hiddenSize: 16_384, layers: 1, dropout: 0.1),
                                           batch: 32, seq: 64, precision: .float32)
        XCTAssertGreaterThan(wide.bytes, 35e9)
        XCTAssertThrowsError(try wide.check(limit: 32e9)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("needs about"), text)
            XCTAssertTrue(text.contains("more than the limit set for this run (32.0 GB)"), text)
            XCTAssertFalse(text.contains("--"), "a library message names no flags: \(text)")
        }
        // Sizes whose products overflow Int are still estimated, not trapped.
        let huge = MemoryEstimate.training(ModelConfiguration(vocabularySize: 1 << 21, embeddingSize: 16_384, hiddenSize: 16_384, layers: 64, dropout: 0.1),
                                           batch: 4096, seq: 4096, precision: .float32)
        XCTAssertGreaterThan(huge.bytes, 1e14)
        // A 1,000,001-token vocabulary: scoring at the default batch, or 4096 samples, needs over 4 GB.
        let big = ModelConfiguration(vocabularySize: 1_000_001, embeddingSize: 8, hiddenSize: 8, layers: 1, dropout: 0)
        XCTAssertGreaterThan(MemoryEstimate.evaluation(big, batch: 32, precision: .float32).bytes, 4e9)
        XCTAssertGreaterThan(MemoryEstimate.sampling(big, samples: 4096, precision: .float32).bytes, 4e9)
        XCTAssertNoThrow(try MemoryEstimate.sampling(big, samples: 1, precision: .float32).check(limit: 4e9))
        XCTAssertGreaterThan(MemoryEstimate.availableBytes, 1e8)
    }
}
