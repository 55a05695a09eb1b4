import Foundation
import Quill
#if canImport(Glibc)
import Glibc
#endif

/// Standard output or standard error, written with `write(2)` so a failed write is an error, not a crash.
///
/// Foundation's `FileHandle.write(_:)` stops the process (`try!` inside) when a write fails, and
/// `print` drops the failure silently; Quill writes through this type instead. A failure is kept:
/// later writes to the same stream are skipped, and the command ends as `QuillCommand.main`
/// describes:
/// - **EPIPE** (the reader went away, as in `quill sample ... | head -c 10`; Quill ignores
///   SIGPIPE, so this is an error from `write` rather than a signal): no more output, no
///   message, exit status 0, since the reader chose to stop. `train` goes on training without
///   output, as its product is the model folder.
/// - **Any other failure** (`/dev/full`, a closed stream, an I/O error): one sentence on standard
///   error, if it still works, and exit status 1.
final class StandardStream {
    /// File descriptor 1.
    nonisolated(unsafe) static let output = StandardStream(descriptor: STDOUT_FILENO, name: "standard output")
    /// File descriptor 2.
    nonisolated(unsafe) static let error = StandardStream(descriptor: STDERR_FILENO, name: "standard error")

    let descriptor: Int32
    let name: String
    /// The first write that failed, if any; nothing more is written after it.
    private(set) var failure: OutputError?
    /// True when the stream was closed when Quill started (it was then pointed at /dev/null).
    private var closedAtStart = false

    private init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
    }

    /// Writes all of `text`.
    ///
    /// - Throws: `OutputError` if this or an earlier write to the stream failed.
    func write(_ text: String) throws {
        if let failure { throw failure }
        if closedAtStart { try fail(EBADF) }
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    // A stream another program made non-blocking: wait until it takes more.
                    var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&ready, 1, -1)
                    continue
                }
                try fail(errno)
            }
            done += n
        }
    }

    /// Keeps the failure and throws it.
    private func fail(_ code: Int32) throws -> Never {
        let error = OutputError(stream: name, code: code)
        failure = error
        throw error
    }

    /// Writes `text`, keeping a failure for the end of the command instead of throwing it.
    func writeKeepingFailure(_ text: String) {
        try? write(text)
    }

    /// Points standard input, output and error at /dev/null where they are closed, and remembers it.
    ///
    /// A closed descriptor 1 would otherwise be reused by the next file Quill opens (a model
    /// file, say), and progress lines would be written into it. Writing to a stream that was
    /// closed fails as `EBADF`, as it would have.
    static func guardClosedDescriptors() {
        for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let null = open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY)
            if null >= 0, null != fd {
                dup2(null, fd)
                close(null)
            }
            if fd == STDOUT_FILENO { output.closedAtStart = true }
            if fd == STDERR_FILENO { error.closedAtStart = true }
        }
    }
}

/// A write to standard output or standard error that failed.
struct OutputError: Error, CustomStringConvertible {
    /// `standard output` or `standard error`.
    var stream: String
    /// The errno of the failed write.
    var code: Int32

    /// True when the reader went away (EPIPE): Quill then stops quietly.
    var isBrokenPipe: Bool { code == EPIPE }

    var description: String {
        switch code {
        case EBADF:
            return "Cannot write to \(stream) because it is closed; run quill with its \(stream) open (to a terminal, a file or a pipe)."
        case ENOSPC, EDQUOT:
            return "Cannot write to \(stream): \(FileError.reason(code)); free some space or send the output elsewhere."
        default:
            return "Cannot write to \(stream): \(FileError.reason(code)); check where the output goes."
        }
    }
}

/// Writes one line of the command's output to standard output.
///
/// - Throws: `OutputError` if standard output cannot be written.
func writeLine(_ text: String) throws {
    try StandardStream.output.write(text + "\n")
}
