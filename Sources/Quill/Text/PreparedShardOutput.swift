import Foundation

/// Writes ids into shard files of `shardTokens` ids each, little-endian, checksumming each as it goes.
struct ShardOutput {
    let folder: String
    let shardTokens: Int
    let width: Int
    /// Bytes waiting to be written to the current shard: [bufferTokens * width].
    private var buffer: [UInt8]
    private var buffered = 0
    private let bufferTokens: Int
    /// Tokens of the current shard, written or waiting.
    private var inShard = 0
    private var writer: ShardWriter?
    private var checksum = CRC32C()
    private(set) var shards: [PreparedCorpusManifest.Shard] = []

    init(folder: String, shardTokens: Int, width: Int) {
        self.folder = folder
        self.shardTokens = shardTokens
        self.width = width
        bufferTokens = min(shardTokens, 1 << 20)
        buffer = [UInt8](repeating: 0, count: bufferTokens * width)
    }

    /// Appends ids (each below the vocabulary size).
    mutating func append(_ ids: UnsafeBufferPointer<Int32>) throws {
        var done = 0
        while done < ids.count {
            if writer == nil {
                writer = try ShardWriter(path: FileSystem.join(folder, PreparedCorpusManifest.shardFileName(shards.count)))
            }
            let n = min(ids.count - done, bufferTokens - buffered, shardTokens - inShard)
            let width = self.width, at = buffered
            buffer.withUnsafeMutableBytes { raw in
                if width == 2 {
                    for k in 0..<n { raw.storeBytes(of: UInt16(truncatingIfNeeded: ids[done + k]).littleEndian, toByteOffset: (at + k) * 2, as: UInt16.self) }
                } else {
                    for k in 0..<n { raw.storeBytes(of: UInt32(truncatingIfNeeded: ids[done + k]).littleEndian, toByteOffset: (at + k) * 4, as: UInt32.self) }
                }
            }
            buffered += n
            inShard += n
            done += n
            if buffered == bufferTokens || inShard == shardTokens { try flush() }
            if inShard == shardTokens { try closeShard() }
        }
    }

    /// Closes the last shard and returns every shard's record.
    mutating func finish() throws -> [PreparedCorpusManifest.Shard] {
        if writer != nil {
            try flush()
            try closeShard()
        }
        return shards
    }

    /// Closes an open shard file after a failure.
    mutating func abandon() {
        writer?.abandon()
        writer = nil
    }

    private mutating func flush() throws {
        guard buffered > 0 else { return }
        let count = buffered * width
        try buffer.withUnsafeBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[..<count])
            checksum.update(bytes)
            try writer!.write(bytes)
        }
        buffered = 0
    }

    private mutating func closeShard() throws {
        try writer!.finish()
        writer = nil
        shards.append(.init(file: PreparedCorpusManifest.shardFileName(shards.count), tokens: inShard, crc32c: checksum.hexDigits))
        inShard = 0
        checksum = CRC32C()
    }
}
