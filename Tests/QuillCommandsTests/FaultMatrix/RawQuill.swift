import Foundation
import XCTest

/// Runs the `quill` binary with byte-exact arguments and chosen standard streams, via `posix_spawn`.
///
/// `Process` takes arguments as Swift strings (so a byte such as 0xFF cannot be passed) and always
/// gives the child open streams; the fault tests need both: paths that are not UTF-8, standard
/// output closed, at `/dev/full`, or a pipe whose reader has gone.
enum RawQuill {
    /// Where the child's standard output or error goes.
    enum Stream {
        /// A pipe the test reads to the end.
        case captured
        /// Closed before the program starts.
        case closed
        /// `/dev/full`: every write fails with ENOSPC.
        case full
        /// A pipe whose read end is already closed: a write raises SIGPIPE, or fails with EPIPE where it is ignored.
        case brokenPipe
    }

    struct Result {
        /// The exit status, or 128 + the signal that ended the process.
        var status: Int32
        var stdout: Data
        var stderr: String
        /// True when the run was killed for taking longer than the time allowed.
        var timedOut: Bool

        /// As `QuillBinary.Result`, for the fault-matrix assertions.
        var asResult: QuillBinary.Result {
            QuillBinary.Result(status: status, stdout: String(decoding: stdout, as: UTF8.self), stderr: stderr)
        }
    }

    /// An argument given as text.
    static func arg(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Runs `quill` with `arguments` (raw bytes each) and waits up to `timeout` seconds.
    ///
    /// The child starts with SIGPIPE at its default disposition, as from an ordinary shell.
    static func run(_ arguments: [[UInt8]], stdout: Stream = .captured, stderr: Stream = .captured,
                    timeout: Double = 120) -> Result {
        var argv: [UnsafeMutablePointer<CChar>?] = ([Array(QuillBinary.url.path.utf8)] + arguments).map { bytes in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
            p[bytes.count] = 0
            return p
        }
        argv.append(nil)
        defer { for p in argv { p?.deallocate() } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var readEnds: [Int32: Int32] = [:]  // child fd -> parent's read end
        var parentCloses: [Int32] = []
        for (fd, mode) in [(Int32(1), stdout), (Int32(2), stderr)] {
            switch mode {
            case .captured:
                var ends: [Int32] = [0, 0]
                pipe(&ends)
                posix_spawn_file_actions_adddup2(&actions, ends[1], fd)
                posix_spawn_file_actions_addclose(&actions, ends[0])
                posix_spawn_file_actions_addclose(&actions, ends[1])
                readEnds[fd] = ends[0]
                parentCloses.append(ends[1])
            case .closed:
                posix_spawn_file_actions_addclose(&actions, fd)
            case .full:
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/full", O_WRONLY, 0)
            case .brokenPipe:
                var ends: [Int32] = [0, 0]
                pipe(&ends)
                close(ends[0])  // no reader, ever
                posix_spawn_file_actions_adddup2(&actions, ends[1], fd)
                posix_spawn_file_actions_addclose(&actions, ends[1])
                parentCloses.append(ends[1])
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // An ignored signal stays ignored across exec, so the default is set explicitly; the test
        // process itself ignores SIGPIPE, so writing to a child that has gone does not end it.
        signal(SIGPIPE, SIG_IGN)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, QuillBinary.url.path, &actions, &attributes, &argv, environ)
        for fd in parentCloses { close(fd) }
        guard spawned == 0 else {
            for fd in readEnds.values { close(fd) }
            XCTFail("posix_spawn failed: \(String(cString: strerror(spawned)))")
            return Result(status: -1, stdout: Data(), stderr: "", timedOut: false)
        }

        let collected = Collected()
        let group = DispatchGroup()
        for (fd, end) in readEnds {
            group.enter()
            DispatchQueue.global().async {
                var data = Data()
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(end, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    data.append(contentsOf: buffer[0..<n])
                }
                close(end)
                collected.set(fd, data)
                group.leave()
            }
        }

        // Wait for the child, killing it if it outlives the time allowed (a hang is what some tests look for).
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        var timedOut = false
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                timedOut = true
                break
            }
            usleep(10_000)
        }
        group.wait()
        let signalled = status & 0x7F
        let exitStatus = signalled == 0 ? (status >> 8) & 0xFF : 128 + signalled
        return Result(status: exitStatus, stdout: collected.get(1),
                      stderr: String(decoding: collected.get(2), as: UTF8.self), timedOut: timedOut)
    }

    /// What the reading threads collected, by file descriptor.
    private final class Collected: @unchecked Sendable {
        private var data: [Int32: Data] = [:]
        private let lock = NSLock()
        func set(_ fd: Int32, _ value: Data) { lock.lock(); data[fd] = value; lock.unlock() }
        func get(_ fd: Int32) -> Data { lock.lock(); defer { lock.unlock() }; return data[fd] ?? Data() }
    }
}
