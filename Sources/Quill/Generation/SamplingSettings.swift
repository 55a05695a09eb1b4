/// A sampling setting a user gave that cannot be used, with the value and a hint.
public enum SamplingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The temperature is negative, NaN or infinite.
    case invalidTemperature(Float)
    /// The top-k count is below zero.
    case invalidTopK(Int)
    /// The top-p mass is not in (0, 1], or is NaN.
    case invalidTopP(Float)
    /// The number of tokens to generate is below 1 or absurdly large.
    case invalidLength(Int, maximum: Int)
    /// The number of samples is outside 1...maximum.
    case invalidSampleCount(Int, maximum: Int)
    /// A stop string is empty, so it would end generation before it starts.
    case emptyStopString
    /// The model's scores for the next token hold NaN or +infinity (weights so large the arithmetic overflows).
    case nonFiniteScores(generated: Int)

    public var description: String {
        switch self {
        case let .invalidTemperature(t):
            return "The temperature must be a finite number of at least 0, not \(t); use 0 for greedy decoding, 1 for the model's own distribution, or something like 0.7 for safer text."
        case let .invalidTopK(k):
            return "The top-k count must be 0 (off) or a positive number of tokens, not \(k); try 40, or 0 to keep every token."
        case let .invalidTopP(p):
            return "The top-p mass must be above 0 and at most 1, not \(p); try 0.9, or 1 to keep every token."
        case let .invalidLength(n, maximum):
            return "The length must be between 1 and \(maximum) tokens, not \(n); try 500."
        case let .invalidSampleCount(n, maximum):
            return "The number of samples must be between 1 and \(maximum), not \(n); try 1."
        case .emptyStopString:
            return "A stop string is empty, which would stop generation at once; give at least one character or leave the stop option out."
        case let .nonFiniteScores(generated):
            return "The model's scores for the next character are not finite numbers (NaN or infinity) after \(generated) generated characters, because its weights are so large that the arithmetic overflows; the model file is damaged or its training diverged, so train it again."
        }
    }
}

/// How one row of logits becomes a token: temperature, then top-k, then top-p (nucleus), then a draw.
///
/// The defaults change nothing: the draw follows the model's own softmax distribution.
public struct SamplingSettings: Equatable, Sendable {
    /// Divides the logits before the softmax; 1 = unchanged, below 1 = less random, 0 = greedy (argmax).
    public let temperature: Float
    /// Keeps only the k most probable tokens; 0 = off (typical 20...100).
    public let topK: Int
    /// Keeps the smallest set of most probable tokens whose mass reaches p; 1 = off (typical 0.8...0.95).
    public let topP: Float

    /// Longest generation a single sample may ask for, in tokens.
    public static let maximumLength = 100_000_000
    /// Most samples one command may ask for.
    public static let maximumSampleCount = 4096

    /// Settings that sample the model's distribution unchanged (temperature 1, no top-k, no top-p).
    public static let unchanged = SamplingSettings(checkedTemperature: 1, topK: 0, topP: 1)

    /// Settings checked for sense.
    ///
    /// - Parameters:
    ///   - temperature: finite and at least 0; 0 means greedy decoding.
    ///   - topK: at least 0; 0 means off.
    ///   - topP: in (0, 1]; 1 means off.
    /// - Throws: `SamplingError.invalidTemperature`, `.invalidTopK` or `.invalidTopP`.
    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1) throws(SamplingError) {
        guard temperature.isFinite, temperature >= 0 else { throw SamplingError.invalidTemperature(temperature) }
        guard topK >= 0 else { throw SamplingError.invalidTopK(topK) }
        guard topP > 0, topP <= 1 else { throw SamplingError.invalidTopP(topP) }  // NaN fails `topP > 0`
        self.init(checkedTemperature: temperature, topK: topK, topP: topP)
    }

    private init(checkedTemperature temperature: Float, topK: Int, topP: Float) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    /// True when the draw is an argmax that consumes no randomness.
    public var isGreedy: Bool { temperature == 0 }

    /// Checks a requested generation length in tokens.
    ///
    /// - Throws: `SamplingError.invalidLength` unless `1 <= length <= maximumLength`.
    public static func validateLength(_ length: Int) throws(SamplingError) {
        guard length >= 1, length <= maximumLength else {
            throw SamplingError.invalidLength(length, maximum: maximumLength)
        }
    }

    /// Checks a requested number of samples.
    ///
    /// - Throws: `SamplingError.invalidSampleCount` unless `1 <= count <= maximumSampleCount`.
    public static func validateSampleCount(_ count: Int) throws(SamplingError) {
        guard count >= 1, count <= maximumSampleCount else {
            throw SamplingError.invalidSampleCount(count, maximum: maximumSampleCount)
        }
    }
}
