import Foundation
import XCTest

final class CorpusCLITests: XCTestCase {
    typealias T = TextToolsCLI

    func testIMDBRecordsPerSplit() throws {
        let r = try T.run("rnn-corpus", [T.imdb, "--stats", "-o", "/dev/null"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertEqual(r.2, "test/neg\t12500\ntest/pos\t12500\ntrain/neg\t12500\ntrain/pos\t12500\ntotal\t50000\n")
        let t = try T.run("rnn-corpus", [T.imdb, "--split", "train", "--limit", "2"])
        let lines = String(decoding: t.1, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[0].hasPrefix(#"{"id":"train/neg/0_3","label":"neg","rating":3,"text":"Story of a man who has unnatural feelings for a pig."#), String(lines[0].prefix(100)))
    }

    /// The archive, the archive on stdin, an extracted folder and a `./`-prefixed re-tar of that
    /// folder (sorted names) give the same records in the same order. Only the reviews whose id
    /// starts with 1 (14,444) are extracted, in /dev/shm when it exists: creating many small
    /// files on this machine's disk takes ~20 s.
    func testFolderAndArchiveGiveTheSameOrder() throws {
        var dir = T.tempDir("corpus-folder")
        if FileManager.default.isWritableFile(atPath: "/dev/shm") {
            dir = "/dev/shm/rnn-text-cli-\(getpid())"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = """
        set -e -o pipefail
        mkdir -p "$1/x" && tar xzf "$2" -C "$1/x" --wildcards 'aclImdb/*/*/1*'
        "$0/rnn-corpus" "$2" | grep -E '^[{]"id":"[a-z]+/[a-z]+/1' > "$1/a.jsonl"
        "$0/rnn-corpus" - < "$2" | grep -E '^[{]"id":"[a-z]+/[a-z]+/1' > "$1/c.jsonl"
        "$0/rnn-corpus" "$1/x" > "$1/b.jsonl"
        (cd "$1/x" && tar --sort=name -cf - . | "$0/rnn-corpus" -) > "$1/d.jsonl"
        cmp "$1/a.jsonl" "$1/b.jsonl"; cmp "$1/a.jsonl" "$1/c.jsonl"; cmp "$1/a.jsonl" "$1/d.jsonl"
        wc -l < "$1/a.jsonl"
        rm -rf "$1/x"
        """
        let r = try T.sh(script, [T.bin, dir, T.imdb])
        XCTAssertEqual(r.0, 0, r.2)
        let n = Int(String(decoding: r.1, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertEqual(n, 14_444)
    }

    func testInvalidUTF8IsReplacedWithAWarning() throws {
        let dir = T.tempDir("corpus-utf8")
        try FileManager.default.createDirectory(atPath: dir + "/d/train/pos", withIntermediateDirectories: true)
        try Data([0x61, 0xFF, 0x62, 0xE2, 0x82]).write(to: URL(fileURLWithPath: dir + "/d/train/pos/3_8.txt"))
        let r = try T.run("rnn-corpus", [dir + "/d"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertEqual(String(decoding: r.1, as: UTF8.self), "{\"id\":\"train/pos/3_8\",\"label\":\"pos\",\"rating\":8,\"text\":\"a\u{FFFD}b\u{FFFD}\"}\n")
        XCTAssertEqual(r.2, "rnn-corpus: warning: \(dir)/d: 2 invalid UTF-8 sequence(s) in 1 file(s) replaced by U+FFFD (first: train/pos/3_8.txt)\n")
    }

    func testBrokenPipeIsQuiet() throws {
        let r = try T.sh("\"$0/rnn-corpus\" \"$1\" | head -1 > /dev/null; echo \"${PIPESTATUS[0]}\"", [T.bin, T.imdb])
        XCTAssertEqual(String(decoding: r.1, as: UTF8.self), "0\n")
        XCTAssertEqual(r.2, "")
    }

    func testBadInputs() throws {
        let dir = T.tempDir("corpus-bad")
        T.assertError(try T.run("rnn-corpus", [dir + "/missing.tar.gz"]), "rnn-corpus", "\(dir)/missing.tar.gz: no such file")
        // Truncated gzip (cut the real archive), corrupt gzip, truncated tar (cut the uncompressed tar).
        XCTAssertEqual(try T.sh("head -c 3000000 \"$0\" > \"$1/cut.tar.gz\"; gzip -dc \"$0\" | head -c 3000000 > \"$1/cut.tar\"", [T.imdb, dir]).0, 0)
        let gz = try Data(contentsOf: URL(fileURLWithPath: T.imdb))
        var bad = gz.prefix(4_000_000)
        for k in 0..<256 { bad[2_000_000 + k] ^= 0x5A }
        try bad.write(to: URL(fileURLWithPath: dir + "/bad.tar.gz"))
        let cases = [("cut.tar.gz", "truncated gzip stream"), ("bad.tar.gz", "corrupt"), ("cut.tar", ":3000000: truncated tar archive: the data ends inside member 'aclImdb/")]
        for (name, what) in cases {
            let out = dir + "/out-\(name).jsonl"
            let r = try T.run("rnn-corpus", [dir + "/" + name, "-o", out])
            T.assertError(r, "rnn-corpus", what)
            XCTAssertTrue(r.2.contains(dir + "/" + name), r.2)
            XCTAssertTrue(name == "bad.tar.gz" || r.2.contains("member 'aclImdb/"), r.2)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no partial output file")
        }
        // Unreadable input (root reads any file: use one whose read fails), other compressors.
        if getuid() == 0 {
            T.assertError(try T.run("rnn-corpus", ["/proc/self/mem"]), "rnn-corpus", "/proc/self/mem: read error")
        } else {
            let p = dir + "/locked.tar"
            _ = FileManager.default.createFile(atPath: p, contents: Data(count: 1024), attributes: [.posixPermissions: 0])
            T.assertError(try T.run("rnn-corpus", [p]), "rnn-corpus", "cannot open")
        }
        try Data([0x42, 0x5A, 0x68, 0x39] + [UInt8](repeating: 7, count: 600)).write(to: URL(fileURLWithPath: dir + "/x.tar.bz2"))
        T.assertError(try T.run("rnn-corpus", [dir + "/x.tar.bz2"]), "rnn-corpus", "x.tar.bz2:0: not a tar archive (it is bzip2-compressed")
        // A folder without the layout; an empty file.
        T.assertError(try T.run("rnn-corpus", [dir]), "rnn-corpus", "no records found")
        _ = FileManager.default.createFile(atPath: dir + "/empty.tar", contents: Data())
        T.assertError(try T.run("rnn-corpus", [dir + "/empty.tar"]), "rnn-corpus", "no records found")
        T.assertError(try T.run("rnn-corpus", [T.imdb, "--split", "unknown"]), "rnn-corpus", "splits present under 'aclImdb/': test, train")
        let usage = try T.run("rnn-corpus", [T.imdb, "--limit", "-1"])
        XCTAssertEqual(usage.0, 2)
    }

    func testHelpDocumentsEveryOption() throws {
        let r = try T.run("rnn-corpus", ["--help"])
        XCTAssertEqual(r.0, 0)
        let help = String(decoding: r.1, as: UTF8.self)
        for s in ["--split", "--labels", "--include-unlabeled", "--limit", "--root", "--output", "--stats", "Order:", "Examples:"] {
            XCTAssertTrue(help.contains(s), "help lacks \(s)")
        }
    }
}
