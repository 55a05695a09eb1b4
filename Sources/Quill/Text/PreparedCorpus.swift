import Foundation

/// A prepared corpus folder opened for reading: its manifest, and its shards as a token source read with `pread`.
///
/// Nothing is memory-mapped: a window of tokens is read when asked for, so resident memory stays
/// the size of the windows, not of the corpus, and a shard that shrinks under a running job is an
/// error with a sentence rather than a bus error. `verify()` streams every shard once to check its
/// checksum and that every id is in the vocabulary, before training trusts the ids.
public final class PreparedCorpus: TokenSource {
    public typealias ReadError = any Error

    /// The folder.
    public let folder: URL
    /// The manifest, checked.
    public let manifest: PreparedCorpusManifest
    /// The vocabulary of the ids.
    public let vocabulary: Vocabulary
    private let shards: [ShardReader]

    /// Whether `url` is a folder holding a prepared corpus's manifest.
    public static func isPrepared(_ url: URL) -> Bool {
        FileSystem.kind(of: url.path) == .directory
            && FileSystem.kind(of: FileSystem.join(url.path, PreparedCorpusManifest.fileName)) == .regular
    }

    /// Opens a prepared folder: reads and checks the manifest, opens every shard and checks its size.
    ///
    /// - Throws: `PreparedCorpusError` when the folder is not prepared, the manifest is bad, or a shard is
    ///   missing or of the wrong size. Checksums are checked by `verify()`.
    public init(folder: URL) throws {
        self.folder = folder
        let path = folder.appendingPathComponent(PreparedCorpusManifest.fileName)
        guard Self.isPrepared(folder) else { throw PreparedCorpusError.notPrepared(folder: folder.path) }
        let size = FileSystem.size(of: path.path) ?? 0
        guard size <= PreparedCorpusManifest.maximumBytes else {
            throw PreparedCorpusError.badManifest(path: path.path, reason: "it is larger than \(PreparedCorpusManifest.maximumBytes >> 20) MB")
        }
        let manifest = try PreparedCorpusManifest.decode(try FileReader.read(path), path: path.path)
        self.manifest = manifest
        vocabulary = Vocabulary(scalars: manifest.vocabulary.map { Unicode.Scalar($0)! })
        shards = try manifest.shards.map { shard in
            let reader = try ShardReader(path: FileSystem.join(folder.path, shard.file))
            guard reader.size == shard.tokens * manifest.tokenBytes else {
                throw PreparedCorpusError.shardSize(path: reader.path, bytes: reader.size, expected: shard.tokens * manifest.tokenBytes)
            }
            return reader
        }
    }

    /// Number of tokens in the whole stream.
    public var count: Int { manifest.tokenCount }

    /// The text options the ids were made with.
    public var textOptions: TextOptions { manifest.textOptions }

    /// Streams every shard once: checks its CRC-32C against the manifest and every id against the vocabulary.
    ///
    /// Reads go through `pread` in chunks and the kernel is told to drop the cached pages after each
    /// shard, so checking a corpus larger than memory leaves neither the process nor the page cache full of it.
    /// - Parameters:
    ///   - covering: only the shards holding these tokens (all by default), such as the validation split.
    ///   - progress: called after each chunk with the bytes checked so far and in all.
    /// - Throws: `PreparedCorpusError.checksumMismatch`, `.idOutOfRange` or `.unreadableShard`.
    public func verify(covering tokens: Range<Int>? = nil, progress: ((Int, Int) -> Void)? = nil) throws {
        let range = tokens ?? 0..<count
        let indices = range.isEmpty ? 0..<0 : (range.lowerBound / manifest.shardTokens)..<((range.upperBound - 1) / manifest.shardTokens + 1)
        let total = indices.reduce(0) { $0 + shards[$1].size }
        let chunk = 4 << 20
        var done = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 8)
        defer { buffer.deallocate() }
        for index in indices {
            let (shard, record) = (shards[index], manifest.shards[index])
            var checksum = CRC32C()
            var largest: UInt32 = 0
            var offset = 0
            while offset < shard.size {
                let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[..<min(chunk, shard.size - offset)])
                try shard.read(into: bytes, at: offset)
                checksum.update(UnsafeRawBufferPointer(bytes))
                largest = max(largest, Self.largestID(in: UnsafeRawBufferPointer(bytes), width: manifest.tokenBytes))
                offset += bytes.count
                done += bytes.count
                progress?(done, total)
            }
            shard.releaseCache()
            guard checksum.hexDigits == record.crc32c else {
                throw PreparedCorpusError.checksumMismatch(path: shard.path, found: checksum.hexDigits, recorded: record.crc32c)
            }
            guard Int(largest) < vocabulary.count else {
                throw PreparedCorpusError.idOutOfRange(path: shard.path, id: largest, vocabularySize: vocabulary.count)
            }
        }
    }

    /// Copies tokens `start ..< start + buffer.count` into `buffer`, reading only the shards' bytes they occupy.
    ///
    /// - Throws: `PreparedCorpusError.unreadableShard` when a shard cannot be read or has shrunk, and
    ///   `.idOutOfRange` when an id is outside the vocabulary (a shard changed after it was verified).
    public func read(from start: Int, into buffer: UnsafeMutableBufferPointer<Int32>) throws {
        precondition(start >= 0 && start + buffer.count <= count, "PreparedCorpus: range outside the stream")
        guard !buffer.isEmpty else { return }
        let width = manifest.tokenBytes
        let shardTokens = manifest.shardTokens
        let limit = UInt32(vocabulary.count)
        let chunkTokens = min(buffer.count, 1 << 16)
        try withUnsafeTemporaryAllocation(byteCount: chunkTokens * width, alignment: 8) { scratch in
            var done = 0
            while done < buffer.count {
                let position = start + done
                let shard = position / shardTokens
                let within = position - shard * shardTokens
                let n = min(buffer.count - done, shardTokens - within, chunkTokens)
                let bytes = UnsafeMutableRawBufferPointer(rebasing: scratch[..<(n * width)])
                try shards[shard].read(into: bytes, at: within * width)
                var largest: UInt32 = 0
                for k in 0..<n {
                    let id = width == 2 ? UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)))
                        : UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self))
                    largest = max(largest, id)
                    buffer[done + k] = Int32(bitPattern: id)
                }
                guard largest < limit else {
                    throw PreparedCorpusError.idOutOfRange(path: shards[shard].path, id: largest, vocabularySize: vocabulary.count)
                }
                done += n
            }
        }
    }

    /// The tokens that train: the stream before the held-out part.
    public var trainingTokens: TokenSourceSlice<PreparedCorpus> { TokenSourceSlice(self, range: 0..<manifest.validation.start) }

    /// The held-out tokens, with a `[DOC]` in front when they start inside a document (as `TrainingSplit` gives them).
    public func validationTokens() throws -> [Int32] {
        let split = manifest.validation
        var tokens = [Int32](repeating: 0, count: split.count)
        try tokens.withUnsafeMutableBufferPointer { try read(from: split.start, into: $0) }
        if tokens.first != Vocabulary.documentID { tokens.insert(Vocabulary.documentID, at: 0) }
        return tokens
    }

    /// The training lanes' source, the held-out tokens and the manifest's fingerprint, for a `Trainer`.
    public func trainingData() throws -> TrainingData {
        TrainingData(training: trainingTokens, validation: try validationTokens(), fingerprint: manifest.fingerprint)
    }

    /// The largest little-endian id of `width` bytes in `bytes` (whose start is aligned to `width`).
    private static func largestID(in bytes: UnsafeRawBufferPointer, width: Int) -> UInt32 {
        func largest<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) -> UInt32 {
            let ids = bytes.bindMemory(to: T.self)
            var top: T = 0
            for id in ids { top = max(top, T(littleEndian: id)) }
            return UInt32(top)
        }
        return width == 2 ? largest(UInt16.self) : largest(UInt32.self)
    }
}
