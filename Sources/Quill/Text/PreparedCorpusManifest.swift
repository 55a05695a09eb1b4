import Foundation

/// The manifest of a prepared corpus folder (`quill-manifest.json`): what the shards hold and how to check them.
///
/// The token stream is `[DOC] d1 [DOC] d2 ... [DOC] dn [DOC]`, exactly what `CorpusEncoder` makes of the
/// same files and options, cut into shard files of `shardTokens` ids each (the last one shorter),
/// little-endian `UInt16` when the vocabulary has at most 65,536 ids, else `UInt32`. Its last
/// `validation.count` tokens are held out to validate (with a `[DOC]` put in front when they start
/// inside a document, as `TrainingSplit` does); the rest trains.
///
/// | key | value |
/// |---|---|
/// | `format`, `version` | `quill-prepared-corpus`, 1 |
/// | `normalization`, `case_fold` | the text options, as `train` takes them |
/// | `documents` | how files were cut into documents: `rule` (`whole-files`, `separator-line`, `json-lines`) and `separator` or `field` |
/// | `sources`, `source_bytes` | the paths given and the bytes read |
/// | `vocabulary` | code points of ids 1 to V-1, strictly increasing; id 0 is `[DOC]` |
/// | `token_bytes` | 2 or 4 |
/// | `document_count`, `character_count`, `token_count` | tokens = documents + characters + 1 |
/// | `shard_tokens`, `shards` | tokens per shard; each shard's `file`, `tokens` and `crc32c` (8 hex digits) |
/// | `validation` | `start` and `count` of the held-out tokens, and the `fraction` and `max_tokens` that chose them |
/// | `fingerprint` | the training state's corpus fingerprint of this split, as `Trainer` computes it from tokens in memory |
public struct PreparedCorpusManifest: Codable, Equatable, Sendable {
    /// The file name of the manifest inside the folder.
    public static let fileName = "quill-manifest.json"
    public static let formatName = "quill-prepared-corpus"
    public static let currentVersion = 1

    /// How files were cut into documents.
    public struct Documents: Codable, Equatable, Sendable {
        /// `whole-files`, `separator-line` or `json-lines`.
        public var rule: String
        /// The separator line under `separator-line`.
        public var separator: String?
        /// The JSON field under `json-lines`.
        public var field: String?
    }

    /// One shard file.
    public struct Shard: Codable, Equatable, Sendable {
        /// File name inside the folder, such as `shard-00000.bin`.
        public var file: String
        /// Token ids it holds.
        public var tokens: Int
        /// CRC-32C of its bytes, as eight lower-case hex digits.
        public var crc32c: String
    }

    /// The held-out part of the stream.
    public struct Validation: Codable, Equatable, Sendable {
        /// Index of the first held-out token; the tokens before it train.
        public var start: Int
        /// Held-out tokens: the stream's last `count`.
        public var count: Int
        /// The fraction of the stream asked for.
        public var fraction: Double
        /// The cap on the held-out tokens.
        public var maxTokens: Int

        enum CodingKeys: String, CodingKey {
            case start, count, fraction
            case maxTokens = "max_tokens"
        }
    }

    public var format: String
    public var version: Int
    public var normalization: NormalizationForm
    public var caseFold: Bool
    public var documents: Documents
    public var sources: [String]
    public var sourceBytes: Int
    public var vocabulary: [UInt32]
    public var tokenBytes: Int
    public var documentCount: Int
    public var characterCount: Int
    public var tokenCount: Int
    public var shardTokens: Int
    public var shards: [Shard]
    public var validation: Validation
    public var fingerprint: String

    enum CodingKeys: String, CodingKey {
        case format, version, normalization, documents, sources, vocabulary, shards, validation, fingerprint
        case caseFold = "case_fold"
        case sourceBytes = "source_bytes"
        case tokenBytes = "token_bytes"
        case documentCount = "document_count"
        case characterCount = "character_count"
        case tokenCount = "token_count"
        case shardTokens = "shard_tokens"
    }

    /// The text options the corpus was normalized with.
    public var textOptions: TextOptions { TextOptions(form: normalization, caseFold: caseFold) }

    /// The bytes of one token id for a vocabulary of `size` ids: 2 up to 65,536 ids, else 4.
    public static func tokenBytes(vocabularySize size: Int) -> Int { size <= 65_536 ? 2 : 4 }

    /// The file name of shard `index`.
    public static func shardFileName(_ index: Int) -> String {
        let digits = String(index)
        return "shard-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + ".bin"
    }

    /// The manifest as one line of JSON text, through Quill's one encoder (`JSONOutput`: keys sorted).
    public func encoded() throws -> Data {
        try JSONOutput.encoder().encode(self) + Data("\n".utf8)
    }
}

extension DocumentSplitting {
    /// The rule as a manifest records it.
    var manifestRecord: PreparedCorpusManifest.Documents {
        switch self {
        case .wholeFiles: return .init(rule: "whole-files")
        case let .separatorLine(separator): return .init(rule: "separator-line", separator: separator)
        case let .jsonLines(field): return .init(rule: "json-lines", field: field)
        }
    }
}
