/// The processes that train one model together, as data-parallel ranks; one process alone by default.
///
/// Every method is collective: each rank calls it at the same point of the run, in the same order.
/// Results are the same bits on every rank, and sums are added in rank order, so a run is
/// deterministic and equals one process whose engine shards are the ranks (see `TrainingStep`).
/// The core library needs no MPI: `SingleProcess` is the value it uses alone, and the MPI
/// implementation lives in the `QuillDistributed` target.
///
/// A communicator whose peers have gone away does not return: it ends the process with a sentence,
/// so a broken job never trains on.
public protocol Communicator: AnyObject {
    /// This process's rank, `0 ..< size`; rank 0 writes every file.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }

    /// Replaces `buffer` on every rank with the sum of every rank's `buffer`, added element by
    /// element in rank order starting from rank 0's values: `((b0 + b1) + b2) + ...`.
    func sumInRankOrder(_ buffer: UnsafeMutableBufferPointer<Float>)

    /// Every rank's `bytes`, in rank order, on every rank.
    func allGather(_ bytes: [UInt8]) -> [[UInt8]]

    /// Rank 0's `bytes` on every rank (the argument of the other ranks is ignored).
    func broadcast(_ bytes: [UInt8]) -> [UInt8]
}

extension Communicator {
    /// Whether this process writes files and reports progress.
    public var isRoot: Bool { rank == 0 }

    /// Rank 0's value on every rank.
    public func broadcast(_ value: Int) -> Int {
        Int(Int64(littleEndian: broadcast(value.littleEndianBytes).loadInteger()))
    }

    /// Rank 0's value on every rank, bit for bit.
    public func broadcast(_ value: Double) -> Double {
        Double(bitPattern: UInt64(littleEndian: broadcast(value.bitPattern.littleEndianBytes).loadInteger()))
    }

    /// Every rank's value summed in rank order, `((v0 + v1) + v2) + ...` starting from 0, on every rank.
    public func sumInRankOrder(_ value: Double) -> Double {
        var total = 0.0
        for bytes in allGather(value.bitPattern.littleEndianBytes) {
            total += Double(bitPattern: UInt64(littleEndian: bytes.loadInteger()))
        }
        return total
    }
}

/// One process training alone: rank 0 of 1; every collective returns its own argument.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func sumInRankOrder(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes] }
    public func broadcast(_ bytes: [UInt8]) -> [UInt8] { bytes }
}

extension FixedWidthInteger {
    /// The value's bytes in memory order (little-endian when called on `.littleEndian`).
    fileprivate var littleEndianBytes: [UInt8] {
        withUnsafeBytes(of: self.littleEndian) { Array($0) }
    }
}

extension Array where Element == UInt8 {
    /// A fixed-width integer from the array's first bytes (in memory order).
    fileprivate func loadInteger<T: FixedWidthInteger>() -> T {
        precondition(count >= MemoryLayout<T>.size, "too few bytes for an integer")
        return withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }
}
