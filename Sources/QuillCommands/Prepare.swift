import ArgumentParser
import Foundation
import Quill

extension QuillCommand {
    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prepare",
            abstract: "Turn a corpus of any size into token shards that train and eval read without holding it in memory.",
            discussion: """
            Reads the corpus twice, streaming, with the document and normalization options of \
            'quill train': the first pass finds the vocabulary, the second writes token ids into \
            shard files (2 bytes an id when the vocabulary has at most 65,536 tokens, else 4) and \
            a manifest with the vocabulary, the counts, a CRC-32C per shard and the validation \
            split. The split is fixed here, so every run on the folder holds out the same \
            characters: the last --val-frac of the stream, at most --val-max characters.

            The folder is built beside --out and renamed into place when complete, so an \
            interrupted run leaves nothing that looks prepared. Train and evaluate with:
              quill train DIR
              quill eval MODEL DIR

            Examples:
              quill prepare corpora/data/kjv.txt --doc-separator % --out corpora/prepared/kjv
              quill prepare books/ --normalization nfkc --case-fold --out prepared/books
            """
        )

        @Argument(help: ArgumentHelp("Text files or folders to prepare (a folder holds one document per file).", valueName: "corpus"))
        var corpus: [String]

        @OptionGroup(title: "Text")
        var text: CorpusOptions

        @Option(help: ArgumentHelp("The prepared folder to write.", valueName: "folder"))
        var out: String

        @Option(name: .customLong("val-frac"), help: "Fraction of the stream, from its end, held out to validate (default 0.1; up to 0.5).")
        var valFrac = 0.1

        @Option(name: .customLong("val-max"), help: "Most characters held out to validate, whatever --val-frac says, so each validation pass takes seconds (default 1000000; a pass scores them all).")
        var valMax = PrepareOptions.defaultMaximumValidationTokens

        @Option(name: .customLong("shard-tokens"), help: "Token ids per shard file (default 67108864: 128 MB shards of 2-byte ids).")
        var shardTokens = PrepareOptions.defaultShardTokens

        @Flag(help: "Replace a prepared corpus already at --out.")
        var force = false

        func validate() throws {
            if !(valFrac > 0 && PrepareOptions.validationFractionRange.contains(valFrac)) {
                throw ValidationError("--val-frac must be above 0 and at most 0.5, not \(valFrac); try 0.1.")
            }
            if !PrepareOptions.maximumValidationTokensRange.contains(valMax) {
                throw ValidationError("--val-max must be at least 2, not \(valMax); try 1000000.")
            }
            if !PrepareOptions.shardTokensRange.contains(shardTokens) {
                throw ValidationError("--shard-tokens must be from 1 to 2^40, not \(shardTokens); try 67108864.")
            }
        }

        func run() throws {
            let terminal = Terminal()
            let options = PrepareOptions(source: text.source(paths: corpus), textOptions: text.textOptions,
                                         validationFraction: valFrac, maximumValidationTokens: valMax,
                                         shardTokens: shardTokens, replace: force)
            let started = Date()
            let manifest: PreparedCorpusManifest
            do {
                manifest = try prepare(options, terminal: terminal)
            } catch PreparedCorpusError.alreadyPrepared(let path) {
                throw CommandError("\(path) already holds a prepared corpus; add --force to replace it, or choose another --out.")
            } catch PreparedCorpusError.outputExists(let path) {
                throw CommandError("\(path) already exists and is not a prepared corpus; choose another --out, or remove it first.")
            }
            report(manifest, seconds: Date().timeIntervalSince(started), terminal: terminal)
        }

        /// Runs the two passes with a live progress line; Ctrl-C stops them and leaves nothing at --out.
        private func prepare(_ options: PrepareOptions, terminal: Terminal) throws -> PreparedCorpusManifest {
            StopSignal.install()
            let started = Date()
            var lastDrawn = 0.0
            let manifest = try PreparedCorpus.prepare(options, into: SystemPath.url(out), progress: { p in
                let elapsed = Date().timeIntervalSince(started)
                guard elapsed - lastDrawn >= 0.25 else { return }
                lastDrawn = elapsed
                let share = p.totalBytes > 0 ? 100 * Double(p.bytes) / Double(p.totalBytes) : 0
                terminal.live(String(format: "pass %d of 2 (%@): %.0f%% of %@ MB", p.pass, p.pass == 1 ? "vocabulary" : "shards",
                                     share, Format.count(Double(p.totalBytes) / 1e6)))
            }, stopRequested: { StopSignal.received != nil })
            terminal.clearLive()
            return manifest
        }

        private func report(_ manifest: PreparedCorpusManifest, seconds: Double, terminal: Terminal) {
            let megabytes = Double(manifest.sourceBytes) / 1e6
            terminal.line(String(format: "prepared %@: %@ characters in %d documents, %d distinct; %@ tokens in %d shard%@ of %d-byte ids",
                                 out, Format.count(Double(manifest.characterCount)), manifest.documentCount,
                                 manifest.vocabulary.count, Format.count(Double(manifest.tokenCount)), manifest.shards.count,
                                 manifest.shards.count == 1 ? "" : "s", manifest.tokenBytes))
            terminal.line(String(format: "validation: the last %@ tokens (%.2f%% of the stream); fingerprint %@",
                                 Format.count(Double(manifest.validation.count)),
                                 100 * Double(manifest.validation.count) / Double(manifest.tokenCount), manifest.fingerprint))
            let took = seconds < 60 ? String(format: "%.1fs", seconds) : Format.duration(seconds)
            terminal.line(String(format: "read %.1f MB twice in %@ (%.1f MB/s)", megabytes, took, megabytes / max(seconds, 1e-9)))
        }
    }
}
