import Foundation
@testable import Quill
import XCTest

/// `--ema`: the moving average of the weights against a reference computed here in double precision,
/// and the trainer evaluating and saving the average while it trains the weights themselves.
final class WeightAverageTests: XCTestCase {
    func testTheDecayRampsUpToItsValue() {
        var random = QuillRandom(seed: 1)
        let model = LanguageModel.initialized(ModelConfiguration(vocabularySize: 5, embeddingSize: 2, hiddenSize: 3, layers: 1),
                                              random: &random)
        let average = WeightAverage(decay: 0.999, startingFrom: model.weights)
        XCTAssertEqual(average.decay(afterUpdates: 0), 0.1, accuracy: 1e-7)
        XCTAssertEqual(average.decay(afterUpdates: 90), 0.91, accuracy: 1e-7)
        XCTAssertEqual(average.decay(afterUpdates: 8_991), 0.999, accuracy: 1e-7)
        XCTAssertEqual(average.decay(afterUpdates: 1_000_000), 0.999)
        XCTAssertEqual(Array(average.values.elements), Array(model.weights.elements), "it starts at the weights")
    }

    /// Updates toward a random walk of weights, for a layout small enough for one pass and one split in two.
    func testUpdatesMatchTheRecurrenceInDoublePrecision() {
        for hidden in [3, 128] {
            let configuration = ModelConfiguration(vocabularySize: 40, embeddingSize: 8, hiddenSize: hidden, layers: 2)
            var random = QuillRandom(seed: 9)
            let model = LanguageModel.initialized(configuration, random: &random)
            let weights = model.weights
            XCTAssertEqual(weights.count >= 1 << 16, hidden == 128, "the two sizes cover one pass and a split")
            let average = WeightAverage(decay: 0.95, startingFrom: weights)
            var reference = weights.elements.map(Double.init)
            for update in 0..<60 {
                for i in 0..<weights.count { weights.pointer[i] += Float(random.nextUnitDouble() - 0.5) * 0.1 }
                average.update(toward: weights, afterUpdates: update)
                let d = min(0.95, Double(1 + update) / Double(10 + update))
                for i in 0..<weights.count { reference[i] = d * reference[i] + (1 - d) * Double(weights.pointer[i]) }
            }
            var worst = 0.0
            for i in 0..<weights.count { worst = max(worst, abs(Double(average.values.pointer[i]) - reference[i])) }
            XCTAssertLessThan(worst, 1e-5, "hidden \(hidden)")
            // The average lags the walk: it is not the weights.
            XCTAssertNotEqual(Array(average.values.elements), Array(weights.elements))
        }
    }

    func testTheTrainerEvaluatesAndSavesTheAverageAndASkippedStepLeavesItAlone() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-ema-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let split = try TrainingSplit.randomSixLetters()
        var c = TrainingConfiguration.tiny(steps: 30, evalEvery: 10)
        c.ema = 0.9
        let trainer = try Trainer(configuration: c, training: split.training, validation: split.validation,
                                  vocabulary: Vocabulary(scalars: "abcdef".unicodeScalars), textOptions: TextOptions(),
                                  folder: ModelFolder(folder))
        trainer.poisonGradients(atSteps: [7])
        // The reference: the recurrence over the weights after each step that was taken.
        var reference = trainer.model.weights.elements.map(Double.init)
        var updates = 0
        var skipped: [Int] = []
        var bestAverage: [Float] = []
        let summary = try trainer.run { event in
            switch event {
            case .step:
                guard skipped.last != trainer.completedSteps else { return }
                let d = min(0.9, Double(1 + updates) / Double(10 + updates))
                for (i, w) in trainer.model.weights.elements.enumerated() { reference[i] = d * reference[i] + (1 - d) * Double(w) }
                updates += 1
            case let .skipped(step, _): skipped.append(step)
            case let .evaluated(_, _, isBest): if isBest { bestAverage = Array(trainer.evaluatedModel.weights.elements) }
            default: break
            }
        }
        XCTAssertEqual(skipped, [7])
        XCTAssertEqual(updates, 29)
        let averaged = trainer.evaluatedModel.weights
        var worst = 0.0
        for i in 0..<averaged.count { worst = max(worst, abs(Double(averaged.pointer[i]) - reference[i])) }
        XCTAssertLessThan(worst, 1e-5)
        XCTAssertNotEqual(Array(averaged.elements), Array(trainer.model.weights.elements))

        // The figure is the average's, and the model file holds the average of the best evaluation.
        let scored = Evaluator(model: trainer.evaluatedModel, batch: Trainer.evaluationBatch, seq: 128, precision: c.precision)
            .evaluate(split.validation).natsPerCharacter
        XCTAssertEqual(try XCTUnwrap(summary.finalValidationLoss), scored, accuracy: 1e-12)
        let file = try ModelFile.read(from: ModelFolder(folder).model)
        XCTAssertFalse(bestAverage.isEmpty)
        XCTAssertEqual(Array(file.weights.elements), bestAverage)
        // The training state keeps both, so a resumed run goes on with the same average.
        let state = try TrainingCheckpoint.read(from: ModelFolder(folder).state)
        XCTAssertEqual(Array(try XCTUnwrap(state.average).elements), Array(averaged.elements))
        XCTAssertEqual(Array(state.weights.elements), Array(trainer.model.weights.elements))
    }
}
