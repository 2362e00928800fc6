import XCTest

/// The committed man pages and completions are generated from the ArgumentParser definitions;
/// this fails when they are stale (fix: `make docs` and commit).
final class DocsTests: XCTestCase {
    func testManPagesAndCompletionsAreCurrent() throws {
        let r = try E2E.sh("cd '\(E2E.root.path)' && scripts/gen-docs.sh --check")
        XCTAssertEqual(r.status, 0, "man pages or completions are stale:\n\(r.stderr)\nRun `make docs` and commit.")
    }

    /// README's examples run top to bottom as written: every option exists (with an allowed value)
    /// and every file an example reads exists or is written by an earlier one
    /// (scripts/check-readme.py); a doctored copy shows the check fails.
    func testReadmeExamplesAreConsistentTopToBottom() throws {
        let root = E2E.root.path
        let r = try E2E.sh("cd '\(root)' && scripts/check-readme.py --bin '\(E2E.bin.path)'")
        XCTAssertEqual(r.status, 0, r.out + r.stderr)
        XCTAssertTrue(r.stderr.contains("0 problems"), r.stderr)
        let dir = try E2E.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
        let bad = readme.replacingOccurrences(of: "rnn-clean > train.jsonl", with: "rnn-clean > training.jsonl")
            .replacingOccurrences(of: "--cell gru ", with: "--cell gruu ")
        XCTAssertNotEqual(bad, readme, "the examples this test doctors are gone from README.md")
        try bad.write(toFile: dir.path + "/README.md", atomically: true, encoding: .utf8)
        let b = try E2E.sh("scripts/check-readme.py --bin '\(E2E.bin.path)' --readme '\(dir.path)/README.md' --root '\(root)'", cwd: E2E.root)
        XCTAssertEqual(b.status, 1)
        XCTAssertTrue(b.out.contains("rnn-vocab reads train.jsonl, which no earlier example writes"), b.out)
        XCTAssertTrue(b.out.contains("rnn-fit --cell gruu: not one of rnn, lstm, gru"), b.out)
    }

    func testEveryToolHasHelpAndOneLineUsageErrors() throws {
        for t in ["rnn-corpus", "rnn-clean", "rnn-vocab", "rnn-encode", "rnn-fit", "rnn-classify", "rnn-sample"] {
            let h = try E2E.sh("\(t) --help")
            XCTAssertEqual(h.status, 0, t)
            XCTAssertTrue(h.out.contains("USAGE"), "\(t) --help:\n\(h.out)")
            let bad = try E2E.sh("\(t) --no-such-option-xyz")
            XCTAssertEqual(bad.status, 2, t)
            XCTAssertTrue(bad.stderr.hasPrefix("\(t): error: "), "\(t): \(bad.stderr)")
            XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, "\(t) prints one line: \(bad.stderr)")
        }
    }
}

/// `make install PREFIX=...` (scripts/install.sh) puts binaries, man pages and completions in place.
final class InstallTests: XCTestCase {
    func testInstallIntoPrefix() throws {
        let dir = try E2E.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try E2E.sh("cd '\(E2E.root.path)' && scripts/install.sh '\(E2E.bin.path)' '\(dir.path)'")
        XCTAssertEqual(r.status, 0, r.stderr)
        for t in ["rnn-corpus", "rnn-clean", "rnn-vocab", "rnn-encode", "rnn-fit", "rnn-classify", "rnn-sample"] {
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: dir.path + "/bin/\(t)"), t)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/share/man/man1/\(t).1"), t)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/share/bash-completion/completions/\(t)"), t)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/share/zsh/site-functions/_\(t)"), t)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path + "/share/fish/vendor_completions.d/\(t).fish"), t)
        }
        let h = try E2E.sh("'\(dir.path)/bin/rnn-clean' --help")
        XCTAssertEqual(h.status, 0)
    }
}
