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
    }

    func testTheThresholdMovesWithTheBudgetAndTheTightestLimitCounts() {
        XCTAssertEqual(choose(characters: 2_000_000, minutes: 10).preset, .strong, "exactly 3 passes")
        XCTAssertEqual(choose(characters: 2_000_001, minutes: 10).preset, .light)
        XCTAssertEqual(choose(characters: 4_000_000, minutes: 60).preset, .strong, "a longer budget")
        XCTAssertEqual(choose(characters: 100_000, minutes: 60, epochs: 2).preset, .light, "2 epochs, whatever the time")
        XCTAssertEqual(choose(characters: 100_000, minutes: 0, epochs: 3).preset, .strong)
    }

    func testAFixedRecipeIsKeptAndFlagsGivenOverrideItsParts() {
        for preset in [RegularizationPreset.off, .light, .strong] {
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
        // The other regularizers are not the recipe's.
        c.weightDrop = 0.3
        choose(characters: 1, .light).apply(to: &c)
        XCTAssertEqual(c.weightDrop, 0.3)
        XCTAssertEqual(RegularizationPreset.off.phrase, "no dropout")
        XCTAssertEqual(RegularizationPreset.light.phrase, "dropout 0.1 with a mask per step")
    }

    func testLightIsWhatTheTableCallsTheDefaultsSoTheEngineTestsKeepTheirRuns() {
        let light = RegularizationPreset.light.values!
        let c = TrainingConfiguration()
        XCTAssertEqual(c.dropout, light.dropout)
        XCTAssertEqual(c.dropoutMasks, light.masks)
        XCTAssertEqual(c.inputDropout, light.inputDropout)
    }
}
