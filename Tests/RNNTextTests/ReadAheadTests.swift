import Foundation
import XCTest
import RNNCore
import RNNText

final class ReadAheadTests: XCTestCase {
    /// Lines crossing the 4 MB chunk boundaries, long lines, CRLF, no final newline: the same
    /// lines and numbers as LineReader, plain and gzip.
    func testSameLinesAsLineReader() throws {
        let dir = Support.tempDir("readahead")
        var text = ""
        var g = SystemRandomNumberGenerator()
        for i in 0..<60_000 {
            let len = i % 997 == 0 ? 70_000 : Int.random(in: 0..<300, using: &g)
            text += String(repeating: Character(UnicodeScalar(UInt8(97 + i % 26))), count: len)
            text += i % 5 == 0 ? "\r\n" : "\n"
        }
        text += "last line without newline"
        Support.write(text, to: dir + "/lines.txt")
        XCTAssertEqual(try Support.run("/bin/sh", ["-c", "gzip -kf '\(dir)/lines.txt'"]).0, 0)
        for path in [dir + "/lines.txt", dir + "/lines.txt.gz"] {
            let a = try LineReader(path: path), b = try LineReader(path: path, feed: .readAhead)
            var n = 0
            while true {
                let x = try a.next().map { Array($0) }
                let y = try b.next().map { Array($0) }
                XCTAssertEqual(x, y, "line \(n + 1) of \(path)")
                if x == nil || x != y { break }
                XCTAssertEqual(a.lineNumber, b.lineNumber)
                n += 1
            }
            XCTAssertEqual(n, 60_001)
            b.close()
        }
        // Stopping early does not hang; a truncated gzip stream is an error.
        let early = try LineReader(path: dir + "/lines.txt", feed: .readAhead)
        _ = try early.next()
        early.close()
        let gz = try Data(contentsOf: URL(fileURLWithPath: dir + "/lines.txt.gz"))
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: dir + "/cut.gz"))
        let cut = try LineReader(path: dir + "/cut.gz", feed: .readAhead)
        XCTAssertThrowsError(try { while try cut.next() != nil {} }()) { XCTAssertTrue("\($0)".contains("truncated gzip"), "\($0)") }
    }
}
