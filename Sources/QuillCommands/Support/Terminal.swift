import Foundation

/// Writes progress and messages: a live line on a terminal, plain lines otherwise.
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
        var line = text
        if line.count > width - 1 { line = String(line.prefix(width - 1)) }
        let pad = max(0, liveLineLength - line.count)
        FileHandle.standardOutput.write(Data(("\r" + line + String(repeating: " ", count: pad)).utf8))
        liveLineLength = line.count
    }

    /// Prints a whole line to standard output, clearing the live line first.
    func line(_ text: String) {
        clearLive()
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Prints a warning sentence to standard error.
    func warn(_ text: String) {
        clearLive()
        FileHandle.standardError.write(Data(("warning: " + text + "\n").utf8))
    }

    /// Ends the live line so the next output starts on a new line.
    func clearLive() {
        guard isInteractive, liveLineLength > 0 else { return }
        FileHandle.standardOutput.write(Data(("\r" + String(repeating: " ", count: liveLineLength) + "\r").utf8))
        liveLineLength = 0
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
