import ArgumentParser
import Foundation
import Quill

extension NormalizationForm: ExpressibleByArgument {}

/// How files are cut into documents: whole files, separator lines, or JSON Lines.
///
/// `quill eval` takes these alone (the normalization comes from the model file);
/// `quill train` and `quill bench tokenize` take them inside `CorpusOptions`.
public struct DocumentOptions: ParsableArguments {
    @Option(name: .customLong("doc-separator"), help: ArgumentHelp(
        "Split files into documents at lines equal to LINE (for example '%'); an empty string splits at runs of blank lines.",
        valueName: "LINE"))
    public var docSeparator: String?

    @Option(name: .customLong("jsonl-field"), help: ArgumentHelp(
        "Read files as JSON Lines: each non-blank line is a JSON object whose string field NAME is one document.",
        valueName: "NAME"))
    public var jsonlField: String?

    public init() {}

    public func validate() throws {
        if docSeparator != nil && jsonlField != nil {
            throw ValidationError("--doc-separator and --jsonl-field cannot be used together; JSON Lines files hold one document per line already.")
        }
        if let field = jsonlField, field.isEmpty {
            throw ValidationError("--jsonl-field needs a field name, such as 'text'.")
        }
        for (flag, value) in [("--doc-separator", docSeparator), ("--jsonl-field", jsonlField)] {
            if let value, SystemPath.text(of: value) == nil {
                throw ValidationError("\(flag) '\(SystemPath.display(value))' is not valid UTF-8; give it as UTF-8 text.")
            }
        }
        if let separator = docSeparator, separator.contains("\n") {
            throw ValidationError("--doc-separator is one line and cannot hold a line break.")
        }
    }

    /// The document rule these flags select.
    public var splitting: DocumentSplitting {
        if let field = jsonlField { return .jsonLines(field: SystemPath.text(of: field) ?? field) }
        if let separator = docSeparator { return .separatorLine(SystemPath.text(of: separator) ?? separator) }
        return .wholeFiles
    }

    /// The files as a corpus, cut into documents as asked.
    public func source(paths: [String]) -> CorpusSource {
        CorpusSource(paths: paths.map(SystemPath.url), documents: splitting)
    }
}

/// Options that say how corpus files become documents and scalars, shared by the commands that read text.
public struct CorpusOptions: ParsableArguments {
    @Option(help: "Unicode normalization: nfc (default; composed), nfd (decomposed), nfkc or nfkd (also fold compatibility forms such as ligatures and full-width letters).")
    public var normalization: NormalizationForm = .nfc

    @Flag(help: "Case-fold the text (Unicode default case folding), so 'A' and 'a' are one token.")
    public var caseFold = false

    @OptionGroup public var documents: DocumentOptions

    public init() {}

    public var textOptions: TextOptions { TextOptions(form: normalization, caseFold: caseFold) }

    public var splitting: DocumentSplitting { documents.splitting }

    public func source(paths: [String]) -> CorpusSource { documents.source(paths: paths) }
}
