import Foundation
@testable import Quill
import XCTest

/// The strict decoder against Foundation's encoder: what Quill writes reads back bit for bit, and
/// what does not fit a field is refused.
final class StrictJSONDecoderTests: XCTestCase {
    private struct Sample: Codable, Equatable {
        var f: [Float]
        var d: [Double]
        var i: Int
        var u: UInt64
        var s: String
        var b: Bool
        var o: Int?
        var n: Double?
        var nested: [String: [UInt32]]
    }

    func testWhatQuillWritesReadsBackBitForBit() throws {
        var random = QuillRandom(seed: 5)
        let floats = (0..<200).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: random.next()) & 0x7F7F_FFFF) }
        let doubles = (0..<200).map { _ in Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF) }
        let sample = Sample(f: floats + [0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude], d: doubles + [.leastNonzeroMagnitude, 0.1],
                            i: Int.min, u: UInt64.max, s: "é\"\\\u{1}😀/", b: true, o: nil, n: 2.5, nested: ["a": [0, 0x10FFFF]])
        let text = try JSONOutput.line(sample)
        let back = try StrictJSONDecoder().decode(Sample.self, from: Array(text.utf8))
        XCTAssertEqual(back.f.map(\.bitPattern), sample.f.map(\.bitPattern))
        XCTAssertEqual(back.d.map(\.bitPattern), sample.d.map(\.bitPattern))
        XCTAssertEqual(back, sample)

        var configuration = TrainingConfiguration()
        configuration.learningRate = 0.0013
        configuration.seed = UInt64.max - 3
        let saved = try JSONOutput.line(configuration)
        XCTAssertEqual(try StrictJSONDecoder().decode(TrainingConfiguration.self, from: Array(saved.utf8)), configuration)
    }

    func testValuesThatDoNotFitAreRefused() {
        struct Whole: Decodable { var n: Int }
        struct Small: Decodable { var n: UInt8 }
        struct Single: Decodable { var x: Float }
        for text in [#"{"n": 1.5}"#, #"{"n": 1e3}"#, #"{"n": 9223372036854775808}"#, #"{"n": "1"}"#, #"{}"#, #"{"n": null}"#] {
            XCTAssertThrowsError(try StrictJSONDecoder().decode(Whole.self, from: Array(text.utf8)), text)
        }
        XCTAssertThrowsError(try StrictJSONDecoder().decode(Small.self, from: Array(#"{"n": 256}"#.utf8)))
        XCTAssertThrowsError(try StrictJSONDecoder().decode(Single.self, from: Array(#"{"x": 1e39}"#.utf8)), "beyond Float")
        XCTAssertThrowsError(try StrictJSONDecoder().decode(Whole.self, from: Array(#"{"n": 1,}"#.utf8)))
        XCTAssertEqual(try StrictJSONDecoder().decode(Whole.self, from: Array(#" {"n": -7} "#.utf8)).n, -7)
    }
}
