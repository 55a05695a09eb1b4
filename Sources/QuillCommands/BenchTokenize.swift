import ArgumentParser
import Foundation
import Quill

extension QuillCommand.Bench {
    struct BenchTokenize: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tokenize",
            abstract: "Measure how fast a corpus is decoded, normalized and turned into token ids.",
            discussion: "Prints one JSON line: bytes, characters, tokens, documents, vocabulary size, seconds, MB/s and peak resident memory."
        )

        @Argument(help: "Text files or folders of the corpus.")
        var paths: [String]

        @OptionGroup var corpus: CorpusOptions

        private struct Line: Encodable {
            var mode = "tokenize"
            var bytes: Int
            var characters: Int
            var tokens: Int
            var documents: Int
            var vocab: Int
            var seconds: Double
            var mb_per_s: Double
            var peak_rss_mb: Double
        }

        func run() throws {
            let timer = Stopwatch()
            let encoded = try CorpusEncoder.encode(corpus.source(paths: paths), options: corpus.textOptions)
            let seconds = timer.seconds
            let megabytes = Double(encoded.byteCount) / 1e6
            try writeLine(try JSONOutput.line(Line(
                bytes: encoded.byteCount, characters: encoded.characterCount, tokens: encoded.tokens.count,
                documents: encoded.documentCount, vocab: encoded.vocabulary.count, seconds: JSONOutput.decimal(seconds, 4),
                mb_per_s: JSONOutput.decimal(megabytes / max(seconds, 1e-9), 1),
                peak_rss_mb: JSONOutput.decimal(peakResidentMegabytes(), 1))))
        }
    }
}
