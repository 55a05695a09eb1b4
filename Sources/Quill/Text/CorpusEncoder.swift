import Foundation

/// A corpus turned into token ids: `[DOC] d1 [DOC] d2 ... [DOC] dn [DOC]`.
public struct EncodedCorpus: Sendable {
    /// Token ids: [documentCount + characterCount + 1].
    public var tokens: [Int32]
    /// The corpus's distinct scalars in code-point order, after `[DOC]`.
    public var vocabulary: Vocabulary
    /// Number of (non-empty) documents.
    public var documentCount: Int
    /// Number of scalars after normalization, `[DOC]` tokens not counted.
    public var characterCount: Int
    /// Number of bytes read from the files.
    public var byteCount: Int
}

/// Text encoded with an existing vocabulary.
public struct EncodedText: Sendable {
    /// Token ids, with `[DOC]` before each document and one at the end.
    public var tokens: [Int32]
    /// Characters the vocabulary lacks and how often each was skipped (empty under `.error`).
    public var unknown: [Unicode.Scalar: Int]
    /// Number of documents.
    public var documentCount: Int
    /// Number of bytes read from the files.
    public var byteCount: Int

    public init(tokens: [Int32], unknown: [Unicode.Scalar: Int], documentCount: Int, byteCount: Int) {
        self.tokens = tokens
        self.unknown = unknown
        self.documentCount = documentCount
        self.byteCount = byteCount
    }
}

/// What to do with characters a vocabulary lacks.
public enum UnknownPolicy: Sendable {
    /// Throw `TokenizerError.unknownCharacter` naming the first one and where it is.
    case error
    /// Drop them and count them.
    case skip
}

/// Turns corpora into token ids, streaming the files so memory stays near the size of the ids.
public enum CorpusEncoder {
    /// Bytes read from a file at a time.
    public static let defaultChunkSize = 4 << 20

    /// Encodes a corpus and builds its vocabulary.
    ///
    /// Pass 1 normalizes chunk by chunk into one array of scalar values; pass 2 builds the vocabulary
    /// from the distinct values and maps the array in place to ids.
    /// - Parameters:
    ///   - progress: called after each chunk with the number of bytes read so far.
    /// - Throws: `TokenizerError` for missing or unreadable paths, invalid or binary files, bad
    ///   JSON Lines, or a corpus without documents.
    public static func encode(_ source: CorpusSource, options: TextOptions, chunkSize: Int = defaultChunkSize,
                              progress: ((Int) -> Void)? = nil) throws -> EncodedCorpus {
        let pass = try scalarValues(source, options: options, chunkSize: chunkSize, progress: progress)
        var values = pass.stream.takeValues()
        let marker = Int(DocumentStream.documentMarker)
        var seen = [Bool](repeating: false, count: marker + 1)
        values.withUnsafeBufferPointer { v in
            seen.withUnsafeMutableBufferPointer { s in for x in v { s[Int(x)] = true } }
        }
        var scalars: [Unicode.Scalar] = []
        for value in 0..<marker where seen[value] { scalars.append(Unicode.Scalar(UInt32(value))!) }
        let vocabulary = Vocabulary(scalars: scalars)
        let table = idTable(vocabulary)
        table.withUnsafeBufferPointer { t in
            values.withUnsafeMutableBufferPointer { v in for i in v.indices { v[i] = t[Int(v[i])] } }
        }
        let documents = pass.stream.documentCount
        return EncodedCorpus(tokens: values, vocabulary: vocabulary, documentCount: documents,
                             characterCount: values.count - documents - 1, byteCount: pass.bytes)
    }

    /// Encodes a corpus with an existing vocabulary (for evaluation or prompts from files).
    /// - Throws: what `encode(_:options:chunkSize:progress:)` throws, and `TokenizerError.unknownCharacter`
    ///   under `.error` when the vocabulary lacks a character.
    public static func encode(_ source: CorpusSource, options: TextOptions, vocabulary: Vocabulary, unknown: UnknownPolicy,
                              chunkSize: Int = defaultChunkSize) throws -> EncodedText {
        let pass = try scalarValues(source, options: options, chunkSize: chunkSize, progress: nil)
        var values = pass.stream.takeValues()
        let table = idTable(vocabulary)
        if unknown == .error, let i = values.firstIndex(where: { table[Int($0)] < 0 }) {
            let (file, position) = pass.locate(i, in: values)
            let name = Vocabulary.displayName(of: Unicode.Scalar(UInt32(values[i]))!)
            throw TokenizerError.unknownCharacter(name: name, file: file, position: position)
        }
        var kept = 0
        var skipped: [Unicode.Scalar: Int] = [:]
        for i in values.indices {
            let id = table[Int(values[i])]
            if id >= 0 {
                values[kept] = id
                kept += 1
            } else {
                skipped[Unicode.Scalar(UInt32(values[i]))!, default: 0] += 1
            }
        }
        values.removeSubrange(kept...)
        return EncodedText(tokens: values, unknown: skipped, documentCount: pass.stream.documentCount, byteCount: pass.bytes)
    }

    /// The ids of a text's normalized scalars (no `[DOC]`), for prompts; unknown characters follow `unknown`.
    public static func encode(text: String, options: TextOptions, vocabulary: Vocabulary,
                              unknown: UnknownPolicy) throws -> (tokens: [Int32], unknown: [Unicode.Scalar: Int]) {
        let scalars = try Normalizer(options: options).normalize(text)
        var tokens: [Int32] = []
        var skipped: [Unicode.Scalar: Int] = [:]
        for (position, scalar) in scalars.enumerated() {
            if let id = vocabulary.id(of: scalar) { tokens.append(id); continue }
            if unknown == .error {
                throw TokenizerError.unknownCharacter(name: Vocabulary.displayName(of: scalar), file: "the text", position: position)
            }
            skipped[scalar, default: 0] += 1
        }
        return (tokens, skipped)
    }

    /// A table from scalar value (and the document marker) to id, -1 where the vocabulary lacks the scalar.
    private static func idTable(_ vocabulary: Vocabulary) -> [Int32] {
        var table = [Int32](repeating: -1, count: Int(DocumentStream.documentMarker) + 1)
        table[Int(DocumentStream.documentMarker)] = Vocabulary.documentID
        for (i, s) in vocabulary.scalars.enumerated() { table[Int(s.value)] = Int32(i + 1) }
        return table
    }

    /// The result of pass 1: scalar values with document markers, and where each file's values start.
    struct ScalarPass {
        var stream: DocumentStream
        var bytes: Int
        /// (index in the values of the file's first value, file path), in order.
        var fileStarts: [(Int, String)]

        /// The file holding value `index` and the position of that character among the file's characters.
        func locate(_ index: Int, in values: [Int32]) -> (String, Int) {
            let start = fileStarts.last { $0.0 <= index } ?? (0, "the corpus")
            var position = 0
            for i in start.0..<index where values[i] != DocumentStream.documentMarker { position += 1 }
            return (start.1, position)
        }
    }

    /// Pass 1: reads, decodes, splits and normalizes every file into scalar values.
    ///
    /// With `drain`, the values are handed to it piece by piece as they become final (see
    /// `DocumentStream.drain`) instead of being kept, so memory stays near one chunk's worth.
    static func scalarValues(_ source: CorpusSource, options: TextOptions, chunkSize: Int, progress: ((Int) -> Void)?,
                             drain: ((UnsafeBufferPointer<Int32>) throws -> Void)? = nil) throws -> ScalarPass {
        let files = try source.files()
        var totalBytes = 0
        if drain == nil {
            for file in files {
                // Text held in memory is read from files only: a pipe, FIFO or device may never end, or
                // (a FIFO with no writer) never begin, so it is refused by what it is, before it is opened.
                // (Streaming with `drain`, as `quill prepare` does, reads them: memory stays bounded.)
                if FileSystem.kind(of: file.path) == .other { throw FileError.notRegularFile(path: file.path) }
                totalBytes += FileSystem.size(of: file.path) ?? 0
            }
        }
        // Normalized text rarely holds more scalars than bytes; reserved pages that are never written cost no memory.
        let stream = DocumentStream(options: options, reservingCapacity: drain == nil ? totalBytes + files.count + 1 : chunkSize + 1)
        var bytes = 0
        var fileStarts: [(Int, String)] = []
        var nonEmptyFiles = 0
        for file in files {
            stream.file = file.path
            fileStarts.append((stream.values.count, file.path))
            var splitter = DocumentSplitter(splitting: source.documents, stream: stream, file: file.path)
            let size = try ChunkedFileReader.forEachChunk(of: file, chunkSize: chunkSize) { chunk, offset in
                try splitter.take(chunk, offset: offset)
                if let drain { try stream.drain(drain) }
                progress?(bytes + offset + chunk.count)
            }
            try splitter.finish()
            if let drain { try stream.drain(drain) }
            if size > 0 { nonEmptyFiles += 1 }
            bytes += size
        }
        if stream.documentCount == 0 {
            let paths = source.paths.map(\.path)
            if case let .separatorLine(separator) = source.documents, nonEmptyFiles > 0 {
                throw TokenizerError.onlySeparators(paths: paths, separator: separator)
            }
            throw TokenizerError.emptyCorpus(paths: paths)
        }
        stream.finish()
        if let drain { try stream.drain(drain) }
        return ScalarPass(stream: stream, bytes: bytes, fileStarts: fileStarts)
    }
}
