import Foundation

/// Turns SIGINT and SIGTERM into a flag that long work polls, so it can finish its step and save.
///
/// A second signal while the first is being honoured ends the process at once.
enum StopSignal {
    private static let flag: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// Installs the handlers; call once before the work starts.
    static func install() {
        _ = flag
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { received in
                if StopSignal.flag.pointee != 0 {
                    // Asked twice: leave now; checkpoints are atomic, so nothing is half-written.
                    _exit(128 + received)
                }
                StopSignal.flag.pointee = received
            }
        }
    }

    /// The signal that asked to stop, or nil if none has.
    static var received: Int32? {
        let value = flag.pointee
        return value == 0 ? nil : value
    }

    /// The name of a signal number, such as `SIGINT`.
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        default: return "signal \(signal)"
        }
    }
}
