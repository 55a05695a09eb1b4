import Foundation

extension PreparedCorpusManifest {
    /// Largest manifest read; a vocabulary of every Unicode scalar fits in well under this.
    static let maximumBytes = 64 << 20
    /// Largest count a manifest may hold, so sums and products of two counts cannot overflow.
    static let maximumCount = 1 << 53

    /// Reads and checks a manifest that may have been damaged or written by hand, with the strict JSON reader.
    ///
    /// Beyond well-formed JSON of the right shape, it checks that every count agrees with the others:
    /// the vocabulary is strictly increasing Unicode scalars, the id width fits it, the shards cut
    /// `token_count` into pieces of `shard_tokens` with the expected file names, and the split lies at
    /// the end of the stream.
    /// - Throws: `PreparedCorpusError.badManifest` naming what is wrong, or `.unsupportedVersion`.
    public static func decode(_ bytes: Data, path: String) throws -> PreparedCorpusManifest {
        func bad(_ reason: String) -> PreparedCorpusError { .badManifest(path: path, reason: reason) }
        guard bytes.count <= maximumBytes else { throw bad("it is larger than \(maximumBytes >> 20) MB") }
        /// The members that say which format the rest follows.
        struct Head: Decodable {
            var format: String
            var version: Int
        }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            do {
                return try StrictJSONDecoder().decode(type, from: Array(bytes))
            } catch let error as JSONParseError {
                throw bad("it is not valid JSON (\(error.reason) at byte \(error.offset))")
            } catch let DecodingError.keyNotFound(key, context) {
                throw bad("it has no \"\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))\"")
            } catch let DecodingError.typeMismatch(_, context) {
                throw bad("\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is wrong (\(context.debugDescription))")
            } catch let DecodingError.dataCorrupted(context) {
                throw bad("\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is wrong (\(context.debugDescription))")
            } catch {
                throw bad("it does not have the shape of a manifest")
            }
        }
        let head = try decode(Head.self)
        guard head.format == formatName else { throw bad("it is not a Quill prepared corpus manifest") }
        guard head.version == currentVersion else { throw PreparedCorpusError.unsupportedVersion(path: path, version: head.version) }
        let manifest = try decode(PreparedCorpusManifest.self)
        try manifest.check(bad)
        return manifest
    }

    /// Checks that the counts, names and split of a decoded manifest agree with one another.
    private func check(_ bad: (String) -> PreparedCorpusError) throws {
        let counts = [sourceBytes, documentCount, characterCount, tokenCount, shardTokens, validation.start,
                      validation.count, validation.maxTokens] + shards.map(\.tokens)
        guard counts.allSatisfy({ (0...Self.maximumCount).contains($0) }) else {
            throw bad("a count is negative or larger than 2^53")
        }
        guard ["whole-files", "separator-line", "json-lines"].contains(documents.rule) else {
            throw bad("\"documents\" has an unknown rule \"\(documents.rule)\"")
        }
        for (previous, value) in zip([nil] + vocabulary.map(Optional.init), vocabulary) {
            guard Unicode.Scalar(value) != nil else { throw bad("\"vocabulary\" holds \(value), which is not a Unicode scalar value") }
            if let previous, value <= previous { throw bad("\"vocabulary\" is not in strictly increasing order") }
        }
        let width = Self.tokenBytes(vocabularySize: vocabulary.count + 1)
        guard tokenBytes == width else {
            throw bad("\"token_bytes\" is \(tokenBytes) but a vocabulary of \(vocabulary.count + 1) ids takes \(width)")
        }
        guard documentCount >= 1, tokenCount >= 2, tokenCount - documentCount - 1 == characterCount else {
            throw bad("\"token_count\" is not \"document_count\" + \"character_count\" + 1")
        }
        guard shardTokens >= 1 else { throw bad("\"shard_tokens\" is 0") }
        let expected = (tokenCount + shardTokens - 1) / shardTokens
        guard shards.count == expected else {
            throw bad("it lists \(shards.count) shards but \(tokenCount) tokens in shards of \(shardTokens) need \(expected)")
        }
        for (index, shard) in shards.enumerated() {
            guard shard.file == Self.shardFileName(index) else {
                throw bad("shard \(index) is named \"\(shard.file)\", not \"\(Self.shardFileName(index))\"")
            }
            guard shard.tokens == min(shardTokens, tokenCount - index * shardTokens) else {
                throw bad("shard \(index) records \(shard.tokens) tokens, which does not fit \"shard_tokens\" and \"token_count\"")
            }
            guard shard.crc32c.utf8.count == 8, shard.crc32c.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                throw bad("the checksum of shard \(index) is not eight lower-case hex digits")
            }
        }
        guard validation.start >= 1, validation.count >= 2, validation.start + validation.count == tokenCount,
              validation.fraction > 0, validation.fraction < 1 else {
            throw bad("\"validation\" does not hold the end of the stream")
        }
        guard !fingerprint.isEmpty else { throw bad("\"fingerprint\" is empty") }
    }
}
