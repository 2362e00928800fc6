// Errors of the suite. Libraries throw; only the CLI layer turns an error into one line on
// stderr and an exit code (STYLE.md example 8).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error a user can act on: what went wrong, where (file, line or offset) and what to do.
///
/// `description` is the complete sentence printed after `rnn-x: error: `.
public struct RNNError: Error, CustomStringConvertible, Sendable {
    /// The full message, without the `rnn-x: error:` prefix.
    public var message: String
    /// The system error (errno) behind it, when there is one: callers test this (e.g. ENOENT for
    /// a missing file), never the wording of `message`.
    public var systemError: Int32?

    /// Creates an error with a complete message.
    public init(_ message: String, systemError: Int32? = nil) { self.message = message; self.systemError = systemError }

    /// Creates an error located in a file: `path:line: message`, or `path: message`.
    public init(path: String, line: Int? = nil, _ message: String, systemError: Int32? = nil) {
        if let line { self.message = "\(path):\(line): \(message)" } else { self.message = "\(path): \(message)" }
        self.systemError = systemError
    }

    /// True when the error says a file does not exist (ENOENT).
    public var isMissingFile: Bool { systemError == ENOENT }

    public var description: String { message }
}

/// A usage error that is not on the command line (an environment variable such as RNN_KERNELS):
/// the CLI prints `rnn-x: error: ` + `description` and exits with status 2, like a usage error.
public protocol UsageProblem: Error, CustomStringConvertible {}

/// Thrown when standard output is a closed pipe (`| head`). The CLI ends quietly with status 0.
public struct BrokenPipe: Error, Sendable {
    public init() {}
}

/// Thrown when a stop signal (Ctrl-C = SIGINT, SIGTERM, SIGHUP) ended the work cleanly. The CLI
/// exits with 128 + `signal` (130 for Ctrl-C, 143 for SIGTERM).
public struct Interrupted: Error, Sendable {
    /// The signal that asked to stop.
    public var signal: Int32
    public init(signal: Int32 = 2) { self.signal = signal }
}

/// Ends the command with `code` and no message (what went wrong was reported elsewhere, e.g. by
/// rank 0 of a data-parallel run).
public struct ExitStatus: Error, Sendable {
    public var code: Int32
    public init(_ code: Int32) { self.code = code }
}
