import Quill
import XCTest

final class ParameterLayoutTests: XCTestCase {
    func testLayoutFollowsPyTorchStateDictNamesAndShapes() {
        let layout = ParameterLayout(ModelConfiguration(vocabularySize: 10, embeddingSize: 3, hiddenSize: 4, layers: 2))
        XCTAssertEqual(layout.slots.map(\.name), [
            "embedding.weight",
            "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
            "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1",
            "decoder.weight", "decoder.bias",
        ])
        XCTAssertEqual(layout.slot(named: "lstm.weight_ih_l0")?.shape, [16, 3])
        XCTAssertEqual(layout.slot(named: "lstm.weight_ih_l1")?.shape, [16, 4])
        XCTAssertEqual(layout.slot(named: "decoder.weight")?.shape, [10, 4])
        // Slots tile the buffer with no gap or overlap.
        var next = 0
        for slot in layout.slots {
            XCTAssertEqual(slot.offset, next)
            next += slot.count
        }
        XCTAssertEqual(next, layout.count)
        XCTAssertEqual(layout.count, 30 + (48 + 64 + 32) + (64 + 64 + 32) + 40 + 10)
    }

    func testRandomStateRoundTripsAndSeedsDiffer() {
        var a = QuillRandom(seed: 7)
        _ = a.next()
        var b = QuillRandom(state: a.stateWords)!
        XCTAssertEqual(a.next(), b.next())
        var c = QuillRandom(seed: 8)
        var d = QuillRandom(seed: 7)
        XCTAssertNotEqual(c.next(), d.next())
        XCTAssertNil(QuillRandom(state: [0, 0, 0, 0]))
    }
}
