import Foundation

/// A trained model loaded for use from Swift: generate text, stream it, continue it, or score a text.
///
/// ```swift
/// let model = try QuillModel(contentsOf: URL(fileURLWithPath: "models/kjv"))
/// let text = try model.generate("And God said", parameters: GenerationParameters(temperature: 0.8, maxLength: 200))
/// for try await piece in model.stream("In the beginning") { print(piece, terminator: "") }
/// ```
///
/// The model is immutable once loaded, so one value may serve many tasks at once; each generation
/// gets its own engine workspace and random generator. The same prompt, parameters and seed give
/// the same text as `quill sample` with the same settings and precision.
public final class QuillModel: @unchecked Sendable {
    /// The weights, vocabulary and text options as read from the file.
    public let file: ModelFile
    /// The network over `file.weights`.
    public let languageModel: LanguageModel
    /// The arithmetic of the engine's products; `.bfloat16` falls back to float32 on CPUs without it.
    public let precision: ComputePrecision
    /// The file's name without its folder, such as `model.safetensors`, or the folder's name for `model.safetensors`.
    public let name: String

    /// Loads a model file, or the `model.safetensors` inside a folder, checking it fully before use.
    ///
    /// - Parameter precision: `.bfloat16` (the default, as `quill sample`) or `.float32`.
    /// - Throws: `QuillError.unreadableModel` naming what is wrong.
    public init(contentsOf url: URL, precision: ComputePrecision = .bfloat16) throws(QuillError) {
        var isDirectory: ObjCBool = false
        var fileURL = url
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            fileURL = url.appendingPathComponent("model.safetensors")
        }
        do {
            file = try ModelFile.read(from: fileURL)
        } catch {
            throw QuillError.unreadableModel(path: fileURL.path, reason: "\(error)")
        }
        languageModel = LanguageModel(weights: file.weights)
        self.precision = precision
        let last = fileURL.lastPathComponent
        name = last == "model.safetensors" && fileURL.pathComponents.count > 1
            ? fileURL.deletingLastPathComponent().lastPathComponent : last
    }

    /// A model over weights already in memory (as a trainer or test holds them).
    public init(file: ModelFile, name: String = "model", precision: ComputePrecision = .bfloat16) {
        self.file = file
        languageModel = LanguageModel(weights: file.weights)
        self.precision = precision
        self.name = name
    }

    /// The model's shape: vocabulary size, embedding and hidden widths, layers.
    public var configuration: ModelConfiguration { file.configuration }
    /// The characters the model knows, `[DOC]` at id 0.
    public var vocabulary: Vocabulary { file.vocabulary }

    /// Generates a continuation of `prompt` (the prompt itself is not included) as one string.
    ///
    /// The prompt starts a new document. Generation ends after `parameters.maxLength` characters, at
    /// a stop string (not included), or where the model ends the document.
    /// - Throws: `QuillError.unknownCharacter` for a prompt character outside the vocabulary,
    ///   `.cancelled` when the task is cancelled.
    public func generate(_ prompt: String = "", parameters: GenerationParameters = .standard) throws(QuillError) -> String {
        var text = ""
        try makeGenerator(seed: parameters.seed).generate(after: prompt, parameters: parameters) { text += $0 }
        return text
    }

    /// Streams a continuation of `prompt` as it is generated, in whole grapheme clusters.
    ///
    /// Generation runs on its own task and stops as soon as the consumer stops iterating or its task
    /// is cancelled. Errors are `QuillError`.
    public func stream(_ prompt: String = "", parameters: GenerationParameters = .standard) -> AsyncThrowingStream<String, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task.detached { [self] in
                do {
                    try makeGenerator(seed: parameters.seed).generate(after: prompt, parameters: parameters) { piece in
                        continuation.yield(piece)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// A generator that keeps the model's state between calls, so text can be continued.
    ///
    /// - Parameter seed: seed of the generator's random draws, used across all its calls.
    public func makeGenerator(seed: UInt64 = 1) -> QuillGenerator {
        QuillGenerator(model: self, seed: seed)
    }

    /// Scores `text` as one document: the model's cross-entropy on each of its characters and on its end.
    ///
    /// - Throws: `QuillError.unknownCharacter` for a character outside the vocabulary.
    public func evaluate(_ text: String) throws(QuillError) -> EvaluationResult {
        let tokens = try encode(text)
        let evaluator = Evaluator(model: languageModel, batch: 1, precision: .float32)
        return evaluator.evaluate([Vocabulary.documentID] + tokens + [Vocabulary.documentID])
    }

    /// The token ids of `text` normalized as the model's training text was (no `[DOC]`).
    ///
    /// - Throws: `QuillError.unknownCharacter` naming the first character outside the vocabulary.
    public func encode(_ text: String) throws(QuillError) -> [Int32] {
        let scalars: [Unicode.Scalar]
        do {
            scalars = try Normalizer(options: file.textOptions).normalize(text)
        } catch {
            throw QuillError.unknownCharacter(name: "(text that cannot be normalized: \(error))", position: 0)
        }
        var tokens: [Int32] = []
        tokens.reserveCapacity(scalars.count)
        for (position, scalar) in scalars.enumerated() {
            guard let id = file.vocabulary.id(of: scalar) else {
                throw QuillError.unknownCharacter(name: Self.quotedName(of: scalar), position: position)
            }
            tokens.append(id)
        }
        return tokens
    }

    /// `'!' (U+0021)`, or the vocabulary's name for characters that do not print (`space (U+0020)`).
    static func quotedName(of scalar: Unicode.Scalar) -> String {
        let name = Vocabulary.displayName(of: scalar)
        guard name == String(scalar) else { return name }
        return "'\(scalar)' (U+" + String(format: "%04X", scalar.value) + ")"
    }

    /// Stop strings normalized as the model's text is, so they match what it generates.
    public func normalizedStops(_ stops: [String]) -> [String] {
        let normalizer = Normalizer(options: file.textOptions)
        return stops.map { stop in
            guard let scalars = try? normalizer.normalize(stop), !scalars.isEmpty else { return stop }
            return String(String.UnicodeScalarView(scalars))
        }
    }
}
