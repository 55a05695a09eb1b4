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
    /// - Throws: `TokenizerError.missingPath`, `.unreadablePath` or `.noTextFiles`.
    public func files() throws -> [URL] {
        var result: [URL] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path.path, isDirectory: &isDirectory) else {
                throw TokenizerError.missingPath(path.path)
            }
            guard isDirectory.boolValue else { result.append(path); continue }
            guard manager.isReadableFile(atPath: path.path), manager.isExecutableFile(atPath: path.path) else {
                throw TokenizerError.unreadablePath(path.path, reason: "permission denied")
            }
            let keys: [URLResourceKey] = [.isRegularFileKey]
            guard let walker = manager.enumerator(at: path, includingPropertiesForKeys: keys, options: [.skipsHiddenFiles]) else {
                throw TokenizerError.unreadablePath(path.path, reason: "the folder cannot be listed")
            }
            var found: [URL] = []
            for case let url as URL in walker {
                if url.lastPathComponent.hasPrefix(".") { continue }
                let resolved = url.resolvingSymlinksInPath()
                if (try? resolved.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
                    found.append(url)
                }
            }
            guard !found.isEmpty else { throw TokenizerError.noTextFiles(directory: path.path) }
            result += found.sorted { $0.path < $1.path }
        }
        return result
    }
}
