import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system path kept byte for byte in a Swift `String`, so paths that are not UTF-8 still work.
///
/// POSIX paths are bytes, while Swift strings (and swift-argument-parser, and Foundation's
/// `FileManager`) hold Unicode text: `CommandLine.arguments` and `FileManager` replace bytes
/// that are not UTF-8 with U+FFFD, so a file named `caf\xE9.txt` (Latin-1) would be reported
/// as missing, or a new file would be written under another name. Quill keeps such bytes the
/// way Python's `surrogateescape` does, adapted to Swift, whose strings cannot hold lone
/// surrogates:
///
/// - **Decoding** (`string(fromBytes:)`, used on `argv`, `getcwd` and folder listings): valid
///   UTF-8 becomes its scalars; each byte that is not part of valid UTF-8 becomes one scalar of
///   the private-use range U+10FF80...U+10FFFF (byte `b` becomes U+10FF00 + `b`; only bytes
///   0x80...0xFF can be invalid). A scalar of that range that a name really holds, as valid
///   UTF-8, is kept as its four bytes the same way, so the mapping is one-to-one.
/// - **Encoding** (`bytes(of:)`, `withPlatformString(_:_:)`, used at every system call that
///   takes a path): each scalar of the range becomes its byte again and every other scalar its
///   UTF-8, so the system sees exactly the bytes the user gave.
/// - **Showing** (`display(_:)`): each such byte is written `\xFF`, and control characters
///   are escaped (`\n`, `\x1B`), so a name cannot send terminal escape sequences or fake lines.
///
/// Foundation's `URL(fileURLWithPath:)` keeps these strings unchanged (`url.path` gives them back),
/// so a `URL` may carry one; but `FileManager` and `FileHandle` must not be given one, since they
/// encode it as UTF-8: open, list and test such paths through `withPlatformString` or `FileSystem`.
public enum SystemPath {
    /// The scalar that stands for byte 0x00 (never used: only bytes 0x80...0xFF are escaped).
    static let escapeBase: UInt32 = 0x10FF00
    /// The scalars that stand for raw bytes: U+10FF80...U+10FFFF.
    static let escapeRange: ClosedRange<UInt32> = 0x10FF80...0x10FFFF

    /// The path string of `bytes`: valid UTF-8 as text, every other byte as its escape scalar.
    public static func string<C: Collection>(fromBytes bytes: C) -> String where C.Element == UInt8 {
        let all = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var iterator = all.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var position = 0  // bytes the parser has consumed
        func escape(_ count: Int) {
            for b in all[position..<(position + count)] { scalars.append(Unicode.Scalar(escapeBase + UInt32(b))!) }
        }
        loop: while true {
            switch parser.parseScalar(from: &iterator) {
            case let .valid(encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if escapeRange.contains(scalar.value) { escape(encoded.count) } else { scalars.append(scalar) }
                position += encoded.count
            case let .error(length):
                escape(length)
                position += length
            case .emptyInput:
                break loop
            }
        }
        return String(scalars)
    }

    /// The exact bytes `path` stands for (no terminating NUL).
    public static func bytes(of path: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(path.utf8.count)
        for scalar in path.unicodeScalars {
            if escapeRange.contains(scalar.value) {
                out.append(UInt8(scalar.value - escapeBase))
            } else {
                out.append(contentsOf: UTF8.encode(scalar)!)
            }
        }
        return out
    }

    /// Whether `path` holds bytes that are not UTF-8 (so it cannot be shown or used as text as it is).
    public static func holdsRawBytes(_ path: String) -> Bool {
        path.unicodeScalars.contains { escapeRange.contains($0.value) }
    }

    /// The text an argument stands for, or nil if its bytes are not valid UTF-8.
    ///
    /// Text arguments (a prompt, a separator) come through the same decoding as paths; this undoes it.
    public static func text(of argument: String) -> String? {
        guard holdsRawBytes(argument) else { return argument }
        return String(validating: bytes(of: argument), as: UTF8.self)
    }

    /// Calls `body` with `path` as the NUL-terminated bytes a system call takes.
    public static func withPlatformString<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var raw = bytes(of: path)
        raw.append(0)
        return try raw.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    /// `path` as it may be shown: raw bytes as `\xFF`, control characters escaped, the rest as it is.
    public static func display(_ path: String) -> String {
        SafeText.escaping(path, keepLineBreaks: false)
    }

    /// The current directory as a path string, bytes kept (Foundation's is decoded lossily).
    public static func currentDirectory() -> String {
        var size = 4096
        while size <= 1 << 20 {
            var buffer = [CChar](repeating: 0, count: size)
            if getcwd(&buffer, size) != nil {
                let length = buffer.firstIndex(of: 0) ?? buffer.count
                return string(fromBytes: buffer[..<length].map { UInt8(bitPattern: $0) })
            }
            if errno != ERANGE { break }
            size *= 2
        }
        return FileManager.default.currentDirectoryPath
    }

    /// A file URL for a path given by a user: absolute paths as they are, relative ones under the current directory.
    public static func url(_ path: String) -> URL {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: currentDirectory(), isDirectory: true))
            .absoluteURL
    }
}
