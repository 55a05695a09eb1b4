/// Generates text that can be continued: the model's state and the random generator carry over from
/// one call to the next, as if the caller's text and the generated text were one document.
///
/// ```swift
/// let generator = model.makeGenerator(seed: 7)
/// let first = try generator.generate(after: "ROMEO:", parameters: try GenerationParameters(maxLength: 80))
/// let reply = try generator.generate(after: "\nJULIET:", parameters: try GenerationParameters(maxLength: 80))
/// ```
///
/// Two calls of 10 and then 20 characters give the same text as one call of 30 with the same seed.
/// A generator is not thread-safe: use it from one task at a time.
public final class QuillGenerator {
    /// The model generated from.
    public let model: QuillModel
    /// Why the last call ended, or nil before the first.
    public private(set) var lastEnding: TextGenerator.Ending?

    /// One lane, stepped as the server steps its lanes, so the server gives the same text for a seed.
    private let lane: LaneBatch
    private var random: QuillRandom
    private var logits: UnsafePointer<Float>?
    /// The last token chosen but not yet read by the model; `[DOC]` at the start and after a document ended.
    private var pending = Vocabulary.documentID

    init(model: QuillModel, seed: UInt64) {
        self.model = model
        lane = LaneBatch(model: model.languageModel, capacity: 1, precision: model.precision)
        random = QuillRandom(seed: seed)
    }

    /// Appends `text` to the document, then generates a continuation of it.
    ///
    /// The random generator is the one seeded when the generator was made; `parameters.seed` is not
    /// used here. After the model ended a document, the next call starts a new one.
    /// - Parameters:
    ///   - text: text to append before generating (may be empty).
    ///   - onText: called with each piece of whole grapheme clusters as it is generated.
    /// - Returns: the generated text (without `text`).
    /// - Throws: `QuillError.unknownCharacter` (nothing is fed then), `.cancelled` if the task is cancelled.
    @discardableResult
    public func generate(after text: String = "", parameters: GenerationParameters = .standard,
                         onText: (String) -> Void = { _ in }) throws(QuillError) -> String {
        let tokens = try model.encode(text)
        var stream: GeneratedTextStream
        do {
            stream = try GeneratedTextStream(stops: model.normalizedStops(parameters.stops))
        } catch {
            throw QuillError.invalidParameter(.emptyStopString)
        }
        let v = model.configuration.vocabularySize
        let sampler = TokenSampler(vocabularySize: v, settings: parameters.sampling)
        step(pending)
        for t in tokens { step(t) }
        var result = ""
        func emit(_ piece: String) {
            guard !piece.isEmpty else { return }
            result += piece
            onText(piece)
        }
        var produced = 0
        var ending: TextGenerator.Ending
        while true {
            if Task.isCancelled {
                pending = Vocabulary.documentID
                throw QuillError.cancelled
            }
            let next = sampler.sample(logits: logits!, random: &random)
            pending = next
            if next == Vocabulary.documentID {
                ending = .endOfDocument
                break
            }
            guard let scalar = model.vocabulary.scalar(of: next) else { continue }
            emit(stream.append(scalar))
            produced += 1
            if stream.stopped {
                ending = .stopString
                break
            }
            if produced >= parameters.maxLength {
                ending = .length
                break
            }
            step(next)
        }
        if ending != .stopString { emit(stream.finish()) }
        lastEnding = ending
        return result
    }

    /// Feeds one token and leaves the next-token logits in `logits`.
    private func step(_ t: Int32) {
        logits = lane.step(slots: [0], tokens: [t])
    }
}
