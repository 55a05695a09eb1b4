import Foundation
import XCTest

/// `quill eval` against PyTorch's own cross-entropy on the same weights.
///
/// The fixture lives with the library tests: `Tests/QuillTests/Fixtures/torch_parity/`, made by
/// `scripts/make_torch_fixture.py` (a model written by `quill train`, a held-out text with `%`
/// document breaks, and PyTorch's mean cross-entropy in one lane and in lanes with burn-in). Any
/// `--batch` gives the one-lane figure.
final class EvalParityCommandTests: XCTestCase {
    private var fixture: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("QuillTests/Fixtures/torch_parity")
    }

    private func expected(_ key: String) throws -> Double {
        let data = try Data(contentsOf: fixture.appendingPathComponent("expected.json"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try XCTUnwrap(object[key] as? Double)
    }

    func testEvalEqualsPyTorchCrossEntropyOnTheSameWeights() throws {
        for (lanes, key) in [(1, "nats_per_char_lanes_1"), (4, "nats_per_char_lanes_4"), (4, "nats_per_char_lanes_1"), (32, "nats_per_char_lanes_1")] {
            let result = try QuillBinary.run(["eval", fixture.appendingPathComponent("model.safetensors").path,
                                              fixture.appendingPathComponent("eval.txt").path,
                                              "--doc-separator", "%", "--batch", "\(lanes)", "--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let nats = try XCTUnwrap(object["nats_per_char"] as? Double)
            XCTAssertEqual(nats, try expected(key), accuracy: 1e-4, "batch \(lanes), \(key)")
            XCTAssertEqual(object["characters"] as? Int, Int(try expected("targets")))
        }
    }
}
