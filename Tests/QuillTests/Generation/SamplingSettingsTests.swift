import Quill
import XCTest

final class SamplingSettingsTests: XCTestCase {
    func assertThrows(_ expected: SamplingError, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            XCTAssertEqual(error as? SamplingError, expected, line: line)
            let text = String(describing: error)
            XCTAssertTrue(text.hasPrefix("The ") || text.hasPrefix("A "), text, line: line)
            XCTAssertTrue(text.hasSuffix("."), text, line: line)
            XCTAssertTrue(text.contains("try") || text.contains("use") || text.contains("give"), "no hint: \(text)", line: line)
        }
    }

    func testInvalidTemperaturesThrow() {
        for t: Float in [-0.1, -.infinity, .infinity] {
            assertThrows(.invalidTemperature(t)) { _ = try SamplingSettings(temperature: t) }
        }
        XCTAssertThrowsError(try SamplingSettings(temperature: .nan)) { error in
            guard case let .invalidTemperature(t)? = error as? SamplingError else { return XCTFail("\(error)") }
            XCTAssertTrue(t.isNaN)
        }
        XCTAssertTrue(String(describing: SamplingError.invalidTemperature(-0.5)).contains("-0.5"))
    }

    func testInvalidTopKThrows() {
        assertThrows(.invalidTopK(-1)) { _ = try SamplingSettings(topK: -1) }
        XCTAssertTrue(String(describing: SamplingError.invalidTopK(-3)).contains("-3"))
    }

    func testInvalidTopPThrows() {
        for p: Float in [0, -0.2, 1.0001, 2, .infinity] {
            assertThrows(.invalidTopP(p)) { _ = try SamplingSettings(topP: p) }
        }
        XCTAssertThrowsError(try SamplingSettings(topP: .nan))
        XCTAssertTrue(String(describing: SamplingError.invalidTopP(1.5)).contains("1.5"))
    }

    func testEdgeValuesAreAccepted() throws {
        let greedy = try SamplingSettings(temperature: 0, topK: 0, topP: 1)
        XCTAssertTrue(greedy.isGreedy)
        XCTAssertEqual(try SamplingSettings(temperature: 1e-30, topK: 1, topP: 1e-9).topK, 1)
        XCTAssertEqual(SamplingSettings.unchanged, try SamplingSettings())
        XCTAssertFalse(SamplingSettings.unchanged.isGreedy)
    }

    func testLengthAndSampleCountBounds() throws {
        for n in [0, -5, SamplingSettings.maximumLength + 1] {
            assertThrows(.invalidLength(n, maximum: SamplingSettings.maximumLength)) { try SamplingSettings.validateLength(n) }
        }
        try SamplingSettings.validateLength(1)
        try SamplingSettings.validateLength(SamplingSettings.maximumLength)
        for n in [0, -1, 4097] {
            assertThrows(.invalidSampleCount(n, maximum: 4096)) { try SamplingSettings.validateSampleCount(n) }
        }
        try SamplingSettings.validateSampleCount(1)
        try SamplingSettings.validateSampleCount(4096)
    }

    func testEmptyStopStringThrows() {
        assertThrows(.emptyStopString) { _ = try StopMatcher(stops: ["\n", ""]) }
        assertThrows(.emptyStopString) { _ = try GeneratedTextStream(stops: [""]) }
    }
}
