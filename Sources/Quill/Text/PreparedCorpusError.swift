/// A problem with a prepared corpus folder: writing one, or reading one that is missing, damaged or not Quill's.
public enum PreparedCorpusError: Error, Equatable, CustomStringConvertible {
    /// The folder has no manifest, so it is not a (complete) prepared corpus.
    case notPrepared(folder: String)
    /// The manifest cannot be parsed or says something impossible.
    case badManifest(path: String, reason: String)
    /// The manifest is of a later format version.
    case unsupportedVersion(path: String, version: Int)
    /// A shard file is missing or cannot be read.
    case unreadableShard(path: String, reason: String)
    /// A shard file's size disagrees with the manifest.
    case shardSize(path: String, bytes: Int, expected: Int)
    /// A shard's checksum disagrees with the manifest.
    case checksumMismatch(path: String, found: String, recorded: String)
    /// A shard holds a token id the vocabulary does not have.
    case idOutOfRange(path: String, id: UInt32, vocabularySize: Int)
    /// A corpus file changed between the two passes of `prepare`.
    case corpusChanged(path: String)
    /// The output folder exists and is not a prepared corpus that may be replaced.
    case outputExists(path: String)
    /// The output folder holds a prepared corpus and replacing it was not asked for.
    case alreadyPrepared(path: String)
    /// The output folder cannot be written.
    case cannotWrite(path: String, reason: String)
    /// `prepare` was asked to stop.
    case interrupted
    /// A setting of `prepare` is out of range; `name` says which in words.
    case invalidSetting(name: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .notPrepared(folder):
            return "\(folder) is not a prepared corpus (it has no \(PreparedCorpusManifest.fileName)); prepare a corpus into it first."
        case let .badManifest(path, reason):
            return "The manifest \(path) cannot be used: \(reason); prepare the corpus again."
        case let .unsupportedVersion(path, version):
            return "The manifest \(path) has format version \(version), which this Quill does not read (it reads version \(PreparedCorpusManifest.currentVersion)); prepare the corpus again with this version."
        case let .unreadableShard(path, reason):
            return "The shard \(path) cannot be read (\(reason)); prepare the corpus again."
        case let .shardSize(path, bytes, expected):
            return "The shard \(path) holds \(bytes) bytes but the manifest records \(expected); the folder is damaged, so prepare the corpus again."
        case let .checksumMismatch(path, found, recorded):
            return "The shard \(path) is damaged: its CRC-32C is \(found) but the manifest records \(recorded); prepare the corpus again."
        case let .idOutOfRange(path, id, size):
            return "The shard \(path) holds token id \(id), outside the vocabulary of \(size) tokens; the folder is damaged, so prepare the corpus again."
        case let .corpusChanged(path):
            return "\(path) changed while it was being prepared; prepare again once nothing writes to the corpus."
        case let .outputExists(path):
            return "\(path) already exists and is not a prepared corpus; write to another folder, or remove it first."
        case let .alreadyPrepared(path):
            return "\(path) already holds a prepared corpus; ask for it to be replaced, or write to another folder."
        case let .cannotWrite(path, reason):
            return "Cannot write \(path): \(reason); check the folder is writable and the disk has room (nothing was left in place of the output)."
        case .interrupted:
            return "Preparing was interrupted; nothing was written in place of the output folder, so run the command again."
        case let .invalidSetting(name, value, expected):
            return "The \(name) \(value) is invalid; use \(expected)."
        }
    }
}

#if canImport(Foundation)
import Foundation

extension PreparedCorpusError: LocalizedError {
    public var errorDescription: String? { description }
}
#endif
