/// Generates text from a model: `samples` independent continuations of one prompt, stepped together as a batch.
///
/// The prompt (already token ids) is fed after `[DOC]` from a zero state; generation continues from
/// the prompt's final state. Each sample has its own random generator, seeded `seed + i` for sample
/// `i`, so sample 0 of a batch is the same text as a single sample with that seed.
public final class TextGenerator {
    public let model: LanguageModel
    public let vocabulary: Vocabulary
    public let samples: Int
    private let engine: InferenceEngine
    private let state: RecurrentState
    private var tokens: [Int32]
    private let logits: UnsafeMutablePointer<Float>

    /// - Parameters:
    ///   - samples: samples generated together, 1 to `SamplingSettings.maximumSampleCount`.
    ///   - precision: the engine's products; `.bfloat16` is several times faster on CPUs with AVX-512 BF16.
    ///   - threads: the engine's worker threads; the results are the same for any count.
    public init(model: LanguageModel, vocabulary: Vocabulary, samples: Int = 1, precision: ComputePrecision = .float32,
                threads: Int = defaultEngineThreadCount) {
        precondition(samples >= 1, "at least one sample")
        precondition(vocabulary.count == model.configuration.vocabularySize, "vocabulary and model disagree")
        self.model = model
        self.vocabulary = vocabulary
        self.samples = samples
        engine = InferenceEngine(model: model, batch: samples, maxSeq: 1, precision: precision, threads: threads)
        state = RecurrentState(configuration: model.configuration, batch: samples)
        tokens = [Int32](repeating: 0, count: samples)
        logits = .allocate(capacity: samples * model.configuration.vocabularySize)
    }

    deinit { logits.deallocate() }

    /// Why one sample ended.
    public enum Ending: Equatable, Sendable {
        case length
        case stopString
        case endOfDocument
        /// With `ignoreEndOfDocument`: the model ended `maximumEmptyDocuments` documents in a row
        /// without a character between them (as a greedy model whose first choice is `[DOC]` does forever).
        case emptyDocuments
    }

    /// Empty documents in a row after which an `ignoreEndOfDocument` sample ends.
    ///
    /// After `[DOC]` the state is reset, so a greedy model that ends one document at once ends
    /// every later one too; a random draw does so `maximumEmptyDocuments` times in a row only if
    /// `[DOC]` is all but certain (probability 0.9 gives 1 chance in 38,000).
    public static let maximumEmptyDocuments = 100

    /// Generates up to `length` characters for every sample.
    ///
    /// - Parameters:
    ///   - prompt: token ids of the prompt, without `[DOC]` (it is put in front).
    ///   - length: characters to generate per sample (the prompt not counted).
    ///   - stops: strings that end a sample (not included in its text).
    ///   - ignoreEndOfDocument: when the model ends a document, start a new one (reset) instead of
    ///     stopping; after `maximumEmptyDocuments` documents in a row that end before their first
    ///     character, the sample ends (`.emptyDocuments`), since the model would go on so.
    ///   - output: called with (sample index, text) as whole grapheme clusters become printable;
    ///     an error it throws ends generation and is rethrown.
    /// - Returns: why each sample ended.
    /// - Throws: `SamplingError.emptyStopString` for an empty stop string, `.nonFiniteScores` when
    ///   the model's scores overflow (a damaged model), or what `output` throws.
    ///
    /// Generation always ends: a sample's steps are at most `length` characters, each after at
    /// most `maximumEmptyDocuments` document ends, and the document ends after the last.
    @discardableResult
    public func generate(prompt: [Int32], length: Int, settings: SamplingSettings, seed: UInt64,
                         stops: [String] = [], ignoreEndOfDocument: Bool = false,
                         output: (Int, String) throws -> Void) throws -> [Ending] {
        let v = model.configuration.vocabularySize
        let sampler = TokenSampler(vocabularySize: v, settings: settings)
        var randoms = (0..<samples).map { QuillRandom(seed: seed &+ UInt64($0)) }
        var streams = try (0..<samples).map { _ in try GeneratedTextStream(stops: stops) }
        var endings = [Ending?](repeating: nil, count: samples)
        var produced = [Int](repeating: 0, count: samples)
        var emptyDocuments = [Int](repeating: 0, count: samples)  // document ends since the last character
        state.zero()
        for token in [Vocabulary.documentID] + prompt {
            for i in 0..<samples { tokens[i] = token }
            step()
        }
        var active = samples
        while active > 0 {
            for i in 0..<samples where endings[i] == nil {
                guard Self.scoresAreUsable(logits + i * v, count: v) else {
                    throw SamplingError.nonFiniteScores(generated: produced[i])
                }
                let next = sampler.sample(logits: logits + i * v, random: &randoms[i])
                tokens[i] = next
                guard next != Vocabulary.documentID, let scalar = vocabulary.scalar(of: next) else {
                    // A document end: the sample stops, or (ignoring it) a new document starts,
                    // unless documents have ended so often in a row that they would forever.
                    emptyDocuments[i] += 1
                    if !ignoreEndOfDocument {
                        endings[i] = .endOfDocument
                    } else if emptyDocuments[i] > Self.maximumEmptyDocuments {
                        endings[i] = .emptyDocuments
                    }
                    continue
                }
                emptyDocuments[i] = 0
                let text = streams[i].append(scalar)
                if !text.isEmpty { try output(i, text) }
                produced[i] += 1
                if streams[i].stopped {
                    endings[i] = .stopString
                } else if produced[i] >= length {
                    endings[i] = .length
                }
            }
            active = endings.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
            if active > 0 { step() }
        }
        for i in 0..<samples where endings[i] != .stopString {
            let rest = streams[i].finish()
            if !rest.isEmpty { try output(i, rest) }
        }
        return endings.map { $0 ?? .length }
    }

    /// Whether a row of scores can be sampled: no NaN, no +infinity, at least one finite value.
    static func scoresAreUsable(_ row: UnsafePointer<Float>, count: Int) -> Bool {
        var anyFinite = false
        for j in 0..<count {
            let x = row[j]
            if x.isNaN || x == .infinity { return false }
            if x.isFinite { anyFinite = true }
        }
        return anyFinite
    }

    /// Feeds `tokens` (one per sample) and leaves the next logits in `logits`.
    private func step() {
        tokens.withUnsafeBufferPointer { engine.step(tokens: $0, state: state, logits: logits) }
    }
}
