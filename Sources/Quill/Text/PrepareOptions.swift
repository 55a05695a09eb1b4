/// What `PreparedCorpus.prepare` reads and how it cuts the stream.
public struct PrepareOptions: Sendable {
    /// The corpus files and how they become documents.
    public var source: CorpusSource
    /// Normalization and case folding, as `train` takes them.
    public var textOptions: TextOptions
    /// Fraction of the stream, from its end, held out to validate; in (0, 1).
    public var validationFraction: Double
    /// Most tokens held out, whatever the fraction, so a validation pass stays short on a large corpus:
    /// a million by default, about 20 seconds for the default model at 50,000 characters a second.
    public var maximumValidationTokens: Int
    /// Token ids per shard file (64 Mi by default: 128 MB of `UInt16`).
    public var shardTokens: Int
    /// Bytes read from a file at a time.
    public var chunkSize: Int
    /// Whether an existing prepared corpus at the output may be replaced.
    public var replace: Bool

    public static let defaultMaximumValidationTokens = 1_000_000
    public static let defaultShardTokens = 1 << 26

    public init(source: CorpusSource, textOptions: TextOptions = TextOptions(), validationFraction: Double = 0.1,
                maximumValidationTokens: Int = defaultMaximumValidationTokens, shardTokens: Int = defaultShardTokens,
                chunkSize: Int = CorpusEncoder.defaultChunkSize, replace: Bool = false) {
        self.source = source
        self.textOptions = textOptions
        self.validationFraction = validationFraction
        self.maximumValidationTokens = maximumValidationTokens
        self.shardTokens = shardTokens
        self.chunkSize = chunkSize
        self.replace = replace
    }

    /// The ranges of the settings: the validation fraction, the cap on held-out tokens and the tokens per shard.
    public static let validationFractionRange = 0.0...0.5
    public static let maximumValidationTokensRange = 2...(1 << 50)
    public static let shardTokensRange = 1...(1 << 40)

    /// - Throws: `PreparedCorpusError.invalidSetting` naming the setting.
    public func validate() throws {
        guard validationFraction > 0 && Self.validationFractionRange.contains(validationFraction) else {
            throw PreparedCorpusError.invalidSetting(name: "validation fraction", value: "\(validationFraction)", expected: "a fraction above 0 and at most 0.5, such as 0.1")
        }
        guard Self.maximumValidationTokensRange.contains(maximumValidationTokens) else {
            throw PreparedCorpusError.invalidSetting(name: "cap on held-out tokens", value: "\(maximumValidationTokens)", expected: "at least 2, such as 1000000")
        }
        guard Self.shardTokensRange.contains(shardTokens) else {
            throw PreparedCorpusError.invalidSetting(name: "number of tokens per shard", value: "\(shardTokens)", expected: "a count from 1 to 2^40, such as 67108864")
        }
    }
}

/// How far `PreparedCorpus.prepare` has come: pass 1 (vocabulary) or 2 (shards), and bytes read of that pass.
public struct PrepareProgress: Equatable, Sendable {
    public var pass: Int
    public var bytes: Int
    public var totalBytes: Int
}
