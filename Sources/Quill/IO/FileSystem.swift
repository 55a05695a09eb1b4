import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system queries and changes by path string, byte-exact for paths that are not UTF-8.
///
/// Use these instead of `FileManager` for any path that came from a user or a folder listing:
/// each goes through `SystemPath.withPlatformString`, so the system sees the path's own bytes.
public enum FileSystem {
    /// What a path names, after following symbolic links.
    public enum Kind: Equatable, Sendable {
        case regular
        case directory
        /// A device, pipe, socket or other special file.
        case other
    }

    /// What `path` names (following links), or nil if nothing is there (or it cannot be reached).
    public static func kind(of path: String) -> Kind? {
        var info = stat()
        let found = SystemPath.withPlatformString(path) { stat($0, &info) } == 0
        guard found else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// Whether anything is at `path`, a dangling symbolic link included.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return SystemPath.withPlatformString(path) { lstat($0, &info) } == 0
    }

    /// Whether `path` names a symbolic link.
    public static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        guard SystemPath.withPlatformString(path, { lstat($0, &info) }) == 0 else { return false }
        return info.st_mode & S_IFMT == S_IFLNK
    }

    /// The size in bytes of the file at `path`, or nil if it cannot be found.
    public static func size(of path: String) -> Int? {
        var info = stat()
        guard SystemPath.withPlatformString(path, { stat($0, &info) }) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// Whether the process may do `mode` (`R_OK`, `W_OK`, `X_OK`, combined) at `path`.
    public static func isAccessible(_ path: String, _ mode: Int32) -> Bool {
        SystemPath.withPlatformString(path) { access($0, mode) } == 0
    }

    /// The names in a folder (without `.` and `..`), bytes kept, in the order the system gives.
    ///
    /// - Throws: `FileError.cannotRead` with the system's reason.
    public static func entries(of folder: String) throws -> [String] {
        guard let stream = SystemPath.withPlatformString(folder, { opendir($0) }) else {
            throw FileError.cannotRead(path: folder, errno: errno)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw FileError.cannotRead(path: folder, errno: errno) }
                break
            }
            let name: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(SystemPath.string(fromBytes: name))
        }
        return names
    }

    /// `folder` and `name` joined with one `/`.
    public static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// Creates a folder and any missing parents; a folder already there is fine.
    ///
    /// - Throws: `FileError.cannotCreateFolder` naming the part that could not be made, with the system's reason.
    public static func createDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            if kind(of: prefix) == .directory { continue }
            if SystemPath.withPlatformString(prefix, { mkdir($0, 0o755) }) != 0 {
                let code = errno
                if code == EEXIST, kind(of: prefix) == .directory { continue }
                throw FileError.cannotCreateFolder(path: prefix, errno: code == EEXIST ? ENOTDIR : code)
            }
        }
    }

    /// Removes a file, a symbolic link or an empty folder; returns whether something was removed.
    @discardableResult
    public static func remove(_ path: String) -> Bool {
        SystemPath.withPlatformString(path) { unlink($0) == 0 || rmdir($0) == 0 }
    }

    /// Creates `path` (or truncates it) holding `bytes`; returns whether it worked.
    @discardableResult
    public static func createFile(_ path: String, bytes: [UInt8] = []) -> Bool {
        let fd = SystemPath.withPlatformString(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return bytes.withUnsafeBytes { raw in
            raw.isEmpty || write(fd, raw.baseAddress, raw.count) == raw.count
        }
    }
}
