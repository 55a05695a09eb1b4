import ArgumentParser
import Quill

extension QuillCommand {
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval",
            abstract: "Measure a model's perplexity on text."
        )

        func run() throws {
            throw NotBuiltYet(command: "eval")
        }
    }
}
