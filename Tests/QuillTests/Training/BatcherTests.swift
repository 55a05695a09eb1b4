import Foundation
import Quill
import XCTest

final class BatcherTests: XCTestCase {
    func testLanesInputsTargetsAndEpochWrapMatchHandComputedWindows() throws {
        // 23 tokens, 2 lanes of 11 (token 22 dropped): lane 0 = 0...10, lane 1 = 11...21.
        // Windows of 3 at offsets 0, 3, 6; offset 9 would need token 9 + 3 of an 11-token lane.
        var batcher = try Batcher(tokens: (0..<23).map(Int32.init), batch: 2, seq: 3)
        XCTAssertEqual(batcher.laneLength, 11)
        XCTAssertEqual(batcher.windowsPerEpoch, 3)
        var inputs = [Int32](repeating: -1, count: 6)
        var targets = [Int32](repeating: -1, count: 6)
        let expected: [(inputs: [Int32], targets: [Int32], offset: Int, ends: Bool)] = [
            ([0, 1, 2, 11, 12, 13], [1, 2, 3, 12, 13, 14], 0, false),
            ([3, 4, 5, 14, 15, 16], [4, 5, 6, 15, 16, 17], 3, false),
            ([6, 7, 8, 17, 18, 19], [7, 8, 9, 18, 19, 20], 6, true),
        ]
        for epoch in 0..<2 {
            for (k, e) in expected.enumerated() {
                let window = batcher.next(inputs: &inputs, targets: &targets)
                XCTAssertEqual(inputs, e.inputs, "epoch \(epoch) window \(k)")
                XCTAssertEqual(targets, e.targets, "epoch \(epoch) window \(k)")
                XCTAssertEqual(window, BatchWindow(epoch: epoch, offset: e.offset, endsEpoch: e.ends))
            }
            XCTAssertEqual(batcher.position, BatchPosition(epoch: epoch + 1, offset: 0))
        }
    }

    func testWindowsMatchThePeerLoopOverSeveralEpochs() throws {
        // The benchmark's peer: lanes = ids[:n*B].view(B, n); before each window, if pos + T + 1 > n: pos = 0.
        var random = QuillRandom(seed: 31)
        let tokens = (0..<1237).map { _ in Int32(random.next() % 60) }
        let batch = 5, seq = 16
        let n = tokens.count / batch
        var batcher = try Batcher(tokens: tokens, batch: batch, seq: seq)
        var inputs = [Int32](repeating: 0, count: batch * seq)
        var targets = inputs
        var pos = 0
        var resets = 0
        for step in 0..<(3 * batcher.windowsPerEpoch + 2) {
            if pos + seq + 1 > n { pos = 0; resets += 1 }
            let window = batcher.next(inputs: &inputs, targets: &targets)
            XCTAssertEqual(window.offset, pos, "step \(step)")
            XCTAssertEqual(window.epoch, resets)
            for b in 0..<batch {
                for t in 0..<seq {
                    XCTAssertEqual(inputs[b * seq + t], tokens[b * n + pos + t])
                    XCTAssertEqual(targets[b * seq + t], tokens[b * n + pos + t + 1])
                }
            }
            pos += seq
            // The flag says the peer's next window starts a new epoch.
            XCTAssertEqual(window.endsEpoch, pos + seq + 1 > n, "step \(step)")
        }
        XCTAssertEqual(resets, 3)
    }

    func testResumingFromASavedPositionContinuesIdentically() throws {
        var random = QuillRandom(seed: 32)
        let tokens = (0..<500).map { _ in Int32(random.next() % 40) }
        var original = try Batcher(tokens: tokens, batch: 4, seq: 7)
        var inputs = [Int32](repeating: 0, count: 28)
        var targets = inputs
        for _ in 0..<(original.windowsPerEpoch + 3) { original.next(inputs: &inputs, targets: &targets) }
        let saved = try JSONEncoder().encode(original.position)
        let position = try JSONDecoder().decode(BatchPosition.self, from: saved)
        XCTAssertEqual(position, BatchPosition(epoch: 1, offset: 21))
        var resumed = try Batcher(tokens: tokens, batch: 4, seq: 7, position: position)
        var inputs2 = inputs, targets2 = targets
        for step in 0..<40 {
            let a = original.next(inputs: &inputs, targets: &targets)
            let b = resumed.next(inputs: &inputs2, targets: &targets2)
            XCTAssertEqual(a, b, "step \(step)")
            XCTAssertEqual(inputs, inputs2)
            XCTAssertEqual(targets, targets2)
        }
        XCTAssertEqual(original.position, resumed.position)
    }

    func testCorpusShorterThanOneWindowPerLaneIsAnError() throws {
        XCTAssertThrowsError(try Batcher(tokens: [Int32](repeating: 1, count: 7), batch: 2, seq: 3)) { error in
            XCTAssertEqual(error as? TrainingError, .corpusTooShort(tokens: 7, needed: 8, batch: 2, seq: 3))
            XCTAssertTrue("\(error)".contains("smaller batch or seq"), "\(error)")
        }
        let exact = try Batcher(tokens: [Int32](repeating: 1, count: 8), batch: 2, seq: 3)
        XCTAssertEqual(exact.windowsPerEpoch, 1)
    }

    func testPositionThatDoesNotFitTheLanesIsAnError() {
        let tokens = [Int32](repeating: 1, count: 100)
        // Lanes of 50 with seq 7: offsets 0, 7, ..., 42 are valid (42 + 8 = 50).
        XCTAssertNoThrow(try Batcher(tokens: tokens, batch: 2, seq: 7, position: BatchPosition(epoch: 3, offset: 42)))
        for offset in [5, 49, 56, -7] {
            XCTAssertThrowsError(try Batcher(tokens: tokens, batch: 2, seq: 7, position: BatchPosition(epoch: 0, offset: offset))) {
                XCTAssertEqual($0 as? TrainingError, .positionOutOfRange(offset: offset, laneLength: 50, seq: 7))
            }
        }
    }

    func testSplitTakesTheLastFractionAndStartsValidationWithDoc() throws {
        let doc = Vocabulary.documentID
        let tokens: [Int32] = [doc, 5, 6, 7, 8, doc, 9, 10, 11, 12]
        // Cut inside the second document: a [DOC] is put in front of the validation part.
        let mid = try TrainingSplit.split(tokens: tokens, validationFraction: 0.3)
        XCTAssertEqual(mid.training, [doc, 5, 6, 7, 8, doc, 9])
        XCTAssertEqual(mid.validation, [doc, 10, 11, 12])
        // Cut on a document boundary: nothing added.
        let boundary = try TrainingSplit.split(tokens: tokens, validationFraction: 0.5)
        XCTAssertEqual(boundary.training, [doc, 5, 6, 7, 8])
        XCTAssertEqual(boundary.validation, [doc, 9, 10, 11, 12])
    }

    func testEmptyValidationSplitIsAnError() {
        let doc = Vocabulary.documentID
        // 10% of 5 tokens is no token at all.
        XCTAssertThrowsError(try TrainingSplit.split(tokens: [doc, 1, 2, 3, 4], validationFraction: 0.1)) { error in
            XCTAssertEqual(error as? TrainingError, .emptyValidationSplit(tokens: 5, validationFraction: 0.1))
            XCTAssertTrue("\(error)".contains("larger validationFraction"), "\(error)")
        }
        // A validation part that is a lone [DOC] has nothing to predict.
        XCTAssertThrowsError(try TrainingSplit.split(tokens: [doc, 1, 2, 3, 4, 5, 6, 7, 8, doc], validationFraction: 0.1))
    }
}
