import Foundation
import Quill

/// A deterministic corpus of a given vocabulary size, for measuring the engine on large vocabularies.
///
/// The characters are consecutive CJK ideographs from U+4E00; the text is every character once,
/// then draws from a Zipf-like law (id `ceil((V-1)^u)` for uniform `u`, so frequent characters
/// are few and rare ones many, as in Chinese or Japanese text) from seed 1. It is one document.
enum BenchSyntheticCorpus {
    /// The most ids a synthetic vocabulary may have: the ideographs U+4E00 to U+9FFF.
    static let largestVocabulary = 0x9FFF - 0x4E00 + 2

    /// `characters` tokens (the `[DOC]` first) over a vocabulary of `vocabularySize` ids, `[DOC]` included.
    static func make(vocabularySize v: Int, characters: Int) -> (tokens: [Int32], vocabulary: Vocabulary) {
        precondition(v >= 2 && v <= largestVocabulary && characters >= v, "synthetic corpus out of range")
        let vocabulary = Vocabulary(scalars: (0..<(v - 1)).map { Unicode.Scalar(UInt32(0x4E00 + $0))! })
        var tokens = [Int32](repeating: 0, count: characters)
        for id in 1..<v { tokens[id] = Int32(id) }
        var random = QuillRandom(seed: 1)
        let top = Double(v - 1)
        for i in v..<characters {
            let id = Int(Foundation.pow(top, random.nextUnitDouble()).rounded(.up))
            tokens[i] = Int32(min(max(id, 1), v - 1))
        }
        return (tokens, vocabulary)
    }
}
