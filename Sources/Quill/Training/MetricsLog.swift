import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends one JSON object per line to the metrics log of a model folder.
///
/// The log is opened with `O_NOFOLLOW`, so a symbolic link in its place is refused instead of
/// written through, and each line goes out in one `write` (continued after a short one) to a
/// file opened for appending, and only one run writes a folder at a time, so lines are never torn.
final class MetricsLog {
    private let descriptor: Int32
    private let path: String

    init(url: URL) throws {
        path = url.path
        var fd: Int32
        repeat {
            // Opened by its bytes (see SystemPath), appending, created if absent, never through a link.
            fd = SystemPath.withPlatformString(path) { open($0, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644) }
        } while fd == -1 && errno == EINTR
        guard fd >= 0 else { throw CheckpointError.unwritable(path: path, reason: Self.reason(errno)) }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            _ = close(fd)
            throw CheckpointError.unwritable(path: path, reason: "it is not a regular file")
        }
        descriptor = fd
    }

    deinit { _ = close(descriptor) }

    /// Why a metrics write failed, in words.
    private static func reason(_ code: Int32) -> String {
        switch code {
        case ELOOP: return "it is a symbolic link, which Quill does not write through; remove it"
        case ENOSPC, EDQUOT: return "the disk is full (\(FileError.reason(code))); free some space"
        default: return FileError.reason(code)
        }
    }

    /// One line of `metrics.jsonl`; users and scripts read these keys.
    private struct Line: Encodable {
        var step: Int
        var epoch: Double?
        var train_loss: Double?
        var val_loss: Double?
        var lr: Double?
        var chars_per_s: Double?

        enum CodingKeys: String, CodingKey { case step, epoch, train_loss, val_loss, lr, chars_per_s }

        /// Every key is written, a missing value as null.
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(step, forKey: .step)
            try c.encode(epoch, forKey: .epoch)
            try c.encode(train_loss, forKey: .train_loss)
            try c.encode(val_loss, forKey: .val_loss)
            try c.encode(lr, forKey: .lr)
            try c.encode(chars_per_s, forKey: .chars_per_s)
        }
    }

    func append(step: Int, epoch: Double, trainLoss: Double?, validationLoss: Double?, learningRate: Float,
                charactersPerSecond: Double) throws {
        func number(_ x: Double?, _ digits: Int) -> Double? {
            guard let x, x.isFinite else { return nil }
            return JSONOutput.decimal(x, digits)
        }
        let line = try JSONOutput.line(Line(
            step: step, epoch: number(epoch, 4), train_loss: number(trainLoss, 5), val_loss: number(validationLoss, 5),
            lr: number(Double(learningRate), 8), chars_per_s: number(charactersPerSecond, 1))) + "\n"
        let bytes = Array(line.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointError.unwritable(path: path, reason: Self.reason(errno))
            }
            done += n
        }
    }
}
