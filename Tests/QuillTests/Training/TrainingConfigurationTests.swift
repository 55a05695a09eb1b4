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

    func testEachBadValueThrowsNamingItsFlag() {
        let cases: [(String, (inout TrainingConfiguration) -> Void)] = [
            ("--batch", { $0.batch = 0 }),
            ("--batch", { $0.batch = 1_000_000 }),
            ("--seq", { $0.seq = 0 }),
            ("--seq", { $0.seq = -3 }),
            ("--seq", { $0.seq = 100_000 }),
            ("--embed", { $0.embeddingSize = 0 }),
            ("--hidden", { $0.hiddenSize = 0 }),
            ("--hidden", { $0.hiddenSize = 1 << 20 }),
            ("--layers", { $0.layers = 0 }),
            ("--layers", { $0.layers = 500 }),
            ("--dropout", { $0.dropout = 1 }),
            ("--dropout", { $0.dropout = -0.1 }),
            ("--dropout", { $0.dropout = .nan }),
            ("--lr", { $0.learningRate = 0 }),
            ("--lr", { $0.learningRate = -1e-3 }),
            ("--lr", { $0.learningRate = .nan }),
            ("--lr", { $0.learningRate = .infinity }),
            ("--lr", { $0.learningRate = 3 }),
            ("--beta1", { $0.beta1 = 1 }),
            ("--beta1", { $0.beta1 = -0.5 }),
            ("--beta2", { $0.beta2 = 1.5 }),
            ("--beta2", { $0.beta2 = .nan }),
            ("--eps", { $0.epsilon = 0 }),
            ("--eps", { $0.epsilon = -1e-8 }),
            ("--weight-decay", { $0.weightDecay = -0.1 }),
            ("--weight-decay", { $0.weightDecay = 5 }),
            ("--clip", { $0.clip = 0 }),
            ("--clip", { $0.clip = -5 }),
            ("--clip", { $0.clip = .nan }),
            ("--warmup", { $0.warmupSteps = -1 }),
            ("--min-lr-fraction", { $0.minimumLearningRateFraction = 1.5 }),
            ("--min-lr-fraction", { $0.minimumLearningRateFraction = -0.1 }),
            ("--steps", { $0.steps = -10 }),
            ("--steps", { $0.steps = 0 }),
            ("--epochs", { $0.epochs = -1 }),
            ("--time", { $0.timeLimit = -60 }),
            ("--time", { $0.timeLimit = .infinity }),
            ("--eval-every", { $0.evalEvery = 0 }),
            ("--val-frac", { $0.validationFraction = 0 }),
            ("--val-frac", { $0.validationFraction = 0.6 }),
            ("--val-frac", { $0.validationFraction = .nan }),
            ("--patience", { $0.earlyStopPatience = -2 }),
        ]
        for (flag, change) in cases {
            var c = TrainingConfiguration()
            change(&c)
            XCTAssertThrowsError(try c.validate(), flag) { error in
                guard case let .invalidOption(named, _, _)? = error as? TrainingError else {
                    return XCTFail("\(flag): unexpected \(error)")
                }
                XCTAssertEqual(named, flag)
                let sentence = "\(error)"
                XCTAssertTrue(sentence.hasPrefix("The value ") && sentence.contains(flag) && sentence.hasSuffix("."), sentence)
            }
        }
    }

    func testLimitsOtherThanStepsAreEnough() {
        var c = TrainingConfiguration()
        c.steps = 0
        c.epochs = 3
        XCTAssertNoThrow(try c.validate())
        c.epochs = 0
        c.timeLimit = 600
        XCTAssertNoThrow(try c.validate())
        c.warmupSteps = 10_000  // no step limit to exceed
        XCTAssertNoThrow(try c.validate())
    }
}
