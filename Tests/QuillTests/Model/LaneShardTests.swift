import XCTest
import Quill

final class LaneShardTests: XCTestCase {
    func testSplitCoversEveryLaneOnceInContiguousShardsOfNearlyEqualSizeLargerLast() {
        for batch in 1...40 {
            for count in 1...min(batch, 9) {
                let shards = LaneShard.split(batch: batch, count: count)
                XCTAssertEqual(shards.count, count)
                XCTAssertEqual(shards.first?.first, 0)
                for (a, b) in zip(shards, shards.dropFirst()) {
                    XCTAssertEqual(b.first, a.first + a.lanes, "contiguous")
                    XCTAssertTrue(b.lanes == a.lanes || b.lanes == a.lanes + 1, "batch \(batch), count \(count)")
                }
                XCTAssertEqual(shards.last.map { $0.first + $0.lanes }, batch)
            }
        }
        XCTAssertEqual(LaneShard.split(batch: 3, count: 2), [LaneShard(first: 0, lanes: 1), LaneShard(first: 1, lanes: 2)])
    }
}
