import ArgumentParser
import Quill

extension QuillCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract: "Measure training, evaluation and sampling speed.",
            subcommands: [BenchThroughput.self, BenchSample.self, BenchEval.self]
        )

    }
}
