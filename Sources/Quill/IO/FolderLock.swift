import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock on a folder, held through `flock` on a lock file inside it for as
/// long as the value lives (or until `release()`), so two processes never write one model folder.
///
/// The lock file holds the holder's process id as decimal text, so a refused process can name
/// it. The lock is the kernel's: it ends with the process, however the process ends, so a
/// killed run never leaves a stale lock. The lock file is opened with `O_NOFOLLOW`, so a
/// symbolic link planted in its place is refused rather than followed.
public final class FolderLock {
    /// The name of the lock file inside a locked folder.
    public static let fileName = ".quill.lock"

    /// The lock file's path.
    public let path: String
    private var descriptor: Int32

    /// Takes the lock on `folder`, which must exist, without waiting.
    ///
    /// - Throws: `FolderLockError.held` naming the holder's process id when another process holds it,
    ///   `.cannotLock` when the lock file cannot be created or locked.
    public init(folder: URL) throws {
        path = folder.appendingPathComponent(Self.fileName).path
        while true {
            var fd: Int32
            repeat {
                fd = SystemPath.withPlatformString(path) { open($0, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644) }
            } while fd == -1 && errno == EINTR
            guard fd >= 0 else { throw FolderLockError.cannotLock(path: path, errno: errno) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                let holder = Self.readHolder(fd)
                _ = close(fd)
                if code == EWOULDBLOCK || code == EAGAIN { throw FolderLockError.held(path: path, pid: holder) }
                throw FolderLockError.cannotLock(path: path, errno: code)
            }
            // The holder before us may have removed the file between our open and our lock:
            // then we hold a lock on a file no one else can see, so start again.
            var opened = stat(), named = stat()
            if fstat(fd, &opened) == 0, SystemPath.withPlatformString(path, { lstat($0, &named) }) == 0,
               opened.st_dev == named.st_dev, opened.st_ino == named.st_ino {
                descriptor = fd
                break
            }
            _ = close(fd)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress!, $0.count, 0) }
    }

    deinit { release() }

    /// Removes the lock file and drops the lock; later calls do nothing.
    ///
    /// The file is removed while still locked, so a process that opened it meanwhile sees, once
    /// it gets the lock, that the file is gone, and starts over.
    public func release() {
        guard descriptor >= 0 else { return }
        _ = SystemPath.withPlatformString(path) { unlink($0) }
        _ = close(descriptor)
        descriptor = -1
    }

    /// The process id written in an open lock file, if it holds one.
    private static func readHolder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text)
    }
}

/// A folder that another process is writing, or whose lock cannot be taken.
public enum FolderLockError: Error, Equatable, CustomStringConvertible {
    /// `pid` is nil when the holder had not yet written its process id.
    case held(path: String, pid: Int32?)
    case cannotLock(path: String, errno: Int32)

    public var description: String {
        switch self {
        case let .held(path, pid):
            let folder = (path as NSString).deletingLastPathComponent
            let who = pid.map { "process \($0)" } ?? "another process"
            return "The model folder \(folder) is in use by \(who), which holds its lock \(path); wait for that run to end, or choose another folder."
        case let .cannotLock(path, code):
            if code == ELOOP {
                return "Cannot lock \(path): it is a symbolic link, which Quill does not follow; remove it and try again."
            }
            return "Cannot lock \(path): \(FileError.reason(code)); check that the folder is writable."
        }
    }
}
