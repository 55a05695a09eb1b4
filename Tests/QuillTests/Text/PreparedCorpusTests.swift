import Foundation
import XCTest
@testable import Quill

/// `quill prepare`'s folder: shards, manifest and split against the in-memory encoder, and its refusals.
final class PreparedCorpusTests: XCTestCase {
    /// Text with documents separated by `%` lines, accented and combining characters, CRLF lines and blank-line runs.
    static func sampleText(lines: Int, seed: UInt64 = 7) -> String {
        var random = QuillRandom(seed: seed)
        let words = ["the", "king", "café", "cafe\u{301}", "naïve", "Ωμέγα", "한국어", "und", "Straße", "ﬁne", "LIGHT", "day"]
        var out = ""
        for line in 0..<lines {
            for _ in 0..<(2 + Int(random.next() % 6)) { out += words[Int(random.next() % UInt64(words.count))] + " " }
            out += line % 5 == 0 ? "\r\n" : "\n"
            if line % 9 == 8 { out += "%\n" }
            if line % 31 == 30 { out += "\n\n" }
        }
        return out
    }

    private func prepare(_ folder: TemporaryFolder, _ source: CorpusSource, text: TextOptions = TextOptions(),
                         fraction: Double = 0.1, maximum: Int = 1_000_000, shardTokens: Int = 257,
                         chunkSize: Int = 61) throws -> PreparedCorpus {
        let out = folder.url.appendingPathComponent("prepared-\(UUID().uuidString)")
        try PreparedCorpus.prepare(PrepareOptions(source: source, textOptions: text, validationFraction: fraction,
                                                  maximumValidationTokens: maximum, shardTokens: shardTokens, chunkSize: chunkSize),
                                   into: out)
        let corpus = try PreparedCorpus(folder: out)
        try corpus.verify()
        return corpus
    }

    private func allTokens(_ corpus: PreparedCorpus) throws -> [Int32] {
        var tokens = [Int32](repeating: -1, count: corpus.count)
        try tokens.withUnsafeMutableBufferPointer { try corpus.read(from: 0, into: $0) }
        return tokens
    }

    func testCRC32CGivesTheStandardCheckValuesWholeOrInPieces() {
        var check = CRC32C()
        check.update(Array("123456789".utf8))
        XCTAssertEqual(check.value, 0xE306_9283)
        // RFC 3720, appendix B.4.
        var zeros = CRC32C(), ones = CRC32C(), ascending = CRC32C()
        zeros.update([UInt8](repeating: 0, count: 32))
        ones.update([UInt8](repeating: 0xFF, count: 32))
        ascending.update((0..<32).map(UInt8.init))
        XCTAssertEqual(zeros.value, 0x8A91_36AA)
        XCTAssertEqual(ones.value, 0x62A8_AB43)
        XCTAssertEqual(ascending.value, 0x46DD_794E)
        XCTAssertEqual(ascending.hexDigits, "46dd794e")
        // Fed in uneven pieces, the same as at once.
        var random = QuillRandom(seed: 3)
        let bytes = (0..<1000).map { _ in UInt8(random.next() & 0xFF) }
        var whole = CRC32C(), pieces = CRC32C()
        whole.update(bytes)
        var start = 0
        for size in [1, 7, 8, 9, 100, 3, 500] {
            pieces.update(Array(bytes[start..<(start + size)]))
            start += size
        }
        pieces.update(Array(bytes[start...]))
        XCTAssertEqual(pieces.value, whole.value)
    }

    func testShardsHoldExactlyTheEncodersTokensForEveryDocumentRule() throws {
        let folder = try TemporaryFolder()
        let text = Self.sampleText(lines: 200)
        let file = try folder.write("corpus.txt", text)
        var jsonl = ""
        for (i, line) in text.split(separator: "\n").enumerated() where i % 3 == 0 {
            jsonl += "{\"id\": \(i), \"text\": \(JSONText.quoted(String(line)))}\n"
        }
        let jsonFile = try folder.write("corpus.jsonl", jsonl)
        try folder.write("docs/b.txt", "second ﬁle\n")
        try folder.write("docs/a.txt", "first file, café\n")
        let cases: [(CorpusSource, TextOptions)] = [
            (CorpusSource(paths: [file], documents: .separatorLine("%")), TextOptions()),
            (CorpusSource(paths: [file], documents: .separatorLine("")), TextOptions(form: .nfd)),
            (CorpusSource(paths: [file]), TextOptions(form: .nfkc, caseFold: true)),
            (CorpusSource(paths: [jsonFile], documents: .jsonLines(field: "text")), TextOptions()),
            (CorpusSource(paths: [folder.url.appendingPathComponent("docs"), file]), TextOptions()),
        ]
        for (source, options) in cases {
            let expected = try CorpusEncoder.encode(source, options: options, chunkSize: 53)
            let corpus = try prepare(folder, source, text: options)
            XCTAssertEqual(try allTokens(corpus), expected.tokens, "\(source.documents) \(options.summary)")
            XCTAssertEqual(corpus.vocabulary, expected.vocabulary)
            XCTAssertEqual(corpus.manifest.documentCount, expected.documentCount)
            XCTAssertEqual(corpus.manifest.characterCount, expected.characterCount)
            XCTAssertEqual(corpus.manifest.sourceBytes, expected.byteCount)
            XCTAssertEqual(corpus.textOptions, options)
        }
    }

    func testShardFilesAreLittleEndianIdsOfFixedSizeWithTheirChecksums() throws {
        let folder = try TemporaryFolder()
        let source = CorpusSource(paths: [try folder.write("c.txt", Self.sampleText(lines: 120))], documents: .separatorLine("%"))
        let expected = try CorpusEncoder.encode(source, options: TextOptions())
        let corpus = try prepare(folder, source, shardTokens: 300)
        let manifest = corpus.manifest
        XCTAssertEqual(manifest.format, "quill-prepared-corpus")
        XCTAssertEqual(manifest.version, 1)
        XCTAssertEqual(manifest.tokenBytes, 2)
        XCTAssertEqual(manifest.tokenCount, expected.tokens.count)
        XCTAssertEqual(manifest.vocabulary, expected.vocabulary.scalars.map(\.value))
        XCTAssertEqual(manifest.shards.count, (expected.tokens.count + 299) / 300)
        var decoded: [Int32] = []
        for (i, shard) in manifest.shards.enumerated() {
            XCTAssertEqual(shard.file, String(format: "shard-%05d.bin", i))
            XCTAssertEqual(shard.tokens, i < manifest.shards.count - 1 ? 300 : expected.tokens.count - 300 * i)
            let bytes = [UInt8](try Data(contentsOf: corpus.folder.appendingPathComponent(shard.file)))
            XCTAssertEqual(bytes.count, 2 * shard.tokens)
            var crc = CRC32C()
            crc.update(bytes)
            XCTAssertEqual(crc.hexDigits, shard.crc32c)
            for k in stride(from: 0, to: bytes.count, by: 2) { decoded.append(Int32(bytes[k]) | Int32(bytes[k + 1]) << 8) }
        }
        XCTAssertEqual(decoded, expected.tokens)
        // The manifest reads back, through the strict reader, as written.
        let data = try Data(contentsOf: corpus.folder.appendingPathComponent(PreparedCorpusManifest.fileName))
        XCTAssertEqual(try PreparedCorpusManifest.decode(data, path: "m"), manifest)
        // Nothing but the shards and the manifest, and no temporary folder beside it.
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus.folder.path).sorted()
        XCTAssertEqual(names, (manifest.shards.map(\.file) + [PreparedCorpusManifest.fileName]).sorted())
        let beside = try FileManager.default.contentsOfDirectory(atPath: folder.url.path)
        XCTAssertFalse(beside.contains { $0.hasPrefix(".") }, "\(beside)")
    }

    func testIdsTakeTwoBytesUpTo65536TokensAndFourBeyond() throws {
        // Hangul syllables, CJK ideographs and CJK extension B are NFC-stable, one scalar each.
        let scalars = (Array(0xAC00...0xD7A3) + Array(0x4E00...0x9FFF) + Array(0x20000...0x2A6DF)).map { Unicode.Scalar(UInt32($0))! }
        XCTAssertGreaterThan(scalars.count, 65_536)
        let folder = try TemporaryFolder()
        for distinct in [65_535, 65_536] {
            var text = String.UnicodeScalarView()
            for (i, s) in scalars.prefix(distinct).enumerated() {
                text.append(s)
                if i % 80 == 79 { text.append("\n") }
            }
            let source = CorpusSource(paths: [try folder.write("c\(distinct).txt", String(text))])
            let corpus = try prepare(folder, source, shardTokens: 10_000, chunkSize: 1 << 16)
            let expected = try CorpusEncoder.encode(source, options: TextOptions())
            // 65,535 scalars and a newline with [DOC] make 65,537 ids; drop the newline to reach 65,536.
            let ids = expected.vocabulary.count
            XCTAssertEqual(corpus.manifest.tokenBytes, ids <= 65_536 ? 2 : 4, "\(ids) ids")
            XCTAssertEqual(try allTokens(corpus), expected.tokens)
            let shard = corpus.folder.appendingPathComponent("shard-00000.bin")
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: shard.path)[.size] as? Int,
                           corpus.manifest.tokenBytes * 10_000)
        }
        // Exactly 65,536 ids: 65,535 scalars, no newline.
        let exact = String(String.UnicodeScalarView(scalars.prefix(65_535)))
        let corpus = try prepare(folder, CorpusSource(paths: [try folder.write("exact.txt", exact)]), shardTokens: 1 << 20, chunkSize: 1 << 16)
        XCTAssertEqual(corpus.vocabulary.count, 65_536)
        XCTAssertEqual(corpus.manifest.tokenBytes, 2)
        XCTAssertEqual(corpus.vocabulary.scalars.last?.value, 0x2_0000 + 65_535 - 11_172 - 20_992 - 1)
    }

    func testTheSplitIsTrainingSplitsAndTheCapHoldsItBack() throws {
        let folder = try TemporaryFolder()
        let source = CorpusSource(paths: [try folder.write("c.txt", Self.sampleText(lines: 300))], documents: .separatorLine("%"))
        let encoded = try CorpusEncoder.encode(source, options: TextOptions())
        for fraction in [0.1, 0.37] {
            let corpus = try prepare(folder, source, fraction: fraction)
            let split = try TrainingSplit.split(tokens: encoded.tokens, validationFraction: fraction)
            let data = try corpus.trainingData()
            var training = [Int32](repeating: 0, count: data.training.count)
            try training.withUnsafeMutableBufferPointer { try data.training.read(from: 0, into: $0) }
            XCTAssertEqual(training, split.training)
            XCTAssertEqual(data.validation, split.validation)
            XCTAssertEqual(data.fingerprint, Trainer.fingerprint(training: split.training, validation: split.validation,
                                                                 vocabulary: encoded.vocabulary))
            XCTAssertEqual(corpus.manifest.validation.fraction, fraction)
        }
        // Capped: the last 500 tokens, with a [DOC] in front as they start inside a document.
        let capped = try prepare(folder, source, maximum: 500)
        XCTAssertEqual(capped.manifest.validation.start, encoded.tokens.count - 500)
        XCTAssertEqual(capped.manifest.validation.count, 500)
        let tail = Array(encoded.tokens.suffix(500))
        XCTAssertEqual(try capped.validationTokens(), tail.first == 0 ? tail : [0] + tail)
        XCTAssertThrowsError(try prepare(folder, source, maximum: 1)) { XCTAssertTrue("\($0)".contains("cap on held-out tokens 1"), "\($0)") }
        XCTAssertThrowsError(try prepare(folder, CorpusSource(paths: [try folder.write("tiny.txt", "ab")]))) { error in
            guard case TrainingError.emptyValidationSplit = error else { return XCTFail("\(error)") }
        }
    }

    func testADamagedShardIsRefusedWithASentence() throws {
        let folder = try TemporaryFolder()
        let source = CorpusSource(paths: [try folder.write("c.txt", Self.sampleText(lines: 100))])
        let corpus = try prepare(folder, source, shardTokens: 400)
        let shard = corpus.folder.appendingPathComponent("shard-00001.bin")
        var bytes = [UInt8](try Data(contentsOf: shard))
        bytes[10] ^= 0x01
        try Data(bytes).write(to: shard)
        let reopened = try PreparedCorpus(folder: corpus.folder)
        XCTAssertThrowsError(try reopened.verify()) { error in
            guard case let PreparedCorpusError.checksumMismatch(path, found, recorded) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, shard.path)
            XCTAssertEqual(recorded, corpus.manifest.shards[1].crc32c)
            XCTAssertNotEqual(found, recorded)
            XCTAssertEqual("\(error)", "The shard \(shard.path) is damaged: its CRC-32C is \(found) but the manifest records \(recorded); prepare the corpus again.")
        }
        // Only the shards a range needs are checked: the validation split lies in the last ones.
        let split = corpus.manifest.validation
        XCTAssertNoThrow(try reopened.verify(covering: split.start..<(split.start + split.count)))

        // A shard cut short is found on opening, before any read.
        try Data(bytes.prefix(101)).write(to: shard)
        XCTAssertThrowsError(try PreparedCorpus(folder: corpus.folder)) { error in
            XCTAssertEqual(error as? PreparedCorpusError, .shardSize(path: shard.path, bytes: 101, expected: 800))
            XCTAssertTrue("\(error)".hasSuffix("prepare the corpus again."), "\(error)")
        }
        try FileManager.default.removeItem(at: shard)
        XCTAssertThrowsError(try PreparedCorpus(folder: corpus.folder)) { error in
            guard case PreparedCorpusError.unreadableShard = error else { return XCTFail("\(error)") }
        }
    }

    func testAnIdOutsideTheVocabularyIsRefusedEvenWithAMatchingChecksum() throws {
        let folder = try TemporaryFolder()
        let corpus = try prepare(folder, CorpusSource(paths: [try folder.write("c.txt", Self.sampleText(lines: 50))]), shardTokens: 1000)
        // Forge a shard with an id past the vocabulary and a manifest whose checksum agrees with it.
        let shard = corpus.folder.appendingPathComponent("shard-00000.bin")
        var bytes = [UInt8](try Data(contentsOf: shard))
        bytes[6] = 0xFF
        bytes[7] = 0x7F
        try Data(bytes).write(to: shard)
        var crc = CRC32C()
        crc.update(bytes)
        var manifest = corpus.manifest
        manifest.shards[0].crc32c = crc.hexDigits
        try manifest.encoded().write(to: corpus.folder.appendingPathComponent(PreparedCorpusManifest.fileName))
        let forged = try PreparedCorpus(folder: corpus.folder)
        XCTAssertThrowsError(try forged.verify()) { error in
            XCTAssertEqual(error as? PreparedCorpusError, .idOutOfRange(path: shard.path, id: 0x7FFF, vocabularySize: corpus.vocabulary.count))
        }
        // A read never hands such an id to the model either.
        var window = [Int32](repeating: 0, count: 8)
        XCTAssertThrowsError(try window.withUnsafeMutableBufferPointer { try forged.read(from: 0, into: $0) })
    }

    func testManifestsThatLieOrAreNotJSONAreRefused() throws {
        let folder = try TemporaryFolder()
        let corpus = try prepare(folder, CorpusSource(paths: [try folder.write("c.txt", Self.sampleText(lines: 40))]), shardTokens: 500)
        let text = String(decoding: try corpus.manifest.encoded(), as: UTF8.self)
        func refused(_ edit: (String) -> String, _ expected: String, line: UInt = #line) {
            XCTAssertThrowsError(try PreparedCorpusManifest.decode(Data(edit(text).utf8), path: "m.json"), line: line) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)", line: line)
                XCTAssertTrue("\(error)".hasPrefix("The manifest m.json "), "\(error)", line: line)
            }
        }
        refused({ $0.replacingOccurrences(of: "\"version\":1", with: "\"version\":2") }, "format version 2")
        refused({ $0.replacingOccurrences(of: "\"format\":\"quill-prepared-corpus\"", with: "\"format\":\"other\"") }, "not a Quill prepared corpus")
        refused({ "{\"format\":1,\"format\":2," + $0.dropFirst() }, "not valid JSON (duplicate key")
        refused({ String($0.dropLast(5)) }, "not valid JSON")
        refused({ $0.replacingOccurrences(of: "shard-00001.bin", with: "../x.bin") }, "shard 1 is named \"../x.bin\"")
        refused({ $0.replacingOccurrences(of: "\"token_bytes\":2", with: "\"token_bytes\":4") }, "\"token_bytes\" is 4")
        refused({ $0.replacingOccurrences(of: "\"shard_tokens\":500", with: "\"shard_tokens\":499") }, "does not fit \"shard_tokens\"")
        refused({ $0.replacingOccurrences(of: "\"shard_tokens\":500", with: "\"shard_tokens\":99999999999999999999") }, "\"shard_tokens\" is wrong")
        refused({ $0.replacingOccurrences(of: "\"shard_tokens\":500", with: "\"shard_tokens\":9007199254740993") }, "larger than 2^53")
        refused({ $0.replacingOccurrences(of: "\"document_count\":", with: "\"document_count\":1") }, "\"token_count\" is not")
        refused({ $0.replacingOccurrences(of: "\"vocabulary\":[10,", with: "\"vocabulary\":[55296,") }, "55296, which is not a Unicode scalar")
        refused({ $0.replacingOccurrences(of: "\"fingerprint\":", with: "\"fingerprint_\":") }, "it has no \"fingerprint\"")
        refused({ $0.replacingOccurrences(of: "\"normalization\":\"nfc\"", with: "\"normalization\":\"nfx\"") }, "\"normalization\" is wrong")
        XCTAssertThrowsError(try PreparedCorpus(folder: folder.url)) { error in
            XCTAssertEqual(error as? PreparedCorpusError, .notPrepared(folder: folder.url.path))
        }
    }

    func testAnInterruptedPrepareLeavesNoFolderThatLooksPrepared() throws {
        let folder = try TemporaryFolder()
        let source = CorpusSource(paths: [try folder.write("c.txt", Self.sampleText(lines: 200))])
        let out = folder.url.appendingPathComponent("out")
        // Stop in the second pass, with shards already written in the temporary folder.
        var polls = 0
        var sawShards = false
        var progressPass = 0
        XCTAssertThrowsError(try PreparedCorpus.prepare(
            PrepareOptions(source: source, shardTokens: 100, chunkSize: 64), into: out,
            progress: { progressPass = $0.pass },
            stopRequested: {
                polls += 1
                let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.url.path)) ?? []
                if let temporary = names.first(where: { $0.hasPrefix(".out.prepare-") }) {
                    let inside = (try? FileManager.default.contentsOfDirectory(atPath: folder.url.appendingPathComponent(temporary).path)) ?? []
                    if inside.contains("shard-00002.bin") { sawShards = true }
                }
                return progressPass == 2 && sawShards
            })) { error in
            XCTAssertEqual(error as? PreparedCorpusError, .interrupted)
        }
        XCTAssertTrue(sawShards)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).contains { $0.hasPrefix(".") })

        // What a killed run leaves: a hidden folder of shards with no manifest. It never counts as
        // prepared, and the next run removes it.
        let stale = folder.url.appendingPathComponent(".out.prepare-2147483600")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
        try Data([1, 2]).write(to: stale.appendingPathComponent("shard-00000.bin"))
        XCTAssertFalse(PreparedCorpus.isPrepared(stale))
        try PreparedCorpus.prepare(PrepareOptions(source: source), into: out)
        XCTAssertTrue(PreparedCorpus.isPrepared(out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
    }

    func testAnExistingOutputIsKeptUnlessItIsAPreparedCorpusToReplace() throws {
        let folder = try TemporaryFolder()
        let first = CorpusSource(paths: [try folder.write("a.txt", Self.sampleText(lines: 60, seed: 1))])
        let second = CorpusSource(paths: [try folder.write("b.txt", Self.sampleText(lines: 80, seed: 2))])
        let out = folder.url.appendingPathComponent("out")
        try folder.write("out/notes.txt", "mine")
        XCTAssertThrowsError(try PreparedCorpus.prepare(PrepareOptions(source: first), into: out)) { error in
            XCTAssertEqual(error as? PreparedCorpusError, .outputExists(path: out.path))
        }
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("notes.txt"), encoding: .utf8), "mine")
        try FileManager.default.removeItem(at: out)
        let old = try PreparedCorpus.prepare(PrepareOptions(source: first), into: out)
        XCTAssertThrowsError(try PreparedCorpus.prepare(PrepareOptions(source: second), into: out)) { error in
            XCTAssertEqual(error as? PreparedCorpusError, .alreadyPrepared(path: out.path))
        }
        XCTAssertEqual(try PreparedCorpus(folder: out).manifest, old)
        let new = try PreparedCorpus.prepare(PrepareOptions(source: second, replace: true), into: out)
        XCTAssertNotEqual(new.fingerprint, old.fingerprint)
        XCTAssertEqual(try PreparedCorpus(folder: out).manifest, new)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).contains { $0.hasPrefix(".") })
    }

    func testACorpusThatChangesBetweenThePassesIsRefused() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("c.txt", Self.sampleText(lines: 100))
        var appended = false
        XCTAssertThrowsError(try PreparedCorpus.prepare(
            PrepareOptions(source: CorpusSource(paths: [file]), chunkSize: 128), into: folder.url.appendingPathComponent("out"),
            progress: { p in
                guard p.pass == 1, p.bytes > p.totalBytes / 2, !appended else { return }
                appended = true
                let handle = try! FileHandle(forWritingTo: file)
                handle.seekToEndOfFile()
                handle.write(Data("more text appended while preparing\n".utf8))
                handle.closeFile()
            })) { error in
            XCTAssertEqual(error as? PreparedCorpusError, .corpusChanged(path: file.path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("out").path))
    }
}
