import ArgumentParser
import Quill

extension QuillCommand {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect",
            abstract: "Validate a model file and show what it holds."
        )

        func run() throws {
            throw NotBuiltYet(command: "inspect")
        }
    }
}
