import Foundation

/// Turns SIGINT, SIGTERM, SIGHUP and SIGQUIT into a flag that long work polls, so it can finish
/// its step, save a checkpoint and exit with 128 + the signal's number.
///
/// SIGQUIT (Ctrl-\) is honoured like the others rather than ignored: a user who presses it wants
/// the run to end, and ending it with a checkpoint loses nothing, where the default (a core dump,
/// or the runtime's crash report) would lose the steps since the last evaluation. A second signal
/// while the first is being honoured ends the process at once: checkpoints are written to a
/// temporary file and renamed, so nothing is half-written.
enum StopSignal {
    /// The signals that ask a run to stop.
    static let handled: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    private static let flag: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// Installs the handlers; call once before the work starts.
    static func install() {
        _ = flag
        for sig in handled {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = { received in
                if StopSignal.flag.pointee != 0 { _exit(128 + received) }
                StopSignal.flag.pointee = received
            }
            #else
            action.__sigaction_u.__sa_handler = { received in
                if StopSignal.flag.pointee != 0 { _exit(128 + received) }
                StopSignal.flag.pointee = received
            }
            #endif
            sigemptyset(&action.sa_mask)
            // Restart interrupted system calls, so a signal during a checkpoint write is not an I/O error.
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
    }

    /// The signal that asked to stop, or nil if none has.
    static var received: Int32? {
        let value = flag.pointee
        return value == 0 ? nil : value
    }

    /// The exit status of a run stopped by `signal`: 128 + its number, as a shell reports a signal.
    static func exitStatus(_ signal: Int32) -> Int32 { 128 + signal }

    /// The name of a signal number, such as `SIGINT`.
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case SIGQUIT: return "SIGQUIT"
        default: return "signal \(signal)"
        }
    }
}
