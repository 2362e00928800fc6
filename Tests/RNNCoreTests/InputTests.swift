import XCTest
@testable import RNNCore

final class InputTests: XCTestCase {
    func tempPath(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "rnn-core-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + name
    }

    func lines(_ path: String) throws -> [String] {
        let r = try LineReader(path: path)
        var out: [String] = []
        while let l = try r.next() { out.append(String(decoding: l, as: UTF8.self)) }
        return out
    }

    func testPlainAndGzipLines() throws {
        let text = "one\r\ntwo\n\nthree"
        let p = tempPath("plain.txt")
        try AtomicFile.write(Array(text.utf8), to: p)
        XCTAssertEqual(try lines(p), ["one", "two", "", "three"])
        let gz = tempPath("plain.txt.gz")
        unlink(gz)
        XCTAssertEqual(system("gzip -c \(p) > \(gz)"), 0)
        XCTAssertEqual(try lines(gz), ["one", "two", "", "three"])
    }

    /// keepCR (rnn-sample --score scores the bytes as they are) and whether the last line had a
    /// newline, for every feed.
    func testKeepCRAndLastLineWithoutNewline() throws {
        let p = tempPath("crlf.txt")
        try AtomicFile.write(Array("a\r\nb\n\r\nc\r".utf8), to: p)
        for feed in [LineReader.Feed.whole, .streaming, .readAhead] {
            for keep in [false, true] {
                let r = try LineReader(path: p, feed: feed, keepCR: keep)
                var got: [String] = [], ends: [Bool] = []
                while let l = try r.next() { got.append(String(decoding: l, as: UTF8.self)); ends.append(r.lastLineHadNewline) }
                XCTAssertEqual(got, keep ? ["a\r", "b", "\r", "c\r"] : ["a", "b", "", "c"], "\(feed) keepCR \(keep)")
                XCTAssertEqual(ends, [true, true, true, false], "\(feed)")
                XCTAssertEqual(r.lineNumber, 4)
            }
        }
    }

    func testLongLinesGrowTheBuffer() throws {
        let long = String(repeating: "x", count: 3_000_000)
        let p = tempPath("long.txt")
        try AtomicFile.write(Array((long + "\nshort\n").utf8), to: p)
        let got = try lines(p)
        XCTAssertEqual(got.count, 2)
        XCTAssertEqual(got[0].count, 3_000_000)
    }

    func testTruncatedAndCorruptGzip() throws {
        var text = ""
        for i in 0..<20000 { text += "line \(i) with some words\n" }
        let p = tempPath("big.txt")
        try AtomicFile.write(Array(text.utf8), to: p)
        let gz = tempPath("big.txt.gz")
        unlink(gz)
        XCTAssertEqual(system("gzip -c \(p) > \(gz)"), 0)
        let full = try XCTUnwrap(FileManager.default.contents(atPath: gz))
        let trunc = tempPath("trunc.txt.gz")
        try AtomicFile.write(Array(full.prefix(full.count / 2)), to: trunc)
        XCTAssertThrowsError(try lines(trunc)) { XCTAssertTrue("\($0)".contains("truncated gzip"), "\($0)") }
        var bad = Array(full)
        for i in 100..<200 { bad[i] ^= 0x5A }
        let corrupt = tempPath("corrupt.txt.gz")
        try AtomicFile.write(bad, to: corrupt)
        XCTAssertThrowsError(try lines(corrupt)) { XCTAssertTrue("\($0)".contains("gzip"), "\($0)") }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try LineReader(path: "/nonexistent/x.txt")) {
            XCTAssertEqual("\($0)", "/nonexistent/x.txt: no such file")
        }
    }
}
