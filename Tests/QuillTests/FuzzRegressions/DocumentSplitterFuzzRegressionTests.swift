import Foundation
@testable import Quill
import XCTest

/// Inputs the `jsonl-splitter` fuzz target found to break the document splitter, fed back as found.
final class DocumentSplitterFuzzRegressionTests: XCTestCase {
    /// With `--doc-separator %`, a last line of six carriage returns then `o`, read 6 bytes at a
    /// time, lost its document: the first piece (only carriage returns, too long to be the
    /// separator) was sent as content without marking the document as holding text, and the `o`
    /// that followed in the next piece did not mark it either, so the document was dropped as
    /// empty. Read in one piece, the same file gave one document.
    func testSeparatorLineSplitKeepsContentThatFollowsLineBreaksAcrossAReadBoundary() throws {
        let reproducer = try Data(contentsOf: FuzzInputs.reproducer("jsonl-splitter", "separator-line-content-after-piece-end"))
        // The fuzz target's control byte: separator `%` (bits 0-1 = 2), pieces of 1 + (0x16 >> 2) = 6 bytes.
        XCTAssertEqual(Array(reproducer), [0x16, 0x0D, 0x0D, 0x0D, 0x0D, 0x0D, 0x0D, 0x6F])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quill-fuzz-regression-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("corpus.txt")
        try reproducer.dropFirst().write(to: file)

        let source = CorpusSource(paths: [file], documents: .separatorLine("%"))
        let whole = try CorpusEncoder.encode(source, options: TextOptions())
        XCTAssertEqual(whole.documentCount, 1)
        for chunkSize in [4, 5, 6, 7] {
            let pieces = try CorpusEncoder.encode(source, options: TextOptions(), chunkSize: chunkSize)
            XCTAssertEqual(pieces.documentCount, 1, "read \(chunkSize) bytes at a time")
            XCTAssertEqual(pieces.tokens, whole.tokens, "read \(chunkSize) bytes at a time")
            XCTAssertEqual(pieces.vocabulary, whole.vocabulary, "read \(chunkSize) bytes at a time")
        }
        XCTAssertEqual(whole.vocabulary.scalars, ["\r", "o"])
        XCTAssertEqual(whole.tokens, [0, 1, 1, 1, 1, 1, 1, 2, 0])
    }
}
