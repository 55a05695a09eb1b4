import Foundation
@testable import Quill
import XCTest

/// Paths as bytes in strings (`SystemPath`) and text made safe to show (`SafeText`).
final class SystemPathTests: XCTestCase {
    func testValidUTF8DecodesAsTheTextItIs() {
        for text in ["plain.txt", "café/naïve", "日本語.txt", "emoji 😀", ""] {
            XCTAssertEqual(SystemPath.string(fromBytes: Array(text.utf8)), text)
            XCTAssertEqual(SystemPath.bytes(of: text), Array(text.utf8))
            XCTAssertFalse(SystemPath.holdsRawBytes(text))
        }
    }

    func testEveryByteStringSurvivesTheRoundTrip() {
        var random = QuillRandom(seed: 5)
        // Bytes drawn mostly from the troublesome ranges: continuation bytes, lead bytes, F4 8F (the escape range's own UTF-8).
        let alphabet: [UInt8] = [0x61, 0x2F, 0x80, 0xBF, 0xC0, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xED, 0xA0, 0xF0, 0xF4, 0x8F, 0xBE, 0xFF]
        for _ in 0..<2000 {
            let count = Int(random.nextUnitDouble() * 12)
            let bytes = (0..<count).map { _ in alphabet[Int(random.nextUnitDouble() * Double(alphabet.count)) % alphabet.count] }
            XCTAssertEqual(SystemPath.bytes(of: SystemPath.string(fromBytes: bytes)), bytes, "\(bytes)")
        }
    }

    func testInvalidBytesAndTheEscapeRangeItselfAreKeptAsBytes() {
        let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xE9]
        let decoded = SystemPath.string(fromBytes: latin1)
        XCTAssertEqual(decoded.unicodeScalars.map(\.value), [0x63, 0x61, 0x66, 0x10FFE9])
        XCTAssertTrue(SystemPath.holdsRawBytes(decoded))
        XCTAssertNil(SystemPath.text(of: decoded))
        XCTAssertEqual(SystemPath.display(decoded), "caf\\xE9")
        // A name that really holds U+10FFFF (valid UTF-8 F4 8F BF BF) stays those four bytes, and is still that text.
        let literal = Array("a\u{10FFFF}".utf8)
        let kept = SystemPath.string(fromBytes: literal)
        XCTAssertEqual(SystemPath.bytes(of: kept), literal)
        XCTAssertEqual(SystemPath.text(of: kept), "a\u{10FFFF}")
    }

    func testWithPlatformStringPassesTheExactBytes() {
        let bytes: [UInt8] = [0x2F, 0x74, 0xFF, 0x80, 0x2E, 0x74]
        let seen = SystemPath.withPlatformString(SystemPath.string(fromBytes: bytes)) { pointer in
            Array(UnsafeBufferPointer(start: pointer, count: strlen(pointer))).map { UInt8(bitPattern: $0) }
        }
        XCTAssertEqual(seen, bytes)
    }

    func testSafeTextEscapesWhatCouldSteerATerminal() {
        XCTAssertEqual(SafeText.escaping("a\u{1B}[2Jb\rc\nd\te\u{7F}", keepLineBreaks: false), "a\\x1B[2Jb\\rc\\nd\\te\\x7F")
        XCTAssertEqual(SafeText.escaping("one\ntwo\u{1B}", keepLineBreaks: true), "one\ntwo\\x1B")
        XCTAssertEqual(SafeText.escaping("x\u{9B}y\u{202E}z", keepLineBreaks: false), "x\\u{9B}y\\u{202E}z")
        XCTAssertEqual(SafeText.escaping("café 😀 naïve", keepLineBreaks: false), "café 😀 naïve")
    }

    func testSafeJSONKeepsTheDocumentsMeaning() throws {
        let value = "a\u{9B}b\u{202E}c\u{7F}d😀"
        let data = try JSONSerialization.data(withJSONObject: ["k": value])
        let safe = SafeText.escapingJSON(String(decoding: data, as: UTF8.self))
        XCTAssertFalse(safe.unicodeScalars.contains { $0.value == 0x9B || $0.value == 0x202E || $0.value == 0x7F })
        let parsed = try JSONSerialization.jsonObject(with: Data(safe.utf8)) as? [String: String]
        XCTAssertEqual(parsed?["k"], value)
    }

    func testFileSystemListsAndCreatesByBytes() throws {
        let root = try ModelFileFixtures.temporaryFolder()
        let name = SystemPath.string(fromBytes: [0x64, 0xFF])
        let folder = FileSystem.join(root.path, name)
        try FileSystem.createDirectory(FileSystem.join(folder, "inner"))
        XCTAssertEqual(FileSystem.kind(of: folder), .directory)
        XCTAssertEqual(try FileSystem.entries(of: root.path), [name])
        XCTAssertTrue(FileSystem.createFile(FileSystem.join(folder, "f"), bytes: [1, 2, 3]))
        XCTAssertEqual(FileSystem.size(of: FileSystem.join(folder, "f")), 3)
        XCTAssertThrowsError(try FileSystem.createDirectory(FileSystem.join(FileSystem.join(folder, "f"), "sub")))
    }
}
