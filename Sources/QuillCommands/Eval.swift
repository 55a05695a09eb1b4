import ArgumentParser
import Foundation
import Quill

extension QuillCommand {
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval",
            abstract: "Measure a model's perplexity on text.",
            discussion: """
            Scores every character of the files, and the end of every document, as training's \
            validation does: the text is normalized as the model's training text was, each \
            document starts after [DOC] from a reset state, and the state carries across \
            windows. The figure is the sequential one (as --batch 1 scores it) whatever --batch: \
            each lane first reads, unscored, the text before its span, back to its document's \
            start or --burn-in characters, so --batch only changes speed. Reports nats and bits \
            per character and perplexity (exp of nats per character). Characters the model's vocabulary lacks are left out and listed, or \
            are an error with --unknown error.

            Examples:
              quill eval models/kjv/model.safetensors held-out.txt --doc-separator %
              quill eval model.safetensors test.jsonl --jsonl-field text --json
            """
        )

        @Argument(help: ArgumentHelp("Model file written by quill train (model.safetensors), or its folder.", valueName: "model"))
        var model: String

        @Argument(help: ArgumentHelp("Text files or folders to score (a folder holds one document per file), or a prepared corpus folder, whose validation split is scored.", valueName: "file"))
        var files: [String]

        @OptionGroup(title: "Documents")
        var documents: DocumentOptions

        @Option(parsing: .unconditional, help: "Most lanes scored together; only changes speed, not the figure (typical 16-128).")
        var batch = 32

        @Option(name: .customLong("burn-in"), parsing: .unconditional,
                help: ArgumentHelp("Characters a lane reads, unscored, before its span when no document start is nearer; longer for a model with a long memory, 0 starts lanes from a zero state (typical 128-512).", valueName: "chars"))
        var burnIn = Evaluator.defaultBurnIn

        @Option(help: "Matrix products in float32 (default; exact) or bfloat16 (several times faster on CPUs with AVX-512 BF16, within about 0.001 nats).")
        var precision: ComputePrecision = .float32

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        @Option(help: "Characters outside the model's vocabulary: skip (counted and listed) or error.")
        var unknown: UnknownCharacters = .skip

        @OptionGroup(title: "Memory")
        var memory: MemoryOptions

        /// Most lanes one evaluation may ask for.
        static let maximumBatch = 4096
        /// Longest burn-in one evaluation may ask for.
        static let maximumBurnIn = 1_000_000

        func validate() throws {
            if batch < 1 || batch > Self.maximumBatch {
                throw ValidationError("--batch must be from 1 to \(Self.maximumBatch), not \(batch); try 32.")
            }
            if burnIn < 0 || burnIn > Self.maximumBurnIn {
                throw ValidationError("--burn-in must be from 0 to \(Self.maximumBurnIn), not \(burnIn); try \(Evaluator.defaultBurnIn).")
            }
        }

        func run() throws {
            let terminal = Terminal()
            let file = try readModelFile(model)
            try memory.check(.evaluation(file.configuration, batch: batch, precision: precision))
            let started = Date()
            let encoded = try encodeInput(for: file, terminal: terminal)
            let characters = encoded.tokens.count - encoded.documentCount - 1
            let unknownCount = encoded.unknown.values.reduce(0, +)
            guard characters > 0 else {
                throw CommandError("No character of \(files.joined(separator: ", ")) is in the model's vocabulary (\(UnknownCharacters.list(encoded.unknown))), so there is nothing to score; evaluate text like the training text.")
            }

            let evaluator = Evaluator(model: LanguageModel(weights: file.weights), batch: batch, precision: precision, burnIn: burnIn)
            let total = encoded.tokens.count - 1
            let result = evaluator.evaluate(encoded.tokens) { done in
                if !json { terminal.live(String(format: "scoring: %.0f%%", 100 * Double(done) / Double(total))) }
            }
            terminal.clearLive()
            guard result.natsPerCharacter.isFinite else {
                throw CommandError("The model's scores on this text are not finite numbers (NaN or infinity), because its weights are so large that the arithmetic overflows; the model file is damaged or its training diverged, so train it again.")
            }
            let seconds = Date().timeIntervalSince(started)
            let speed = Double(result.count) / max(seconds, 1e-9)

            if json {
                var unknownByName: [String: Int] = [:]
                for (scalar, count) in encoded.unknown { unknownByName[Vocabulary.displayName(of: scalar)] = count }
                let report = EvalReport(
                    nats_per_char: result.natsPerCharacter, bits_per_char: result.bitsPerCharacter,
                    perplexity: result.perplexity, characters: result.count, documents: encoded.documentCount,
                    unknown_characters: unknownCount, files: files.map(SystemPath.display), seconds: seconds, chars_per_s: speed,
                    unknown: unknownByName)
                try writeLine(SafeText.escapingJSON(try JSONOutput.line(report)))
                return
            }
            if unknownCount > 0 {
                StandardStream.error.writeKeepingFailure(SafeText.escaping("note: \(unknownCount) character\(unknownCount == 1 ? " is" : "s are") not in the model's vocabulary and \(unknownCount == 1 ? "was" : "were") skipped: \(UnknownCharacters.list(encoded.unknown)).", keepLineBreaks: false) + "\n")
            }
            try writeLine(String(format: "%.4f nats/char, %.4f bits/char, perplexity %.3f", result.natsPerCharacter,
                                 result.bitsPerCharacter, result.perplexity))
            try writeLine("scored \(result.count) characters (\(characters) of text and \(encoded.documentCount) document ends) in \(encoded.documentCount) document\(encoded.documentCount == 1 ? "" : "s"); \(unknownCount) outside the vocabulary")
            try writeLine(String(format: "%.2fs, %@ chars/s", seconds, Format.count(speed)))
        }
    }
}

/// What `quill eval --json` prints; scripts read these keys. A figure that is not finite is null.
private struct EvalReport: Encodable {
    var nats_per_char: Double
    var bits_per_char: Double
    var perplexity: Double
    var characters: Int
    var documents: Int
    var unknown_characters: Int
    var files: [String]
    var seconds: Double
    var chars_per_s: Double
    var unknown: [String: Int]

    enum CodingKeys: String, CodingKey {
        case nats_per_char, bits_per_char, perplexity, characters, documents, unknown_characters, files, seconds, chars_per_s, unknown
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func real(_ x: Double, _ key: CodingKeys) throws { try c.encode(x.isFinite ? x : nil, forKey: key) }
        try real(nats_per_char, .nats_per_char)
        try real(bits_per_char, .bits_per_char)
        try real(perplexity, .perplexity)
        try c.encode(characters, forKey: .characters)
        try c.encode(documents, forKey: .documents)
        try c.encode(unknown_characters, forKey: .unknown_characters)
        try c.encode(files, forKey: .files)
        try real(seconds, .seconds)
        try real(chars_per_s, .chars_per_s)
        try c.encode(unknown, forKey: .unknown)
    }
}
