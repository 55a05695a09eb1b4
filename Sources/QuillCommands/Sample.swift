import ArgumentParser
import Foundation
import Quill

/// What a command does with characters the model's vocabulary lacks.
enum UnknownCharacters: String, ExpressibleByArgument, CaseIterable {
    /// Stop with an error naming the first such character.
    case error
    /// Leave them out, with a note listing them.
    case skip

    var policy: UnknownPolicy { self == .error ? .error : .skip }

    /// `é (3), U+0007 (1)`: skipped characters by display name, most frequent first, at most `limit` of them.
    static func list(_ counts: [Unicode.Scalar: Int], limit: Int = 20) -> String {
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }
        var parts = sorted.prefix(limit).map { "\(Vocabulary.displayName(of: $0.key)) (\($0.value))" }
        if sorted.count > limit { parts.append("and \(sorted.count - limit) more") }
        return parts.joined(separator: ", ")
    }
}

extension QuillCommand {
    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sample",
            abstract: "Generate text from a model.",
            discussion: """
            The prompt is normalized as the model's training text was (see 'quill inspect'), fed \
            after [DOC] from a reset state, and printed; the continuation streams after it as it \
            is generated. A sample ends after --length characters, at a --stop string (not \
            printed), or when the model ends the document, whichever comes first. The same \
            model, prompt, settings and --seed always give the same text.

            Examples:
              quill sample models/kjv/model.safetensors --prompt "In the beginning" --length 300
              quill sample model.safetensors --temperature 0.7 --top-p 0.9 --samples 3 --seed 7
              quill sample model.safetensors --prompt "ROMEO:" --stop $'\\n\\n' --temperature 0
            """
        )

        @Argument(help: ArgumentHelp("Model file written by quill train (model.safetensors), or its folder.", valueName: "model"))
        var model: String

        @Option(help: "Text to continue (default: none, so the model starts a new document).")
        var prompt = ""

        @Option(parsing: .unconditional, help: "Characters to generate per sample, the prompt not counted.")
        var length = 500

        @Option(parsing: .unconditional, help: "Sampling temperature: 0 = greedy, <1 = more conservative, >1 = more random (typical 0.5-1.2).")
        var temperature: Float = 1

        @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Draw only from the K most probable characters; 0 = off (typical 20-100).")
        var topK = 0

        @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Draw only from the most probable characters whose mass reaches P; 1 = off (typical 0.8-0.95).")
        var topP: Float = 1

        @Option(parsing: .unconditional, help: "Random seed; sample i of a batch uses seed + i (a fixed default, so runs are reproducible).")
        var seed: UInt64 = 1

        @Option(name: .customLong("stop"), help: ArgumentHelp(
            "End a sample where this text appears (not printed); repeatable, normalized like the prompt.", valueName: "text"))
        var stops: [String] = []

        @Option(parsing: .unconditional, help: "Samples to generate together as one batch, printed one after another.")
        var samples = 1

        @Flag(name: .customLong("ignore-eod"), help: "When the model ends a document, start a new one instead of stopping (until 100 documents in a row end before their first character).")
        var ignoreEndOfDocument = false

        @Option(help: "Matrix products in bfloat16 (default; several times faster on CPUs with AVX-512 BF16) or float32.")
        var precision: ComputePrecision = .bfloat16

        @Option(help: "Prompt characters outside the model's vocabulary: error, or skip (with a warning).")
        var unknown: UnknownCharacters = .error

        @OptionGroup(title: "Memory")
        var memory: MemoryOptions

        func run() throws {
            let settings = try SamplingSettings(temperature: temperature, topK: topK, topP: topP)
            try SamplingSettings.validateLength(length)
            try SamplingSettings.validateSampleCount(samples)
            if stops.contains(where: \.isEmpty) { throw SamplingError.emptyStopString }
            // Arguments keep bytes that are not UTF-8 (see SystemPath); text arguments must be UTF-8.
            guard let prompt = SystemPath.text(of: prompt) else {
                throw CommandError("The prompt '\(SystemPath.display(prompt))' is not valid UTF-8; give it as UTF-8 text.")
            }
            let stops = try stops.map { stop in
                guard let text = SystemPath.text(of: stop) else {
                    throw CommandError("The stop string '\(SystemPath.display(stop))' is not valid UTF-8; give it as UTF-8 text.")
                }
                return text
            }

            let terminal = Terminal(interactive: false)
            let file = try readModelFile(model)
            try memory.check(.sampling(file.configuration, samples: samples, precision: precision))
            let ids = try promptTokens(prompt, file, terminal: terminal)
            let stopTexts = try normalizedStops(stops, file, terminal: terminal)

            let promptText = String(String.UnicodeScalarView(ids.compactMap { file.vocabulary.scalar(of: $0) }))
            let generator = TextGenerator(model: LanguageModel(weights: file.weights), vocabulary: file.vocabulary, samples: samples,
                                          precision: precision)
            var buffered = [String](repeating: "", count: samples)
            var lastPrinted = ""
            // A failed write (a closed or full output, or a reader that went away) ends the run.
            func write(_ text: String) throws {
                guard !text.isEmpty else { return }
                try StandardStream.output.write(text)
                lastPrinted = text
            }
            if samples > 1 { try write(Self.separator(1, of: samples)) }
            try write(promptText)
            // Sample 0 streams as it is produced; the others wait for their turn.
            var generated = [Bool](repeating: false, count: samples)
            let endings = try generator.generate(prompt: ids, length: length, settings: settings, seed: seed, stops: stopTexts,
                                                 ignoreEndOfDocument: ignoreEndOfDocument) { i, piece in
                generated[i] = true
                if i == 0 { try write(piece) } else { buffered[i] += piece }
            }
            for i in 1..<samples {
                if !lastPrinted.hasSuffix("\n") { try write("\n") }
                try write(Self.separator(i + 1, of: samples))
                try write(promptText + buffered[i])
            }
            if !lastPrinted.hasSuffix("\n") { try write("\n") }
            for i in 0..<samples {
                let which = samples == 1 ? "The sample" : "Sample \(i + 1) of \(samples)"
                if endings[i] == .emptyDocuments {
                    terminal.warn("\(which) ended early\(generated[i] ? "" : " and is empty"): the model ended \(TextGenerator.maximumEmptyDocuments) documents in a row before writing a character, as it would go on doing; try a prompt, or a temperature above 0.")
                } else if !generated[i] && endings[i] != .stopString {
                    terminal.warn("\(which) is empty: the model ended the document before writing a character; try a prompt, or a temperature above 0.")
                }
            }
        }

        /// The line printed before sample `number` (counted from 1) when several are asked for.
        static func separator(_ number: Int, of count: Int) -> String {
            "--- sample \(number) of \(count) ---\n"
        }

        /// The prompt's token ids; unknown characters are an error or are dropped with a warning.
        private func promptTokens(_ prompt: String, _ file: ModelFile, terminal: Terminal) throws -> [Int32] {
            let encoded: (tokens: [Int32], unknown: [Unicode.Scalar: Int])
            do {
                encoded = try CorpusEncoder.encode(text: prompt, options: file.textOptions, vocabulary: file.vocabulary,
                                                   unknown: unknown.policy)
            } catch let TokenizerError.unknownCharacter(name, _, position) {
                throw CommandError("The prompt's character \(name) at position \(position) is not in the model's vocabulary; remove it, or pass --unknown skip to leave such characters out.")
            }
            guard !encoded.unknown.isEmpty else { return encoded.tokens }
            if encoded.tokens.isEmpty {
                throw CommandError("Every character of the prompt is outside the model's vocabulary (\(UnknownCharacters.list(encoded.unknown))), so nothing is left to continue; use characters of the training text ('quill inspect' lists them) or an empty prompt.")
            }
            let count = encoded.unknown.values.reduce(0, +)
            terminal.warn("\(count) prompt character\(count == 1 ? " is" : "s are") not in the model's vocabulary and \(count == 1 ? "was" : "were") left out: \(UnknownCharacters.list(encoded.unknown)).")
            return encoded.tokens
        }

        /// The stop strings normalized as the model's text is, with a warning for any the model can never produce.
        private func normalizedStops(_ stops: [String], _ file: ModelFile, terminal: Terminal) throws -> [String] {
            let normalizer = Normalizer(options: file.textOptions)
            return try stops.map { stop in
                let scalars = try normalizer.normalize(stop)
                if scalars.isEmpty { throw SamplingError.emptyStopString }
                if let missing = scalars.first(where: { file.vocabulary.id(of: $0) == nil }) {
                    terminal.warn("The stop string \"\(stop)\" holds \(Vocabulary.displayName(of: missing)), which the model never produces, so it can never match.")
                }
                return String(String.UnicodeScalarView(scalars))
            }
        }
    }
}
