import Foundation
import XCTest

/// The committed completion scripts, loaded in real shells (bash, and zsh and fish from Debian's
/// packages, which `make test` installs): options, the values of typed options and file names
/// are offered, and no `help` subcommand (the tools have none).
final class CompletionTests: XCTestCase {
    static let tools = ["rnn-corpus", "rnn-clean", "rnn-vocab", "rnn-encode", "rnn-fit", "rnn-classify", "rnn-sample"]
    static var completions: String { E2E.root.path + "/completions" }

    /// A folder with two files to complete.
    func files() throws -> String {
        let dir = try E2E.tempDir().path
        FileManager.default.createFile(atPath: dir + "/model-a.ckpt", contents: Data())
        FileManager.default.createFile(atPath: dir + "/model-b.ckpt", contents: Data())
        return dir
    }

    static func words(_ out: String) -> Set<String> {
        Set(out.split(whereSeparator: { $0 == "\n" }).map { String($0.split(separator: "\t").first ?? "") }.filter { !$0.isEmpty })
    }

    /// bash: what the completion function puts in COMPREPLY for the words (the last one is the
    /// word being completed).
    func bash(_ tool: String, _ words: [String]) throws -> Set<String> {
        let fn = "_" + tool.replacingOccurrences(of: "-", with: "_")
        let r = try E2E.sh("""
            source "$0/\(tool).bash"
            COMP_WORDS=("${@:1}"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            \(fn); printf '%s\\n' "${COMPREPLY[@]}"
            """, args: [Self.completions, tool] + words)
        XCTAssertEqual(r.status, 0, r.stderr)
        return Self.words(r.out)
    }

    /// fish: `complete -C` on the command line.
    func fish(_ line: String) throws -> Set<String> {
        let r = try E2E.sh("fish --no-config -c 'source $argv[1]; complete -C $argv[2]' \"$0\" \"$1\"",
                           args: [Self.completions + "/" + line.split(separator: " ")[0] + ".fish", line])
        XCTAssertEqual(r.status, 0, r.stderr)
        return Self.words(r.out)
    }

    /// zsh: an interactive zsh in a pseudo-terminal (zsh/zpty) loads the completion through
    /// compinit, gets the line and a Tab; every match the completion system adds is recorded.
    func zsh(_ line: String) throws -> Set<String> {
        let driver = """
            zmodload zsh/zpty
            zpty z zsh -f -i
            zpty -w z "PROMPT=''; RPROMPT=''; fpath=($1 \\$fpath); autoload -Uz compinit; compinit -u -D"
            zpty -w z 'compadd () { builtin compadd -O __h "$@"; local x; for x in $__h; do print -r -- "MA""TCH:$x:"; done; builtin compadd "$@" }'
            zpty -w z "zstyle ':completion:*' list-prompt ''; LISTMAX=100000; print -r -- 'RE''ADY'"
            out=""; SECONDS=0
            while (( SECONDS < 30 )) && [[ "$out" != *READY* ]]; do zpty -r -t z line 2>/dev/null && out+="$line" || sleep 0.05; done
            zpty -w -n z "$2"$'\\t'
            zpty -w z $'\\C-u'"print -r -- 'E''ND'"
            out=""; SECONDS=0
            while (( SECONDS < 30 )) && [[ "$out" != *END$'\\r'* && "$out" != *END$'\\n'* ]]; do zpty -r -t z line 2>/dev/null && out+="$line" || sleep 0.05; done
            print -r -- "$out" | tr -d '\\r' | grep -ao 'MATCH:[^:]*:' | sed 's/^MATCH://; s/:$//'
            zpty -d z
            """
        let r = try E2E.sh("zsh -f -c \"$0\" zsh \"$1\" \"$2\"", args: [driver, Self.completions, line])
        XCTAssertEqual(r.status, 0, r.stderr)
        return Self.words(r.out)
    }

    func testShellsAreInstalled() throws {
        for sh in ["zsh", "fish"] {
            XCTAssertEqual(try E2E.sh("command -v \(sh)").status, 0, "\(sh) is missing: `make test` installs it (Makefile TEST_DEBS)")
        }
    }

    func testBash() throws {
        let dir = try files()
        for tool in Self.tools {
            let opts = try bash(tool, [tool, "--"])
            XCTAssertTrue(opts.isSuperset(of: ["--help", "--version", "--quiet"]), "\(tool): \(opts)")
            XCTAssertFalse(try bash(tool, [tool, ""]).contains("help"), tool)
        }
        XCTAssertEqual(try bash("rnn-classify", ["rnn-classify", "--format", ""]), ["auto", "jsonl", "text", "tsv", "csv", "fasttext"])
        XCTAssertEqual(try bash("rnn-classify", ["rnn-classify", "--output-format", "t"]), ["tsv"])
        XCTAssertEqual(try bash("rnn-classify", ["rnn-classify", "-m", dir + "/model-"]), [dir + "/model-a.ckpt", dir + "/model-b.ckpt"])
        XCTAssertEqual(try bash("rnn-vocab", ["rnn-vocab", "--vectors", dir + "/model-a"]), [dir + "/model-a.ckpt"])
        XCTAssertEqual(try bash("rnn-clean", ["rnn-clean", dir + "/model-b"]), [dir + "/model-b.ckpt"])
    }

    func testFish() throws {
        let dir = try files()
        for tool in Self.tools {
            let opts = try fish(tool + " --")
            XCTAssertTrue(opts.isSuperset(of: ["--help", "--version", "--quiet"]), "\(tool): \(opts)")
        }
        XCTAssertEqual(try fish("rnn-classify --format "), ["auto", "jsonl", "text", "tsv", "csv", "fasttext"])
        XCTAssertEqual(try fish("rnn-classify -m \(dir)/model-"), [dir + "/model-a.ckpt", dir + "/model-b.ckpt"])
        XCTAssertEqual(try fish("rnn-clean \(dir)/model-b"), [dir + "/model-b.ckpt"])
        XCTAssertFalse(try fish("rnn-classify ").contains("help"))
    }

    func testZsh() throws {
        let dir = try files()
        for tool in ["rnn-clean", "rnn-fit", "rnn-classify"] {
            let opts = try zsh(tool + " --")
            XCTAssertTrue(opts.isSuperset(of: ["--help", "--version", "--quiet"]), "\(tool): \(opts)")
        }
        XCTAssertEqual(try zsh("rnn-classify --format "), ["auto", "jsonl", "text", "tsv", "csv", "fasttext"])
        XCTAssertTrue(try zsh("rnn-classify -m \(dir)/model-").isSuperset(of: ["model-a.ckpt", "model-b.ckpt"]))
        XCTAssertFalse(try zsh("rnn-classify --format ").contains("model-a.ckpt"))
        XCTAssertFalse(try zsh("rnn-sample ").contains("help"))
    }
}
