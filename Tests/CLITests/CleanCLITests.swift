import Foundation
import XCTest

/// Runs the built rnn-clean / rnn-corpus binaries (<package root>/.build/release) end to end.
enum TextToolsCLI {
    static let root = Support.root
    static let bin = Support.bin
    static let imdb = Support.data + "/aclImdb_v1.tar.gz"

    static func tempDir(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "rnn-text-cli-\(getpid())/\(name)"
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs `tool args` with `stdin` (bytes); returns (status, stdout, stderr).
    static func run(_ tool: String, _ args: [String], stdin: Data = Data()) throws -> (Int32, Data, String) {
        try sh("\"$0\" \"$@\"", [bin + "/" + tool] + args, stdin: stdin)
    }

    /// Runs a /bin/bash script with positional arguments.
    static func sh(_ script: String, _ args: [String] = [], stdin: Data = Data()) throws -> (Int32, Data, String) {
        let r = try E2E.sh(script, args: args, input: stdin)
        return (r.status, r.stdout, r.stderr)
    }

    /// Asserts one error line `tool: error: <contains>` on stderr, status 1 and no stdout.
    static func assertError(_ r: (Int32, Data, String), _ tool: String, _ contains: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.0, 1, "exit status; stderr: \(r.2)", file: file, line: line)
        XCTAssertTrue(r.1.isEmpty, "stdout should be empty, got \(r.1.count) bytes", file: file, line: line)
        let lines = r.2.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one stderr line expected: \(r.2)", file: file, line: line)
        XCTAssertTrue(r.2.hasPrefix("\(tool): error: ") && r.2.contains(contains), "stderr: \(r.2)", file: file, line: line)
    }
}

final class CleanCLITests: XCTestCase {
    typealias T = TextToolsCLI

    /// rnn-corpus | rnn-clean --drop-empty on all 50,000 IMDB reviews == the Python reference,
    /// byte for byte, with each engine (pcre2, the default, and fused).
    func testIMDBParityWithPythonReference() throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: T.imdb), "missing \(T.imdb)")
        let dir = T.tempDir("parity")
        let ref = dir + "/ref.jsonl"
        let r2 = try T.sh("python3 \"$0/scripts/reference/clean_reference.py\" --imdb \"$1\" > \"$2\"", [T.root, T.imdb, ref])
        XCTAssertEqual(r2.0, 0, r2.2)
        let b = try Data(contentsOf: URL(fileURLWithPath: ref))
        for engine in ["pcre2", "fused"] {
        let ours = dir + "/ours-\(engine).jsonl"
        let r1 = try T.sh("set -o pipefail; \"$0/rnn-corpus\" \"$1\" | \"$0/rnn-clean\" --drop-empty --engine \"$3\" > \"$2\"", [T.bin, T.imdb, ours, engine])
        XCTAssertEqual(r1.0, 0, r1.2)
        let a = try Data(contentsOf: URL(fileURLWithPath: ours))
        let la = a.split(separator: 0x0A), lb = b.split(separator: 0x0A)
        XCTAssertEqual(lb.count, 50_000)
        XCTAssertEqual(la.count, lb.count)
        for (i, (x, y)) in zip(la, lb).enumerated() where x != y {
            XCTFail("\(engine): record \(i + 1) differs:\n ours: \(String(decoding: x.prefix(300), as: UTF8.self))\n python: \(String(decoding: y.prefix(300), as: UTF8.self))")
            break
        }
        XCTAssertEqual(a, b, engine)
        }
    }

    func testJSONLPassthroughAndDrop() throws {
        let input = "{\"b\": 1,\"text\":\"Hi <br/>THERE!\",\"a\":[1, 2] }\n\n{\"text\":\"<br />...\",\"id\":2}\n{\"text\":\"\\u00C9t\\u00e9 \\\"ok\\\"\"}\n"
        let r = try T.run("rnn-clean", [], stdin: Data(input.utf8))
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertEqual(String(decoding: r.1, as: UTF8.self),
                       "{\"b\":1,\"text\":\"hi there \",\"a\":[1, 2]}\n{\"text\":\"\",\"id\":2}\n{\"text\":\"été ok \"}\n")
        let d = try T.run("rnn-clean", ["--drop-empty"], stdin: Data(input.utf8))
        XCTAssertEqual(d.0, 0, d.2)
        XCTAssertEqual(String(decoding: d.1, as: UTF8.self),
                       "{\"b\":1,\"text\":\"hi there \",\"a\":[1, 2]}\n{\"text\":\"été ok \"}\n")
    }

    func testPlainTextAndFormatOption() throws {
        let r = try T.run("rnn-clean", [], stdin: Data("Great <br />Movie!!\n\n!!!\nİstanbul ΟΔΟΣ\n".utf8))
        XCTAssertEqual(String(decoding: r.1, as: UTF8.self), "great movie \n\n\ni̇stanbul οδος\n")
        let d = try T.run("rnn-clean", ["--drop-empty"], stdin: Data("Great <br />Movie!!\n\n!!!\nİstanbul ΟΔΟΣ\n".utf8))
        XCTAssertEqual(String(decoding: d.1, as: UTF8.self), "great movie \ni̇stanbul οδος\n")
        let t = try T.run("rnn-clean", ["--format", "text"], stdin: Data("{\"Text\": 1}\n".utf8))
        XCTAssertEqual(String(decoding: t.1, as: UTF8.self), " text 1 \n")
        let k = try T.run("rnn-clean", ["--keep-case", "--punctuation", "separate"], stdin: Data("Don't, STOP\n".utf8))
        XCTAssertEqual(String(decoding: k.1, as: UTF8.self), "Don't , STOP\n")
    }

    func testGzipInputsAndOutputFile() throws {
        let dir = T.tempDir("clean-gz")
        try Data("{\"text\":\"A, b\"}\n".utf8).write(to: URL(fileURLWithPath: dir + "/a.jsonl"))
        try Data("C; D\n".utf8).write(to: URL(fileURLWithPath: dir + "/b.txt"))
        XCTAssertEqual(try T.sh("gzip \"$0/a.jsonl\"", [dir]).0, 0)
        let r = try T.run("rnn-clean", [dir + "/a.jsonl.gz", dir + "/b.txt", "-o", dir + "/out"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.isEmpty)
        XCTAssertEqual(String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir + "/out")), as: UTF8.self),
                       "{\"text\":\"a b\"}\nc d\n")
    }

    func testEmptyInputGivesNoOutput() throws {
        let r = try T.run("rnn-clean", [], stdin: Data())
        XCTAssertEqual(r.0, 0)
        XCTAssertTrue(r.1.isEmpty)
        XCTAssertEqual(r.2, "")
    }

    func testInvalidUTF8WarnsOrFailsWithStrict() throws {
        let input = Data([0x6F, 0x6B, 0x0A, 0x61, 0xFF, 0x62, 0xC3, 0x0A])
        let r = try T.run("rnn-clean", [], stdin: input)
        XCTAssertEqual(r.0, 0)
        XCTAssertEqual(String(decoding: r.1, as: UTF8.self), "ok\na\u{FFFD}b\u{FFFD}\n")
        XCTAssertEqual(r.2, "rnn-clean: warning: 2 invalid UTF-8 sequence(s) replaced by U+FFFD (first at <stdin>:2)\n")
        T.assertError(try T.run("rnn-clean", ["--strict"], stdin: input), "rnn-clean", "<stdin>:2: invalid UTF-8")
    }

    func testBadInputs() throws {
        let dir = T.tempDir("clean-bad")
        T.assertError(try T.run("rnn-clean", [dir + "/missing.txt"]), "rnn-clean", "\(dir)/missing.txt: no such file")
        T.assertError(try T.run("rnn-clean", [dir]), "rnn-clean", "is a directory")
        if getuid() == 0 {
            // root reads any file: use a file whose read fails.
            T.assertError(try T.run("rnn-clean", ["/proc/self/mem"]), "rnn-clean", "/proc/self/mem: read error")
        } else {
            let p = dir + "/locked.txt"
            _ = FileManager.default.createFile(atPath: p, contents: Data("x\n".utf8), attributes: [.posixPermissions: 0])
            T.assertError(try T.run("rnn-clean", [p]), "rnn-clean", "cannot open")
        }
        // Gzip: truncated and corrupt.
        var text = ""
        for i in 0..<20000 { text += "{\"text\":\"line \(i) with some words\"}\n" }
        let plain = dir + "/big.jsonl"
        try Data(text.utf8).write(to: URL(fileURLWithPath: plain))
        XCTAssertEqual(try T.sh("gzip -c \"$0\" > \"$0.gz\"", [plain]).0, 0)
        let gz = try Data(contentsOf: URL(fileURLWithPath: plain + ".gz"))
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: dir + "/cut.jsonl.gz"))
        var corrupt = gz
        for k in 0..<64 { corrupt[gz.count / 2 + k] ^= 0xA5 }
        try corrupt.write(to: URL(fileURLWithPath: dir + "/bad.jsonl.gz"))
        for (name, what) in [("cut.jsonl.gz", "truncated gzip"), ("bad.jsonl.gz", "gzip")] {
            let out = dir + "/out-\(name).jsonl"
            let r = try T.run("rnn-clean", [dir + "/" + name, "-o", out])
            T.assertError(r, "rnn-clean", what)
            XCTAssertTrue(r.2.contains(dir + "/" + name), r.2)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no partial output file")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".out-") }
            XCTAssertEqual(leftovers, [])
        }
        // JSONL errors name the line.
        T.assertError(try T.run("rnn-clean", ["-o", dir + "/o1"], stdin: Data("{\"text\":\"a\"}\nnot json\n".utf8)),
                      "rnn-clean", "<stdin>:2: not a JSON object")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/o1"))
        T.assertError(try T.run("rnn-clean", [], stdin: Data("{\"id\":1}\n".utf8)), "rnn-clean", "<stdin>:1: record has no \"text\" field")
        let usage = try T.run("rnn-clean", ["--format", "xml"])
        XCTAssertEqual(usage.0, 2)
        XCTAssertTrue(usage.2.hasPrefix("rnn-clean: error: "), usage.2)
    }

    func testHelpDocumentsEveryOption() throws {
        let r = try T.run("rnn-clean", ["--help"])
        XCTAssertEqual(r.0, 0)
        let help = String(decoding: r.1, as: UTF8.self)
        for s in ["--format", "--keep-case", "--punctuation", "--remove", "--strict", "--output", "--stats", "Examples:", "str.lower"] {
            XCTAssertTrue(help.contains(s), "help lacks \(s)")
        }
    }
}
