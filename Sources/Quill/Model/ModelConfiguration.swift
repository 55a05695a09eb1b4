/// The shape of a Quill language model: `Embedding(V, E) -> L x LSTM(H) -> Dropout -> Linear(H, V)`.
///
/// The vocabulary size counts the `[DOC]` token at id 0.
public struct ModelConfiguration: Equatable, Hashable, Sendable, Codable {
    /// Number of token ids, `[DOC]` included (V).
    public var vocabularySize: Int
    /// Width of the embedding vectors (E); typical 32 to 256.
    public var embeddingSize: Int
    /// Width of each LSTM layer's hidden and cell state (H); typical 128 to 1024.
    public var hiddenSize: Int
    /// Number of stacked LSTM layers (L); typical 1 to 3.
    public var layers: Int
    /// Dropout probability between layers and before the decoder, applied in training only.
    public var dropout: Float

    public init(vocabularySize: Int, embeddingSize: Int, hiddenSize: Int, layers: Int, dropout: Float = 0) {
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.dropout = dropout
    }

    /// Input width of LSTM layer `layer`: E for the first layer, H after it.
    @inlinable
    public func inputSize(ofLayer layer: Int) -> Int {
        layer == 0 ? embeddingSize : hiddenSize
    }

    /// Largest sizes a model may have; larger values are rejected as absurd.
    public static let maximumVocabularySize = 1 << 21
    public static let maximumWidth = 16_384
    public static let maximumLayers = 64

    /// Checks every size against sensible bounds.
    ///
    /// - Throws: `ModelConfigurationError` naming the first bad value.
    public func validate() throws {
        func check(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws {
            guard range.contains(value) else {
                throw ModelConfigurationError.outOfRange(name: name, value: value, range: range)
            }
        }
        try check("vocabulary size", vocabularySize, 2...Self.maximumVocabularySize)
        try check("embedding size", embeddingSize, 1...Self.maximumWidth)
        try check("hidden size", hiddenSize, 1...Self.maximumWidth)
        try check("layer count", layers, 1...Self.maximumLayers)
        guard dropout.isFinite, dropout >= 0, dropout < 1 else {
            throw ModelConfigurationError.badDropout(dropout)
        }
    }
}

/// A model shape that cannot be built.
public enum ModelConfigurationError: Error, Equatable, CustomStringConvertible {
    case outOfRange(name: String, value: Int, range: ClosedRange<Int>)
    case badDropout(Float)

    public var description: String {
        switch self {
        case let .outOfRange(name, value, range):
            return "The \(name) \(value) is out of range; use a value from \(range.lowerBound) to \(range.upperBound)."
        case let .badDropout(p):
            return "The dropout \(p) is not a probability; use a value in [0, 1), such as 0.1."
        }
    }
}
