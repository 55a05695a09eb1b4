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

        func run() throws {
            let start = DispatchTime.now().uptimeNanoseconds
            let encoded = try CorpusEncoder.encode(corpus.source(paths: paths), options: corpus.textOptions)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let megabytes = Double(encoded.byteCount) / 1e6
            func fixed(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
            try writeLine("""
            {"mode":"tokenize","bytes":\(encoded.byteCount),"characters":\(encoded.characterCount),\
            "tokens":\(encoded.tokens.count),"documents":\(encoded.documentCount),"vocab":\(encoded.vocabulary.count),\
            "seconds":\(fixed(seconds, 4)),"mb_per_s":\(fixed(megabytes / max(seconds, 1e-9), 1)),\
            "peak_rss_mb":\(fixed(peakResidentMegabytes(), 1))}
            """)
        }
    }
}
