import Foundation

extension PreparedCorpus {
    /// Streams a corpus into a prepared folder: token-id shards and a manifest, written atomically.
    ///
    /// Two streaming passes over the files, each holding about one chunk in memory: pass 1 normalizes
    /// and collects the distinct scalars and the counts, which fix the vocabulary (code-point order
    /// needs all of them), the id width and the split; pass 2 normalizes again and writes final ids
    /// straight into shards, checksumming and fingerprinting them as they go. Normalizing twice costs
    /// CPU but no disk beyond the shards (a single pass writing provisional 32-bit ids to narrow later
    /// would need twice the shards' space again in temporary files). A file that changes between the
    /// passes is detected (its size or time, an unknown scalar, or a different count) and refused.
    ///
    /// The folder is built as `.NAME.prepare-PID` beside `folder` and renamed into place at the end,
    /// after every file and the folder are flushed, so an interrupted run leaves no folder that looks
    /// complete; leftovers of killed runs are removed by the next run.
    /// - Parameters:
    ///   - progress: called after each chunk read.
    ///   - stopRequested: polled after each chunk; true stops with `PreparedCorpusError.interrupted`.
    /// - Returns: the manifest written.
    /// - Throws: `PreparedCorpusError`, `TokenizerError` for bad text, `TrainingError.emptyValidationSplit`.
    @discardableResult
    public static func prepare(_ options: PrepareOptions, into folder: URL, progress: ((PrepareProgress) -> Void)? = nil,
                               stopRequested: @escaping () -> Bool = { false }) throws -> PreparedCorpusManifest {
        try options.validate()
        let target = folder.standardizedFileURL
        try checkOutput(target, replace: options.replace)
        let files = try options.source.files()
        let stamps = files.map(FileStamp.init)
        let totalBytes = stamps.reduce(0) { $0 + $1.size }

        // Pass 1: the distinct scalars and the counts.
        let marker = Int(DocumentStream.documentMarker)
        var seen = [Bool](repeating: false, count: marker + 1)
        var tokenCount = 0
        let first = try CorpusEncoder.scalarValues(
            options.source, options: options.textOptions, chunkSize: options.chunkSize,
            progress: { progress?(PrepareProgress(pass: 1, bytes: $0, totalBytes: totalBytes)) },
            drain: { values in
                if stopRequested() { throw PreparedCorpusError.interrupted }
                seen.withUnsafeMutableBufferPointer { s in for v in values { s[Int(v)] = true } }
                tokenCount += values.count
            })
        let documentCount = first.stream.documentCount
        let vocabulary = (0..<marker).filter { seen[$0] }.map { UInt32($0) }
        seen = []
        let validationCount = min(Int(Double(tokenCount) * options.validationFraction), options.maximumValidationTokens)
        guard validationCount >= 2 else {
            throw TrainingError.emptyValidationSplit(tokens: tokenCount, validationFraction: options.validationFraction)
        }
        let cut = tokenCount - validationCount

        // Pass 2: ids into shards in a temporary folder beside the target.
        let temporary = try makeTemporaryFolder(for: target)
        var installed = false
        defer { if !installed { ShardFolder.removeFlat(temporary) } }
        var table = [Int32](repeating: -1, count: marker + 1)
        table[marker] = Vocabulary.documentID
        for (i, value) in vocabulary.enumerated() { table[Int(value)] = Int32(i + 1) }
        let width = PreparedCorpusManifest.tokenBytes(vocabularySize: vocabulary.count + 1)
        var output = ShardOutput(folder: temporary, shardTokens: options.shardTokens, width: width)
        defer { output.abandon() }
        var fingerprint = CorpusFingerprint(vocabulary: vocabulary)
        var ids = [Int32]()
        var index = 0
        func changedFile() -> PreparedCorpusError {
            let now = files.map(FileStamp.init)
            let path = zip(stamps, now).first { $0 != $1 }?.0.path ?? options.source.paths.map(\.path).joined(separator: ", ")
            return PreparedCorpusError.corpusChanged(path: path)
        }
        do {
            _ = try CorpusEncoder.scalarValues(
                options.source, options: options.textOptions, chunkSize: options.chunkSize,
                progress: { progress?(PrepareProgress(pass: 2, bytes: $0, totalBytes: totalBytes)) },
                drain: { values in
                    if stopRequested() { throw PreparedCorpusError.interrupted }
                    guard index + values.count <= tokenCount else { throw PreparedCorpusError.corpusChanged(path: "") }
                    if ids.count < values.count { ids = [Int32](repeating: 0, count: values.count) }
                    let unknown = ids.withUnsafeMutableBufferPointer { out in
                        table.withUnsafeBufferPointer { t in
                            var any: Int32 = 0
                            for k in values.indices {
                                out[k] = t[Int(values[k])]
                                any |= out[k]
                            }
                            return any < 0
                        }
                    }
                    if unknown { throw PreparedCorpusError.corpusChanged(path: "") }
                    try ids.withUnsafeBufferPointer { all in
                        let run = UnsafeBufferPointer(rebasing: all[..<values.count])
                        // The fingerprint's parts: training tokens before the cut, then the held-out ones
                        // with a [DOC] in front when they start inside a document.
                        let before = max(0, min(run.count, cut - index))
                        fingerprint.mix(UnsafeBufferPointer(rebasing: run[..<before]))
                        if before < run.count {
                            if index + before == cut {
                                fingerprint.endTraining()
                                if run[before] != Vocabulary.documentID {
                                    [Vocabulary.documentID].withUnsafeBufferPointer { fingerprint.mix($0) }
                                }
                            }
                            fingerprint.mix(UnsafeBufferPointer(rebasing: run[before...]))
                        }
                        try output.append(run)
                    }
                    index += values.count
                })
        } catch PreparedCorpusError.corpusChanged {
            throw changedFile()
        }
        guard index == tokenCount, files.map(FileStamp.init) == stamps else { throw changedFile() }
        let shards = try output.finish()

        let manifest = PreparedCorpusManifest(
            format: PreparedCorpusManifest.formatName, version: PreparedCorpusManifest.currentVersion,
            normalization: options.textOptions.form, caseFold: options.textOptions.caseFold,
            documents: options.source.documents.manifestRecord, sources: options.source.paths.map(\.path),
            sourceBytes: first.bytes, vocabulary: vocabulary, tokenBytes: width, documentCount: documentCount,
            characterCount: tokenCount - documentCount - 1, tokenCount: tokenCount, shardTokens: options.shardTokens,
            shards: shards,
            validation: .init(start: cut, count: validationCount, fraction: options.validationFraction,
                              maxTokens: options.maximumValidationTokens),
            fingerprint: fingerprint.value)
        var writer = try ShardWriter(path: FileSystem.join(temporary, PreparedCorpusManifest.fileName))
        do {
            try manifest.encoded().withUnsafeBytes { try writer.write($0) }
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
        try ShardFolder.sync(temporary)
        if stopRequested() { throw PreparedCorpusError.interrupted }
        try install(temporary, at: target, replace: options.replace)
        installed = true
        return manifest
    }

    /// Refuses an output path that holds anything but a prepared corpus that may be replaced (or an empty folder).
    private static func checkOutput(_ target: URL, replace: Bool) throws {
        guard FileSystem.exists(target.path) else { return }
        guard FileSystem.kind(of: target.path) == .directory else { throw PreparedCorpusError.outputExists(path: target.path) }
        if (try? FileSystem.entries(of: target.path))?.isEmpty == true { return }
        guard isPrepared(target) else { throw PreparedCorpusError.outputExists(path: target.path) }
        guard replace else { throw PreparedCorpusError.alreadyPrepared(path: target.path) }
    }

    /// Creates `.NAME.prepare-PID` beside the target, first removing those of runs no longer alive.
    private static func makeTemporaryFolder(for target: URL) throws -> String {
        let parent = target.deletingLastPathComponent().path
        let prefix = "." + target.lastPathComponent + ".prepare-"
        do {
            try FileSystem.createDirectory(parent)
        } catch {
            throw PreparedCorpusError.cannotWrite(path: parent, reason: "the folder cannot be created (\(error))")
        }
        for name in (try? FileSystem.entries(of: parent)) ?? [] where name.hasPrefix(prefix) {
            if let pid = Int32(name.dropFirst(prefix.count)), !ShardFolder.processIsAlive(pid) || pid == getpid() {
                ShardFolder.removeFlat(FileSystem.join(parent, name))
            }
        }
        let path = FileSystem.join(parent, prefix + String(getpid()))
        guard SystemPath.withPlatformString(path, { mkdir($0, 0o755) }) == 0 else {
            throw PreparedCorpusError.cannotWrite(path: path, reason: "the temporary folder cannot be created: \(FileError.reason(errno))")
        }
        return path
    }

    /// Renames the finished temporary folder to the target, moving a prepared corpus it replaces out of the way first.
    private static func install(_ temporary: String, at target: URL, replace: Bool) throws {
        let parent = target.deletingLastPathComponent().path
        var old: String?
        if FileSystem.exists(target.path) {
            try checkOutput(target, replace: replace)
            let aside = FileSystem.join(parent, "." + target.lastPathComponent + ".replaced-" + String(getpid()))
            ShardFolder.removeFlat(aside)
            try ShardFolder.rename(target.path, to: aside)
            old = aside
        }
        do {
            try ShardFolder.rename(temporary, to: target.path)
        } catch {
            if let old { try? ShardFolder.rename(old, to: target.path) }
            throw error
        }
        try ShardFolder.sync(parent)
        if let old { ShardFolder.removeFlat(old) }
    }
}

/// A corpus file's path, size and modification time, to notice a change between the passes.
private struct FileStamp: Equatable {
    var path: String
    var size: Int
    var modified: [Int]

    init(_ url: URL) {
        path = url.path
        let stamp = ShardFolder.stamp(url.path)
        size = stamp?.size ?? 0
        modified = stamp.map { [$0.modified, $0.nanoseconds] } ?? []
    }
}
