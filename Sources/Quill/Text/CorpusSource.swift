import Foundation

/// How the files of a corpus are cut into documents.
public enum DocumentSplitting: Equatable, Hashable, Sendable {
    /// Each file is one document.
    case wholeFiles
    /// Files are split at lines equal to this one (the line break and a trailing carriage return aside);
    /// runs of separator lines count once and empty documents are dropped. The empty string means
    /// runs of blank (empty or whitespace-only) lines separate documents.
    case separatorLine(String)
    /// Each non-blank line is a JSON object whose string field `field` is one document.
    case jsonLines(field: String)
}

/// The files of a corpus and how they are cut into documents.
public struct CorpusSource: Equatable, Hashable, Sendable {
    /// Files or folders, read in the order given; a folder gives its regular files recursively in sorted path order, hidden ones skipped.
    public var paths: [URL]
    /// How files become documents.
    public var documents: DocumentSplitting

    public init(paths: [URL], documents: DocumentSplitting = .wholeFiles) {
        self.paths = paths
        self.documents = documents
    }

    /// The files to read, in order, after expanding folders.
    ///
    /// Names are listed as bytes (see `SystemPath`), so a file whose name is not valid UTF-8 is
    /// read like any other; a subfolder that cannot be listed is an error, never skipped.
    /// - Throws: `TokenizerError.missingPath`, `.unreadablePath` or `.noTextFiles`.
    public func files() throws -> [URL] {
        var result: [URL] = []
        for url in paths {
            let path = url.path
            guard FileSystem.exists(path) else { throw TokenizerError.missingPath(path) }
            guard FileSystem.kind(of: path) == .directory else { result.append(url); continue }
            var found: [String] = []
            try Self.collect(folder: path, into: &found)
            guard !found.isEmpty else { throw TokenizerError.noTextFiles(directory: path) }
            result += found.sorted().map { URL(fileURLWithPath: $0) }
        }
        return result
    }

    /// Adds the regular files under `folder` (links to regular files included, hidden names skipped) to `found`.
    private static func collect(folder: String, into found: inout [String]) throws {
        guard FileSystem.isAccessible(folder, R_OK | X_OK) else {
            throw TokenizerError.unreadablePath(folder, reason: "permission denied")
        }
        let names: [String]
        do {
            names = try FileSystem.entries(of: folder)
        } catch let FileError.cannotRead(_, code) {
            throw TokenizerError.unreadablePath(folder, reason: "the folder cannot be listed: \(FileError.reason(code))")
        }
        for name in names where !name.hasPrefix(".") {
            let path = FileSystem.join(folder, name)
            if FileSystem.isSymbolicLink(path) {
                // A link is read when it leads to a regular file; links to folders are not followed.
                if FileSystem.kind(of: path) == .regular { found.append(path) }
                continue
            }
            switch FileSystem.kind(of: path) {
            case .regular: found.append(path)
            case .directory: try collect(folder: path, into: &found)
            default: continue
            }
        }
    }
}
