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
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no partial output file")
        }
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
