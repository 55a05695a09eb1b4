import XCTest
@testable import Quill

/// `--regularization auto`'s rule, the fixed recipes, and flags given overriding a recipe's parts.
final class RegularizationRuleTests: XCTestCase {
    /// The speed of 2 x 512 on the machine the thresholds were measured on, in a run.
    static let measuredMachine = 16_100.0

    func choose(characters: Int, minutes: Double = 10, epochs: Int = 0, speed: Double = measuredMachine,
                _ preset: RegularizationPreset = .auto) -> RegularizationChoice {
        var c = TrainingConfiguration()
        c.timeLimit = minutes * 60
        c.epochs = epochs
        return RegularizationRule.choose(preset, corpusCharacters: characters, configuration: c) { speed }
    }

    func testTheMeasuredCorporaGetTheRecipeThatWonOnThem() {
        // Tiny-shakespeare's training split in ten minutes: strong won (1.4092 against 1.4637).
        let shakespeare = choose(characters: 1_003_857)
        XCTAssertEqual(shakespeare.preset, .strong)
        XCTAssertEqual(shakespeare.reason, "--regularization auto chose strong (dropout 0.2 with locked masks, input dropout 0.1, weight decay 0.1): the budget reads the training text 9.62 times, at least 5, fewer than 24")
        // The KJV's training split in ten minutes: light won (1.1630 against 1.1764).
        let kjv = choose(characters: 3_811_363)
        XCTAssertEqual(kjv.preset, .light)
        XCTAssertTrue(kjv.reason.hasSuffix("2.53 times, fewer than 5"), kjv.reason)
        // Tiny-shakespeare in an hour: heavy.
        let hour = choose(characters: 1_003_857, minutes: 60)
        XCTAssertEqual(hour.preset, .heavy)
        XCTAssertEqual(hour.reason, "--regularization auto chose heavy (dropout 0.4 with locked masks, input dropout 0.15, DropConnect 0.25, weight decay 0.1, cosine decay): the budget reads the training text 57.74 times, at least 24")
        // On a machine with AVX2 alone (2 x 512 at 5,700 characters a second) the same hour is 20 passes: strong.
        XCTAssertEqual(choose(characters: 1_003_857, minutes: 60, speed: 5_700).preset, .strong)
    }

    func testTheThresholdMovesWithTheBudgetAndTheTightestLimitCounts() {
        // At 10,000 characters a second, ten minutes are 6M characters.
        XCTAssertEqual(choose(characters: 1_200_000, speed: 10_000).preset, .strong, "exactly 5 passes")
        XCTAssertEqual(choose(characters: 1_200_001, speed: 10_000).preset, .light)
        XCTAssertEqual(choose(characters: 250_000, speed: 10_000).preset, .heavy, "exactly 24 passes")
        XCTAssertEqual(choose(characters: 250_001, speed: 10_000).preset, .strong)
        XCTAssertEqual(choose(characters: 4_000_000, minutes: 60, speed: 10_000).preset, .strong, "a longer budget")
        XCTAssertEqual(choose(characters: 1_003_857, speed: 5_000).preset, .light, "ten minutes of tiny-shakespeare on a slower machine: 2.99 passes")
        XCTAssertEqual(choose(characters: 100_000, minutes: 60, epochs: 4).preset, .light, "4 epochs, whatever the time")
        XCTAssertEqual(choose(characters: 100_000, minutes: 0, epochs: 5).preset, .strong)
        XCTAssertEqual(choose(characters: 100_000, minutes: 60, epochs: 23).preset, .strong, "23 epochs, whatever the time")
        XCTAssertEqual(choose(characters: 100_000, minutes: 0, epochs: 24).preset, .heavy)
    }

    func testAFixedRecipeIsKeptAndFlagsGivenOverrideItsParts() {
        for preset in [RegularizationPreset.off, .light, .strong, .heavy] {
            let choice = choose(characters: 1_000_000, preset)
            XCTAssertEqual(choice.preset, preset)
            XCTAssertEqual(choice.reason, "--regularization \(preset.rawValue) is \(preset.phrase)")
        }
        var c = TrainingConfiguration()
        choose(characters: 1, .strong).apply(to: &c)
        XCTAssertEqual([c.dropout, c.inputDropout], [0.2, 0.1])
        XCTAssertEqual(c.dropoutMasks, .window)
        XCTAssertEqual(c.weightDecay, 0.1, "strong's weight decay")
        c = TrainingConfiguration()
        c.dropout = 0.35
        c.weightDecay = 0.02
        choose(characters: 1, .strong).apply(to: &c, except: [TrainingSettings.dropout.name, TrainingSettings.weightDecay.name])
        XCTAssertEqual([c.dropout, c.inputDropout], [0.35, 0.1])
        XCTAssertEqual(c.dropoutMasks, .window)
        XCTAssertEqual(c.weightDecay, 0.02, "--weight-decay given overrides strong's")
        XCTAssertTrue(choose(characters: 1, .strong).parts.contains(TrainingSettings.weightDecay.name))
        XCTAssertEqual(RegularizationPreset.strong.phrase, "dropout 0.2 with locked masks, input dropout 0.1, weight decay 0.1")
        choose(characters: 1, .off).apply(to: &c)
        XCTAssertEqual([c.dropout, c.inputDropout], [0, 0])
        XCTAssertEqual(c.dropoutMasks, .step)
        // Embedding dropout is not a recipe's; weight decay is strong's and heavy's, the schedule heavy's alone.
        c.weightDrop = 0.3
        c.embeddingDropout = 0.05
        c.weightDecay = 0.1
        c.decay = .linear
        choose(characters: 1, .light).apply(to: &c)
        XCTAssertEqual([c.weightDrop, c.embeddingDropout], [0, 0.05])
        XCTAssertEqual(c.weightDecay, 0.1)
        XCTAssertEqual(c.decay, .linear)
        c.weightDecay = 0.03
        choose(characters: 1, .heavy).apply(to: &c)
        XCTAssertEqual([c.dropout, c.inputDropout, c.weightDrop, c.embeddingDropout], [0.4, 0.15, 0.25, 0.05])
        XCTAssertEqual(c.weightDecay, 0.1, "heavy sets the weight decay")
        XCTAssertEqual(c.dropoutMasks, .window)
        XCTAssertEqual(c.decay, .cosine)
        c.decay = .wsd
        c.weightDrop = 0.1
        c.weightDecay = 0.03
        choose(characters: 1, .heavy).apply(to: &c, except: [TrainingSettings.decay.name, TrainingSettings.weightDrop.name,
                                                              TrainingSettings.weightDecay.name])
        XCTAssertEqual(c.decay, .wsd)
        XCTAssertEqual(c.weightDrop, 0.1)
        XCTAssertEqual(c.weightDecay, 0.03, "--weight-decay given overrides heavy's")
        XCTAssertEqual(choose(characters: 1, .heavy).parts.count, 6)
        XCTAssertFalse(choose(characters: 1, .strong).parts.contains(TrainingSettings.decay.name))
        XCTAssertEqual(RegularizationPreset.off.phrase, "no dropout")
        XCTAssertEqual(RegularizationPreset.light.phrase, "dropout 0.1 with a mask per step")
    }

    func testLightIsWhatTheTableCallsTheDefaultsSoTheEngineTestsKeepTheirRuns() {
        let light = RegularizationPreset.light.values!
        let c = TrainingConfiguration()
        XCTAssertEqual(c.dropout, light.dropout)
        XCTAssertEqual(c.dropoutMasks, light.masks)
        XCTAssertEqual(c.inputDropout, light.inputDropout)
        XCTAssertEqual(c.weightDrop, light.weightDrop)
        XCTAssertNil(light.decay, "light leaves the default schedule")
        XCTAssertNil(light.weightDecay, "light leaves the weight decay as configured (0)")
    }
}
