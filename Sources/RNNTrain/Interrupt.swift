// Ctrl-C as a request: the first SIGINT sets a flag that training loops poll between steps (they
// evaluate, keep the best checkpoint and stop); a second SIGINT kills the process at once.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

nonisolated(unsafe) private var interruptRequested: sig_atomic_t = 0

/// The process-wide "stop requested" flag set by SIGINT.
public enum InterruptFlag {
    /// Installs the SIGINT handler (idempotent).
    public static func install() {
        signal(SIGINT) { _ in
            interruptRequested = 1
            signal(SIGINT, SIG_DFL)   // a second Ctrl-C ends the process immediately
        }
    }

    /// True once Ctrl-C was pressed.
    public static var isSet: Bool { interruptRequested != 0 }
}
