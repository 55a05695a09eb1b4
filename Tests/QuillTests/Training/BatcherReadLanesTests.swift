import Quill
import XCTest

/// A rank of a distributed run reads only its own lanes of the token source.
final class BatcherReadLanesTests: XCTestCase {
    /// Records the first token of every read, so a test can see which lanes were read.
    final class RecordingSource: TokenSource, @unchecked Sendable {
        typealias ReadError = Never
        let tokens: [Int32]
        var starts: [Int] = []
        init(_ tokens: [Int32]) { self.tokens = tokens }
        var count: Int { tokens.count }
        func read(from start: Int, into buffer: UnsafeMutableBufferPointer<Int32>) {
            starts.append(start)
            for i in 0..<buffer.count { buffer[i] = tokens[start + i] }
        }
    }

    func testOnlyTheRankLanesAreReadAndTheirRowsMatchTheWholeWindow() throws {
        let tokens = (0..<400).map { Int32($0 % 97) }
        let (batch, seq) = (5, 7)
        var whole = try Batcher(tokens: tokens, batch: batch, seq: seq)
        var allInputs = [Int32](repeating: 0, count: batch * seq), allTargets = allInputs
        whole.next(inputs: &allInputs, targets: &allTargets)

        let laneLength = tokens.count / batch
        for shard in LaneShard.split(batch: batch, count: 2) {
            let source = RecordingSource(tokens)
            var part = try Batcher(source: source, batch: batch, seq: seq)
            part.readLanes = shard.first..<(shard.first + shard.lanes)
            var inputs = [Int32](repeating: -1, count: batch * seq), targets = inputs
            part.next(inputs: &inputs, targets: &targets)
            XCTAssertEqual(source.starts, (shard.first..<(shard.first + shard.lanes)).map { $0 * laneLength })
            for b in 0..<batch {
                let row = (b * seq)..<((b + 1) * seq)
                if part.readLanes.contains(b) {
                    XCTAssertEqual(inputs[row], allInputs[row], "lane \(b)")
                    XCTAssertEqual(targets[row], allTargets[row], "lane \(b)")
                } else {
                    XCTAssertEqual(Array(inputs[row]), [Int32](repeating: -1, count: seq), "lane \(b) was written")
                }
            }
            XCTAssertEqual(part.position, whole.position)
        }
    }
}
