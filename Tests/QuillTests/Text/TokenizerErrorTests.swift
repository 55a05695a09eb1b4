import Foundation
import XCTest
@testable import Quill

/// Each bad input becomes a `TokenizerError` naming the file and the problem.
final class TokenizerErrorTests: XCTestCase {
    func encode(_ paths: [URL], splitting: DocumentSplitting = .wholeFiles, chunkSize: Int = CorpusEncoder.defaultChunkSize) throws {
        _ = try CorpusEncoder.encode(CorpusSource(paths: paths, documents: splitting), options: TextOptions(), chunkSize: chunkSize)
    }

    func assertMessage(_ error: TokenizerError?, mentions parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        guard let error else { return XCTFail("no error", file: file, line: line) }
        let text = error.description
        for part in parts { XCTAssertTrue(text.contains(part), "'\(text)' lacks '\(part)'", file: file, line: line) }
        XCTAssertTrue(text.hasSuffix("."), "not a sentence: \(text)", file: file, line: line)
        XCTAssertTrue(text.contains(";"), "no hint: \(text)", file: file, line: line)
    }

    func testInvalidUTF8NamesFileOffsetAndBytes() throws {
        let folder = try TemporaryFolder()
        let cases: [([UInt8], Int, [UInt8])] = [
            (Array("abc".utf8) + [0xC0, 0xAF] + Array("z".utf8), 3, [0xC0]),           // overlong '/'
            (Array("ab".utf8) + [0xE0, 0x80, 0xAF], 2, [0xE0, 0x80]),                  // overlong three-byte form
            (Array("x".utf8) + [0xED, 0xA0, 0x80], 1, [0xED, 0xA0]),                   // surrogate U+D800
            ([0xF4, 0x90, 0x80, 0x80], 0, [0xF4, 0x90]),                               // above U+10FFFF
            (Array("é".utf8) + [0xE2, 0x82] + Array(" end".utf8), 2, [0xE2, 0x82]),       // truncated before ASCII
            (Array("é".utf8) + [0xF0, 0x9F, 0x98], 2, [0xF0, 0x9F, 0x98]),             // truncated at the end
            ([0x61, 0x80, 0x62], 1, [0x80]),                                           // stray continuation byte
            ([0x61, 0xFE], 1, [0xFE]),
        ]
        for (index, (bytes, offset, bad)) in cases.enumerated() {
            let file = try folder.write("bad\(index).txt", bytes)
            for chunkSize in [4, 5, CorpusEncoder.defaultChunkSize] {
                let error = tokenizerError { try self.encode([file], chunkSize: chunkSize) }
                XCTAssertEqual(error, .invalidUTF8(file: file.path, offset: offset, bytes: bad), "case \(index) chunk \(chunkSize)")
            }
            let hex = bad.map { String(format: "%02X", $0) }.joined(separator: " ")
            assertMessage(tokenizerError { try self.encode([file]) }, mentions: [file.path, "offset \(offset)", hex, "UTF-8"])
        }
        // Offsets count from the file start, past earlier chunks.
        let late = try folder.write("late.txt", Array(String(repeating: "é a", count: 1000).utf8) + [0xFF])
        XCTAssertEqual(tokenizerError { try self.encode([late], chunkSize: 64) }, .invalidUTF8(file: late.path, offset: 4000, bytes: [0xFF]))
    }

    func testMissingPath() {
        let path = "/nonexistent/quill/corpus.txt"
        let error = tokenizerError { try self.encode([URL(fileURLWithPath: path)]) }
        XCTAssertEqual(error, .missingPath(path))
        assertMessage(error, mentions: [path, "does not exist"])
    }

    func testUnreadablePath() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("locked.txt", "secret")
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: file.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path) }
        if getuid() == 0 {
            throw XCTSkip("Running as root, which reads files whatever their permissions; the unreadable-file error cannot be provoked.")
        }
        let error = tokenizerError { try self.encode([file]) }
        XCTAssertEqual(error, .unreadablePath(file.path, reason: "permission denied"))
        assertMessage(error, mentions: [file.path, "cannot be read"])
    }

    func testFolderWithoutTextFiles() throws {
        let folder = try TemporaryFolder()
        try folder.write(".hidden", "not counted")
        try FileManager.default.createDirectory(at: folder.url.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let error = tokenizerError { try self.encode([folder.url]) }
        XCTAssertEqual(error, .noTextFiles(directory: folder.url.path))
        assertMessage(error, mentions: [folder.url.path, "no text files"])
    }

    func testEmptyCorpus() throws {
        let folder = try TemporaryFolder()
        let a = try folder.write("a.txt", "")
        let b = try folder.write("b.txt", [0xEF, 0xBB, 0xBF])
        let error = tokenizerError { try self.encode([a, b]) }
        XCTAssertEqual(error, .emptyCorpus(paths: [a.path, b.path]))
        assertMessage(error, mentions: [a.path, "no text"])
    }

    func testCorpusOfOnlySeparators() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("seps.txt", "%\n%\r\n\n%")
        let error = tokenizerError { try self.encode([file], splitting: .separatorLine("%")) }
        XCTAssertEqual(error, .onlySeparators(paths: [file.path], separator: "%"))
        assertMessage(error, mentions: [file.path, "'%'"])
        let blank = try folder.write("blank.txt", "\n \n\t\n")
        assertMessage(tokenizerError { try self.encode([blank], splitting: .separatorLine("")) }, mentions: [blank.path, "blank lines"])
    }

    func testJSONLinesErrorsNameFileAndLine() throws {
        let folder = try TemporaryFolder()
        let notJSON = try folder.write("a.jsonl", "{\"text\": \"ok\"}\n\n{text: nope}\n")
        let error = tokenizerError { try self.encode([notJSON], splitting: .jsonLines(field: "text")) }
        XCTAssertEqual(error, .jsonLineInvalid(file: notJSON.path, line: 3, column: 2, reason: "expected a string key"))
        assertMessage(error, mentions: [notJSON.path, "Line 3", "not valid JSON", "byte 2"])
        let array = try folder.write("b.jsonl", "[\"text\"]\n")
        XCTAssertEqual(tokenizerError { try self.encode([array], splitting: .jsonLines(field: "text")) },
                       .jsonLineNotJSON(file: array.path, line: 1))
        let missing = try folder.write("c.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"x\"}\n")
        let missingError = tokenizerError { try self.encode([missing], splitting: .jsonLines(field: "text")) }
        XCTAssertEqual(missingError, .jsonLineMissingField(file: missing.path, line: 2, field: "text"))
        assertMessage(missingError, mentions: [missing.path, "Line 2", "\"text\""])
        for (index, value) in ["3", "null", "[\"a\"]", "true", "{\"a\": \"b\"}"].enumerated() {
            let file = try folder.write("d\(index).jsonl", "{\"text\": \(value)}")
            let error = tokenizerError { try self.encode([file], splitting: .jsonLines(field: "text")) }
            XCTAssertEqual(error, .jsonLineFieldNotString(file: file.path, line: 1, field: "text"), value)
            assertMessage(error, mentions: [file.path, "not a string"])
        }
        let badUTF8 = try folder.write("e.jsonl", Array("{\"text\": \"ok\"}\n{\"text\": \"".utf8) + [0xC3, 0x28] + Array("\"}".utf8))
        XCTAssertEqual(tokenizerError { try self.encode([badUTF8], splitting: .jsonLines(field: "text")) },
                       .invalidUTF8(file: badUTF8.path, offset: 25, bytes: [0xC3, 0x28]))
    }

    func testJSONLinesAreReadStrictlyWithTheReasonAndLine() throws {
        let folder = try TemporaryFolder()
        let cases: [(line: String, column: Int, reason: String)] = [
            (#"{"text": "x",}"#, 14, "a trailing comma before '}'"),
            (#"{"text": "x", "tags": ["a",]}"#, 28, "a trailing comma before ']'"),
            (#"{"id": "\ud800", "text": "x"}"#, 15, "a lone surrogate escape"),
            (#"{"score": 1e999999, "text": "x"}"#, 11, "the number 1e999999 is too large for a 64-bit float"),
            (#"{"text": "x", "text": "y"}"#, 15, "duplicate key \"text\""),
            (#"{"text": "x"} {"text": "y"}"#, 15, "unexpected text after the JSON value"),
        ]
        for (index, item) in cases.enumerated() {
            let file = try folder.write("s\(index).jsonl", "{\"text\": \"ok\"}\n" + item.line + "\n")
            let error = tokenizerError { try self.encode([file], splitting: .jsonLines(field: "text")) }
            XCTAssertEqual(error, .jsonLineInvalid(file: file.path, line: 2, column: item.column, reason: item.reason), item.line)
            assertMessage(error, mentions: [file.path, "Line 2", item.reason])
        }
        // Well-formed JSON in other fields is let be, whatever it holds.
        let fine = try folder.write("fine.jsonl", #"{"score": 1e300, "meta": {"a": [null, true, "\ud83d\ude00"]}, "text": "x\u00e9"}"# + "\n")
        XCTAssertNoThrow(try encode([fine], splitting: .jsonLines(field: "text")))
    }

    func testBinaryFiles() throws {
        let folder = try TemporaryFolder()
        let nul = try folder.write("nul.bin", Array("hello".utf8) + [0] + Array("world".utf8))
        let error = tokenizerError { try self.encode([nul]) }
        XCTAssertEqual(error, .binaryFile(file: nul.path))
        assertMessage(error, mentions: [nul.path, "binary"])
        let controls = try folder.write("ctl.bin", (0..<200).map { UInt8($0 % 2 == 0 ? 0x01 : 0x41) })
        XCTAssertEqual(tokenizerError { try self.encode([controls]) }, .binaryFile(file: controls.path))
        // A NUL far into a file, past the first chunk, is found too.
        let late = try folder.write("late.bin", Array(repeating: 0x61, count: 5000) + [0])
        XCTAssertEqual(tokenizerError { try self.encode([late], chunkSize: 1024) }, .binaryFile(file: late.path))
        // Tabs, line breaks and form feeds are text.
        let text = try folder.write("ok.txt", "a\tb\r\n\u{0C}c\n")
        XCTAssertNoThrow(try encode([text]))
    }
}
