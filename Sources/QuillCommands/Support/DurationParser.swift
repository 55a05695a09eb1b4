import ArgumentParser

/// A wall-clock duration given on the command line: `90` or `90s`, `10m`, `1.5h`.
///
/// Any number parses; whether it is in range is the time-limit setting's check, so a value such as
/// `1e300h` is refused with a sentence rather than as an unreadable argument.
struct WallClock: ExpressibleByArgument, Equatable, CustomStringConvertible {
    var seconds: Double
    /// The argument as typed, for messages.
    var text: String

    init(seconds: Double) {
        self.seconds = seconds
        text = Format.duration(seconds)
    }

    init?(argument: String) {
        let trimmed = argument.trimmingCharacters(in: .whitespaces)
        let lowered = trimmed.lowercased()
        var number = Substring(lowered)
        var scale = 1.0
        if let last = lowered.last, last.isLetter {
            number = lowered.dropLast()
            switch last {
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
        }
        guard let value = Double(number) else { return nil }
        seconds = value * scale
        text = trimmed
    }

    var description: String { text }
}

import Foundation
