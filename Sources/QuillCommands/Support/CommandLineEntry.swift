import ArgumentParser
import Foundation
import Quill

extension QuillCommand {
    /// Runs `quill` with the process's arguments and exits; every outcome is a status and at most a sentence.
    ///
    /// This replaces swift-argument-parser's `main()`, which reads `CommandLine.arguments`
    /// (undecodable bytes replaced with U+FFFD) and prints with `print` (failures dropped):
    /// - The arguments are read from `CommandLine.unsafeArgv` and decoded by
    ///   `SystemPath.string(fromBytes:)`, so a path that is not UTF-8 reaches the file system
    ///   with its own bytes.
    /// - Help, the version and every message go through `StandardStream`; a message is escaped
    ///   with `SafeText` first, so a file name or file contents echoed in it cannot steer the terminal.
    /// - SIGPIPE is ignored, so a reader that goes away (`quill sample ... | head`) is an EPIPE
    ///   that `StandardStream` handles.
    /// - Exit status: 0 on success (and when the reader of the output went away, EPIPE); 1 when
    ///   standard output or standard error could not be written; otherwise the command's status
    ///   (1 for a user error, 64 for a usage error).
    public static func main() -> Never {
        StandardStream.guardClosedDescriptors()
        // A reader that goes away is an EPIPE from write(2), which ends the command quietly
        // (status 0), rather than a SIGPIPE that kills it (status 141) in the middle of its work.
        signal(SIGPIPE, SIG_IGN)
        let arguments = (1..<Int(CommandLine.argc)).map { i -> String in
            guard let raw = CommandLine.unsafeArgv[i] else { return "" }
            return SystemPath.string(fromBytes: UnsafeBufferPointer(start: raw, count: strlen(raw)).lazy.map { UInt8(bitPattern: $0) })
        }
        var status: Int32 = 0
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            status = report(error)
        }
        Foundation.exit(finish(status))
    }

    /// Writes what an error means to the user and returns the exit status it calls for.
    static func report(_ error: Error) -> Int32 {
        if let failure = error as? OutputError {
            return reportOutputFailure(failure)
        }
        let code = exitCode(for: error).rawValue
        let text = fullMessage(for: error)
        guard !text.isEmpty else { return code }
        if code == ExitCode.success.rawValue {
            // Help and the version: the output asked for.
            do {
                try StandardStream.output.write(text + "\n")
            } catch let failure as OutputError {
                return reportOutputFailure(failure)
            } catch {
                return 1
            }
            return code
        }
        // A usage error carries the usage lines; any other message is one sentence, so a line
        // break in it comes from a name or a file and is escaped like other control characters.
        let isUsage = code == ExitCode.validationFailure.rawValue
        StandardStream.error.writeKeepingFailure(SafeText.escaping(text, keepLineBreaks: isUsage) + "\n")
        return code
    }

    /// A failed write to standard output or error: quiet for EPIPE, else a sentence and status 1.
    private static func reportOutputFailure(_ failure: OutputError) -> Int32 {
        if failure.isBrokenPipe { return 0 }
        StandardStream.error.writeKeepingFailure("Error: \(failure.description)\n")
        return 1
    }

    /// The final status: a write that failed along the way (and was kept) turns success into failure.
    private static func finish(_ status: Int32) -> Int32 {
        // Text written with print() elsewhere sits in stdio's buffer; flush it and check.
        if fflush(stdout) != 0 || ferror(stdout) != 0 {
            let code = errno == 0 ? EIO : errno
            if StandardStream.output.failure == nil, status == 0 {
                return reportOutputFailure(OutputError(stream: "standard output", code: code))
            }
        }
        for stream in [StandardStream.output, StandardStream.error] {
            guard let failure = stream.failure, !failure.isBrokenPipe else { continue }
            if status == 0 {
                StandardStream.error.writeKeepingFailure("Error: \(failure.description)\n")
                return 1
            }
        }
        return status
    }
}
