import XCTest
@testable import Quill

/// Lanes of the inference engine are independent and addressable: a lane's state can be read,
/// written, reset and moved between steps, and it continues exactly as if it had not been touched.
///
/// Exact equality is asked where the arithmetic of a lane is the same in both runs: a lane that is
/// the first row of a shard of the same size (shards split the batch as `LaneShard.split` says) sees
/// the same products, whatever the other lanes hold.
final class LaneStateTests: XCTestCase {
    let configuration = ModelConfiguration(vocabularySize: 13, embeddingSize: 6, hiddenSize: 24, layers: 2)

    func testLaneStateIsReadWrittenResetAndMovedPerLane() {
        let state = RecurrentState(configuration: configuration, batch: 4)
        var random = QuillRandom(seed: 2)
        randomize(state, random: &random)
        let before = state.copy()
        let lane1 = state.lane(1)
        XCTAssertEqual(lane1.hidden.count, 2 * 24)
        XCTAssertEqual(lane1.hidden[24 + 5], state.h[(1 * 4 + 1) * 24 + 5], "layer 1 of lane 1")
        state.moveLane(1, to: 3)
        XCTAssertEqual(state.lane(3), lane1)
        XCTAssertEqual(state.lane(1), RecurrentState.Lane(hidden: Array(repeating: 0, count: 48), cell: Array(repeating: 0, count: 48)))
        XCTAssertEqual(state.lane(0), before.lane(0))
        XCTAssertEqual(state.lane(2), before.lane(2))
        state.setLane(1, to: lane1)
        XCTAssertEqual(state.lane(1), lane1)
        state.zero(lane: 3)
        XCTAssertTrue(state.lane(3).hidden.allSatisfy { $0 == 0 } && state.lane(3).cell.allSatisfy { $0 == 0 })
        let single = RecurrentState(configuration: configuration, batch: 1)
        single.copyLane(from: state, lane: 2)
        XCTAssertEqual(single.lane(0), before.lane(2))
    }

    /// Steps `tokens` ([steps][batch]) through an engine, returning every step's logits [steps][batch * V].
    func run(_ engine: InferenceEngine, _ tokens: [[Int32]], state: RecurrentState) -> [[Float]] {
        let v = configuration.vocabularySize
        var out = [Float](repeating: 0, count: engine.batch * v)
        return tokens.map { step in
            step.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { engine.step(tokens: x, state: state, logits: $0.baseAddress!) }
            }
            return out
        }
    }

    func streams(lanes: Int, steps: Int, seed: UInt64) -> [[Int32]] {
        var random = QuillRandom(seed: seed)
        return (0..<steps).map { t in
            (0..<lanes).map { b in t == 0 || (t + b) % 9 == 0 ? 0 : Int32(1 + random.next() % 12) }
        }
    }

    func testLanesSteppedTogetherEqualLanesSteppedAlone() {
        var random = QuillRandom(seed: 5)
        let model = LanguageModel.initialized(configuration, random: &random)
        let tokens = streams(lanes: 2, steps: 20, seed: 6)
        for precision in ComputePrecision.allCases {
            for threads in [1, 2] {
                let together = run(InferenceEngine(model: model, batch: 2, maxSeq: 1, precision: precision, threads: threads),
                                   tokens, state: RecurrentState(configuration: configuration, batch: 2))
                for lane in 0..<2 {
                    let alone = run(InferenceEngine(model: model, batch: 1, maxSeq: 1, precision: precision, threads: threads),
                                    tokens.map { [$0[lane]] }, state: RecurrentState(configuration: configuration, batch: 1))
                    for t in 0..<tokens.count {
                        XCTAssertEqual(Array(together[t][(lane * 13)..<((lane + 1) * 13)]), alone[t],
                                       "\(precision), \(threads) threads, lane \(lane), step \(t)")
                    }
                }
            }
        }
    }

    func testALaneMovedOrSavedAndRestoredBetweenStepsContinuesExactly() {
        var random = QuillRandom(seed: 8)
        let model = LanguageModel.initialized(configuration, random: &random)
        let first = streams(lanes: 4, steps: 7, seed: 9), rest = streams(lanes: 4, steps: 12, seed: 10).dropFirst()
        let v = configuration.vocabularySize
        for precision in ComputePrecision.allCases {
            // Four lanes in shards of two: lanes 0 and 2 are each the first row of a shard.
            let engine = InferenceEngine(model: model, batch: 4, maxSeq: 1, precision: precision)
            let state = RecurrentState(configuration: configuration, batch: 4)
            _ = run(engine, first, state: state)
            let saved = state.lane(2)
            let reference = run(engine, Array(rest), state: state.copy())

            // Lane 2 leaves, and its request comes back in lane 0; the other lanes hold something else.
            let moved = state.copy()
            moved.moveLane(2, to: 0)
            let movedTokens = rest.map { [$0[2], $0[3], 5, $0[1]] }
            let continued = run(engine, movedTokens, state: moved)
            // The same request written into a fresh state.
            let fresh = RecurrentState(configuration: configuration, batch: 4)
            fresh.setLane(2, to: saved)
            let restored = run(engine, Array(rest), state: fresh)
            for t in 0..<reference.count {
                let expected = Array(reference[t][(2 * v)..<(3 * v)])
                XCTAssertEqual(Array(continued[t][0..<v]), expected, "\(precision) moved, step \(t)")
                XCTAssertEqual(Array(restored[t][(2 * v)..<(3 * v)]), expected, "\(precision) restored, step \(t)")
            }
            XCTAssertNotEqual(Array(continued[0][0..<v]), Array(reference[0][0..<v]), "lane 0's own request must differ")
        }
    }
}
