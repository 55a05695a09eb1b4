import Foundation
import XCTest
@testable import Quill

/// `--size auto`'s rule, and training states written before the later settings existed.
final class ModelSizeRuleTests: XCTestCase {
    /// The machine the thresholds were measured on: 2 x 512 at about 16,100 characters a second in a
    /// run (AVX-512 BF16), 2 x 1024 at about 4,000.
    static let measuredMachine: [Int: Double] = [512: 16_100, 1024: 4_000]
    /// A machine with AVX2 alone, as `TrainingSpeedProbe` measured one (BENCHMARKS.md).
    static let avx2Machine: [Int: Double] = [512: 5_700, 1024: 1_270]
    /// The Intel Xeon that trains in float32, as `TrainingSpeedProbe` measured it before its hours (BENCHMARKS.md).
    static let xeonMachine: [Int: Double] = [512: 9_193, 1024: 3_021]

    /// The choice, and the widths whose speed the rule asked for.
    func chooseAsking(megabytes: Double, minutes: Double = 10, steps: Int = 0, size: ModelSize = .auto,
                      machine: [Int: Double] = measuredMachine) -> (ModelSizeChoice, [Int]) {
        var c = TrainingConfiguration()
        c.timeLimit = minutes * 60
        c.steps = steps
        var asked: [Int] = []
        let choice = ModelSizeRule.choose(size, corpusCharacters: Int(megabytes * 1_000_000), configuration: c) { width in
            asked.append(width)
            return machine[width]!
        }
        return (choice, asked)
    }

    func choose(megabytes: Double, minutes: Double = 10, steps: Int = 0, size: ModelSize = .auto,
                machine: [Int: Double] = measuredMachine) -> ModelSizeChoice {
        chooseAsking(megabytes: megabytes, minutes: minutes, steps: steps, size: size, machine: machine).0
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
        XCTAssertEqual(choose(megabytes: 20).hiddenSize, 256, "half a pass in 10 minutes")
        XCTAssertEqual(choose(megabytes: 100).hiddenSize, 128, "a tenth of a pass")
        XCTAssertEqual(choose(megabytes: 1, minutes: 60).hiddenSize, 512, "58 passes of 1 MB, but only 14 of them for 2 x 1024")
        XCTAssertEqual(choose(megabytes: 1, minutes: 120).hiddenSize, 1024, "29 passes of 1 MB for 2 x 1024")
        XCTAssertEqual(choose(megabytes: 0.1, minutes: 60).hiddenSize, 512, "a small corpus keeps the default")
        XCTAssertEqual(choose(megabytes: 1, minutes: 60, steps: 100).hiddenSize, 256, "the tighter limit counts")
        XCTAssertEqual(choose(megabytes: 1, size: .large).hiddenSize, 1024)
        XCTAssertEqual(choose(megabytes: 1, size: .small).hiddenSize, 128)
        // Wider with more budget, never narrower.
        var last = 0
        for minutes in [1.0, 5, 10, 30, 60, 240, 480] {
            let width = choose(megabytes: 4, minutes: minutes).hiddenSize
            XCTAssertGreaterThanOrEqual(width, last, "\(minutes) minutes")
            last = width
        }
        XCTAssertEqual(last, 1024)
    }

    func testTheThresholdsSitWhereTheRuleSays() {
        // At 10,000 characters a second, ten minutes are 6M characters.
        let even: [Int: Double] = [512: 10_000, 1024: 10_000]
        XCTAssertEqual(choose(megabytes: 30.000_001, machine: even).hiddenSize, 128, "under 1/5 of a pass")
        XCTAssertEqual(choose(megabytes: 30, machine: even).hiddenSize, 256, "exactly 1/5")
        XCTAssertEqual(choose(megabytes: 7.500_001, machine: even).hiddenSize, 256, "under 4/5 of a pass")
        XCTAssertEqual(choose(megabytes: 7.5, machine: even).hiddenSize, 512, "exactly 4/5")
        // 16 passes of the wide model, on a corpus of at least 1M characters.
        XCTAssertEqual(choose(megabytes: 0.375, machine: even).hiddenSize, 512, "16 passes, but too small a corpus")
        let sixteen: [Int: Double] = [512: 40_000, 1024: 32_000]
        XCTAssertEqual(choose(megabytes: 1.2, machine: sixteen).hiddenSize, 1024, "exactly 16 passes of 2 x 1024")
        XCTAssertEqual(choose(megabytes: 1.200_001, machine: sixteen).hiddenSize, 512)
    }

    func testASlowerMachineGetsTheModelItsOwnSpeedCanTrain() {
        // Two hours on tiny-shakespeare: the measured machine takes 2 x 1024 through it 29 times; with
        // AVX2 alone 2 x 1024 would read it 9.11 times, so 2 x 512 (41 passes) is kept.
        let fast = chooseAsking(megabytes: 1.003857, minutes: 120)
        XCTAssertEqual(fast.0.hiddenSize, 1024)
        XCTAssertEqual(fast.1, [512, 1024])
        let (slow, asked) = chooseAsking(megabytes: 1.003857, minutes: 120, machine: Self.avx2Machine)
        XCTAssertEqual(slow.hiddenSize, 512)
        XCTAssertEqual(asked, [512, 1024])
        XCTAssertEqual(slow.reason, "--size auto chose 2 x 512: the default 2 x 512 would read the 1003857 training characters 40.88 times in the budget (7200 s at about 5700 characters a second), and 2 x 1024 9.11 times (7200 s at about 1270 characters a second), fewer than 16")
        // One hour on the Xeon that trains in float32: the wide model's 10.8 passes are fewer than
        // either measured hour of it, both of which lost to 2 x 512's.
        let xeon = choose(megabytes: 1.003857, minutes: 60, machine: Self.xeonMachine)
        XCTAssertEqual(xeon.hiddenSize, 512)
        XCTAssertTrue(xeon.reason.hasSuffix("32.97 times in the budget (3600 s at about 9193 characters a second), and 2 x 1024 10.83 times (3600 s at about 3021 characters a second), fewer than 16"), xeon.reason)
        // The wide model is measured only when it could be chosen, and no model when time is no limit.
        XCTAssertEqual(chooseAsking(megabytes: 4).1, [512])
        XCTAssertEqual(chooseAsking(megabytes: 0.1, minutes: 60).1, [512])
        XCTAssertEqual(chooseAsking(megabytes: 1, minutes: 0, steps: 100).1, [])
        XCTAssertEqual(chooseAsking(megabytes: 1, size: .medium).1, [])
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
