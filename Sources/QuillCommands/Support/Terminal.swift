import Foundation
import Quill

/// Writes progress and messages: a live line on a terminal, plain lines otherwise.
///
/// Text is escaped with `SafeText` (so a path or a file's contents cannot steer the terminal) and
/// written through `StandardStream`; a failed write is kept, not thrown, so long work such as
/// training goes on, and `check()` or the end of the command reports it.
final class Terminal {
    /// Whether standard output is a terminal (a live line is drawn only then).
    let isInteractive: Bool
    private var liveLineLength = 0

    init(interactive: Bool? = nil) {
        isInteractive = interactive ?? (isatty(STDOUT_FILENO) == 1)
    }

    /// Replaces the live line on a terminal; does nothing when output is not a terminal.
    func live(_ text: String) {
        guard isInteractive else { return }
        let width = Terminal.columns()
        var line = SafeText.escaping(text, keepLineBreaks: false)
        if line.count > width - 1 { line = String(line.prefix(width - 1)) }
        let pad = max(0, liveLineLength - line.count)
        StandardStream.output.writeKeepingFailure("\r" + line + String(repeating: " ", count: pad))
        liveLineLength = line.count
    }

    /// Prints a whole line to standard output, clearing the live line first; a line break inside `text` is escaped.
    func line(_ text: String) {
        clearLive()
        StandardStream.output.writeKeepingFailure(SafeText.escaping(text, keepLineBreaks: false) + "\n")
    }

    /// Prints text of several lines (such as a generated sample), control characters other than line breaks escaped.
    func lines(_ text: String) {
        clearLive()
        StandardStream.output.writeKeepingFailure(SafeText.escaping(text, keepLineBreaks: true) + "\n")
    }

    /// Prints a warning sentence to standard error.
    func warn(_ text: String) {
        clearLive()
        StandardStream.error.writeKeepingFailure("warning: " + SafeText.escaping(text, keepLineBreaks: false) + "\n")
    }

    /// Ends the live line so the next output starts on a new line.
    func clearLive() {
        guard isInteractive, liveLineLength > 0 else { return }
        StandardStream.output.writeKeepingFailure("\r" + String(repeating: " ", count: liveLineLength) + "\r")
        liveLineLength = 0
    }

    /// Throws the failure of an earlier write to standard output, unless the reader just went away.
    ///
    /// A command calls this before it starts lasting work, so output that cannot be written
    /// (closed, `/dev/full`) refuses the run early; once the reader of a pipe has gone (EPIPE)
    /// the work goes on without output.
    func check() throws {
        if let failure = StandardStream.output.failure, !failure.isBrokenPipe { throw failure }
    }

    private static func columns() -> Int {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 100
    }
}

/// Formats durations and counts for progress lines.
enum Format {
    /// `1h02m`, `4m05s` or `12s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }

    /// `12.3k` or `1.25M`.
    static func count(_ value: Double) -> String {
        if value >= 1_000_000 { return String(format: "%.2fM", value / 1_000_000) }
        if value >= 1_000 { return String(format: "%.1fk", value / 1_000) }
        return String(format: "%.0f", value)
    }
}
