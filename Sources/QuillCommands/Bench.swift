import ArgumentParser
import Foundation
import Quill

extension QuillCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract: "Measure training, evaluation and sampling speed.",
            discussion: """
            Each mode prints one JSON line last, with the field names of the PyTorch peer \
            (bench/torch_baseline.py of the benchmark spec), so a script can divide one by \
            the other: scripts/compare_with_pytorch.py runs both side by side.
            """,
            subcommands: [BenchThroughput.self, BenchBudget.self, BenchSample.self, BenchEval.self, BenchTokenize.self]
        )
    }
}

/// Peak resident memory of this process in megabytes (10^6 bytes), from getrusage.
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) * 1024 / 1e6  // ru_maxrss is in KiB on Linux
}
