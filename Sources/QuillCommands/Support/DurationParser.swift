import ArgumentParser

/// A wall-clock duration given on the command line: `90` or `90s`, `10m`, `1.5h`.
struct WallClock: ExpressibleByArgument, Equatable, CustomStringConvertible {
    var seconds: Double

    init(seconds: Double) { self.seconds = seconds }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        var number = Substring(text)
        var scale = 1.0
        if let last = text.last, last.isLetter {
            number = text.dropLast()
            switch last {
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
        }
        guard let value = Double(number), value.isFinite, value > 0 else { return nil }
        seconds = value * scale
    }

    var description: String { Format.duration(seconds) }
}

import Foundation
