import Foundation
import XCTest

/// `quill bench tokenize` run as a user would: good corpora print a JSON line, bad ones a sentence.
final class TokenizerCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-tokenize-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func assertFailsWithSentence(_ arguments: [String], naming parts: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try QuillBinary.run(arguments)
        XCTAssertNotEqual(result.status, 0, file: file, line: line)
        for part in parts { XCTAssertTrue(result.stderr.contains(part), "stderr lacks '\(part)': \(result.stderr)", file: file, line: line) }
        for trace in ["Fatal error", "Stack dump", "Backtrace", "Current stack trace"] {
            XCTAssertFalse(result.stderr.contains(trace), "stderr holds a crash: \(result.stderr)", file: file, line: line)
        }
        XCTAssertTrue(result.stdout.isEmpty, "stdout: \(result.stdout)", file: file, line: line)
    }

    func testInvalidUTF8FileIsASentenceNamingTheFile() throws {
        let path = try write("latin1.txt", Array("caf".utf8) + [0xE9, 0x0A])
        try assertFailsWithSentence(["bench", "tokenize", path], naming: [path, "byte offset 3", "E9", "not valid UTF-8"])
    }

    func testBinaryAndMissingFilesAreSentences() throws {
        let binary = try write("image.bin", [0x89, 0x50, 0x4E, 0x47, 0x00, 0x00])
        try assertFailsWithSentence(["bench", "tokenize", binary], naming: [binary, "binary"])
        let missing = folder.appendingPathComponent("nope.txt").path
        try assertFailsWithSentence(["bench", "tokenize", missing], naming: [missing, "does not exist"])
        let jsonl = try write("d.jsonl", Array("{\"body\": 1}\n".utf8))
        try assertFailsWithSentence(["bench", "tokenize", jsonl, "--jsonl-field", "text"], naming: [jsonl, "Line 1", "\"text\""])
    }

    func testUnreadableFileIsASentence() throws {
        let path = try write("locked.txt", Array("secret".utf8))
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: path)
        let arguments = ["bench", "tokenize", path]
        guard getuid() == 0 else {
            return try assertFailsWithSentence(arguments, naming: [path, "cannot be read", "permission denied"])
        }
        // Root reads any file, so run the binary as the unprivileged user 'nobody' instead.
        let setpriv = "/usr/bin/setpriv"
        guard FileManager.default.isExecutableFile(atPath: setpriv) else {
            throw XCTSkip("Running as root without \(setpriv), so no unreadable file can be made.")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: setpriv)
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", QuillBinary.url.path] + arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(stderr.contains("\(path) cannot be read (permission denied)"), stderr)
    }

    func testSeparatorAndJSONLinesAreExclusive() throws {
        let path = try write("a.txt", Array("abc".utf8))
        try assertFailsWithSentence(["bench", "tokenize", path, "--doc-separator", "%", "--jsonl-field", "text"],
                                    naming: ["--doc-separator", "--jsonl-field"])
    }

    func testGoodCorpusPrintsOneJSONLine() throws {
        let path = try write("fortunes.txt", Array("one\n%\nCafe\u{0301}\n%\n".utf8))
        let result = try QuillBinary.run(["bench", "tokenize", path, "--doc-separator", "%", "--normalization", "nfd", "--case-fold"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let last = try XCTUnwrap(result.stdout.split(separator: "\n").last)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        XCTAssertEqual(json["mode"] as? String, "tokenize")
        XCTAssertEqual((json["documents"] as? NSNumber)?.intValue, 2)
        XCTAssertEqual((json["bytes"] as? NSNumber)?.intValue, 15)
        // "one\n" and "cafe\u{301}\n" (NFD, folded): 4 + 6 characters, 3 [DOC] tokens.
        XCTAssertEqual((json["characters"] as? NSNumber)?.intValue, 10)
        XCTAssertEqual((json["tokens"] as? NSNumber)?.intValue, 13)
        // [DOC], \n, a, c, e, f, n, o, U+0301
        XCTAssertEqual((json["vocab"] as? NSNumber)?.intValue, 9)
        for key in ["seconds", "mb_per_s", "peak_rss_mb"] { XCTAssertNotNil(json[key] as? NSNumber, key) }
    }
}
