/// What a run trains and validates on: the training stream, the held-out tokens, and a fingerprint of both.
///
/// The fingerprint is saved with the training state, so a run is never resumed on other data. For
/// tokens in memory it is computed here; a prepared corpus records the same value in its manifest
/// (computed while it was written), so a run started from the text resumes from the prepared folder.
public struct TrainingData: Sendable {
    /// The training stream, cut into lanes by the `Batcher`.
    public var training: AnyTokenSource
    /// The held-out tokens, starting with `[DOC]`.
    public var validation: [Int32]
    /// A short hash of the vocabulary and both streams, with their lengths.
    public var fingerprint: String

    /// Data in memory; the fingerprint hashes every token.
    public init(training: [Int32], validation: [Int32], vocabulary: Vocabulary) {
        self.training = AnyTokenSource(ArrayTokenSource(training))
        self.validation = validation
        fingerprint = Trainer.fingerprint(training: training, validation: validation, vocabulary: vocabulary)
    }

    /// Data from a source whose fingerprint is already known (a prepared corpus's manifest).
    public init(training: any TokenSource, validation: [Int32], fingerprint: String) {
        self.training = AnyTokenSource(training)
        self.validation = validation
        self.fingerprint = fingerprint
    }
}

extension Trainer {
    /// A short hash of the token streams and vocabulary, so a state is never resumed on other data.
    static func fingerprint(training: [Int32], validation: [Int32], vocabulary: Vocabulary) -> String {
        var hasher = CorpusFingerprint(vocabulary: vocabulary.scalars.map(\.value))
        training.withUnsafeBufferPointer { hasher.mix($0) }
        hasher.endTraining()
        validation.withUnsafeBufferPointer { hasher.mix($0) }
        return hasher.value
    }
}

/// The corpus fingerprint of a training state, computed as the tokens stream past.
///
/// FNV-1a (64-bit) over the vocabulary's code points, a marker, the training tokens, a second marker
/// and the validation tokens, each as a 32-bit value; written as hex with the two lengths appended.
struct CorpusFingerprint {
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    private var trainingCount = 0
    private var validationCount = 0
    private var inValidation = false

    init(vocabulary: [UInt32]) {
        for value in vocabulary { mix(value) }
        mix(0xFFFF_FFFF)
    }

    private mutating func mix(_ value: UInt32) {
        hash = (hash ^ UInt64(value)) &* 0x0000_0100_0000_01b3
    }

    /// Mixes the next tokens of the current part (training, then validation after `endTraining`).
    mutating func mix(_ tokens: UnsafeBufferPointer<Int32>) {
        var h = hash
        for t in tokens { h = (h ^ UInt64(UInt32(bitPattern: t))) &* 0x0000_0100_0000_01b3 }
        hash = h
        if inValidation { validationCount += tokens.count } else { trainingCount += tokens.count }
    }

    /// Ends the training tokens; what is mixed next is validation.
    mutating func endTraining() {
        precondition(!inValidation, "the training part already ended")
        mix(0xFFFF_FFFE)
        inValidation = true
    }

    /// The fingerprint, such as `8c3f0e2a9b1d4c57-3601-401`.
    var value: String { String(hash, radix: 16) + "-\(trainingCount)-\(validationCount)" }
}
