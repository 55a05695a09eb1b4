import XCTest
@testable import Quill

/// `--regularization auto`'s rule, the fixed recipes, and flags given overriding a recipe's parts.
final class RegularizationRuleTests: XCTestCase {
    func choose(characters: Int, minutes: Double = 10, epochs: Int = 0,
                _ preset: RegularizationPreset = .auto) -> RegularizationChoice {
        var c = TrainingConfiguration()
        c.timeLimit = minutes * 60
        c.epochs = epochs
        return RegularizationRule.choose(preset, corpusCharacters: characters, configuration: c)
    }

    func testTheMeasuredCorporaGetTheRecipeThatWonOnThem() {
        // Tiny-shakespeare's training split in ten minutes: strong won (1.4092 against 1.4637).
        let shakespeare = choose(characters: 1_003_857)
        XCTAssertEqual(shakespeare.preset, .strong)
        XCTAssertTrue(shakespeare.reason.hasPrefix("--regularization auto chose strong (dropout 0.2 with locked masks, input dropout 0.1): the budget reads the training text 5.98 times"), shakespeare.reason)
        // The KJV's training split in ten minutes: light won (1.1630 against 1.1764).
        let kjv = choose(characters: 3_811_363)
        XCTAssertEqual(kjv.preset, .light)
        XCTAssertTrue(kjv.reason.contains("1.57 times, fewer than 3"), kjv.reason)
        // Tiny-shakespeare in an hour: heavy.
        let hour = choose(characters: 1_003_857, minutes: 60)
        XCTAssertEqual(hour.preset, .heavy)
        XCTAssertEqual(hour.reason, "--regularization auto chose heavy (dropout 0.4 with locked masks, input dropout 0.15, DropConnect 0.25, cosine decay): the budget reads the training text 35.86 times, at least 15")
        XCTAssertTrue(shakespeare.reason.hasSuffix("5.98 times, at least 3, fewer than 15"), shakespeare.reason)
    }

    func testTheThresholdMovesWithTheBudgetAndTheTightestLimitCounts() {
        XCTAssertEqual(choose(characters: 2_000_000, minutes: 10).preset, .strong, "exactly 3 passes")
        XCTAssertEqual(choose(characters: 2_000_001, minutes: 10).preset, .light)
        XCTAssertEqual(choose(characters: 4_000_000, minutes: 60).preset, .strong, "a longer budget")
        XCTAssertEqual(choose(characters: 100_000, minutes: 60, epochs: 2).preset, .light, "2 epochs, whatever the time")
        XCTAssertEqual(choose(characters: 100_000, minutes: 0, epochs: 3).preset, .strong)
        XCTAssertEqual(choose(characters: 400_000, minutes: 10).preset, .heavy, "exactly 15 passes")
        XCTAssertEqual(choose(characters: 400_001, minutes: 10).preset, .strong)
        XCTAssertEqual(choose(characters: 100_000, minutes: 60, epochs: 14).preset, .strong, "14 epochs, whatever the time")
        XCTAssertEqual(choose(characters: 100_000, minutes: 0, epochs: 15).preset, .heavy)
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
        c = TrainingConfiguration()
        c.dropout = 0.35
        choose(characters: 1, .strong).apply(to: &c, except: [TrainingSettings.dropout.name])
        XCTAssertEqual([c.dropout, c.inputDropout], [0.35, 0.1])
        XCTAssertEqual(c.dropoutMasks, .window)
        choose(characters: 1, .off).apply(to: &c)
        XCTAssertEqual([c.dropout, c.inputDropout], [0, 0])
        XCTAssertEqual(c.dropoutMasks, .step)
        // Embedding dropout and weight decay are not a recipe's; the schedule is heavy's alone.
        c.weightDrop = 0.3
        c.embeddingDropout = 0.05
        c.weightDecay = 0.1
        c.decay = .linear
        choose(characters: 1, .light).apply(to: &c)
        XCTAssertEqual([c.weightDrop, c.embeddingDropout], [0, 0.05])
        XCTAssertEqual(c.weightDecay, 0.1)
        XCTAssertEqual(c.decay, .linear)
        choose(characters: 1, .heavy).apply(to: &c)
        XCTAssertEqual([c.dropout, c.inputDropout, c.weightDrop, c.embeddingDropout], [0.4, 0.15, 0.25, 0.05])
        XCTAssertEqual(c.dropoutMasks, .window)
        XCTAssertEqual(c.decay, .cosine)
        c.decay = .wsd
        c.weightDrop = 0.1
        choose(characters: 1, .heavy).apply(to: &c, except: [TrainingSettings.decay.name, TrainingSettings.weightDrop.name])
        XCTAssertEqual(c.decay, .wsd)
        XCTAssertEqual(c.weightDrop, 0.1)
        XCTAssertEqual(choose(characters: 1, .heavy).parts.count, 5)
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
    }
}
