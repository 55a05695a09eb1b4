import Foundation
import Quill
import QuillDistributed

/// What `quill train` does differently as one rank of an `mpirun` job.
///
/// Rank 0 prints and writes; the other ranks send their standard output to /dev/null and leave
/// the model folder alone. Before the first step the ranks compare fingerprints of the binary,
/// the settings and the data, and refuse to train together on any difference.
struct TrainRanks {
    let communicator: Communicator

    /// The ranks of this job, or one process alone when not started by `mpirun`.
    static func forThisProcess() -> TrainRanks {
        let ranks = TrainRanks(communicator: MPICommunicator.forThisProcess())
        if !ranks.communicator.isRoot {
            // Only rank 0 reports progress; errors still reach standard error.
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 { dup2(null, STDOUT_FILENO); close(null) }
        }
        return ranks
    }

    var isDistributed: Bool { communicator.size > 1 }

    /// Refuses a job with more ranks than lanes: each rank needs at least one lane.
    func checkLanes(batch: Int) throws {
        guard communicator.size <= batch else {
            throw CommandError("mpirun -np \(communicator.size) needs --batch of at least \(communicator.size), since each process trains at least one lane; raise --batch or start fewer processes.")
        }
    }

    /// Compares every rank's binary, settings and data with rank 0's; throws the same sentence on
    /// every rank when one differs, before any step is taken.
    func checkAgreement(configuration: TrainingConfiguration, dataFingerprint: String, step: Int) throws {
        guard isDistributed else { return }
        let settings = (try? JSONOutput.line(configuration)) ?? ""
        let parts = [("binary", Self.binaryFingerprint), ("settings", settings), ("data", dataFingerprint), ("resume step", String(step))]
        let mine = parts.map(\.1).joined(separator: "\u{1F}")
        let all = communicator.allGather(Array(mine.utf8)).map { String(decoding: $0, as: UTF8.self).components(separatedBy: "\u{1F}") }
        for (rank, theirs) in all.enumerated() where theirs != all[0] {
            let differing = zip(parts, theirs).enumerated()
                .filter { index, pair in all[0].count != theirs.count || all[0][index] != pair.1 }
                .map { $0.1.0.0 }
            throw CommandError("Rank \(rank)'s \(differing.isEmpty ? "start-up" : differing.joined(separator: " and ")) differ\(differing.count == 1 ? "s" : "") from rank 0's; start every rank with the same quill binary, flags and corpus.")
        }
    }

    /// Checks that every rank ends with the same weights, bit for bit (they must, as every rank
    /// applies the same sums); returns a line for rank 0 to print, or throws the same sentence everywhere.
    func checkSameWeights(_ weights: ParameterBuffer) throws -> String? {
        guard isDistributed else { return nil }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in weights.elements { hash = (hash ^ UInt64(x.bitPattern)) &* 0x0000_0100_0000_01b3 }
        let all = communicator.allGather(Array(String(hash, radix: 16).utf8)).map { String(decoding: $0, as: UTF8.self) }
        if let rank = all.firstIndex(where: { $0 != all[0] }) {
            throw CommandError("Rank \(rank) ended with other weights than rank 0, which should never happen; the checkpoint in the model folder is rank 0's; please report this with the command used.")
        }
        return "ranks: all \(all.count) hold the same weights (hash \(all[0]))"
    }

    /// Leaves MPI on every rank once the ranks agree the run is over.
    func finish() {
        (communicator as? MPICommunicator)?.finish()
    }

    /// The all-reduce time per step on rank 0, for the summary of a distributed run.
    var reduceSummary: String? {
        guard let mpi = communicator as? MPICommunicator, mpi.size > 1, mpi.reduceCount > 0 else { return nil }
        return String(format: "ranks: %d processes; gradient sum %.2f ms per step (rank 0, waiting included)",
                      mpi.size, 1000 * mpi.reduceSeconds / Double(mpi.reduceCount))
    }

    /// A hash of this executable's bytes (FNV-1a, 64-bit), so ranks running other builds are found.
    static let binaryFingerprint: String = {
        guard let data = FileManager.default.contents(atPath: "/proc/self/exe") else { return "unknown" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { raw in
            for byte in raw.bindMemory(to: UInt8.self) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        return String(hash, radix: 16) + "-\(data.count)"
    }()
}
