import ArgumentParser
import Quill

extension QuillCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract: "Train a model on a corpus."
        )

        func run() throws {
            throw NotBuiltYet(command: "train")
        }
    }
}
