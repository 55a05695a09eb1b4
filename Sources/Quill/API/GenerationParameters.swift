/// Everything that shapes one generation besides the prompt: sampling, length, stop strings and seed.
///
/// A `Sendable` value checked when it is made, so a generation never starts with a bad setting.
public struct GenerationParameters: Equatable, Sendable {
    /// Temperature, top-k and top-p.
    public let sampling: SamplingSettings
    /// Characters to generate at most, the prompt not counted.
    public let maxLength: Int
    /// Texts that end the generation where they appear (they are not part of the result).
    public let stops: [String]
    /// Seed of the generation's own random generator.
    public let seed: UInt64

    /// Parameters checked for sense.
    ///
    /// - Parameters:
    ///   - temperature: finite and at least 0; 0 is greedy decoding, 1 the model's own distribution.
    ///   - topK: at least 0; 0 is off (typical 20 to 100).
    ///   - topP: in (0, 1]; 1 is off (typical 0.8 to 0.95).
    ///   - maxLength: 1 to `SamplingSettings.maximumLength` characters.
    ///   - stops: non-empty strings.
    ///   - seed: any value; the same seed gives the same text.
    /// - Throws: `SamplingError` naming the first setting out of range.
    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1, maxLength: Int = 500,
                stops: [String] = [], seed: UInt64 = 1) throws(SamplingError) {
        try self.init(sampling: SamplingSettings(temperature: temperature, topK: topK, topP: topP),
                      maxLength: maxLength, stops: stops, seed: seed)
    }

    /// Parameters from sampling settings already checked.
    ///
    /// - Throws: `SamplingError.invalidLength` or `.emptyStopString`.
    public init(sampling: SamplingSettings, maxLength: Int = 500, stops: [String] = [], seed: UInt64 = 1) throws(SamplingError) {
        guard maxLength >= 1, maxLength <= SamplingSettings.maximumLength else {
            throw SamplingError.invalidLength(maxLength, maximum: SamplingSettings.maximumLength)
        }
        guard !stops.contains(where: \.isEmpty) else { throw SamplingError.emptyStopString }
        self.init(checked: sampling, maxLength: maxLength, stops: stops, seed: seed)
    }

    private init(checked sampling: SamplingSettings, maxLength: Int, stops: [String], seed: UInt64) {
        self.sampling = sampling
        self.maxLength = maxLength
        self.stops = stops
        self.seed = seed
    }

    /// The same parameters with another seed.
    public func withSeed(_ seed: UInt64) -> GenerationParameters {
        GenerationParameters(checked: sampling, maxLength: maxLength, stops: stops, seed: seed)
    }

    /// Temperature 1, no top-k or top-p, 500 characters, no stop string, seed 1.
    public static let standard = GenerationParameters(checked: .unchanged, maxLength: 500, stops: [], seed: 1)
}
