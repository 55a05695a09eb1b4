import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A shard file of a prepared corpus, open for reads at byte offsets (`pread`), so nothing is mapped or cached in the process.
final class ShardReader: Sendable {
    let path: String
    private let descriptor: Int32
    /// The file's size in bytes when it was opened.
    let size: Int

    /// - Throws: `PreparedCorpusError.unreadableShard` when the file is missing, unreadable or not a regular file.
    init(path: String) throws {
        self.path = path
        var fd: Int32
        repeat { fd = SystemPath.withPlatformString(path) { open($0, O_RDONLY | O_CLOEXEC) } } while fd == -1 && errno == EINTR
        guard fd >= 0 else { throw PreparedCorpusError.unreadableShard(path: path, reason: FileError.reason(errno)) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            _ = close(fd)
            throw PreparedCorpusError.unreadableShard(path: path, reason: "it is not a regular file")
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { _ = close(descriptor) }

    /// Fills `buffer` with the bytes from `offset` on.
    /// - Throws: `PreparedCorpusError.unreadableShard` on a read error or when the file ends first (it shrank).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            let reason = n == 0 ? "it has shrunk: reading \(buffer.count) bytes at offset \(offset) came up short" : FileError.reason(errno)
            throw PreparedCorpusError.unreadableShard(path: path, reason: reason)
        }
    }

    /// Tells the kernel that the pages read so far need not stay in its cache (a hint; errors are ignored).
    func releaseCache() {
        #if os(Linux)
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
        #endif
    }
}

/// A new file written front to back, then flushed to disk and closed.
struct ShardWriter {
    let path: String
    private var descriptor: Int32

    /// Creates the file; it must not exist yet.
    /// - Throws: `PreparedCorpusError.cannotWrite`.
    init(path: String) throws {
        self.path = path
        var fd: Int32
        repeat {
            fd = SystemPath.withPlatformString(path) { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
        } while fd == -1 && errno == EINTR
        guard fd >= 0 else { throw PreparedCorpusError.cannotWrite(path: path, reason: FileError.reason(errno)) }
        descriptor = fd
    }

    /// Writes all of `bytes`, continuing after short writes.
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = systemWrite(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw PreparedCorpusError.cannotWrite(path: path, reason: FileError.reason(n < 0 ? errno : EIO))
        }
    }

    /// Flushes the file to disk and closes it.
    mutating func finish() throws {
        defer { descriptor = -1 }
        guard fsync(descriptor) == 0 else {
            let code = errno
            _ = close(descriptor)
            throw PreparedCorpusError.cannotWrite(path: path, reason: FileError.reason(code))
        }
        guard close(descriptor) == 0 else { throw PreparedCorpusError.cannotWrite(path: path, reason: FileError.reason(errno)) }
    }

    /// Closes the file without flushing, after a failure.
    mutating func abandon() {
        if descriptor >= 0 { _ = close(descriptor) }
        descriptor = -1
    }
}

/// Folder operations of `prepare`: renames and flushes that make a finished folder appear whole or not at all.
enum ShardFolder {
    /// Renames `from` to `to` (atomic within a file system).
    static func rename(_ from: String, to: String) throws {
        let done = SystemPath.withPlatformString(from) { old in SystemPath.withPlatformString(to) { new in systemRename(old, new) } }
        guard done == 0 else {
            throw PreparedCorpusError.cannotWrite(path: to, reason: "renaming \(from) failed: \(FileError.reason(errno))")
        }
    }

    /// Flushes a folder's entries to disk; file systems that cannot sync folders are let be.
    static func sync(_ path: String) throws {
        let fd = SystemPath.withPlatformString(path) { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw PreparedCorpusError.cannotWrite(path: path, reason: FileError.reason(errno)) }
        defer { _ = close(fd) }
        if fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP {
            throw PreparedCorpusError.cannotWrite(path: path, reason: FileError.reason(errno))
        }
    }

    /// Removes a flat folder (a prepared corpus or the temporary folder of one) and the files in it.
    static func removeFlat(_ path: String) {
        for name in (try? FileSystem.entries(of: path)) ?? [] { FileSystem.remove(FileSystem.join(path, name)) }
        FileSystem.remove(path)
    }

    /// The size and modification time of a file, to notice that it changed.
    static func stamp(_ path: String) -> (size: Int, modified: Int, nanoseconds: Int)? {
        var info = stat()
        guard SystemPath.withPlatformString(path, { stat($0, &info) }) == 0 else { return nil }
        return (Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec))
    }

    /// Whether a process with this id is running (so its temporary folder is still in use).
    static func processIsAlive(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }
}

/// The system `write`, named apart from the methods called `write`.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }

/// The system `rename`, named apart from the methods called `rename`.
private func systemRename(_ from: UnsafePointer<CChar>, _ to: UnsafePointer<CChar>) -> Int32 { rename(from, to) }
