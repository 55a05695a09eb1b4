import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe file replacement: write a temporary file beside the target, flush it, rename it over the target.
///
/// The bytes go to `<target>.tmp-<pid>` in the same folder; the file is written fully,
/// `fsync`ed, renamed over the target (atomic on POSIX file systems), and the folder is
/// `fsync`ed so the rename itself survives a power cut. On any failure before the rename
/// (a full disk included) the temporary file is removed and the old target is untouched.
/// If the target is a symbolic link, the link itself is replaced: nothing is written through a link.
public enum AtomicFile {
    /// Replaces the file at `url` with `data`.
    ///
    /// - Throws: `FileError.cannotWrite` naming the path, the step and the system's reason.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { sink in try sink.write(data) }
    }

    /// Replaces the file at `url` with what `body` writes into the sink, without holding it all in memory.
    ///
    /// If `body` throws, the temporary file is removed, the target is untouched, and the error is rethrown.
    public static func write(to url: URL, _ body: (inout AtomicFileSink) throws -> Void) throws {
        let target = url.path
        let temporary = target + ".tmp-\(getpid())"
        let folder = url.deletingLastPathComponent().path

        // A fresh file, never one reached through a link planted at the temporary name.
        _ = SystemPath.withPlatformString(temporary) { unlink($0) }
        let fd = try call(.open, path: temporary) {
            SystemPath.withPlatformString(temporary) { open($0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) }
        }
        var closed = false
        var renamed = false
        defer {
            if !closed { _ = close(fd) }
            if !renamed { _ = SystemPath.withPlatformString(temporary) { unlink($0) } }
        }
        // Keep the permissions of the file being replaced.
        var old = stat()
        if SystemPath.withPlatformString(target, { stat($0, &old) }) == 0, (old.st_mode & S_IFMT) == S_IFREG {
            _ = fchmod(fd, old.st_mode & 0o7777)
        }
        var sink = AtomicFileSink(descriptor: fd, path: temporary)
        #if DEBUG
        if let name = ProcessInfo.processInfo.environment[injectedFullDiskVariable], url.lastPathComponent == name {
            throw FileError.cannotWrite(path: temporary, step: Step.write.rawValue, errno: ENOSPC)
        }
        #endif
        try body(&sink)
        _ = try call(.sync, path: temporary) { fsync(fd) }
        closed = true
        _ = try call(.close, path: temporary) { close(fd) }
        _ = try call(.rename, path: target) {
            SystemPath.withPlatformString(temporary) { from in SystemPath.withPlatformString(target) { rename(from, $0) } }
        }
        renamed = true
        try syncFolder(folder)
    }

    /// Flushes a folder's entries (the rename) to disk; file systems that cannot sync folders are let be.
    private static func syncFolder(_ folder: String) throws {
        let fd = try call(.syncFolder, path: folder) { SystemPath.withPlatformString(folder) { open($0, O_RDONLY | O_CLOEXEC) } }
        defer { _ = close(fd) }
        do {
            _ = try call(.syncFolder, path: folder) { fsync(fd) }
        } catch let FileError.cannotWrite(_, _, code) where code == EINVAL || code == ENOTSUP {
            return
        }
    }

    /// One step of an atomic write, named in errors and used by the failure hook in tests.
    enum Step: String {
        case open = "create the temporary file"
        case write = "write to the temporary file"
        case sync = "flush the temporary file to disk"
        case close = "close the temporary file"
        case rename = "rename the temporary file over"
        case syncFolder = "flush the folder"
    }

    /// Debug builds only: writing a file of this name (such as `training-state.safetensors`) fails
    /// as on a full disk, so the end-to-end tests can fail one save of a real run.
    static let injectedFullDiskVariable = "QUILL_TEST_FULL_DISK_FOR"

    /// Test hook: called before each step; returning an errno makes that step fail with it.
    nonisolated(unsafe) static var failureHook: ((Step) -> Int32?)?

    /// Runs a system call that returns -1 on failure (retrying on EINTR) and turns a failure into a `FileError`.
    @discardableResult
    static func call<T: BinaryInteger>(_ step: Step, path: String, _ body: () -> T) throws -> T {
        if let code = failureHook?(step) {
            throw FileError.cannotWrite(path: path, step: step.rawValue, errno: code)
        }
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw FileError.cannotWrite(path: path, step: step.rawValue, errno: code)
        }
    }
}

/// The open temporary file of an atomic write; each `write` writes all of its bytes or throws.
public struct AtomicFileSink {
    let descriptor: Int32
    let path: String

    /// Writes all of `bytes`, continuing after short writes.
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let chunk = min(bytes.count - done, 1 << 30)
            let n = try AtomicFile.call(.write, path: path) {
                posixWrite(descriptor, bytes.baseAddress! + done, chunk)
            }
            done += n
        }
    }

    /// Writes all of `data`.
    public mutating func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }
}

/// A file that could not be read or written; the description names the path and the system's reason.
public enum FileError: Error, Equatable, CustomStringConvertible {
    case cannotRead(path: String, errno: Int32)
    /// A device, a pipe or a socket where a regular file was expected.
    case notRegularFile(path: String)
    /// `step` says what was being done, such as `write to the temporary file`.
    case cannotWrite(path: String, step: String, errno: Int32)
    /// A folder (or one of its parents, `path`) could not be made.
    case cannotCreateFolder(path: String, errno: Int32)

    /// The system's text for an errno value, such as `No space left on device`.
    public static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }

    public var description: String {
        switch self {
        case let .cannotRead(path, code):
            return "Cannot read \(path): \(Self.reason(code)); check the path and its permissions."
        case let .cannotCreateFolder(path, code):
            if code == ENOTDIR {
                return "Cannot create the folder \(path) because a file of that name is in the way; remove it or choose another path."
            }
            let hint = code == ENOSPC || code == EDQUOT ? "free some space" : "check the path and its permissions"
            return "Cannot create the folder \(path): \(Self.reason(code)); \(hint)."
        case let .notRegularFile(path):
            return "\(path) is not a regular file (a device, pipe or socket); give the path of a file."
        case let .cannotWrite(path, step, code):
            if step == AtomicFile.Step.syncFolder.rawValue {
                return "Cannot \(step) \(path): \(Self.reason(code)); the new file is in place but may not survive a power cut, so check the disk."
            }
            let hint = code == ENOSPC || code == EDQUOT ? "free some space" : "check the folder exists and is writable"
            return "Cannot \(step) \(path): \(Self.reason(code)); \(hint) and try again (any previous file there is unchanged)."
        }
    }
}

/// The system `write`, named apart from the methods called `write`.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
