import XCTest
@testable import Quill

/// The default interval between evaluations: about ten times the validation split of training, in bounds.
final class EvaluationIntervalTests: XCTestCase {
    func testTheIntervalFollowsTheValidationSplitWithinItsBounds() {
        // tiny-shakespeare's split at 32 x 64: 10 x 111,540 / 2,048 = 544.6 steps, rounded to 550.
        let shakespeare = EvaluationInterval.choose(validationCharacters: 111_540, charactersPerStep: 2048)
        XCTAssertEqual(shakespeare.steps, 550)
        XCTAssertEqual(shakespeare.reason, "every 550 steps, about 10 times the 111540 validation characters of training; --eval-every sets it")
        // A 105 KB corpus: 10 x 10,500 / 2,048 = 51 steps, about one epoch of 46.
        XCTAssertEqual(EvaluationInterval.choose(validationCharacters: 10_500, charactersPerStep: 2048).steps, 50)
        // The bounds: a 13.7 MB corpus's split would give 6,650 steps; a tiny one under 50.
        let large = EvaluationInterval.choose(validationCharacters: 1_362_528, charactersPerStep: 2048)
        XCTAssertEqual(large.steps, 2000)
        XCTAssertTrue(large.reason.contains("(6653 steps, kept within 50 to 2000)"), large.reason)
        XCTAssertEqual(EvaluationInterval.choose(validationCharacters: 100, charactersPerStep: 16).steps, 50)
        XCTAssertEqual(EvaluationInterval.choose(validationCharacters: 2, charactersPerStep: 1).steps, 50)
        // Rounded to a multiple of 50: 10 x 2,000 / 16 = 1,250.
        XCTAssertEqual(EvaluationInterval.choose(validationCharacters: 2_000, charactersPerStep: 16).steps, 1250)
    }
}
