import Foundation
import Quill

/// The model folder of a training run: the checks that can refuse it before anything is created,
/// then its creation and lock.
///
/// Order matters: `check` and `checkDiskSpace` only look, so a run they refuse leaves no folder
/// behind; `open` creates the folder, takes its lock for the whole run and only then changes
/// anything in it (`--force` removing the old run, stale temporary files removed).
struct TrainingFolder {
    let folder: ModelFolder
    let resume: Bool
    let force: Bool

    /// The files of a run that a new run would replace: model, state, log, plot and snapshots.
    var runFiles: [URL] {
        [folder.model, folder.state, folder.metrics, folder.lossPlot] + folder.snapshotSteps().map { folder.snapshot(step: $0) }
    }

    private var path: String { folder.url.path }

    /// Refuses an output path that is not a folder, lies inside a corpus folder, holds another run
    /// (without `--resume` or `--force`), or whose files are symbolic links.
    func check(corpus: [String]) throws {
        try checkIsFolderPath()
        try checkOutsideCorpus(corpus)
        let present = runFiles.filter { FileSystem.exists($0.path) }
        if !resume && !force, !present.isEmpty {
            let names = present.map(\.lastPathComponent).joined(separator: ", ")
            throw CommandError("The folder \(path) already holds a model (\(names)); add --resume to continue its run, --force to replace it, or choose another folder with --out.")
        }
        if resume, let link = runFiles.first(where: { FileSystem.isSymbolicLink($0.path) }) {
            throw CommandError("\(link.path) is a symbolic link, and Quill never writes through links into other files; replace it with the file itself, or train again with --force.")
        }
    }

    /// Refuses a run whose checkpoints (`bytes` for the model and the training state) cannot fit on the disk.
    func checkDiskSpace(checkpointBytes bytes: Double) throws {
        let existing = Self.deepestExistingAncestor(folder.url.standardizedFileURL.path)
        var info = statvfs()
        guard SystemPath.withPlatformString(existing, { statvfs($0, &info) }) == 0 else { return }
        let free = Double(info.f_bavail) * Double(info.f_frsize)
        // The new files are written beside the old ones before they replace them.
        if free < bytes {
            let room = free < 1e6 ? "is full: \(MemoryEstimate.format(free)) free" : "has only \(MemoryEstimate.format(free)) free"
            throw CommandError("The disk holding \(path) \(room) but a checkpoint needs about \(MemoryEstimate.format(bytes)); free some space or choose another folder with --out (nothing was written).")
        }
    }

    /// Creates the folder if needed, takes its lock, and prepares it for the run.
    ///
    /// - Throws: a sentence naming the process holding the lock, or why the folder cannot be made or written.
    func open() throws -> Session {
        let created = try createFolder()
        let session = Session(folder: folder, created: created)
        do {
            session.lock = try FolderLock(folder: folder.url)
            try probeWritable()
            if force {
                for url in runFiles { FileSystem.remove(url.path) }
            }
            // Temporary files of a run that was killed in the middle of a checkpoint, snapshot or plot write.
            for name in (try? FileSystem.entries(of: path)) ?? []
            where name.contains(".safetensors.tmp-") || name.hasPrefix("loss.svg.tmp-") {
                FileSystem.remove(FileSystem.join(path, name))
            }
        } catch {
            session.abandon()
            throw error
        }
        return session
    }

    /// A locked model folder; `abandon()` or `finish()` releases it.
    final class Session {
        let folder: ModelFolder
        /// Folders this run created, deepest last.
        let created: [String]
        fileprivate(set) var lock: FolderLock?

        fileprivate init(folder: ModelFolder, created: [String]) {
            self.folder = folder
            self.created = created
        }

        /// Releases the lock at the end of the run.
        func finish() { lock?.release() }

        /// Releases the lock of a refused run, and removes the folders it created if they are still empty.
        func abandon() {
            lock?.release()
            for dir in created.reversed() {
                guard (try? FileSystem.entries(of: dir))?.isEmpty == true else { break }
                FileSystem.remove(dir)
            }
        }
    }

    // MARK: Checks

    /// The path and each of its existing ancestors must be folders.
    private func checkIsFolderPath() throws {
        if let kind = FileSystem.kind(of: path) {
            guard kind == .directory else {
                throw CommandError("The output path \(path) is a file, not a folder; give --out a folder.")
            }
            return
        }
        var ancestor = (path as NSString).deletingLastPathComponent
        while !ancestor.isEmpty && ancestor != "/" {
            if let kind = FileSystem.kind(of: ancestor) {
                guard kind == .directory else {
                    throw CommandError("The model folder \(path) cannot be created because \(ancestor) is a file, not a folder; give --out a path of folders.")
                }
                return
            }
            ancestor = (ancestor as NSString).deletingLastPathComponent
        }
    }

    /// A model folder inside a corpus folder would be read as text by the next run.
    private func checkOutsideCorpus(_ corpus: [String]) throws {
        let output = Self.resolved(path)
        for item in corpus {
            guard FileSystem.kind(of: item) == .directory else { continue }
            let dir = Self.resolved(item)
            if output == dir || output.hasPrefix(dir.hasSuffix("/") ? dir : dir + "/") {
                throw CommandError("The model folder \(path) is inside the corpus folder \(item), so the next run would read the model's files as training text; choose an --out outside \(item).")
            }
        }
    }

    /// Writes and removes a small file, so a folder that cannot be written is found before training.
    private func probeWritable() throws {
        let probe = folder.url.appendingPathComponent(".quill-write-test-\(getpid())").path
        let fd = SystemPath.withPlatformString(probe) { Glibc.open($0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        var code: Int32 = 0
        if fd < 0 {
            code = errno
        } else {
            let block = [UInt8](repeating: 0x20, count: 4096)
            if block.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) != block.count || fsync(fd) != 0 {
                code = errno == 0 ? ENOSPC : errno
            }
            _ = close(fd)
            FileSystem.remove(probe)
        }
        guard code != 0 else { return }
        if code == ENOSPC || code == EDQUOT {
            throw CommandError("The disk holding \(path) is full (\(FileError.reason(code))); free some space or choose another folder with --out (nothing was written).")
        }
        throw CommandError("The model folder \(path) is not writable (\(FileError.reason(code))); check its permissions or choose another with --out.")
    }

    /// Makes the folder and its missing parents; returns the folders it made, outermost first.
    private func createFolder() throws -> [String] {
        var missing: [String] = []
        var current = folder.url.standardizedFileURL.path
        while !current.isEmpty, current != "/", FileSystem.kind(of: current) == nil {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        var created: [String] = []
        for dir in missing.reversed() {
            if SystemPath.withPlatformString(dir, { mkdir($0, 0o755) }) != 0 && errno != EEXIST {
                let code = errno
                for made in created.reversed() { FileSystem.remove(made) }
                let why: String
                switch code {
                case ENOSPC, EDQUOT: why = "the disk is full; free some space or choose another folder with --out"
                case EACCES, EPERM, EROFS: why = "\(FileError.reason(code)) in \((dir as NSString).deletingLastPathComponent); choose a folder you can write with --out"
                case ENOTDIR: why = "a part of the path is a file, not a folder; give --out a path of folders"
                default: why = "\(FileError.reason(code)); choose another folder with --out"
                }
                throw CommandError("Cannot create the model folder \(path): \(why).")
            }
            created.append(dir)
        }
        return created
    }

    // MARK: Paths

    /// The nearest ancestor of `path` (or `path` itself) that exists.
    static func deepestExistingAncestor(_ path: String) -> String {
        var current = path
        while !current.isEmpty, current != "/", FileSystem.kind(of: current) == nil {
            current = (current as NSString).deletingLastPathComponent
        }
        return current.isEmpty ? "." : current
    }

    /// `path` with its existing part resolved through links, made absolute.
    static func resolved(_ path: String) -> String {
        let absolute = SystemPath.url(path).standardizedFileURL.path
        let existing = deepestExistingAncestor(absolute)
        guard let real = SystemPath.withPlatformString(existing, { realpath($0, nil) }) else { return absolute }
        defer { free(real) }
        let rest = absolute.dropFirst(existing.count)
        return SystemPath.string(fromBytes: UnsafeBufferPointer(start: real, count: strlen(real)).lazy.map { UInt8(bitPattern: $0) }) + rest
    }
}
