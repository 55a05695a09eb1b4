import CMPI
import Foundation
import Quill

/// The ranks of an `mpirun` job (Open MPI) as a `Communicator`: the one file that calls MPI.
///
/// Sums are exact in rank order: each rank owns a slice of the buffer, receives that slice from
/// every rank (`MPI_Alltoallv`), adds the pieces in rank order, and the slices are shared again
/// (`MPI_Allgatherv`). Each rank sends and receives about twice the buffer, as a ring all-reduce
/// does, but the order of additions is fixed, which MPI's own `MPI_Allreduce` does not promise.
///
/// MPI errors are returned to this file (`MPI_ERRORS_RETURN`), which writes a sentence and ends the
/// job (`MPI_Abort`): a rank that has died or cannot be reached stops every rank.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    /// Seconds spent in `sumInRankOrder` (waiting for slower ranks included), and how many calls.
    public private(set) var reduceSeconds = 0.0
    public private(set) var reduceCount = 0
    private let world: MPI_Comm
    private var scratch: [Float] = []

    /// Whether this process was started by `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE` for its ranks).
    public static var isLaunchedByMPIRun: Bool {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil
    }

    /// The communicator for this process: the MPI world under `mpirun`, else `SingleProcess`
    /// (MPI is not touched at all then, so `quill` runs as a plain program).
    public static func forThisProcess() -> Communicator {
        isLaunchedByMPIRun ? MPICommunicator() : SingleProcess()
    }

    /// Initializes MPI and joins the world communicator.
    public init() {
        MPI_Init(nil, nil)
        world = quill_mpi_comm_world()
        MPI_Comm_set_errhandler(world, quill_mpi_errors_return())
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &n)
        rank = Int(r)
        size = Int(n)
    }

    /// Leaves MPI cleanly; call on every rank once the work is done (not after an error on one rank).
    public func finish() {
        MPI_Finalize()
    }

    public func sumInRankOrder(_ buffer: UnsafeMutableBufferPointer<Float>) {
        guard size > 1, let base = buffer.baseAddress else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        let n = buffer.count
        precondition(n < Int(Int32.max), "buffer too large for one MPI call")
        let starts = (0...size).map { Int32(n * $0 / size) }
        let counts = (0..<size).map { starts[$0 + 1] - starts[$0] }
        let mine = Int(counts[rank])
        if scratch.count < size * mine { scratch = [Float](repeating: 0, count: size * mine) }
        let receiveCounts = [Int32](repeating: Int32(mine), count: size)
        let receiveStarts = (0..<size).map { Int32($0 * mine) }
        scratch.withUnsafeMutableBufferPointer { pieces in
            check(MPI_Alltoallv(base, counts, Array(starts.prefix(size)), quill_mpi_float(),
                                pieces.baseAddress, receiveCounts, receiveStarts, quill_mpi_float(), world), "the gradient sum")
            // Rank 0's piece first, then each other rank's in order: the order one process adds its shards in.
            let out = base + Int(starts[rank])
            out.update(from: pieces.baseAddress!, count: mine)
            for other in 1..<size {
                let piece = pieces.baseAddress! + other * mine
                for i in 0..<mine { out[i] += piece[i] }
            }
        }
        check(MPI_Allgatherv(quill_mpi_in_place(), 0, quill_mpi_float(), base, counts, Array(starts.prefix(size)),
                             quill_mpi_float(), world), "the gradient sum")
        reduceSeconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        reduceCount += 1
    }

    public func allGather(_ bytes: [UInt8]) -> [[UInt8]] {
        guard size > 1 else { return [bytes] }
        var counts = [Int32](repeating: 0, count: size)
        var mine = Int32(bytes.count)
        check(MPI_Allgather(&mine, 1, quill_mpi_int(), &counts, 1, quill_mpi_int(), world), "a start-up check")
        var starts = [Int32](repeating: 0, count: size)
        for r in 1..<size { starts[r] = starts[r - 1] + counts[r - 1] }
        let total = Int(starts[size - 1] + counts[size - 1])
        var all = [UInt8](repeating: 0, count: max(total, 1))
        bytes.withUnsafeBytes { send in
            check(MPI_Allgatherv(send.baseAddress, mine, quill_mpi_byte(), &all, counts, starts, quill_mpi_byte(), world),
                  "a start-up check")
        }
        return (0..<size).map { Array(all[Int(starts[$0])..<Int(starts[$0] + counts[$0])]) }
    }

    public func broadcast(_ bytes: [UInt8]) -> [UInt8] {
        guard size > 1 else { return bytes }
        var count = Int32(bytes.count)
        check(MPI_Bcast(&count, 1, quill_mpi_int(), 0, world), "a step's decision")
        var data = rank == 0 ? bytes : [UInt8](repeating: 0, count: Int(count))
        if count > 0 {
            check(MPI_Bcast(&data, count, quill_mpi_byte(), 0, world), "a step's decision")
        }
        return data
    }

    /// Ends the job with a sentence when an MPI call failed (a rank died or the network broke).
    private func check(_ code: Int32, _ what: String) {
        guard code != quill_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let reason = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let sentence = "Rank \(rank) of \(size) lost the other ranks during \(what) (\(reason)); the job stops, and the last checkpoint stays whole for --resume.\n"
        _ = Array(sentence.utf8).withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }  // write(2): nothing to catch
        MPI_Abort(world, 1)
        exit(1)
    }
}
