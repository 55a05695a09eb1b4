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

    /// How far two float32 scorings of the same text by different window shapes may differ, relative
    /// to the total: where OpenBLAS does the products (CPUs without AVX-512F), its kernels depend on
    /// the shape and round differently, by about 2e-9 of the total here.
    static let relativeTolerance = 1e-8

    func testOneLaneEqualsOneLongWindowWhateverTheWindowLength() {
        let m = model()
        let tokens = stream(301)
        let expected = reference(m, tokens[...], state: RecurrentState(configuration: m.configuration, batch: 1))
        for seq in [1, 7, 64, 500] {
            let result = Evaluator(model: m, batch: 1, seq: seq).evaluate(tokens)
            XCTAssertEqual(result.count, 300)
            XCTAssertEqual(result.totalNats, expected, accuracy: Self.relativeTolerance * abs(expected), "seq \(seq)")
        }
    }

    /// Scores `tokens` the way the plan says, lane by lane, straight from the engine: lane `b` reads
    /// the `burnIn` tokens before its span unscored (lane 0 reads none), then scores its span; the
    /// last lane scores the remainder too.
    private func lanesReference(_ model: LanguageModel, _ tokens: [Int32], plan: LanePlan) -> Double {
        var total = 0.0
        for lane in 0..<plan.lanes {
            let start = lane * plan.laneLength
            let end = lane == plan.lanes - 1 ? tokens.count - 1 : start + plan.laneLength
            let state = RecurrentState(configuration: model.configuration, batch: 1)
            if lane > 0 && plan.burnIn > 0 {
                _ = reference(model, tokens[(start - plan.burnIn)...start], state: state)
            }
            total += reference(model, tokens[start...end], state: state)
        }
        return total
    }

    func testLanesReadTheirBurnInUnscoredAndScoreEveryTargetOnce() {
        let m = model()
        var random = QuillRandom(seed: 9)
        // One long document: every lane but the first starts inside it and burns in.
        let tokens: [Int32] = [0] + (0..<402).map { _ in Int32(1 + random.next() % 8) }
        let evaluator = Evaluator(model: m, batch: 4, seq: 8, burnIn: 12)
        let plan = evaluator.plan(tokens)
        XCTAssertEqual(plan, LanePlan(lanes: 4, laneLength: 100, burnIn: 12))  // 402 targets: 2 left over
        let result = evaluator.evaluate(tokens)
        XCTAssertEqual(result.count, 402)
        let expected = lanesReference(m, tokens, plan: plan)
        let tolerance = Self.relativeTolerance
        XCTAssertEqual(result.totalNats, expected, accuracy: tolerance * expected)
        XCTAssertEqual(result.natsPerCharacter, expected / 402, accuracy: tolerance * expected / 402)
        XCTAssertEqual(result.perplexity, Foundation.exp(expected / 402), accuracy: 2 * tolerance * Foundation.exp(expected / 402))
        XCTAssertEqual(result.bitsPerCharacter, expected / 402 / log(2), accuracy: tolerance * expected / 402 / log(2))
        XCTAssertEqual(result.natsPerCharacter, result.totalNats / 402, accuracy: 1e-12, "the figures come from one total")
        // Without burn-in each lane starts from a zero state, which scores differently.
        let fromZero = Evaluator(model: m, batch: 4, seq: 8, burnIn: 0)
        XCTAssertEqual(fromZero.plan(tokens), LanePlan(lanes: 4, laneLength: 100, burnIn: 0))
        let zeroTotal = fromZero.evaluate(tokens).totalNats
        XCTAssertEqual(zeroTotal, lanesReference(m, tokens, plan: fromZero.plan(tokens)), accuracy: tolerance * expected)
        XCTAssertGreaterThan(abs(zeroTotal - expected), 100 * tolerance * expected)
    }

    func testABurnInThatReachesADocumentGivesTheSequentialFigure() {
        let m = model()
        let tokens = stream(1001)  // about one [DOC] in 15 tokens
        let sequential = Evaluator(model: m, batch: 1, seq: 64).evaluate(tokens)
        for batch in [2, 7, 32] {
            let evaluator = Evaluator(model: m, batch: batch, seq: 16)
            let plan = evaluator.plan(tokens)
            XCTAssertGreaterThan(plan.lanes, 1, "batch \(batch)")
            XCTAssertLessThan(plan.burnIn, 64, "batch \(batch): every lane reaches a [DOC]")
            let result = evaluator.evaluate(tokens)
            XCTAssertEqual(result.count, 1000)
            XCTAssertEqual(result.totalNats, sequential.totalNats, accuracy: 1e-6 * sequential.totalNats, "batch \(batch)")
        }
    }

    func testThePlanUsesFewerLanesWhenBurnInWouldCostMoreThanAnEighth() {
        let m = model()
        let oneDocument: [Int32] = [0] + [Int32](repeating: 3, count: 5000)
        // 5000 targets, burn-in 192: lanes of at least 1536 targets, so 3 lanes.
        XCTAssertEqual(Evaluator.defaultBurnIn, 192)
        XCTAssertEqual(Evaluator(model: m, batch: 32).plan(oneDocument), LanePlan(lanes: 3, laneLength: 1666, burnIn: 192))
        XCTAssertEqual(Evaluator(model: m, batch: 2).plan(oneDocument), LanePlan(lanes: 2, laneLength: 2500, burnIn: 192))
        XCTAssertEqual(Evaluator(model: m, batch: 32, burnIn: 100).plan(oneDocument), LanePlan(lanes: 6, laneLength: 833, burnIn: 100))
        XCTAssertEqual(Evaluator(model: m, batch: 32, burnIn: 0).plan(oneDocument), LanePlan(lanes: 32, laneLength: 156, burnIn: 0))
        // Documents of 10 tokens: every lane start is at most 9 tokens after a [DOC].
        var documents: [Int32] = []
        for _ in 0..<500 { documents += [0] + [Int32](repeating: 2, count: 9) }
        documents.append(0)
        let plan = Evaluator(model: m, batch: 32).plan(documents)
        XCTAssertEqual(plan.lanes, 32)
        XCTAssertLessThanOrEqual(plan.burnIn, 9)
        XCTAssertEqual(Evaluator(model: m, batch: 1).plan(documents), LanePlan(lanes: 1, laneLength: 5000, burnIn: 0))
    }

    func testOneEvaluatorScoresStreamsOfDifferentPlansAsFreshOnesDo() {
        let m = model()
        let long = stream(3001), short = stream(500, seed: 8)
        let evaluator = Evaluator(model: m, batch: 16, seq: 32, burnIn: 20)
        XCTAssertNotEqual(evaluator.plan(long).lanes, evaluator.plan(short).lanes)
        for tokens in [long, short, long, short] {
            XCTAssertEqual(evaluator.evaluate(tokens), Evaluator(model: m, batch: 16, seq: 32, burnIn: 20).evaluate(tokens))
        }
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
