import ArgumentParser
import Foundation
import Quill

extension QuillCommand {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect",
            abstract: "Validate a model file and show what it holds.",
            discussion: """
            Reads and checks the whole file (structure, metadata, every tensor's shape, every \
            weight finite), then prints the format, the model's sizes and parameter count, the \
            text normalization, the training step, the free-form info entries and the \
            vocabulary, with control and space characters by name (such as \\n (U+000A)).

            Examples:
              quill inspect models/kjv/model.safetensors
              quill inspect model.safetensors --json
            """
        )

        @Argument(help: ArgumentHelp("Model file written by quill train (model.safetensors), or its folder.", valueName: "model"))
        var model: String

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func run() throws {
            let url = try modelURL(model)
            let file = try ModelFile.read(from: url)
            let bytes = FileSystem.size(of: url.path) ?? 0
            let shownPath = SystemPath.display(url.path)
            let c = file.configuration
            let parameters = ParameterLayout(c).count
            let validation = file.info["validation_nats_per_char"].flatMap(Double.init)
            let names = (0..<Int32(file.vocabulary.count)).map { file.vocabulary.displayName(of: $0) }

            if json {
                let report = InspectReport(
                    file: shownPath, bytes: bytes, format: ModelFile.formatName, format_version: ModelFile.formatVersion,
                    vocab_size: c.vocabularySize, embed_size: c.embeddingSize, hidden_size: c.hiddenSize, layers: c.layers,
                    dropout: Double(c.dropout.description) ?? Double(c.dropout), parameters: parameters,
                    normalization: file.textOptions.form.displayName, case_fold: file.textOptions.caseFold, step: file.step,
                    code_points: file.vocabulary.scalars.map { Int($0.value) }, vocabulary: names, info: file.info,
                    validation: validation.map { InspectReport.Validation(nats_per_char: $0, bits_per_char: $0 / log(2.0), perplexity: exp($0)) })
                try writeLine(SafeText.escapingJSON(try JSONOutput.line(report)))
                return
            }

            var lines: [(String, String)] = [
                ("file", "\(shownPath) (\(bytes) bytes)"),
                ("format", "\(ModelFile.formatName), version \(ModelFile.formatVersion)"),
                ("model", "vocab \(c.vocabularySize), embed \(c.embeddingSize), hidden \(c.hiddenSize), layers \(c.layers), dropout \(c.dropout)"),
                ("parameters", "\(parameters) (\(Format.count(Double(parameters))))"),
                ("text", "normalization \(file.textOptions.form.displayName), case folding \(file.textOptions.caseFold ? "on" : "off")"),
                ("step", "\(file.step)"),
            ]
            if let validation {
                lines.append(("validation", String(format: "%.4f nats/char, %.4f bits/char, perplexity %.3f",
                                                   validation, validation / log(2.0), exp(validation))))
            }
            // Info entries are free text from the file: escaped, so they cannot steer the terminal or fake lines.
            for (key, value) in file.info.sorted(by: { $0.key < $1.key }) where !(key == "validation_nats_per_char" && validation != nil) {
                lines.append(("info." + SafeText.escaping(key, keepLineBreaks: false), SafeText.escaping(value, keepLineBreaks: false)))
            }
            lines.append(("vocabulary", "\(c.vocabularySize) tokens: " + names.joined(separator: " ")))
            let width = lines.map(\.0.count).max() ?? 0
            var out = ""
            for (key, value) in lines {
                out += (key + ":").padding(toLength: width + 2, withPad: " ", startingAt: 0) + value + "\n"
            }
            try StandardStream.output.write(out)
        }
    }
}

/// What `quill inspect --json` prints; scripts read these keys. `validation` is left out when the model has no score.
private struct InspectReport: Encodable {
    struct Validation: Encodable {
        var nats_per_char: Double
        var bits_per_char: Double
        var perplexity: Double
    }

    var file: String
    var bytes: Int
    var format: String
    var format_version: String
    var vocab_size: Int
    var embed_size: Int
    var hidden_size: Int
    var layers: Int
    var dropout: Double
    var parameters: Int
    var normalization: String
    var case_fold: Bool
    var step: Int
    var code_points: [Int]
    var vocabulary: [String]
    var info: [String: String]
    var validation: Validation?
}

/// Reads and checks the model a command was given: a model file, or a model folder holding `model.safetensors`.
///
/// - Throws: what `modelURL(_:)` and `ModelFile.read(from:)` throw.
func readModelFile(_ path: String) throws -> ModelFile {
    try ModelFile.read(from: modelURL(path))
}

/// The model file a command was given: the path itself, or `model.safetensors` inside a folder.
///
/// The path keeps its bytes (see `SystemPath`), so a model whose name is not UTF-8 is found.
/// - Throws: `CommandError` if nothing is there, a folder lacks the file, or it is not a regular file.
func modelURL(_ path: String) throws -> URL {
    var url = SystemPath.url(path)
    guard let kind = FileSystem.kind(of: url.path) else {
        throw CommandError("The model file \(path) does not exist; pass the model.safetensors that quill train wrote (or its folder).")
    }
    if kind == .directory {
        let inside = url.appendingPathComponent("model.safetensors")
        guard FileSystem.exists(inside.path) else {
            throw CommandError("The folder \(path) holds no model.safetensors; pass a model file or the folder quill train wrote.")
        }
        url = inside
    }
    guard FileSystem.kind(of: url.path) == .regular else {
        throw CommandError("\(url.path) is not a regular file, so it cannot be a model file; pass the model.safetensors that quill train wrote.")
    }
    return url
}
