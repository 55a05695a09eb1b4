import Quill
import XCTest

final class EvaluatorTests: XCTestCase {
    private func model(seed: UInt64 = 3) -> LanguageModel {
        var random = QuillRandom(seed: seed)
        return LanguageModel.initialized(ModelConfiguration(vocabularySize: 9, embeddingSize: 4, hiddenSize: 6, layers: 2), random: &random)
    }

    private func stream(_ count: Int, seed: UInt64 = 5) -> [Int32] {
        var random = QuillRandom(seed: seed)
        var tokens: [Int32] = [0]
        while tokens.count < count {
            // About one [DOC] in 15 tokens.
            tokens.append(random.next() % 15 == 0 ? 0 : Int32(1 + random.next() % 8))
        }
        return tokens
    }

    /// Scores `tokens` as one lane with one window per call, straight from the engine.
    private func reference(_ model: LanguageModel, _ tokens: ArraySlice<Int32>, state: RecurrentState) -> Double {
        let engine = InferenceEngine(model: model, batch: 1, maxSeq: max(tokens.count - 1, 1))
        let inputs = Array(tokens.dropLast()), targets = Array(tokens.dropFirst())
        return inputs.withUnsafeBufferPointer { i in
            targets.withUnsafeBufferPointer { t in engine.crossEntropy(inputs: i, targets: t, seq: inputs.count, state: state) }
        }
    }

    func testOneLaneEqualsOneLongWindowWhateverTheWindowLength() {
        let m = model()
        let tokens = stream(301)
        let expected = reference(m, tokens[...], state: RecurrentState(configuration: m.configuration, batch: 1))
        for seq in [1, 7, 64, 500] {
            let result = Evaluator(model: m, batch: 1, seq: seq).evaluate(tokens)
            XCTAssertEqual(result.count, 300)
            XCTAssertEqual(result.totalNats, expected, accuracy: 1e-9 * abs(expected), "seq \(seq)")
        }
    }

    func testLanesScoreEveryTargetOnceWithTheTailContinuingTheLastLane() {
        let m = model()
        let tokens = stream(103)  // 102 targets: 4 lanes of 25, 2 left over
        let result = Evaluator(model: m, batch: 4, seq: 8).evaluate(tokens)
        XCTAssertEqual(result.count, 102)
        var expected = 0.0
        for lane in 0..<4 {
            let end = lane == 3 ? 102 : (lane + 1) * 25
            expected += reference(m, tokens[(lane * 25)...end], state: RecurrentState(configuration: m.configuration, batch: 1))
        }
        XCTAssertEqual(result.totalNats, expected, accuracy: 1e-9 * expected)
        XCTAssertEqual(result.natsPerCharacter, expected / 102, accuracy: 1e-12)
        XCTAssertEqual(result.perplexity, Foundation.exp(expected / 102), accuracy: 1e-9)
        XCTAssertEqual(result.bitsPerCharacter, expected / 102 / log(2), accuracy: 1e-12)
    }

    func testShortStreamsAndEmptyStreams() {
        let m = model()
        let tokens = stream(3)
        let result = Evaluator(model: m, batch: 32, seq: 16).evaluate(tokens)
        XCTAssertEqual(result.count, 2)
        XCTAssertEqual(result.totalNats, reference(m, tokens[...], state: RecurrentState(configuration: m.configuration, batch: 1)), accuracy: 1e-9)
        XCTAssertEqual(Evaluator(model: m).evaluate([0]).count, 0)
        XCTAssertTrue(Evaluator(model: m).evaluate([0]).natsPerCharacter.isNaN)
    }
}
