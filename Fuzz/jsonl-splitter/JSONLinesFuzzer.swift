import Foundation
@testable import Quill

/// Fuzz target: the document splitter (`DocumentSplitter`), mostly its JSON Lines path.
///
/// Input: the first byte picks how documents are cut (bits 0-1: JSON Lines with the field
/// `text` for 0 and 1, separator lines `%` for 2, blank-line runs for 3) and the size of the
/// pieces the file arrives in (bits 2-7: 1 to 64 bytes); the other bytes are the file.
///
/// Properties: splitting returns documents or throws an error whose message can be formed,
/// and the outcome does not depend on where the pieces end: fed in small pieces or in one,
/// the same scalar values and document count come out, or the same error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONLines(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = fuzzInput(start, count)
    guard let control = input.first else { return 0 }
    let splittings: [DocumentSplitting] = [.jsonLines(field: "text"), .jsonLines(field: "text"), .separatorLine("%"), .separatorLine("")]
    let splitting = splittings[Int(control & 3)]
    let pieceSize = 1 + Int(control >> 2)
    let text = Array(input.dropFirst())

    let pieces = split(text, pieceSize: pieceSize, splitting: splitting)
    let whole = split(text, pieceSize: max(text.count, 1), splitting: splitting)
    switch (pieces, whole) {
    case let (.success(a), .success(b)):
        require(a.documents == b.documents && a.values == b.values,
                "\(a.documents) documents from \(pieceSize)-byte pieces, \(b.documents) from one piece, or other values")
        let lines = text.split(separator: 0x0A, omittingEmptySubsequences: true).count
        require(a.documents <= max(lines, 1), "\(a.documents) documents from \(lines) lines")
    case let (.failure(a), .failure(b)):
        let (x, y) = (String(describing: a), String(describing: b))
        require(!x.isEmpty && x == y, "different errors from \(pieceSize)-byte pieces and from one piece: \(x) / \(y)")
    default:
        require(false, "\(pieceSize)-byte pieces give \(pieces), one piece gives \(whole)")
    }
    return 0
}

/// The documents and scalar values of `text` split as `splitting` says, fed in pieces of `pieceSize` bytes.
private func split(_ text: [UInt8], pieceSize: Int, splitting: DocumentSplitting) -> Result<(documents: Int, values: [Int32]), Error> {
    Result {
        let stream = DocumentStream(options: TextOptions(), reservingCapacity: 0)
        stream.file = "fuzz.jsonl"
        var splitter = DocumentSplitter(splitting: splitting, stream: stream, file: "fuzz.jsonl")
        try text.withUnsafeBufferPointer { all in
            var offset = 0
            while offset < all.count {
                let end = min(offset + pieceSize, all.count)
                try splitter.take(UnsafeBufferPointer(rebasing: all[offset..<end]), offset: offset)
                offset = end
            }
        }
        try splitter.finish()
        return (stream.documentCount, stream.values)
    }
}
