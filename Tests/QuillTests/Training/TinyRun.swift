@testable import Quill

extension TrainingConfiguration {
    /// A run of a small float32 model for tests, with the sizes, limits and cadence given and every
    /// other setting at its default.
    static func tiny(embed: Int = 4, hidden: Int = 8, layers: Int = 1, batch: Int = 4, seq: Int = 8,
                     steps: Int = 0, warmup: Int = 0, evalEvery: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.embeddingSize = embed
        c.hiddenSize = hidden
        c.layers = layers
        c.batch = batch
        c.seq = seq
        c.steps = steps
        c.warmupSteps = warmup
        c.evalEvery = evalEvery
        c.precision = .float32
        return c
    }
}

extension TrainingSplit {
    /// 4,000 seeded random ids of six letters (1...6) between two document markers, 10% held out.
    static func randomSixLetters() throws -> TrainingSplit {
        var random = QuillRandom(seed: 4)
        var tokens: [Int32] = [0]
        for _ in 0..<4000 { tokens.append(Int32(1 + random.next() % 6)) }
        tokens.append(0)
        return try TrainingSplit.split(tokens: tokens, validationFraction: 0.1)
    }
}
