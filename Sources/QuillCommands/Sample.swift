import ArgumentParser
import Quill

extension QuillCommand {
    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sample",
            abstract: "Generate text from a model."
        )

        func run() throws {
            throw NotBuiltYet(command: "sample")
        }
    }
}
