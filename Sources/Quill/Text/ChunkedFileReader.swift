import Foundation

/// Reads a file in fixed-size chunks, dropping a leading UTF-8 byte-order mark and rejecting binary files.
enum ChunkedFileReader {
    /// Calls `body` with each chunk of the file and the file offset of its first byte; returns the file's size in bytes.
    /// - Throws: `TokenizerError.unreadablePath` or `.binaryFile`, or what `body` throws.
    static func forEachChunk(of url: URL, chunkSize: Int,
                             _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws -> Int {
        let chunkSize = max(chunkSize, 4)  // room for a byte-order mark in the first chunk
        var fd: Int32
        repeat {
            fd = SystemPath.withPlatformString(url.path) { open($0, O_RDONLY | O_CLOEXEC) }
        } while fd == -1 && errno == EINTR
        guard fd >= 0 else {
            let code = errno
            let reason = code == EACCES ? "permission denied" : "it cannot be opened: \(FileError.reason(code))"
            throw TokenizerError.unreadablePath(url.path, reason: reason)
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var offset = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TokenizerError.unreadablePath(url.path, reason: "reading failed: \(FileError.reason(errno))")
            }
            let data = Data(buffer[0..<count])
            guard !data.isEmpty else { break }
            try data.withUnsafeBytes { raw in
                let all = raw.bindMemory(to: UInt8.self)
                if memchr(raw.baseAddress!, 0, raw.count) != nil { throw TokenizerError.binaryFile(file: url.path) }
                var start = 0
                if offset == 0 {
                    if looksBinary(all) { throw TokenizerError.binaryFile(file: url.path) }
                    if all.count >= 3 && all[0] == 0xEF && all[1] == 0xBB && all[2] == 0xBF { start = 3 }
                }
                try body(UnsafeBufferPointer(rebasing: all[start...]), offset + start)
            }
            offset += data.count
        }
        return offset
    }

    /// Whether the start of a file has so many control bytes (other than tab, line breaks, form feed and escape) that it is not text.
    static func looksBinary(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let head = bytes.prefix(8192)
        guard !head.isEmpty else { return false }
        var control = 0
        for b in head where (b < 0x20 && b != 0x09 && b != 0x0A && b != 0x0D && b != 0x0C && b != 0x1B) || b == 0x7F {
            control += 1
        }
        return control * 10 > head.count
    }
}
