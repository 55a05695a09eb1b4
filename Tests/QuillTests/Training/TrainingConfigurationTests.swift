import Foundation
import Quill
import XCTest

final class TrainingConfigurationTests: XCTestCase {
    func testDefaultsAreValidAndRoundTripThroughJSON() throws {
        let c = TrainingConfiguration()
        XCTAssertNoThrow(try c.validate())
        XCTAssertEqual(try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(c)), c)
        XCTAssertEqual(c.batch, 32)
        XCTAssertEqual(c.seq, 64)
        XCTAssertEqual(c.learningRate, 2e-3)
        XCTAssertEqual(c.clip, 5)
        XCTAssertEqual(c.validationFraction, 0.1)
        let model = c.modelConfiguration(vocabularySize: 66)
        XCTAssertNoThrow(try model.validate())
        XCTAssertEqual(model.hiddenSize, 512)
    }

    func testEachBadValueThrowsNamingItsSetting() {
        let cases: [(String, (inout TrainingConfiguration) -> Void)] = [
            ("batch", { $0.batch = 0 }),
            ("batch", { $0.batch = 1_000_000 }),
            ("seq", { $0.seq = 0 }),
            ("seq", { $0.seq = -3 }),
            ("seq", { $0.seq = 100_000 }),
            ("embeddingSize", { $0.embeddingSize = 0 }),
            ("hiddenSize", { $0.hiddenSize = 0 }),
            ("hiddenSize", { $0.hiddenSize = 1 << 20 }),
            ("layers", { $0.layers = 0 }),
            ("layers", { $0.layers = 500 }),
            ("dropout", { $0.dropout = 1 }),
            ("dropout", { $0.dropout = -0.1 }),
            ("dropout", { $0.dropout = .nan }),
            ("learningRate", { $0.learningRate = 0 }),
            ("learningRate", { $0.learningRate = -1e-3 }),
            ("learningRate", { $0.learningRate = .nan }),
            ("learningRate", { $0.learningRate = .infinity }),
            ("learningRate", { $0.learningRate = 3 }),
            ("beta1", { $0.beta1 = 1 }),
            ("beta1", { $0.beta1 = -0.5 }),
            ("beta2", { $0.beta2 = 1.5 }),
            ("beta2", { $0.beta2 = .nan }),
            ("epsilon", { $0.epsilon = 0 }),
            ("epsilon", { $0.epsilon = -1e-8 }),
            ("weightDecay", { $0.weightDecay = -0.1 }),
            ("weightDecay", { $0.weightDecay = 5 }),
            ("clip", { $0.clip = 0 }),
            ("clip", { $0.clip = -5 }),
            ("clip", { $0.clip = .nan }),
            ("warmupSteps", { $0.warmupSteps = -1 }),
            ("minimumLearningRateFraction", { $0.minimumLearningRateFraction = 1.5 }),
            ("minimumLearningRateFraction", { $0.minimumLearningRateFraction = -0.1 }),
            ("steps", { $0.steps = -10 }),
            ("timeLimit", { $0.timeLimit = 31_536_001 }),
            ("hiddenSize", { $0.hiddenSize = 16_384 }),
            ("layers", { $0.layers = 64 }),
            ("embeddingSize", { $0.embeddingSize = 16_384 }),
            ("epochs", { $0.epochs = -1 }),
            ("timeLimit", { $0.timeLimit = -60 }),
            ("timeLimit", { $0.timeLimit = .infinity }),
            ("evalEvery", { $0.evalEvery = 0 }),
            ("validationFraction", { $0.validationFraction = 0 }),
            ("validationFraction", { $0.validationFraction = 0.6 }),
            ("validationFraction", { $0.validationFraction = .nan }),
            ("earlyStopPatience", { $0.earlyStopPatience = -2 }),
        ]
        for (name, change) in cases {
            var c = TrainingConfiguration()
            change(&c)
            XCTAssertThrowsError(try c.validate(), name) { error in
                guard case let .settingOutOfRange(named, _, _)? = error as? TrainingError else {
                    return XCTFail("\(name): unexpected \(error)")
                }
                XCTAssertEqual(named, name)
                let sentence = "\(error)"
                XCTAssertTrue(sentence.hasPrefix("The value ") && sentence.contains(name) && sentence.hasSuffix("."), sentence)
                XCTAssertFalse(sentence.contains("--"), "the library names settings, not flags: \(sentence)")
            }
        }
    }

    func testSettingsAgainstEachOther() {
        var c = TrainingConfiguration()
        c.steps = 0
        c.timeLimit = 0
        XCTAssertEqual(Result { try c.validate() }.failure, .noLimit)
        c = TrainingConfiguration()
        c.learningRate = 1
        c.weightDecay = 1
        XCTAssertEqual(Result { try c.validate() }.failure, .weightDecayTooLarge(weightDecay: 1, learningRate: 1))
        let sentence = TrainingError.noLimit.description(naming: { "--" + $0 })
        XCTAssertTrue(sentence.contains("--steps") && sentence.contains("--timeLimit"), sentence)
    }

    func testLimitsOtherThanStepsAreEnough() {
        var c = TrainingConfiguration()
        c.steps = 0
        c.timeLimit = 0
        c.epochs = 3
        XCTAssertNoThrow(try c.validate())
        c.epochs = 0
        c.timeLimit = 600
        XCTAssertNoThrow(try c.validate())
        c.warmupSteps = 10_000  // no step limit to exceed
        XCTAssertNoThrow(try c.validate())
    }
}

private extension Result where Failure == Error {
    /// The error as a `TrainingError`, or nil.
    var failure: TrainingError? {
        if case let .failure(error) = self { return error as? TrainingError }
        return nil
    }
}
