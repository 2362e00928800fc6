// Signals: a stop request for long work (training), and temporary files removed when a signal
// ends the process.
//
// `StopRequest.install()` makes the first SIGINT (Ctrl-C), SIGTERM or SIGHUP a request: a flag that
// training polls between steps (it then evaluates, keeps the best checkpoint, writes its state and
// stops). A second such signal ends the process at once, after removing the temporary files of
// unfinished atomic writes. Without `install()`, the first signal does that (any tool that writes
// an `AtomicFile` gets the handler when it creates its first temporary file).
//
// Handlers only read and write preallocated memory and call unlink/signal/raise, which are
// async-signal-safe.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Temporary-file slots: paths of unfinished atomic writes, removed by the fatal-signal handler.
private enum TempSlots {
    static let count = 16
    static let size = 4096
    nonisolated(unsafe) static let paths: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: count * size)
        p.initialize(repeating: 0, count: count * size)
        return p
    }()
    nonisolated(unsafe) static let used: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: count)
        p.initialize(repeating: 0, count: count)
        return p
    }()
}

nonisolated(unsafe) private var stopSignal: sig_atomic_t = 0
nonisolated(unsafe) private var handlersInstalled = false
private let stopSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

/// Installs a signal handler (a function without captures).
private func setHandler(_ sig: Int32, _ handler: @convention(c) (Int32) -> Void) {
    _ = signal(sig, handler)
}

/// The first stop signal: remember it; a second one ends the process.
private func requestStop(_ sig: Int32) {
    if stopSignal == 0 { stopSignal = sig }
    setHandler(sig, removeTempsAndDie)
}

/// Removes the registered temporary files, then ends the process by `sig` (default action).
private func removeTempsAndDie(_ sig: Int32) {
    for i in 0 ..< TempSlots.count where TempSlots.used[i] != 0 {
        unlink(TempSlots.paths + i * TempSlots.size)
    }
    signal(sig, SIG_DFL)
    raise(sig)
}

/// The process-wide "stop requested" flag (SIGINT, SIGTERM, SIGHUP).
public enum StopRequest {
    /// Makes the first stop signal a request (see the file comment). Idempotent. `also`: more
    /// signals that ask to stop (e.g. SIGUSR1, which mpirun forwards to every process at once).
    public static func install(also extra: [Int32] = []) {
        _ = TempSlots.paths; _ = TempSlots.used   // allocated before any handler can run
        handlersInstalled = true
        for s in stopSignals + extra { setHandler(s, requestStop) }
    }

    /// The signal that asked to stop, nil while none did.
    public static var signal: Int32? { stopSignal == 0 ? nil : stopSignal }

    /// True once a stop signal arrived.
    public static var isSet: Bool { stopSignal != 0 }

    /// Test hook: requests a stop as if `sig` had arrived (0 clears the request).
    public static func request(_ sig: Int32) { stopSignal = sig }
}

/// Temporary files that a stop signal must not leave behind.
public enum TempFiles {
    /// Registers `path`; returns its slot for ``unregister(_:)`` (nil when every slot is taken or
    /// the path is too long: the file is then only removed by normal error handling).
    public static func register(_ path: String) -> Int? {
        let bytes = Array(path.utf8)
        guard bytes.count < TempSlots.size else { return nil }
        if !handlersInstalled {
            handlersInstalled = true
            _ = TempSlots.paths; _ = TempSlots.used
            for s in stopSignals {
                var old = sigaction()
                sigaction(s, nil, &old)
                // Only where nobody else handles it (a handler set by the tool stays).
                #if canImport(Glibc)
                let isDefault = old.__sigaction_handler.sa_handler == nil
                #else
                let isDefault = old.__sigaction_u.__sa_handler == nil
                #endif
                if isDefault { setHandler(s, removeTempsAndDie) }
            }
        }
        for i in 0 ..< TempSlots.count where TempSlots.used[i] == 0 {
            let p = TempSlots.paths + i * TempSlots.size
            for (k, b) in bytes.enumerated() { p[k] = CChar(bitPattern: b) }
            p[bytes.count] = 0
            TempSlots.used[i] = 1
            return i
        }
        return nil
    }

    /// Forgets a slot (the file was renamed or removed).
    public static func unregister(_ slot: Int?) {
        if let slot { TempSlots.used[slot] = 0 }
    }
}

/// read(2) on Linux and Darwin (types whose methods are named `read` cannot call it unqualified).
@inline(__always) func systemRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, p, n)
    #else
    return Darwin.read(fd, p, n)
    #endif
}

/// write(2) on Linux and Darwin.
@inline(__always) func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
