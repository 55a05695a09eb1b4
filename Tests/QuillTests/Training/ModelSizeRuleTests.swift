import Foundation
import XCTest
@testable import Quill

/// `--size auto`'s rule, and training states written before the later settings existed.
final class ModelSizeRuleTests: XCTestCase {
    func choose(megabytes: Double, minutes: Double = 10, steps: Int = 0, size: ModelSize = .auto) -> ModelSizeChoice {
        var c = TrainingConfiguration()
        c.timeLimit = minutes * 60
        c.steps = steps
        return ModelSizeRule.choose(size, corpusCharacters: Int(megabytes * 1_000_000), configuration: c)
    }

    func testTheDefaultBudgetOnOneToFourMegabytesIsTodaysDefaultModel() {
        for megabytes in [1.0, 1.1, 2, 4] {
            let choice = choose(megabytes: megabytes)
            XCTAssertEqual(choice.hiddenSize, TrainingSettings.hiddenSize.defaultValue, "\(megabytes) MB")
            XCTAssertEqual(choice.layers, TrainingSettings.layers.defaultValue)
            XCTAssertTrue(choice.reason.hasPrefix("--size auto chose 2 x 512"), choice.reason)
        }
    }

    func testShortBudgetsOnBigCorporaShrinkAndLongOnesOnBigCorporaGrow() {
        XCTAssertEqual(choose(megabytes: 20).hiddenSize, 256, "a third of a pass in 10 minutes")
        XCTAssertEqual(choose(megabytes: 100).hiddenSize, 128, "a sixteenth of a pass")
        XCTAssertEqual(choose(megabytes: 1, minutes: 60).hiddenSize, 1024, "36 passes of 1 MB")
        XCTAssertEqual(choose(megabytes: 0.1, minutes: 60).hiddenSize, 512, "a small corpus keeps the default")
        XCTAssertEqual(choose(megabytes: 1, minutes: 60, steps: 100).hiddenSize, 256, "the tighter limit counts")
        XCTAssertEqual(choose(megabytes: 1, size: .large).hiddenSize, 1024)
        XCTAssertEqual(choose(megabytes: 1, size: .small).hiddenSize, 128)
        // Wider with more budget, never narrower.
        var last = 0
        for minutes in [1.0, 5, 10, 30, 60, 240] {
            let width = choose(megabytes: 4, minutes: minutes).hiddenSize
            XCTAssertGreaterThanOrEqual(width, last, "\(minutes) minutes")
            last = width
        }
    }

    func testAStateWithoutTheLaterSettingsReadsThemAsThoseRunsTrainedAndOthersStayRequired() throws {
        var configuration = TrainingConfiguration()
        configuration.hiddenSize = 96
        configuration.keepSnapshots = 3
        configuration.dropoutMasks = .window
        configuration.inputDropout = 0.15
        configuration.weightDrop = 0.3
        configuration.embeddingDropout = 0.05
        configuration.ema = 0.99
        configuration.regularization = .strong
        configuration.size = .large
        let encoded = try JSONEncoder().encode(configuration)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        XCTAssertEqual(TrainingSettings.addedLater,
                       ["size", "regularization", "dropoutMasks", "inputDropout", "weightDrop", "embeddingDropout", "ema"])
        for name in TrainingSettings.addedLater { XCTAssertNotNil(object.removeValue(forKey: name), name) }
        let old = try JSONSerialization.data(withJSONObject: object)
        let decoded = try StrictJSONDecoder().decode(TrainingConfiguration.self, from: Array(old))
        // A state from before the regularizers existed resumes without them, whatever today's defaults.
        var before = configuration
        before.dropoutMasks = .step
        before.inputDropout = 0
        before.weightDrop = 0
        before.embeddingDropout = 0
        before.ema = 0
        before.regularization = .auto
        before.size = .auto
        XCTAssertEqual(decoded, before)
        XCTAssertEqual(try StrictJSONDecoder().decode(TrainingConfiguration.self, from: Array(encoded)), configuration)
        object.removeValue(forKey: "hiddenSize")
        XCTAssertThrowsError(try StrictJSONDecoder().decode(TrainingConfiguration.self,
                                                            from: Array(try JSONSerialization.data(withJSONObject: object))))
    }
}
