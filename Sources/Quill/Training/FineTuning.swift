/// Starting a run from a trained model: its weights, vocabulary and normalization, with a fresh
/// optimizer and schedule.
///
/// The new corpus is encoded with its own vocabulary and then mapped into the model's. Characters
/// the model lacks are refused with their counts, or, when asked, added: the vocabulary becomes the
/// union of both (in code-point order, as always), each old row of the embedding and decoder moves to
/// its character's new id, and each new row is the one a new model of that shape would have had.
public enum FineTuning {
    /// The corpus in the base model's vocabulary, extended by the characters it lacks when `extend` is true.
    ///
    /// - Throws: `FineTuningError.unknownCharacters` listing the characters the model lacks, with
    ///   their counts, when `extend` is false.
    public static func adapt(_ corpus: EncodedCorpus, to base: Vocabulary, extend: Bool) throws -> EncodedCorpus {
        var counts = [Int](repeating: 0, count: corpus.vocabulary.count)
        for token in corpus.tokens { counts[Int(token)] += 1 }
        let missing = corpus.vocabulary.scalars.enumerated().compactMap { index, scalar in
            base.id(of: scalar) == nil ? (scalar, counts[index + 1]) : nil
        }
        if !missing.isEmpty && !extend {
            throw FineTuningError.unknownCharacters(missing.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.value < $1.0.value }
                .map { UnknownCharacter(scalar: $0.0, count: $0.1) })
        }
        let vocabulary = extend ? Vocabulary(scalars: base.scalars + missing.map(\.0)) : base
        var table = [Int32](repeating: Vocabulary.documentID, count: corpus.vocabulary.count)
        for (index, scalar) in corpus.vocabulary.scalars.enumerated() { table[index + 1] = vocabulary.id(of: scalar)! }
        var adapted = corpus
        adapted.tokens = corpus.tokens.map { table[Int($0)] }
        adapted.vocabulary = vocabulary
        return adapted
    }

    /// The model a fine-tuning run starts from: the base's weights, in the layout of `configuration`.
    ///
    /// A new model of `configuration` is drawn from `random` first (so the generator moves as for a
    /// new run); every tensor of the base then replaces it, row by row for the embedding and decoder,
    /// each row going to the id its character has in `vocabulary`. Rows of characters the base lacks
    /// keep the new model's values.
    /// - Precondition: `configuration` has the base's sizes, and `vocabulary` holds every base character.
    public static func startingModel(from base: ModelFile, vocabulary: Vocabulary, configuration: ModelConfiguration,
                                     random: inout QuillRandom) -> LanguageModel {
        let old = base.configuration
        precondition(old.embeddingSize == configuration.embeddingSize && old.hiddenSize == configuration.hiddenSize
                     && old.layers == configuration.layers && vocabulary.count == configuration.vocabularySize,
                     "the fine-tuned model's sizes differ from the base model's")
        let model = LanguageModel.initialized(configuration, random: &random)
        let from = base.weights, to = model.weights
        // New id of each old id: [DOC] stays 0, each character goes to its id in the new vocabulary.
        var newID = [Int](repeating: 0, count: old.vocabularySize)
        for (index, scalar) in base.vocabulary.scalars.enumerated() {
            guard let id = vocabulary.id(of: scalar) else { preconditionFailure("the vocabulary lacks a base character") }
            newID[index + 1] = Int(id)
        }
        for (index, slot) in to.layout.slots.enumerated() {
            let source = from.layout.slots[index]
            precondition(source.name == slot.name)
            let rowWidth: Int
            switch index {
            case to.layout.embeddingIndex: rowWidth = old.embeddingSize
            case to.layout.decoderWeightIndex: rowWidth = old.hiddenSize
            case to.layout.decoderBiasIndex: rowWidth = 1
            default:
                to.view(slot).update(from: from.view(source), count: slot.count)
                continue
            }
            for row in 0..<old.vocabularySize {
                (to.view(slot) + newID[row] * rowWidth).update(from: from.view(source) + row * rowWidth, count: rowWidth)
            }
        }
        return model
    }
}

extension Trainer {
    /// The vocabulary of the run saved in `folder`: a fine-tuned run's is its base model's, not its corpus's own.
    ///
    /// - Throws: `CheckpointError` when there is no readable training state.
    public static func savedVocabulary(in folder: ModelFolder) throws -> Vocabulary {
        try TrainingCheckpoint.read(from: folder.state).vocabulary
    }
}

/// A character of a new corpus that the base model's vocabulary lacks, and how often it occurs.
public struct UnknownCharacter: Equatable, Sendable {
    public var scalar: Unicode.Scalar
    public var count: Int

    public init(scalar: Unicode.Scalar, count: Int) {
        self.scalar = scalar
        self.count = count
    }
}

/// A fine-tuning run that cannot start from the model it was given.
public enum FineTuningError: Error, Equatable, CustomStringConvertible {
    /// The new corpus holds characters the model's vocabulary lacks (most frequent first).
    case unknownCharacters([UnknownCharacter])
    /// A size given for the run differs from the model's; `name` is the setting's name in `TrainingSettings`.
    case differentSize(model: String, name: String, size: Int, given: Int)
    /// Text options given for the run differ from the model's, which the run must keep.
    case differentText(model: String, saved: String, given: String)

    /// Characters listed in a message before the rest are only counted.
    static let listed = 20

    public var description: String { description(naming: { $0 }) }

    /// The message with each setting called what `name` returns for its name (a flag, say); the choices
    /// of extending the vocabulary and of starting from a model are named `extendVocabulary` and `initFrom`.
    public func description(naming name: (String) -> String) -> String {
        switch self {
        case let .unknownCharacters(characters):
            var parts = characters.prefix(Self.listed).map { "\(Vocabulary.displayName(of: $0.scalar)) (\($0.count))" }
            if characters.count > Self.listed { parts.append("and \(characters.count - Self.listed) more") }
            let total = characters.reduce(0) { $0 + $1.count }
            return "The corpus has \(characters.count) distinct characters (\(total) in all) that the model's vocabulary lacks: \(parts.joined(separator: ", ")); add \(name("extendVocabulary")) to give them new rows, or clean them from the corpus."
        case let .differentSize(model, setting, size, given):
            return "The model \(model) has \(name(setting)) \(size) but \(given) was asked; leave \(name(setting)) out to fine-tune it, or train a new model without \(name("initFrom"))."
        case let .differentText(model, saved, given):
            return "The model \(model) reads \(saved) text but \(given) was asked; leave the normalization and case folding out to fine-tune it."
        }
    }
}
