import Quill
import XCTest

final class GraphemeStreamerTests: XCTestCase {
    /// Scalar offsets where Swift's forward segmentation of the whole text puts cluster boundaries.
    func boundaries(_ text: String) -> Set<Int> {
        var result: Set<Int> = [0]
        var offset = 0
        for character in text {
            offset += character.unicodeScalars.count
            result.insert(offset)
        }
        return result
    }

    /// Streams `text` scalar by scalar and checks every released piece ends on a cluster boundary of
    /// the whole text, and the pieces join to exactly the input scalars.
    func assertStreamsWholeClusters(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        var streamer = GraphemeStreamer()
        let allowed = boundaries(text)
        var pieces: [String] = []
        var offset = 0
        for scalar in text.unicodeScalars {
            let piece = streamer.append(scalar)
            if !piece.isEmpty {
                offset += piece.unicodeScalars.count
                pieces.append(piece)
                XCTAssertTrue(allowed.contains(offset), "piece \(piece.debugDescription) ends inside a cluster", file: file, line: line)
            }
        }
        let rest = streamer.finish()
        pieces.append(rest)
        XCTAssertEqual(streamer.pendingText.unicodeScalars.count, 0, file: file, line: line)
        // Compare scalars, not Strings: String equality is canonical equivalence and would hide a reordering.
        XCTAssertEqual(pieces.joined().unicodeScalars.map(\.value), text.unicodeScalars.map(\.value), file: file, line: line)
        // Each piece is itself whole clusters: re-segmenting the pieces gives the text's clusters.
        XCTAssertEqual(pieces.flatMap { Array($0) }.map(String.init), Array(text).map(String.init), file: file, line: line)
    }

    func testCombiningAccentIsHeldUntilTheNextBaseCharacter() {
        var streamer = GraphemeStreamer()
        XCTAssertEqual(streamer.append("e"), "")
        XCTAssertEqual(streamer.append("\u{301}"), "")
        let released = streamer.append("x")
        XCTAssertEqual(released.unicodeScalars.map(\.value), [0x65, 0x301])
        XCTAssertEqual(streamer.finish(), "x")
        assertStreamsWholeClusters("cafe\u{301} e\u{301}\u{302}\u{323}!")
    }

    func testEmojiZeroWidthJoinerSequenceIsOneCluster() {
        let family = "\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}"  // 👩‍👩‍👧
        var streamer = GraphemeStreamer()
        var released = ""
        for scalar in family.unicodeScalars { released += streamer.append(scalar) }
        XCTAssertEqual(released, "", "a family emoji was split")
        XCTAssertEqual(streamer.append("a"), family)
        assertStreamsWholeClusters("hi \(family)\(family) \u{1F44D}\u{1F3FD} ok")  // also a skin-tone modifier
    }

    func testRegionalIndicatorsPairIntoFlags() {
        // 🇺🇸 🇫🇷 then a lone 🇩: pairs form from the start of the run.
        let flags = "\u{1F1FA}\u{1F1F8}\u{1F1EB}\u{1F1F7}\u{1F1E9}"
        var streamer = GraphemeStreamer()
        var pieces: [String] = []
        for scalar in flags.unicodeScalars { pieces.append(streamer.append(scalar)) }
        pieces.append(streamer.finish())
        XCTAssertEqual(pieces.filter { !$0.isEmpty }, ["\u{1F1FA}\u{1F1F8}", "\u{1F1EB}\u{1F1F7}", "\u{1F1E9}"])
        assertStreamsWholeClusters(flags + "x" + flags)
    }

    func testHangulJamoAndCRLFAreSingleClusters() {
        // Conjoining jamo L V T make one syllable; CR LF is one cluster.
        assertStreamsWholeClusters("\u{1100}\u{1161}\u{11A8}\u{1100}\u{1161}\u{1103}")
        assertStreamsWholeClusters("a\r\nb\r\r\n\n")
        var streamer = GraphemeStreamer()
        XCTAssertEqual(streamer.append("\r"), "")
        XCTAssertEqual(streamer.append("\n"), "")
        XCTAssertEqual(streamer.append("z"), "\r\n")
    }

    func testIndicConjunctAndPrependAreWholeClusters() {
        assertStreamsWholeClusters("\u{915}\u{94D}\u{937}\u{93F} \u{915}\u{94D}\u{930}")  // Devanagari conjuncts
        assertStreamsWholeClusters("\u{600}\u{661}x")  // a prepended concatenation mark
    }

    func testRandomMixesOfTrickyScalarsStreamAsWholeClusters() {
        let pool: [UInt32] = [
            0x61, 0x65, 0x20, 0x0D, 0x0A, 0x301, 0x308, 0x200D, 0x1F469, 0x1F467, 0x1F3FD, 0x2764, 0xFE0F,
            0x1F1FA, 0x1F1F8, 0x1F1EB, 0x1100, 0x1161, 0x11A8, 0xAC00, 0x915, 0x94D, 0x937, 0x600, 0x200C,
        ]
        var random = QuillRandom(seed: 61)
        for _ in 0..<300 {
            let length = Int(random.next() % 24)
            var text = ""
            for _ in 0..<length { text.unicodeScalars.append(Unicode.Scalar(pool[Int(random.next() % UInt64(pool.count))])!) }
            assertStreamsWholeClusters(text)
        }
    }
}
