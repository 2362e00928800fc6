// Errors of the suite. Libraries throw; only the CLI layer turns an error into one line on
// stderr and an exit code (STYLE.md example 8).

/// An error a user can act on: what went wrong, where (file, line or offset) and what to do.
///
/// `description` is the complete sentence printed after `rnn-x: error: `.
public struct RNNError: Error, CustomStringConvertible, Sendable {
    /// The full message, without the `rnn-x: error:` prefix.
    public var message: String

    /// Creates an error with a complete message.
    public init(_ message: String) { self.message = message }

    /// Creates an error located in a file: `path:line: message`, or `path: message`.
    public init(path: String, line: Int? = nil, _ message: String) {
        if let line { self.message = "\(path):\(line): \(message)" } else { self.message = "\(path): \(message)" }
    }

    public var description: String { message }
}

/// Thrown when standard output is a closed pipe (`| head`). The CLI ends quietly with status 0.
public struct BrokenPipe: Error, Sendable {
    public init() {}
}

/// Thrown when the user interrupted (Ctrl-C) and the library stopped cleanly.
public struct Interrupted: Error, Sendable {
    public init() {}
}
