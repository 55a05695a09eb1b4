/// A problem with the text a user gave the tokenizer: a path, a file's bytes, its documents, or a character.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// The bytes at `offset` of `file` are not valid UTF-8.
    case invalidUTF8(file: String, offset: Int, bytes: [UInt8])
    /// Nothing exists at the path.
    case missingPath(String)
    /// The path exists but cannot be read.
    case unreadablePath(String, reason: String)
    /// A folder holds no regular, non-hidden files.
    case noTextFiles(directory: String)
    /// The corpus holds no text at all.
    case emptyCorpus(paths: [String])
    /// Every line of the corpus is a document separator, so no document is left.
    case onlySeparators(paths: [String], separator: String)
    /// A JSON Lines line is not well-formed JSON: `reason` at byte `column` (from 1) of the line.
    case jsonLineInvalid(file: String, line: Int, column: Int, reason: String)
    /// A JSON Lines line is JSON, but not an object.
    case jsonLineNotJSON(file: String, line: Int)
    /// A JSON Lines object lacks the text field.
    case jsonLineMissingField(file: String, line: Int, field: String)
    /// A JSON Lines object's text field is not a string.
    case jsonLineFieldNotString(file: String, line: Int, field: String)
    /// The file holds NUL or many control bytes, so it is not text.
    case binaryFile(file: String)
    /// A character of the text is not in the model's vocabulary.
    case unknownCharacter(name: String, file: String, position: Int)
    /// utf8proc refused to normalize some text.
    case normalizationFailed(code: Int, message: String)

    public var description: String {
        switch self {
        case let .invalidUTF8(file, offset, bytes):
            let hex = bytes.map { String($0, radix: 16, uppercase: true).leftPadded(to: 2) }.joined(separator: " ")
            return "\(file) is not valid UTF-8 at byte offset \(offset) (bytes \(hex)); convert it first, for example with 'iconv -f LATIN1 -t UTF-8'."
        case let .missingPath(path):
            return "\(path) does not exist; check the path and its spelling."
        case let .unreadablePath(path, reason):
            return "\(path) cannot be read (\(reason)); check its permissions."
        case let .noTextFiles(directory):
            return "The folder \(directory) holds no text files (hidden files are skipped); add files or point to another folder."
        case let .emptyCorpus(paths):
            return "The corpus \(paths.joined(separator: ", ")) holds no text; give files that are not empty."
        case let .onlySeparators(paths, separator):
            let what = separator.isEmpty ? "blank lines" : "separator lines '\(separator)'"
            return "The corpus \(paths.joined(separator: ", ")) holds only \(what) and no document; check the document separator."
        case let .jsonLineInvalid(file, line, column, reason):
            return "Line \(line) of \(file) is not valid JSON: \(reason) at byte \(column) of the line; each non-blank line of a JSON Lines file must be one JSON object."
        case let .jsonLineNotJSON(file, line):
            return "Line \(line) of \(file) is not a JSON object; each non-blank line of a JSON Lines file must be one object."
        case let .jsonLineMissingField(file, line, field):
            return "Line \(line) of \(file) has no field \"\(field)\"; check the field name or the file."
        case let .jsonLineFieldNotString(file, line, field):
            return "The field \"\(field)\" on line \(line) of \(file) is not a string; check the field name or the file."
        case let .binaryFile(file):
            return "\(file) looks binary (it holds NUL or many control bytes); give text files only."
        case let .unknownCharacter(name, file, position):
            return "The character \(name) at character \(position) of \(file) is not in the model's vocabulary; remove it or let unknown characters be skipped."
        case let .normalizationFailed(code, message):
            return "utf8proc could not normalize the text (error \(code): \(message)); check that the text is valid Unicode."
        }
    }
}

#if canImport(Foundation)
import Foundation

extension TokenizerError: LocalizedError {
    public var errorDescription: String? { description }
}
#endif
