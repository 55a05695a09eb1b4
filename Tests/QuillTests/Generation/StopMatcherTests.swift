import Quill
import XCTest

final class StopMatcherTests: XCTestCase {
    /// The scalar offsets (1-based ends) at which the matcher reports a match, and the lengths reported.
    func matches(_ stops: [String], in text: String) throws -> [(end: Int, length: Int)] {
        var matcher = try StopMatcher(stops: stops)
        var result: [(Int, Int)] = []
        for (i, scalar) in text.unicodeScalars.enumerated() {
            if let length = matcher.append(scalar) { result.append((i + 1, length)) }
        }
        return result
    }

    /// Every end offset where some stop string ends, found by brute force.
    func bruteForce(_ stops: [String], in text: String) -> [(end: Int, length: Int)] {
        let scalars = Array(text.unicodeScalars)
        var result: [(Int, Int)] = []
        for end in 1...max(scalars.count, 1) where end <= scalars.count {
            let lengths = stops.map { Array($0.unicodeScalars) }.filter { $0.count <= end && Array(scalars[(end - $0.count)..<end]) == $0 }.map(\.count)
            if let longest = lengths.max() { result.append((end, longest)) }
        }
        return result
    }

    func testMatchesAcrossScalarsWithOverlappingPrefixes() throws {
        // "aab" inside "aaab" needs the automaton to fall back, not restart.
        let found = try matches(["aab"], in: "xaaab")
        XCTAssertEqual(found.map(\.end), [5])
        XCTAssertEqual(try matches(["\n\n"], in: "a\nb\n\n\nc").map(\.end), [5, 6])
    }

    func testLongestStopStringIsReportedWhenSeveralEndTogether() throws {
        let found = try matches(["b", "ab", "xyz"], in: "cab")
        XCTAssertEqual(found.map(\.length), [2])
    }

    func testAgreesWithBruteForceOnRandomText() throws {
        var random = QuillRandom(seed: 71)
        let alphabet = Array("ab\u{301}\n".unicodeScalars)
        func randomString(_ n: Int) -> String {
            var s = ""
            for _ in 0..<n { s.unicodeScalars.append(alphabet[Int(random.next() % UInt64(alphabet.count))]) }
            return s
        }
        for _ in 0..<300 {
            let stops = (0..<(1 + Int(random.next() % 3))).map { _ in randomString(1 + Int(random.next() % 4)) }
            let text = randomString(Int(random.next() % 40))
            let got = try matches(stops, in: text)
            let want = bruteForce(stops, in: text)
            XCTAssertEqual(got.map(\.end), want.map(\.end), "\(stops) in \(text.debugDescription)")
            XCTAssertEqual(got.map(\.length), want.map(\.length))
        }
    }

    func testPartialMatchLengthTracksAPossibleStart() throws {
        var matcher = try StopMatcher(stops: ["END"])
        _ = matcher.append("x")
        XCTAssertEqual(matcher.partialMatchLength, 0)
        _ = matcher.append("E")
        XCTAssertEqual(matcher.partialMatchLength, 1)
        _ = matcher.append("N")
        XCTAssertEqual(matcher.partialMatchLength, 2)
        _ = matcher.append("x")
        XCTAssertEqual(matcher.partialMatchLength, 0)
        matcher.reset()
        XCTAssertEqual(matcher.partialMatchLength, 0)
    }

    // MARK: The generated text stream

    /// Streams text through a `GeneratedTextStream`, returning the pieces and whether it stopped.
    func stream(_ text: String, stops: [String]) throws -> (pieces: [String], stopped: Bool) {
        var stream = try GeneratedTextStream(stops: stops)
        var pieces: [String] = []
        for scalar in text.unicodeScalars {
            pieces.append(stream.append(scalar))
            if stream.stopped { return (pieces, true) }
        }
        pieces.append(stream.finish())
        return (pieces, false)
    }

    func testOutputEndsBeforeTheStopStringAndExcludesIt() throws {
        let (pieces, stopped) = try stream("Dear sir,\n\nthanks", stops: ["\n\n"])
        XCTAssertTrue(stopped)
        XCTAssertEqual(pieces.joined(), "Dear sir,")
        // A lone newline is held back only until the next scalar shows it is no stop string.
        let (other, otherStopped) = try stream("a\nb", stops: ["\n\n"])
        XCTAssertFalse(otherStopped)
        XCTAssertEqual(other.joined(), "a\nb")
        XCTAssertEqual(other, ["", "", "a\n", "b"], "the newline waits for the 'b', then both clusters go out")
    }

    func testStopStringSpanningAnEmojiClusterAndNoStop() throws {
        let family = "\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}"
        let (pieces, stopped) = try stream("x\u{E9}y\(family)zz", stops: ["\u{200D}\u{1F467}z"])
        XCTAssertTrue(stopped)
        XCTAssertEqual(pieces.joined().unicodeScalars.map(\.value), "x\u{E9}y\u{1F469}\u{200D}\u{1F469}".unicodeScalars.map(\.value))
        let (all, none) = try stream("x\(family)z", stops: [])
        XCTAssertFalse(none)
        XCTAssertEqual(all.joined(), "x\(family)z")
        XCTAssertTrue(all.allSatisfy { piece in piece.isEmpty || ["x", family, "z", "x" + family].contains(piece) }, "\(all)")
    }

    func testStreamAgreesWithCuttingAtTheFirstStopOnRandomText() throws {
        var random = QuillRandom(seed: 72)
        let alphabet = Array("ab.\n\u{1F1FA}\u{1F1F8}".unicodeScalars)
        for _ in 0..<300 {
            var text = ""
            for _ in 0..<Int(random.next() % 30) { text.unicodeScalars.append(alphabet[Int(random.next() % UInt64(alphabet.count))]) }
            let stops = ["\n.", "ba", "\u{1F1F8}\u{1F1FA}"]
            let (pieces, stopped) = try stream(text, stops: stops)
            // Reference: the first end offset where a stop ends, cut before the longest stop ending there.
            let scalars = Array(text.unicodeScalars)
            var expected = scalars
            var expectStop = false
            search: for end in 1...max(scalars.count, 1) where end <= scalars.count {
                for stop in stops.map({ Array($0.unicodeScalars) }).sorted(by: { $0.count > $1.count })
                where stop.count <= end && Array(scalars[(end - stop.count)..<end]) == stop {
                    expected = Array(scalars[..<(end - stop.count)])
                    expectStop = true
                    break search
                }
            }
            XCTAssertEqual(stopped, expectStop, text.debugDescription)
            XCTAssertEqual(pieces.joined().unicodeScalars.map(\.value), expected.map(\.value), text.debugDescription)
        }
    }
}
