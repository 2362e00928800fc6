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
/// - a ``UsageProblem`` (a bad environment variable) prints one line, status 2;
/// - ``Interrupted`` ends with status 128 + its signal (130 for Ctrl-C, 143 for SIGTERM);
/// - ``ExitStatus`` ends with its status and no message.
public enum CLI {
    /// Parses the command line and runs the command.
    public static func main<C: ParsableCommand>(_ type: C.Type) -> Never {
        signal(SIGPIPE, SIG_IGN)
        let name = C.configuration.commandName ?? "rnn"
        do {
            var command = try C.parseAsRoot(CLI.joinNegativeValues(Array(CommandLine.arguments.dropFirst())))
            try command.run()
            exit(0)
        } catch is BrokenPipe {
            exit(0)
        } catch let e as RNNError {
            Diagnostics.line("\(name): error: \(e.message)")
            exit(1)
        } catch let e as UsageProblem {
            Diagnostics.line("\(name): error: \(e.description)")
            exit(2)
        } catch let e as Interrupted {
            exit(128 + e.signal)
        } catch let e as ExitStatus {
            exit(e.code)
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

extension CLI {
    /// `--lr -1` becomes `--lr=-1`: ArgumentParser takes a word starting with '-' for an option
    /// and would report "Missing value for '--lr'"; a negative number after a long option is that
    /// option's value (then range-checked by the tool with a clear message).
    public static func joinNegativeValues(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { out.append(contentsOf: args[i...]); break }
            if a.hasPrefix("--"), a.count > 2, !a.contains("="), i + 1 < args.count, looksNegative(args[i + 1]) {
                out.append(a + "=" + args[i + 1])
                i += 2
                continue
            }
            out.append(a)
            i += 1
        }
        return out
    }

    static func looksNegative(_ s: String) -> Bool {
        guard s.count >= 2, s.first == "-", s.dropFirst().first != "-" else { return false }
        let rest = s.dropFirst().lowercased()
        return rest.first.map { $0.isNumber || $0 == "." } == true || rest.hasPrefix("inf") || rest.hasPrefix("nan")
    }

    /// Refuses outputs that are also inputs (same file, whatever the path) and takes the
    /// one-writer lock of every output (``OutputGuard``), before any work is done.
    public static func prepareOutputs(_ outputs: [String?], inputs: [String?]) throws {
        for case let o? in outputs where o != "-" {
            try OutputGuard.refuseInputs(output: o, inputs: inputs)
            try OutputGuard.lock(o)
        }
    }
}

/// The suite's version, printed by every tool's `--version`.
public let suiteVersion = "0.9.0"

/// `-q/--quiet`, the same on every tool.
public struct QuietOption: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Print nothing on standard error but errors (no summary, progress or warnings).")
    public var quiet = false

    public init() {}
}

/// Options shared by every tool that reads records.
public struct InputOptions: ParsableArguments {
    @Argument(help: "Input files (plain or .gz). Reads standard input when none is given or for '-'.", completion: .file())
    public var inputs: [String] = []

    public init() {}

    /// The inputs to read, `["-"]` for stdin.
    public var paths: [String] { inputs.isEmpty ? ["-"] : inputs }
}
