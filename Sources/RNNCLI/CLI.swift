// The one place where errors become a message and an exit status (STYLE.md example 8).
import ArgumentParser
import RNNCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a tool's command with the suite's conventions:
/// - a closed stdout pipe ends quietly with status 0;
/// - an ``RNNError`` prints one line `rnn-x: error: ...` on stderr, status 1;
/// - a usage error prints one line and a hint to `--help`, status 2;
/// - ``Interrupted`` ends with status 128 + its signal (130 for Ctrl-C, 143 for SIGTERM).
public enum CLI {
    /// Parses the command line and runs the command.
    public static func main<C: ParsableCommand>(_ type: C.Type) -> Never {
        signal(SIGPIPE, SIG_IGN)
        let name = C.configuration.commandName ?? "rnn"
        do {
            var command = try C.parseAsRoot()
            try command.run()
            exit(0)
        } catch is BrokenPipe {
            exit(0)
        } catch let e as RNNError {
            Diagnostics.line("\(name): error: \(e.message)")
            exit(1)
        } catch let e as Interrupted {
            exit(128 + e.signal)
        } catch {
            let code = C.exitCode(for: error)
            if code == .success { C.exit(withError: error) }
            let msg = C.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            var clean = msg
            if clean.hasPrefix("Error: ") { clean.removeFirst(7) }
            Diagnostics.line("\(name): error: \(clean) (see '\(name) --help')")
            exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

/// Options shared by every tool that reads records.
public struct InputOptions: ParsableArguments {
    @Argument(help: "Input files (plain or .gz). Reads standard input when none is given or for '-'.")
    public var inputs: [String] = []

    public init() {}

    /// The inputs to read, `["-"]` for stdin.
    public var paths: [String] { inputs.isEmpty ? ["-"] : inputs }
}
