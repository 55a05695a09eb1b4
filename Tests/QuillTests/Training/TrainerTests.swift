import Foundation
@testable import Quill
import XCTest

/// The trainer's guard against non-finite steps, in-process with a poisoned gradient.
final class TrainerTests: XCTestCase {
    private func makeTrainer(folder: URL, steps: Int, patience: Int = 0) throws -> Trainer {
        let split = try TrainingSplit.randomSixLetters()
        var c = TrainingConfiguration.tiny(steps: steps, evalEvery: 5)
        c.earlyStopPatience = patience
        return try Trainer(configuration: c, training: split.training, validation: split.validation,
                           vocabulary: Vocabulary(scalars: "abcdef".unicodeScalars), textOptions: TextOptions(),
                           folder: ModelFolder(folder))
    }

    func testANonFiniteGradientIsSkippedAndNeverReachesTheWeights() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-trainer-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try makeTrainer(folder: folder, steps: 3)
        trainer.poisonGradients(atSteps: [2])
        var weightsAfter: [Int: [Float]] = [:]
        var skipped: [Int] = []
        let summary = try trainer.run { event in
            switch event {
            case let .step(progress): weightsAfter[progress.step] = Array(trainer.model.weights.elements)
            case let .skipped(step, reason):
                skipped.append(step)
                XCTAssertTrue(reason.contains("not finite"), reason)
            default: break
            }
        }
        XCTAssertEqual(summary.steps, 3)
        XCTAssertEqual(skipped, [2])
        XCTAssertEqual(weightsAfter[2], weightsAfter[1], "the poisoned step changed the weights")
        XCTAssertNotEqual(weightsAfter[3], weightsAfter[2], "the next good step did not train")
        XCTAssertTrue(trainer.model.weights.allFinite())
    }

    func testARunThatKeepsDivergingStopsWithTheLastGoodCheckpointIntact() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-trainer-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try makeTrainer(folder: folder, steps: 100)
        trainer.poisonGradients(atSteps: Set(11...100))
        XCTAssertThrowsError(try trainer.run()) { error in
            guard case let TrainingError.diverged(step, skipped) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(step, 10 + Trainer.maximumSkippedSteps)
            XCTAssertEqual(skipped, Trainer.maximumSkippedSteps)
            XCTAssertTrue("\(error)".contains("\(Trainer.maximumSkippedSteps)"), "\(error)")
        }
        // The model of step 10 (the last step that trained before an evaluation) is whole and finite;
        // later checkpoints saved the same weights, as the skipped steps never changed them.
        let model = try ModelFile.read(from: ModelFolder(folder).model)
        XCTAssertEqual(model.step, 10)
        XCTAssertTrue(model.weights.allFinite())
        XCTAssertEqual(Array(model.weights.elements), Array(trainer.model.weights.elements))
        // The saved state resumes and trains on.
        var limits = trainer.configuration
        limits.steps = 40
        let split = try TrainingSplit.randomSixLetters()
        let resumed = try Trainer(resuming: ModelFolder(folder), limits: limits, training: split.training,
                                  validation: split.validation, vocabulary: trainer.vocabulary, textOptions: TextOptions())
        XCTAssertEqual(try resumed.run().steps, 40)
        XCTAssertNotEqual(Array(resumed.model.weights.elements), Array(trainer.model.weights.elements))
    }

    func testValidationThatStopsImprovingStopsTrainingEarly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-trainer-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try makeTrainer(folder: folder, steps: 100, patience: 2)
        // From step 6 on the weights stop changing, so validation stops improving.
        trainer.poisonGradients(atSteps: Set(6...20))
        var evaluations: [(Int, Bool)] = []
        let summary = try trainer.run { event in
            if case let .evaluated(step, _, isBest) = event { evaluations.append((step, isBest)) }
        }
        XCTAssertEqual(summary.reason, .earlyStop)
        XCTAssertEqual(summary.steps, 15)
        XCTAssertEqual(evaluations.map(\.0), [5, 10, 15])
        XCTAssertEqual(evaluations.map(\.1), [true, false, false])
        XCTAssertEqual(summary.bestStep, 5)
    }
}
