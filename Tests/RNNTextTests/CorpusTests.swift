import Foundation
import XCTest
@testable import RNNCore
@testable import RNNText

final class CorpusTests: XCTestCase {
    /// Builds a small Stanford-like tree (with unsup, *.feat, urls_*.txt, README, a long name,
    /// invalid UTF-8) under `dir/aclImdb`, and tars of it in several formats.
    func makeDataset(_ name: String) throws -> String {
        let dir = makeTempDir(name)
        let script = """
        import os, sys, tarfile
        d = sys.argv[1]
        root = os.path.join(d, 'tree', 'aclImdb')
        files = {
          'README': b'readme', 'imdb.vocab': b'the\\n', 'imdbEr.txt': b'0.1\\n',
          'train/labeledBow.feat': b'0:1', 'train/urls_pos.txt': b'http://x', 'train/unsupBow.feat': b'',
          'train/pos/0_9.txt': b'Great <br />movie!', 'train/pos/1_7.txt': b'Fine.',
          'train/neg/0_3.txt': b'Bad \\xff\\xfe film', 'train/neg/2_1.txt': b'Awful',
          'train/unsup/0_0.txt': b'Unlabeled', 'test/pos/5_10.txt': b'"Quotes" and \\\\ back\\tslash\\n',
          'test/neg/' + 'x' * 120 + '_2.txt': b'long name', 'test/neg/.hidden.txt': b'hidden',
        }
        for k, v in files.items():
            p = os.path.join(root, k)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            open(p, 'wb').write(v)
        names = sorted(files)
        def add(tar):
            tar.add(root, 'aclImdb', recursive=False)
            dirs = set()
            for k in names:
                parts = k.split('/')
                for i in range(1, len(parts)):
                    sub = '/'.join(parts[:i])
                    if sub not in dirs:
                        dirs.add(sub); tar.add(os.path.join(root, sub), 'aclImdb/' + sub, recursive=False)
                tar.add(os.path.join(root, k), 'aclImdb/' + k)
        for fmt, suffix in ((tarfile.GNU_FORMAT, 'gnu.tar'), (tarfile.PAX_FORMAT, 'pax.tar.gz'), (tarfile.USTAR_FORMAT, 'ustar.tar')):
            if fmt == tarfile.USTAR_FORMAT:
                continue  # ustar cannot hold the 130-byte name without a prefix split; covered by gnu/pax
            with tarfile.open(os.path.join(d, suffix), 'w:gz' if suffix.endswith('gz') else 'w', format=fmt) as t:
                add(t)
        """
        let (status, _, err) = try runProcess("/usr/bin/env", ["python3", "-c", script, dir])
        XCTAssertEqual(status, 0, err)
        return dir
    }

    func records(_ path: String, _ configure: (inout CorpusOptions) -> Void = { _ in }) throws -> ([String], CorpusStats) {
        var opts = CorpusOptions()
        configure(&opts)
        var out: [String] = []
        let st = try CorpusReader(path: path, options: opts).forEach { item in
            var b: [UInt8] = []
            item.appendJSON(into: &b)
            out.append(String(decoding: b, as: UTF8.self))
        }
        return (out, st)
    }

    func testArchiveAndFolderGiveTheSameRecords() throws {
        let d = try makeDataset("same")
        let (fromGnu, st) = try records(d + "/gnu.tar")
        let (fromPax, _) = try records(d + "/pax.tar.gz")
        let (fromFolder, _) = try records(d + "/tree")     // descends into the lone aclImdb/
        let (fromRoot, _) = try records(d + "/tree/aclImdb")
        XCTAssertEqual(fromGnu.count, 6)
        XCTAssertEqual(fromGnu, fromPax)
        XCTAssertEqual(fromGnu, fromFolder)
        XCTAssertEqual(fromGnu, fromRoot)
        XCTAssertEqual(st.root, "aclImdb")
        XCTAssertEqual(fromGnu[0], "{\"id\":\"test/neg/\(String(repeating: "x", count: 120))_2\",\"label\":\"neg\",\"rating\":2,\"text\":\"long name\"}\n")
        XCTAssertEqual(fromGnu[1], #"{"id":"test/pos/5_10","label":"pos","rating":10,"text":"\"Quotes\" and \\ back\tslash\n"}"# + "\n")
        XCTAssertTrue(fromGnu.contains(#"{"id":"train/neg/0_3","label":"neg","rating":3,"text":"Bad \#u{FFFD}\#u{FFFD} film"}"# + "\n"))
        XCTAssertEqual(st.invalidSequences, 2)
        XCTAssertEqual(st.invalidFiles, 1)
        XCTAssertEqual(st.counts.map { "\($0.key)=\($0.count)" }, ["test/neg=1", "test/pos=1", "train/neg=2", "train/pos=2"])
    }

    func testSelection() throws {
        let d = try makeDataset("select")
        let (train, _) = try records(d + "/gnu.tar") { $0.splits = ["train"] }
        XCTAssertEqual(train.count, 4)
        let (unsup, _) = try records(d + "/gnu.tar") { $0.splits = ["train"]; $0.includeUnlabeled = true }
        XCTAssertEqual(unsup.count, 5)
        XCTAssertTrue(unsup.contains(#"{"id":"train/unsup/0_0","text":"Unlabeled"}"# + "\n"))
        let (pos, _) = try records(d + "/pax.tar.gz") { $0.labels = ["pos"] }
        XCTAssertEqual(pos.count, 3)
        let (lim, _) = try records(d + "/tree") { $0.limitPerLabel = 1 }
        XCTAssertEqual(lim.count, 4)
        XCTAssertThrowsError(try records(d + "/gnu.tar") { $0.splits = ["valid"] }) { e in
            XCTAssertTrue("\(e)".contains("splits present under 'aclImdb/': test, train"), "\(e)")
        }
        XCTAssertThrowsError(try records(d + "/gnu.tar") { $0.root = "nope" })
    }

    func testTruncatedAndCorruptTar() throws {
        let d = try makeDataset("trunc")
        let full = try Data(contentsOf: URL(fileURLWithPath: d + "/gnu.tar"))
        // Cut inside the data of the first review: header of member k at offset h, data at h+512.
        let tar = TarReader(source: try ByteSource(path: d + "/gnu.tar"))
        var cutAt = 0
        var member = ""
        while let e = try tar.next() {
            if e.kind == .file && e.size > 3 { cutAt = e.headerOffset + 512 + 3; member = e.path; break }
        }
        XCTAssertGreaterThan(cutAt, 0)
        try full.prefix(cutAt).write(to: URL(fileURLWithPath: d + "/cut.tar"))
        XCTAssertThrowsError(try records(d + "/cut.tar")) { e in
            let m = "\(e)"
            XCTAssertTrue(m.hasPrefix("\(d)/cut.tar:\(cutAt): truncated tar archive"), m)
            XCTAssertTrue(m.contains("member '\(member)'"), m)
        }
        // Cut inside a header.
        try full.prefix(700).write(to: URL(fileURLWithPath: d + "/cuthdr.tar"))
        XCTAssertThrowsError(try records(d + "/cuthdr.tar")) { e in XCTAssertTrue("\(e)".contains("inside a member header"), "\(e)") }
        // Corrupt checksum of the second header.
        var bad = full
        bad[512 + 10] ^= 0x55
        try bad.write(to: URL(fileURLWithPath: d + "/bad.tar"))
        XCTAssertThrowsError(try records(d + "/bad.tar")) { e in XCTAssertTrue("\(e)".contains("bad header checksum"), "\(e)") }
        // Not a tar at all.
        try Data("hello world\n".utf8).write(to: URL(fileURLWithPath: d + "/text.txt"))
        XCTAssertThrowsError(try records(d + "/text.txt")) { e in XCTAssertTrue("\(e)".contains("not a tar archive"), "\(e)") }
    }

    func testEmptyArchiveIsAnError() throws {
        let d = makeTempDir("empty")
        try Data(count: 1024).write(to: URL(fileURLWithPath: d + "/empty.tar"))
        XCTAssertThrowsError(try records(d + "/empty.tar")) { e in XCTAssertTrue("\(e)".contains("no records found"), "\(e)") }
    }
}
