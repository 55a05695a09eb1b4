import ArgumentParser
import Foundation
import Quill

extension QuillCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract: "Measure training, evaluation and sampling speed.",
            subcommands: [BenchTokenize.self]
        )
    }
}

/// Peak resident memory of this process in megabytes (10^6 bytes), from getrusage.
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) * 1024 / 1e6  // ru_maxrss is in KiB on Linux
}
