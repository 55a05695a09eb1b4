import Foundation

/// Feeds one file's chunks to a `DocumentStream`, cutting them into documents as a `DocumentSplitting` says.
struct DocumentSplitter {
    let splitting: DocumentSplitting
    let stream: DocumentStream
    let file: String

    // Separator lines: the separator's bytes, the undecided current line, and what is known of it.
    private let separator: [UInt8]
    private var line: [UInt8] = []
    private var lineOffset = 0
    private var lineIsContent = false
    private var documentHasContent = false
    private var lineNumber = 0

    init(splitting: DocumentSplitting, stream: DocumentStream, file: String) {
        self.splitting = splitting
        self.stream = stream
        self.file = file
        if case let .separatorLine(text) = splitting {
            separator = Array(text.utf8)
            stream.splitterMayDiscard = true
        } else {
            separator = []
        }
    }

    /// Takes the next chunk of the file; `offset` is the file offset of `bytes[0]`.
    mutating func take(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws {
        switch splitting {
        case .wholeFiles: try stream.append(bytes, offset: offset)
        case .separatorLine: try takeSeparated(bytes, offset: offset)
        case .jsonLines: try takeJSONLines(bytes, offset: offset)
        }
    }

    /// Ends the file: its last line and its last document.
    mutating func finish() throws {
        switch splitting {
        case .wholeFiles:
            try stream.endDocument()
        case .separatorLine:
            if !line.isEmpty {
                if isSeparator(line) { try endDocument() } else { try sendLine() }
            }
            try endDocument()
        case .jsonLines:
            if !line.isEmpty { try jsonLine(line) }
            line.removeAll()
        }
    }

    // MARK: Separator lines

    private mutating func takeSeparated(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws {
        var start = 0
        let n = bytes.count
        while start < n {
            let newline = Self.index(of: 0x0A, in: bytes, from: start)
            let end = newline.map { $0 + 1 } ?? n
            let piece = UnsafeBufferPointer(rebasing: bytes[start..<end])
            if lineIsContent {
                // The line's start was sent before its content arrived: it may have held only line breaks.
                if !documentHasContent && piece.contains(where: { $0 != 0x0A && $0 != 0x0D }) { documentHasContent = true }
                try stream.append(piece, offset: offset + start)
            } else {
                if line.isEmpty { lineOffset = offset + start }
                line.append(contentsOf: piece)
                if newline != nil {
                    if isSeparator(line) { try endDocument(); line.removeAll(keepingCapacity: true) } else { try sendLine() }
                } else if !mightBeSeparator(line) {
                    lineIsContent = true
                    try sendLine()
                }
            }
            if newline != nil { lineIsContent = false }
            start = end
        }
    }

    private mutating func sendLine() throws {
        if line.contains(where: { $0 != 0x0A && $0 != 0x0D }) {
            documentHasContent = true
            stream.openDocumentConfirmed = true
        }
        try line.withUnsafeBufferPointer { try stream.append($0, offset: lineOffset) }
        line.removeAll(keepingCapacity: true)
    }

    private mutating func endDocument() throws {
        try stream.endDocument(discard: !documentHasContent)
        documentHasContent = false
    }

    /// The line's text without its line break and a trailing carriage return.
    private func text(of line: [UInt8]) -> ArraySlice<UInt8> {
        var body = line[...]
        if body.last == 0x0A { body = body.dropLast() }
        if body.last == 0x0D { body = body.dropLast() }
        return body
    }

    private func isSeparator(_ line: [UInt8]) -> Bool {
        let body = text(of: line)
        if separator.isEmpty { return body.allSatisfy { $0 == 0x20 || $0 == 0x09 } }
        return body.elementsEqual(separator)
    }

    /// Whether a line whose end has not been seen yet could still turn out to be a separator.
    private func mightBeSeparator(_ partial: [UInt8]) -> Bool {
        if separator.isEmpty { return partial.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }
        return partial.count <= separator.count + 1
    }

    // MARK: JSON Lines

    private mutating func takeJSONLines(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws {
        var start = 0
        let n = bytes.count
        while start < n {
            let newline = Self.index(of: 0x0A, in: bytes, from: start)
            let end = newline.map { $0 + 1 } ?? n
            if line.isEmpty { lineOffset = offset + start }
            line.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
            if newline != nil {
                try jsonLine(line)
                line.removeAll(keepingCapacity: true)
            }
            start = end
        }
    }

    private mutating func jsonLine(_ bytes: [UInt8]) throws {
        lineNumber += 1
        guard case let .jsonLines(field) = splitting else { return }
        guard bytes.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) else { return }
        if let failure = bytes.withUnsafeBufferPointer({ StrictUTF8.firstFailure(in: $0) }) {
            throw TokenizerError.invalidUTF8(file: file, offset: lineOffset + failure.index, bytes: failure.bytes)
        }
        let value: JSONValue
        do {
            value = try StrictJSON.parse(bytes)
        } catch let error as JSONParseError {
            throw TokenizerError.jsonLineInvalid(file: file, line: lineNumber, column: error.offset + 1, reason: error.reason)
        }
        guard case let .object(members) = value else {
            throw TokenizerError.jsonLineNotJSON(file: file, line: lineNumber)
        }
        guard let member = members.first(where: { $0.key.utf8.elementsEqual(field.utf8) }) else {
            throw TokenizerError.jsonLineMissingField(file: file, line: lineNumber, field: field)
        }
        guard case let .string(text) = member.value else {
            throw TokenizerError.jsonLineFieldNotString(file: file, line: lineNumber, field: field)
        }
        var utf8 = Array(text.utf8)
        try utf8.withUnsafeMutableBufferPointer { try stream.append(UnsafeBufferPointer($0), offset: 0) }
        try stream.endDocument()
    }

    private static func index(of byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let hit = memchr(base + start, Int32(byte), bytes.count - start) else { return nil }
        return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
    }
}
