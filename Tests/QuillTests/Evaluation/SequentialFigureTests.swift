import Foundation
import Quill
import XCTest

/// The default evaluation gives the sequential (`batch` 1) figure, to 1e-4 nats per character, at
/// any batch, on real text: tiny-shakespeare's validation split as one long document, and the same
/// text cut into many short documents (its speeches). Training's validation gives the same figure.
///
/// The model is trained here for a few seconds on tiny-shakespeare's training split (seeded), so its
/// state carries context as a real model's does; starting lanes from a zero state instead moves the
/// figure by more than 1e-4, which shows the test can tell the two apart.
final class SequentialFigureTests: XCTestCase {
    static let corpusPath = "/work/shared/corpora/tinyshakespeare.txt"

    struct Setup {
        var model: LanguageModel
        /// The validation split, one document.
        var validation: [Int32]
        /// The validation split cut into documents at blank lines.
        var documents: [Int32]
        var vocabulary: Vocabulary
    }

    /// Trained once for the whole class.
    nonisolated(unsafe) static var cached: Setup?

    func setup() throws -> Setup {
        guard FileManager.default.fileExists(atPath: Self.corpusPath) else {
            throw XCTSkip("\(Self.corpusPath) is absent, so the sequential figure on tiny-shakespeare cannot be checked; put tinyshakespeare.txt there to run it.")
        }
        if let cached = Self.cached { return cached }
        let url = URL(fileURLWithPath: Self.corpusPath)
        let whole = try CorpusEncoder.encode(CorpusSource(paths: [url], documents: .wholeFiles), options: TextOptions())
        let split = try TrainingSplit.split(tokens: whole.tokens, validationFraction: 0.1)
        let speeches = try CorpusEncoder.encode(CorpusSource(paths: [url], documents: .separatorLine("")), options: TextOptions(),
                                                vocabulary: whole.vocabulary, unknown: .error).tokens
        let documents = Array(speeches[(speeches.count - split.validation.count)...])

        var c = TrainingConfiguration()
        c.embeddingSize = 16
        c.hiddenSize = 64
        c.layers = 2
        c.batch = 16
        c.seq = 64
        c.steps = 150
        c.warmupSteps = 10
        c.learningRate = 0.01
        c.evalEvery = 1000
        c.dropout = 0
        c.precision = .float32
        c.seed = 5
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-sequential-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try Trainer(configuration: c, training: split.training, validation: Array(split.validation.prefix(2000)),
                                  vocabulary: whole.vocabulary, textOptions: TextOptions(), folder: ModelFolder(folder))
        try trainer.run()
        let setup = Setup(model: trainer.model, validation: split.validation, documents: documents, vocabulary: whole.vocabulary)
        Self.cached = setup
        return setup
    }

    private func assertSequential(_ tokens: [Int32], model: LanguageModel, _ name: String) {
        let sequential = Evaluator(model: model, batch: 1).evaluate(tokens)
        XCTAssertEqual(sequential.count, tokens.count - 1)
        // The model has learned something: well below ln V nats per character.
        XCTAssertLessThan(sequential.natsPerCharacter, 0.7 * log(Double(model.configuration.vocabularySize)), name)
        var lanesUsed: [Int] = []
        for batch in [1, 7, 32, 128] {
            let evaluator = Evaluator(model: model, batch: batch)
            lanesUsed.append(evaluator.plan(tokens).lanes)
            // Batch 1 is the sequential pass itself.
            let result = batch == 1 ? sequential : evaluator.evaluate(tokens)
            XCTAssertEqual(result.count, sequential.count, "\(name), batch \(batch)")
            XCTAssertEqual(result.natsPerCharacter, sequential.natsPerCharacter, accuracy: 1e-4, "\(name), batch \(batch)")
            print("\(name), batch \(batch) (\(evaluator.plan(tokens).lanes) lanes, burn-in \(evaluator.plan(tokens).burnIn)): "
                  + String(format: "%.6f nats/char, sequential %.6f, difference %.2e", result.natsPerCharacter,
                           sequential.natsPerCharacter, result.natsPerCharacter - sequential.natsPerCharacter))
        }
        XCTAssertGreaterThan(lanesUsed.last!, 32, "\(name): batch 128 must score in many lanes")
        // Lanes from a zero state (no burn-in) miss the figure: the check can fail.
        let fromZero = Evaluator(model: model, batch: 128, burnIn: 0).evaluate(tokens)
        XCTAssertGreaterThan(abs(fromZero.natsPerCharacter - sequential.natsPerCharacter), 1e-4, name)
    }

    func testOneLongDocumentScoresAsSequentialAtAnyBatch() throws {
        let s = try setup()
        XCTAssertEqual(s.validation.filter { $0 == 0 }.count, 2, "one document and the [DOC] after it")
        assertSequential(s.validation, model: s.model, "tiny-shakespeare validation")
    }

    func testManyShortDocumentsScoreAsSequentialAtAnyBatch() throws {
        let s = try setup()
        XCTAssertGreaterThan(s.documents.filter { $0 == 0 }.count, 500)
        assertSequential(s.documents, model: s.model, "tiny-shakespeare validation in speeches")
    }

    func testTrainingValidationIsTheSequentialFigure() throws {
        let s = try setup()
        var c = TrainingConfiguration()
        c.embeddingSize = 8
        c.hiddenSize = 16
        c.layers = 1
        c.batch = 4
        c.seq = 16
        c.steps = 4
        c.warmupSteps = 0
        c.evalEvery = 4
        c.precision = .float32
        let validation = Array(s.validation.prefix(20_000))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-validation-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try Trainer(configuration: c, training: Array(s.validation.suffix(20_000)), validation: validation,
                                  vocabulary: s.vocabulary, textOptions: TextOptions(),
                                  folder: ModelFolder(folder))
        var reported: [Double] = []
        try trainer.run { event in
            if case let .evaluated(_, loss, _) = event { reported.append(loss) }
        }
        XCTAssertFalse(reported.isEmpty)
        let sequential = Evaluator(model: trainer.model, batch: 1).evaluate(validation).natsPerCharacter
        XCTAssertEqual(try XCTUnwrap(reported.last), sequential, accuracy: 1e-4)
        // Validation at 20,000 characters uses more than one lane, so the check is not trivial.
        XCTAssertGreaterThan(Evaluator(model: trainer.model, batch: Trainer.evaluationBatch).plan(validation).lanes, 1)
    }
}
