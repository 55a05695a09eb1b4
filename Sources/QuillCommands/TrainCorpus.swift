import Foundation
import Quill

/// What `quill train` trains on: the data for the trainer, its vocabulary and text options.
struct TrainCorpus {
    var data: TrainingData
    var vocabulary: Vocabulary
    var textOptions: TextOptions
}

extension QuillCommand.Train {
    /// Reads the corpus: text files encoded in memory, or a prepared folder whose shards are read as training needs them.
    ///
    /// Prints one line on the corpus. Text is read with `textOptions` (a base model's under
    /// `--init-from`) and its vocabulary adapted to the base model's or the resumed run's. For a
    /// prepared folder the split, vocabulary and text options are the manifest's, so
    /// `configuration.validationFraction` is set from it.
    /// - Throws: tokenizer, training or prepared-corpus errors, and a `CommandError` for flags that a
    ///   prepared folder has already fixed.
    func loadCorpus(_ configuration: inout TrainingConfiguration, textOptions: TextOptions, base: ModelFile?,
                    folder: ModelFolder, terminal: Terminal) throws -> TrainCorpus {
        let started = Date()
        if let prepared = try preparedFolder() {
            return try loadPrepared(prepared, &configuration, base: base, terminal: terminal, started: started)
        }
        terminal.live("reading \(corpus.joined(separator: ", ")) ...")
        let encoded = try startingVocabulary(CorpusEncoder.encode(text.source(paths: corpus), options: textOptions),
                                             base: base, folder: folder)
        let training: [Int32], validation: [Int32]
        if let val {
            let held = try CorpusEncoder.encode(text.source(paths: [val]), options: textOptions,
                                                vocabulary: encoded.vocabulary, unknown: .skip)
            if !held.unknown.isEmpty {
                terminal.warn("\(held.unknown.values.reduce(0, +)) characters of \(val) are not in the training text's vocabulary and are left out of validation.")
            }
            training = encoded.tokens
            validation = held.tokens
            guard validation.count >= 2 else { throw TrainingError.emptyValidationSplit(tokens: validation.count, validationFraction: 0) }
        } else {
            let split = try TrainingSplit.split(tokens: encoded.tokens, validationFraction: configuration.validationFraction)
            training = split.training
            validation = split.validation
        }
        terminal.line(String(format: "corpus: %@ characters in %d documents, %d distinct; %@ to train on, %@ to validate (read in %.1fs)",
                             Format.count(Double(encoded.characterCount)), encoded.documentCount, encoded.vocabulary.count - 1,
                             Format.count(Double(training.count)), Format.count(Double(validation.count)),
                             Date().timeIntervalSince(started)))
        return TrainCorpus(data: TrainingData(training: training, validation: validation, vocabulary: encoded.vocabulary),
                           vocabulary: encoded.vocabulary, textOptions: textOptions)
    }

    /// The prepared folder given as the corpus, or nil when the corpus is text.
    private func preparedFolder() throws -> URL? {
        let prepared = corpus.map(SystemPath.url).filter(PreparedCorpus.isPrepared)
        guard let folder = prepared.first else { return nil }
        guard corpus.count == 1 else {
            throw CommandError("\(folder.path) is a prepared corpus and is trained on alone; give it as the only corpus, or prepare all the files together.")
        }
        return folder
    }

    private func loadPrepared(_ folder: URL, _ configuration: inout TrainingConfiguration, base: ModelFile?,
                              terminal: Terminal, started: Date) throws -> TrainCorpus {
        let corpus = try PreparedCorpus(folder: folder)
        let manifest = corpus.manifest
        let fixed = "was fixed when \(folder.path) was prepared"
        if val != nil {
            throw CommandError("--val cannot be used with a prepared corpus: its validation split \(fixed); prepare it again with --val-frac or --val-max to change the split.")
        }
        if let valFrac, valFrac != manifest.validation.fraction {
            throw CommandError("--val-frac \(valFrac) differs from the split of \(manifest.validation.fraction) that \(fixed); drop --val-frac, or prepare the corpus again.")
        }
        if text.documents.docSeparator != nil || text.documents.jsonlField != nil {
            throw CommandError("--doc-separator and --jsonl-field cannot be used with a prepared corpus: its documents were cut when \(folder.path) was prepared.")
        }
        if text.textOptions != TextOptions(), text.textOptions != corpus.textOptions {
            throw CommandError("\(text.textOptions.summary) was asked but \(folder.path) was prepared with \(corpus.textOptions.summary); drop --normalization and --case-fold, or prepare the corpus again.")
        }
        if let base, base.vocabulary != corpus.vocabulary || base.textOptions != corpus.textOptions {
            throw CommandError("--init-from needs a model of the same characters and text options as \(folder.path) to start from prepared ids; fine-tune on the text files instead, or prepare them with the model's options.")
        }
        configuration.validationFraction = manifest.validation.fraction
        try corpus.verify { done, total in
            terminal.live(String(format: "checking %@: %.0f%%", folder.lastPathComponent, 100 * Double(done) / Double(max(total, 1))))
        }
        let data = try corpus.trainingData()
        terminal.line(String(format: "corpus: %@ characters in %d documents, %d distinct, prepared in %d shard%@; %@ to train on, %@ to validate (checked in %.1fs)",
                             Format.count(Double(manifest.characterCount)), manifest.documentCount, manifest.vocabulary.count,
                             manifest.shards.count, manifest.shards.count == 1 ? "" : "s", Format.count(Double(data.training.count)), Format.count(Double(data.validation.count)),
                             Date().timeIntervalSince(started)))
        return TrainCorpus(data: data, vocabulary: corpus.vocabulary, textOptions: corpus.textOptions)
    }
}
