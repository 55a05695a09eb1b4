import ArgumentParser

/// The `quill` command: train, sample, evaluate and inspect character-level LSTM language models.
public struct QuillCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "quill",
        abstract: "Train, sample and evaluate character-level LSTM language models.",
        discussion: """
        Text is decoded as strict UTF-8, normalized with utf8proc (NFC unless told \
        otherwise) and split into documents; each document starts with the [DOC] \
        token, before which the LSTM state is reset. A model is one safetensors \
        file that PyTorch and NumPy read as they are.
        """,
        version: quillVersion,
        subcommands: [Train.self, Sample.self, Eval.self, Inspect.self, Prepare.self, Plot.self, Bench.self, Serve.self]
    )

    public init() {}
}

/// The version printed by `quill --version` and written into model files.
public let quillVersion = "0.1.0"
