import Foundation
import XCTest
@testable import Quill

final class CorpusEncoderTests: XCTestCase {
    /// Text full of characters with canonical equivalents: precomposed letters, stacked marks, Hangul, singletons.
    static let sample = """
    Café naïve coöperate — Ångström Ω (ohm sign \u{2126}) K (kelvin \u{212A}).
    Vietnamese: Tiếng Việt có dấu ệ ở ữ; stacked q\u{0307}\u{0323} and s\u{0323}\u{0307} a\u{0328}\u{0301}.
    한국어 텍스트: 훈민정음 각 갃 (jamo \u{1100}\u{1161}\u{11A8}).
    Greek ᾅ ῷ ΐ, Devanagari क़ ज़, Hebrew שׁ, emoji 👩‍👩‍👧 and e\u{0301}\u{0302}\u{0301}.

    """

    func encode(_ paths: [URL], _ form: NormalizationForm = .nfc, caseFold: Bool = false,
                splitting: DocumentSplitting = .wholeFiles, chunkSize: Int = CorpusEncoder.defaultChunkSize) throws -> EncodedCorpus {
        try CorpusEncoder.encode(CorpusSource(paths: paths, documents: splitting),
                                 options: TextOptions(form: form, caseFold: caseFold), chunkSize: chunkSize)
    }

    func testCanonicallyEquivalentCorporaGiveIdenticalTokensAndVocabulary() throws {
        let folder = try TemporaryFolder()
        // Foundation's own normalization is the independent reference for the two forms.
        let nfc = Self.sample.precomposedStringWithCanonicalMapping
        let nfd = Self.sample.decomposedStringWithCanonicalMapping
        XCTAssertNotEqual(Array(nfc.utf8), Array(nfd.utf8))
        let nfcLines = nfc.split(separator: "\n", omittingEmptySubsequences: false)
        let nfdLines = nfd.split(separator: "\n", omittingEmptySubsequences: false)
        let mixed = zip(nfcLines, nfdLines).enumerated().map { $0.offset % 2 == 0 ? String($0.element.0) : String($0.element.1) }
            .joined(separator: "\n")
        let files = [try folder.write("nfc.txt", nfc), try folder.write("nfd.txt", nfd), try folder.write("mixed.txt", mixed),
                     try folder.write("original.txt", Self.sample)]
        for (form, reference) in [(NormalizationForm.nfc, nfc), (.nfd, nfd)] {
            let encoded = try files.map { try encode([$0], form) }
            for other in encoded.dropFirst() {
                XCTAssertEqual(other.tokens, encoded[0].tokens, "\(form)")
                XCTAssertEqual(other.vocabulary, encoded[0].vocabulary, "\(form)")
            }
            XCTAssertEqual(encoded[0].documents(), [reference], "\(form) differs from Foundation's normalization")
            XCTAssertEqual(encoded[0].vocabulary.scalars, Set(reference.unicodeScalars).sorted { $0.value < $1.value })
        }
    }

    func testChunkCutsAroundCombiningSequencesAndHangulChangeNothing() throws {
        let folder = try TemporaryFolder()
        // Sequences that reorder and compose, right next to ASCII, plus a long stretch without ASCII.
        let text = "ae\u{0301}\u{0323}x\u{0323}\u{0301}A\u{030A}\u{1100}\u{1161}\u{11A8}\u{1100}\u{1161}b\u{0308}"
            + "\u{AC00}\u{11A8}<\u{0338}=\u{0338}" + String(repeating: "\u{1112}\u{1161}\u{11AB}e\u{0301}", count: 5)
            + "\u{0958}\u{0301}\u{05E9}\u{05C1}\u{05BC}z\n"
        let file = try folder.write("cuts.txt", String(repeating: text, count: 3))
        for form in NormalizationForm.allCases {
            for caseFold in form == .nfkc ? [false, true] : [false] {
                let whole = try encode([file], form, caseFold: caseFold)
                for chunkSize in 4...36 {
                    let cut = try encode([file], form, caseFold: caseFold, chunkSize: chunkSize)
                    XCTAssertEqual(cut.tokens, whole.tokens, "\(form) casefold \(caseFold) chunk \(chunkSize)")
                    XCTAssertEqual(cut.vocabulary, whole.vocabulary)
                }
            }
        }
        let nfc = try encode([file], .nfc).documents()
        XCTAssertEqual(nfc, [String(repeating: text, count: 3).precomposedStringWithCanonicalMapping])
    }

    func testFileOfManyChunksEncodesLikeOneChunk() throws {
        let folder = try TemporaryFolder()
        var text = ""
        for i in 0..<4000 { text += "line \(i): " + Self.sample.split(separator: "\n")[i % 4] + "\n" }
        let file = try folder.write("big.txt", text)
        let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as! Int
        XCTAssertGreaterThan(size, 8 * 16_384)
        let one = try encode([file], .nfc)
        let many = try encode([file], .nfc, chunkSize: 16_381)
        XCTAssertEqual(many.tokens, one.tokens)
        XCTAssertEqual(many.byteCount, size)
        XCTAssertEqual(one.documents(), [text.precomposedStringWithCanonicalMapping])
        let separated = try encode([file], .nfd, splitting: .separatorLine("line 7: " + Self.sample.split(separator: "\n")[3]),
                                   chunkSize: 1000)
        let separatedOne = try encode([file], .nfd, splitting: .separatorLine("line 7: " + Self.sample.split(separator: "\n")[3]))
        XCTAssertEqual(separated.tokens, separatedOne.tokens)
        XCTAssertEqual(separated.documentCount, 2)
    }

    func testTokenStreamIsDocMarkedDocumentsWithAFinalDoc() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("f.txt", "%\nab\n%\n%\n\n%\nba\nc\n%\n")
        let encoded = try encode([file], splitting: .separatorLine("%"))
        XCTAssertEqual(encoded.documents(), ["ab\n", "ba\nc\n"])
        XCTAssertEqual(encoded.vocabulary.scalars, ["\n", "a", "b", "c"])
        // [DOC] a b \n [DOC] b a \n c \n [DOC]
        XCTAssertEqual(encoded.tokens, [0, 2, 3, 1, 0, 3, 2, 1, 4, 1, 0])
        XCTAssertEqual(encoded.documentCount, 2)
        XCTAssertEqual(encoded.characterCount, 8)
        XCTAssertEqual(encoded.byteCount, 19)
    }

    func testBlankLineRunsSeparateDocumentsWhenTheSeparatorIsEmpty() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("p.txt", "\n\none\ntwo\n\n  \n\t\r\nthree\r\n\nfour")
        let encoded = try encode([file], splitting: .separatorLine(""))
        XCTAssertEqual(encoded.documents(), ["one\ntwo\n", "three\r\n", "four"])
    }

    func testSeparatorLinesAcceptCarriageReturnsAndLongLinesStream() throws {
        let folder = try TemporaryFolder()
        let long = String(repeating: "x\u{0301}y", count: 3000)
        let file = try folder.write("s.txt", "===\r\n\(long)\r\n===\r\nshort\n===")
        for chunk in [5, 7, 100, CorpusEncoder.defaultChunkSize] {
            let encoded = try encode([file], .nfd, splitting: .separatorLine("==="), chunkSize: chunk)
            XCTAssertEqual(encoded.documents(), [long.decomposedStringWithCanonicalMapping + "\r\n", "short\n"], "chunk \(chunk)")
        }
    }

    func testFolderGivesOneDocumentPerFileInSortedOrderSkippingHiddenFiles() throws {
        let folder = try TemporaryFolder()
        try folder.write("b.txt", "second")
        try folder.write("a/z.txt", "first")
        try folder.write("c/d/e.txt", "third")
        try folder.write(".hidden.txt", "hidden")
        try folder.write(".git/config", "hidden too")
        try folder.write("empty.txt", "")
        let single = try folder.write("../\(folder.url.lastPathComponent)-single.txt", "given last")
        defer { try? FileManager.default.removeItem(at: single) }
        let encoded = try encode([folder.url, single])
        XCTAssertEqual(encoded.documents(), ["first", "second", "third", "given last"])
        XCTAssertEqual(encoded.documentCount, 4)
    }

    func testJSONLinesTakeTheNamedStringField() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("d.jsonl", """
        {"text": "Cafe\\u0301 one", "id": 1}

        {"id": 2, "text": "two\\nlines"}
          {"text": ""}
        {"text": "ｆｕｌｌ"}
        """)
        let encoded = try encode([file], .nfkc, splitting: .jsonLines(field: "text"))
        XCTAssertEqual(encoded.documents(), ["Café one", "two\nlines", "full"])
    }

    func testByteOrderMarkIsDroppedOnlyAtTheStart() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("bom.txt", [0xEF, 0xBB, 0xBF] + Array("a\u{FEFF}b".utf8))
        XCTAssertEqual(try encode([file]).documents(), ["a\u{FEFF}b"])
        let bad = try folder.write("bad-after-bom.txt", [0xEF, 0xBB, 0xBF, 0x61, 0xFF])
        XCTAssertEqual(tokenizerError { _ = try self.encode([bad]) }, .invalidUTF8(file: bad.path, offset: 4, bytes: [0xFF]))
    }

    func testCaseFoldingAndCompatibilityForms() throws {
        let folder = try TemporaryFolder()
        let file = try folder.write("c.txt", "ÄBC ﬁ Straße ＡＢ ΣΑΣ")
        // Full case folding (CaseFolding.txt status C and F): U+FB01 folds to "fi", full-width letters to full-width small ones.
        XCTAssertEqual(try encode([file], .nfc, caseFold: true).documents(), ["äbc fi strasse ａｂ σασ"])
        XCTAssertEqual(try encode([file], .nfkc, caseFold: true).documents(), ["äbc fi strasse ab σασ"])
        XCTAssertEqual(try encode([file], .nfkd).documents(), ["A\u{0308}BC fi Straße AB ΣΑΣ"])
    }

    func testNormalizeStringForPrompts() throws {
        let normalizer = Normalizer(options: TextOptions(form: .nfc))
        XCTAssertEqual(try normalizer.normalize("e\u{0301}A\u{030A}"), ["\u{E9}", "\u{C5}"])
        XCTAssertEqual(try Normalizer(options: TextOptions(form: .nfd)).normalize("\u{AC01}"), ["\u{1100}", "\u{1161}", "\u{11A8}"])
    }

    func testEncodingWithAVocabularyReportsOrSkipsUnknownCharacters() throws {
        let folder = try TemporaryFolder()
        let train = try folder.write("train.txt", "abc\n")
        let trained = try encode([train])
        let eval = try folder.write("eval.txt", "ab\nzcz\u{0301}")
        let source = CorpusSource(paths: [eval])
        let skipped = try CorpusEncoder.encode(source, options: TextOptions(), vocabulary: trained.vocabulary, unknown: .skip)
        let id = { (s: Unicode.Scalar) in trained.vocabulary.id(of: s)! }
        XCTAssertEqual(skipped.tokens, [0, id("a"), id("b"), id("\n"), id("c"), 0])
        XCTAssertEqual(skipped.unknown, ["z": 1, "\u{017A}": 1])
        let error = tokenizerError {
            _ = try CorpusEncoder.encode(source, options: TextOptions(), vocabulary: trained.vocabulary, unknown: .error)
        }
        XCTAssertEqual(error, .unknownCharacter(name: "z", file: eval.path, position: 3))
        XCTAssertTrue(error!.description.contains("eval.txt"), error!.description)
        let prompt = try CorpusEncoder.encode(text: "cab", options: TextOptions(), vocabulary: trained.vocabulary, unknown: .error)
        XCTAssertEqual(prompt.tokens, [id("c"), id("a"), id("b")])
        XCTAssertEqual(tokenizerError { _ = try CorpusEncoder.encode(text: "a\tb", options: TextOptions(), vocabulary: trained.vocabulary, unknown: .error) },
                       .unknownCharacter(name: "\\t (U+0009)", file: "the text", position: 1))
    }
}
