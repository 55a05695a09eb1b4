import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole files with the system's reason on failure.
enum FileReader {
    /// The bytes of the file at `url`.
    static func read(_ url: URL) throws -> Data {
        let path = url.path
        func fail(_ code: Int32) -> FileError { .cannotRead(path: path, errno: code) }
        var fd: Int32
        repeat { fd = SystemPath.withPlatformString(path) { open($0, O_RDONLY | O_CLOEXEC) } } while fd == -1 && errno == EINTR
        guard fd >= 0 else { throw fail(errno) }
        defer { _ = close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail(errno) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw fail(EISDIR) }
        // A device or a pipe may never end (/dev/urandom); model files are regular files.
        if (info.st_mode & S_IFMT) != S_IFREG { throw FileError.notRegularFile(path: path) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        if info.st_size > 0 { data.reserveCapacity(Int(info.st_size)) }
        while true {
            let n = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress!, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(errno)
            }
            data.append(contentsOf: chunk[0..<n])
        }
        return data
    }
}

/// The system `read`, named apart from the methods called `read`.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
