import Foundation
import Quill
import XCTest

/// Fault matrix, family 8: paths and text that are not what they seem.
///
/// Paths whose bytes are not UTF-8 are found, read and written under their own bytes; a folder
/// never skips such a file; every message and `inspect` show raw bytes as `\xFF` and control
/// characters escaped, so neither a file name nor a model file can steer the terminal. Files that
/// are not what their name says (damaged models, text that is not UTF-8) are a sentence.
final class FaultMatrixPathTests: XCTestCase {
    private var model: String { TrainedModel.shared.model }

    // MARK: Helpers that work on bytes, independently of Quill's own path code

    /// `folder` + `/` + the raw bytes of a name.
    private func path(_ folder: URL, _ name: [UInt8]) -> [UInt8] { Array(folder.path.utf8) + [0x2F] + name }

    /// Writes `data` to a file whose path is exactly `path`.
    private func write(_ data: Data, to path: [UInt8]) throws {
        let fd = (path.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer {
            open($0.baseAddress!, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(fd) }
        _ = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    /// The names in a folder, as raw bytes.
    private func names(in folder: [UInt8]) -> [[UInt8]] {
        guard let dir = (folder.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer({ opendir($0.baseAddress!) }) else { return [] }
        defer { closedir(dir) }
        var out: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [0x2E] && name != [0x2E, 0x2E] { out.append(name) }
        }
        return out.sorted { $0.lexicographicallyPrecedes($1) }
    }

    private func run(_ arguments: [[UInt8]]) -> QuillBinary.Result {
        let result = RawQuill.run(arguments, timeout: 300)
        XCTAssertFalse(result.timedOut)
        return result.asResult
    }

    private let latin1Name: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".txt".utf8)  // "café.txt" in Latin-1

    // MARK: Paths kept as bytes

    func testACorpusFileNamedInLatin1IsRead() throws {
        let folder = TestCorpus.folder("fault-path")
        try write(Data("hello world\n".utf8), to: path(folder, latin1Name))
        let before = FileTreeSnapshot.take(folder)
        let result = run([RawQuill.arg("bench"), RawQuill.arg("tokenize"), path(folder, latin1Name)])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\"characters\":12"), result.stdout)
        assertUnchanged(folder, since: before)
    }

    func testAFolderReadsAFileWhoseNameIsNotUTF8InsteadOfSkippingIt() throws {
        let folder = TestCorpus.folder("fault-path")
        let corpus = folder.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        try "first\n".write(to: corpus.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        try write(Data("second\n".utf8), to: path(corpus, [0xFF, 0x2E, 0x74]))
        let result = try QuillBinary.run(["bench", "tokenize", corpus.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\"documents\":2"), "a file was skipped: \(result.stdout)")
        XCTAssertTrue(result.stdout.contains("\"characters\":13"), result.stdout)
    }

    func testAModelFileWhoseNameIsNotUTF8IsFoundBySampleEvalAndInspect() throws {
        let folder = TestCorpus.folder("fault-path")
        let name: [UInt8] = [0x6D, 0xFF] + Array(".safetensors".utf8)
        try write(try Data(contentsOf: URL(fileURLWithPath: model)), to: path(folder, name))
        let corpus = RawQuill.arg(TestCorpus.file(in: folder, characters: 300, name: "held.txt"))
        let before = FileTreeSnapshot.take(folder)
        let inspect = run([RawQuill.arg("inspect"), path(folder, name)])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("m\\xFF.safetensors"), "the name is not shown escaped: \(inspect.stdout)")
        let sample = run([RawQuill.arg("sample"), path(folder, name), RawQuill.arg("--length"), RawQuill.arg("20")])
        XCTAssertEqual(sample.status, 0, sample.stderr)
        let eval = run([RawQuill.arg("eval"), path(folder, name), corpus])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        assertUnchanged(folder, since: before)
    }

    func testAMissingPathIsNamedWithItsBytesEscaped() throws {
        let folder = TestCorpus.folder("fault-path")
        let missing = path(folder, [0x6E, 0x6F, 0xFF, 0xFE])
        let before = FileTreeSnapshot.take(folder)
        let sample = run([RawQuill.arg("sample"), missing])
        assertRefused(sample, status: 1, saying: "no\\xFF\\xFE does not exist")
        let eval = run([RawQuill.arg("eval"), RawQuill.arg(model), missing])
        assertRefused(eval, status: 1, saying: "no\\xFF\\xFE does not exist")
        XCTAssertFalse(sample.stderr.contains("\u{FFFD}"), sample.stderr)
        assertUnchanged(folder, since: before)
    }

    func testTrainWritesTheModelFolderUnderTheExactBytesGiven() throws {
        let folder = TestCorpus.folder("fault-path")
        let corpusName: [UInt8] = [0x63, 0xE9] + Array(".txt".utf8)
        try write(Data(TestCorpus.text(characters: 4_000).utf8), to: path(folder, corpusName))
        let outName: [UInt8] = [0x6F, 0x75, 0x74, 0xFF]
        let result = run([RawQuill.arg("train"), path(folder, corpusName), RawQuill.arg("--out"), path(folder, outName)]
                         + ["--doc-separator", "%", "--embed", "8", "--hidden", "16", "--layers", "1", "--batch", "4",
                            "--seq", "16", "--steps", "4", "--sample-length", "0"].map(RawQuill.arg))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("out\\xFF"), result.stdout)
        let listed = names(in: Array(folder.path.utf8))
        XCTAssertTrue(listed.contains(outName), "the folder was written under another name: \(listed)")
        XCTAssertFalse(listed.contains(Array("out\u{FFFD}".utf8)))
        XCTAssertEqual(names(in: path(folder, outName)).map { String(decoding: $0, as: UTF8.self) },
                       ["loss.svg", "metrics.jsonl", "model.safetensors", "training-state.safetensors"])
        // And the model there is read back by its bytes.
        let inspect = run([RawQuill.arg("inspect"), path(folder, outName)])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("info.corpus:"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("c\\xE9.txt"), inspect.stdout)
    }

    func testRelativePathsWorkInAFolderWhoseNameIsNotUTF8() throws {
        // Foundation's current directory is decoded lossily; Quill resolves relative paths against getcwd's bytes.
        let folder = TestCorpus.folder("fault-path")
        let inner = path(folder, [0x77, 0xFF])
        XCTAssertEqual((inner.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { mkdir($0.baseAddress!, 0o755) }, 0)
        try write(Data(TestCorpus.text(characters: 3_000).utf8), to: inner + Array("/corpus.txt".utf8))
        let script = "cd \"$(printf '%s/w\\377' \"$1\")\" && \"$0\" train corpus.txt --out m --doc-separator % --embed 8 "
            + "--hidden 16 --layers 1 --batch 4 --seq 16 --steps 3 --sample-length 0 && \"$0\" inspect m"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script, QuillBinary.url.path, folder.path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        XCTAssertTrue(stdout.contains("/w\\xFF/m/model.safetensors"), stdout)
        XCTAssertEqual(names(in: inner).map { String(decoding: $0, as: UTF8.self) }, ["corpus.txt", "m"])
    }

    func testAPromptOrSeparatorThatIsNotUTF8IsRefused() throws {
        let folder = TestCorpus.folder("fault-path")
        let corpus = RawQuill.arg(TestCorpus.file(in: folder, characters: 200))
        let before = FileTreeSnapshot.take(folder)
        let prompt = run([RawQuill.arg("sample"), RawQuill.arg(model), RawQuill.arg("--prompt"), [0x4B, 0xFF]])
        assertRefused(prompt, status: 1, saying: "The prompt 'K\\xFF' is not valid UTF-8")
        let stop = run([RawQuill.arg("sample"), RawQuill.arg(model), RawQuill.arg("--stop"), [0xC3]])
        assertRefused(stop, status: 1, saying: "is not valid UTF-8")
        let separator = run([RawQuill.arg("eval"), RawQuill.arg(model), corpus, RawQuill.arg("--doc-separator"), [0x25, 0xFF]])
        assertRefused(separator, status: 64, saying: "--doc-separator '%\\xFF' is not valid UTF-8")
        assertUnchanged(folder, since: before)
    }

    // MARK: Control characters never reach the terminal

    func testInspectEscapesControlCharactersInTheModelsMetadata() throws {
        let folder = TestCorpus.folder("fault-path")
        var file = try ModelFile.read(from: URL(fileURLWithPath: model))
        file.info["corpus"] = "poems\u{1B}[2J\u{1B}[H\rstep: 999999\nfake: line\u{9B}31m\u{202E}txt.exe"
        file.info["note\u{1B}]0;title\u{07}"] = "x"
        let url = folder.appendingPathComponent("hostile.safetensors")
        try file.write(to: url)
        let before = FileTreeSnapshot.take(folder)
        for json in [false, true] {
            let result = try QuillBinary.run(["inspect", url.path] + (json ? ["--json"] : []))
            XCTAssertEqual(result.status, 0, result.stderr)
            for bad: Unicode.Scalar in ["\u{1B}", "\r", "\u{07}", "\u{9B}", "\u{202E}"] {
                XCTAssertFalse(result.stdout.unicodeScalars.contains(bad), "U+\(String(bad.value, radix: 16)) reached stdout (json: \(json))")
            }
            if json {
                // Still the same text once parsed.
                let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
                let info = object?["info"] as? [String: String]
                XCTAssertEqual(info?["corpus"], file.info["corpus"])
            } else {
                XCTAssertTrue(result.stdout.contains("poems\\x1B[2J\\x1B[H\\rstep: 999999\\nfake: line\\u{9B}31m\\u{202E}txt.exe"),
                              result.stdout)
                XCTAssertEqual(result.stdout.split(separator: "\n").filter { $0.hasPrefix("step:") }.count, 1, "a faked line")
            }
        }
        assertUnchanged(folder, since: before)
    }

    func testMessagesEscapeControlCharactersInFileNames() throws {
        let folder = TestCorpus.folder("fault-path")
        let hostile = folder.appendingPathComponent("x\u{1B}[2J\u{1B}]0;pwned\u{07}\nError: fake.safetensors")
        let result = try QuillBinary.run(["inspect", hostile.path])
        assertRefused(result, status: 1, saying: "x\\x1B[2J\\x1B]0;pwned\\x07\\nError: fake.safetensors does not exist")
        XCTAssertFalse(result.stderr.contains("\u{1B}"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        // A corpus file's name in a message, and in train's output.
        let corpus = folder.appendingPathComponent("bad\u{1B}[31m.txt")
        try Data([0x61, 0xFF, 0x62, 0x0A]).write(to: corpus)
        let train = try QuillBinary.run(["train", corpus.path, "--out", folder.appendingPathComponent("m").path, "--steps", "1"])
        assertRefused(train, status: 1, saying: "bad\\x1B[31m.txt is not valid UTF-8 at byte offset 1 (bytes FF)")
        XCTAssertFalse(train.stderr.contains("\u{1B}") || train.stdout.contains("\u{1B}"), train.stderr)
    }

    // MARK: Files that are not what they seem (already handled; kept in the matrix)

    func testDamagedModelFilesAreASentence() throws {
        let folder = TestCorpus.folder("fault-path")
        let cases: [(String, String)] = [
            (try TrainedModel.truncatedCopy(in: folder), "truncated"),
            (try TrainedModel.randomBytes(in: folder), "random.safetensors"),
            (try TrainedModel.foreignSafeTensors(in: folder), "not a Quill model"),
            (folder.path, "holds no model.safetensors"),
            ("/dev/null", "not a regular file"),
        ]
        let before = FileTreeSnapshot.take(folder)
        for (path, phrase) in cases {
            for command in ["sample", "inspect"] {
                let result = try QuillBinary.run([command, path])
                assertRefused(result, status: 1, saying: phrase)
            }
        }
        assertUnchanged(folder, since: before)
    }

    func testTextThatIsNotStrictUTF8IsASentenceNamingTheOffset() throws {
        let folder = TestCorpus.folder("fault-path")
        let cases: [([UInt8], String)] = [
            ([0x61, 0x62, 0xC3, 0x28], "at byte offset 2 (bytes C3)"),       // a broken two-byte sequence
            ([0x61, 0xED, 0xA0, 0x80], "at byte offset 1"),                     // an encoded surrogate
            ([0x61, 0xC0, 0xAF], "at byte offset 1"),                           // an overlong slash
            ([0x61, 0x62, 0x63, 0xF4, 0x90, 0x80, 0x80], "at byte offset 3"),   // beyond U+10FFFF
        ]
        for (bytes, phrase) in cases {
            let file = folder.appendingPathComponent("bad.txt")
            try Data(bytes).write(to: file)
            let before = FileTreeSnapshot.take(folder)
            let result = try QuillBinary.run(["eval", model, file.path])
            assertRefused(result, status: 1, saying: phrase)
            assertUnchanged(folder, since: before)
        }
    }
}
