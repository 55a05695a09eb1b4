import Foundation

/// A contiguous run of lanes: lanes `first ..< first + lanes` of a batch.
public struct LaneShard: Equatable, Sendable {
    /// The shard's first lane.
    public var first: Int
    /// How many lanes the shard has.
    public var lanes: Int

    public init(first: Int, lanes: Int) {
        self.first = first
        self.lanes = lanes
    }

    /// Splits `batch` lanes into `count` contiguous shards as evenly as possible, larger ones last.
    ///
    /// The split depends only on `batch` and `count`, so it can divide lanes among threads here
    /// and, the same way, among processes (shard `r` of `count` for rank `r`).
    public static func split(batch: Int, count: Int) -> [LaneShard] {
        precondition(batch >= 1 && count >= 1 && count <= batch, "need 1 <= count <= batch")
        var result: [LaneShard] = []
        var first = 0
        for s in 0..<count {
            let lanes = (batch - first) / (count - s)
            result.append(LaneShard(first: first, lanes: lanes))
            first += lanes
        }
        return result
    }

    /// Runs `body(0..<count)`, concurrently when `threads > 1`, else in order on the calling thread.
    static func run(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        if threads > 1 && count > 1 {
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        } else {
            for i in 0..<count { body(i) }
        }
    }
}

/// The number of worker threads engines use by default: the active cores, at most 2 shards' worth.
public var defaultEngineThreadCount: Int {
    max(1, min(ProcessInfo.processInfo.activeProcessorCount, 2))
}
