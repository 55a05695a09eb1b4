import XCTest
@testable import Quill

final class LaneBatchTests: XCTestCase {
    /// Feeds one lane a fixed token sequence next to `mates` other lanes fed random tokens; returns its logits, step by step.
    private func logits(of tokens: [Int32], slot: Int, mates: [Int], precision: ComputePrecision, model: LanguageModel) -> [[Float]] {
        let lanes = LaneBatch(model: model, capacity: 64, precision: precision)
        var random = QuillRandom(seed: UInt64(mates.count * 131 + slot))
        let v = model.configuration.vocabularySize
        var rows: [[Float]] = []
        var slots = mates
        let position = mates.count / 2
        slots.insert(slot, at: position)
        for token in tokens {
            let all = slots.indices.map { $0 == position ? token : Int32(1 + random.next() % UInt64(v - 1)) }
            let out = lanes.step(slots: slots, tokens: all)
            rows.append(Array(UnsafeBufferPointer(start: out + position * v, count: v)) + lanes.lastHidden(slot: slot))
        }
        return rows
    }

    func testALanesLogitsAndStateAreTheSameBitsWhateverSharesItsSteps() {
        let configuration = ModelConfiguration(vocabularySize: 40, embeddingSize: 16, hiddenSize: 96, layers: 2, dropout: 0)
        var random = QuillRandom(seed: 9)
        let model = LanguageModel.initialized(configuration, random: &random)
        let tokens: [Int32] = [0] + (0..<30).map { _ in Int32(1 + random.next() % 39) }
        for precision in [ComputePrecision.float32, .bfloat16] {
            let alone = logits(of: tokens, slot: 5, mates: [], precision: precision, model: model)
            for count in [1, 2, 3, 6, 7, 12, 31, 40, 63] {
                let mates = (0..<64).filter { $0 != 5 }.prefix(count).map { $0 }
                let shared = logits(of: tokens, slot: 5, mates: Array(mates.reversed()), precision: precision, model: model)
                for t in tokens.indices {
                    XCTAssertEqual(shared[t].map(\.bitPattern), alone[t].map(\.bitPattern),
                                   "\(precision), \(count) batch-mates, step \(t)")
                    if shared[t].map(\.bitPattern) != alone[t].map(\.bitPattern) { break }
                }
            }
        }
    }
}
