import Foundation
import Quill

extension QuillCommand.Eval {
    /// The tokens to score in the model's vocabulary: the files encoded, or a prepared folder's validation split.
    ///
    /// A prepared folder's ids are mapped through their characters to the model's ids; characters
    /// the model lacks are skipped and counted, or are an error under `--unknown error`, as for text.
    /// - Throws: tokenizer or prepared-corpus errors, and a `CommandError` when the folder was
    ///   normalized otherwise than the model's text or document flags are given with it.
    func encodeInput(for file: ModelFile, terminal: Terminal) throws -> EncodedText {
        let urls = files.map(SystemPath.url)
        guard let folder = urls.first(where: PreparedCorpus.isPrepared) else {
            return try CorpusEncoder.encode(documents.source(paths: files), options: file.textOptions,
                                            vocabulary: file.vocabulary, unknown: unknown.policy)
        }
        guard files.count == 1 else {
            throw CommandError("\(folder.path) is a prepared corpus and is scored alone; give it as the only file.")
        }
        if documents.docSeparator != nil || documents.jsonlField != nil {
            throw CommandError("--doc-separator and --jsonl-field cannot be used with a prepared corpus: its documents were cut when \(folder.path) was prepared.")
        }
        let corpus = try PreparedCorpus(folder: folder)
        guard corpus.textOptions == file.textOptions else {
            throw CommandError("The model reads \(file.textOptions.summary) text but \(folder.path) was prepared with \(corpus.textOptions.summary); prepare the corpus with the model's options, or evaluate text files.")
        }
        let split = corpus.manifest.validation
        try corpus.verify(covering: split.start..<(split.start + split.count)) { done, total in
            if !json { terminal.live(String(format: "checking %@: %.0f%%", folder.lastPathComponent, 100 * Double(done) / Double(max(total, 1)))) }
        }
        var tokens = try corpus.validationTokens()
        // The folder's ids to the model's: through each id's character.
        let table: [Int32?] = (0..<corpus.vocabulary.count).map { id in
            guard let scalar = corpus.vocabulary.scalar(of: Int32(id)) else { return Vocabulary.documentID }
            return file.vocabulary.id(of: scalar)
        }
        var skipped: [Unicode.Scalar: Int] = [:]
        var kept = 0
        var documentMarkers = 0
        var position = 0
        for id in tokens {
            if let mapped = table[Int(id)] {
                tokens[kept] = mapped
                kept += 1
                if mapped == Vocabulary.documentID { documentMarkers += 1 } else { position += 1 }
                continue
            }
            let scalar = corpus.vocabulary.scalar(of: id)!
            if unknown.policy == .error {
                throw TokenizerError.unknownCharacter(name: Vocabulary.displayName(of: scalar),
                                                     file: "the validation split of \(folder.path)", position: position)
            }
            skipped[scalar, default: 0] += 1
            position += 1
        }
        tokens.removeSubrange(kept...)
        return EncodedText(tokens: tokens, unknown: skipped, documentCount: documentMarkers - 1,
                           byteCount: split.count * corpus.manifest.tokenBytes)
    }
}
