import XCTest
@testable import RNNCore

/// LineReader: a pipe is read as data arrives, `wouldBlock` tells when it has none.
final class StreamingInputTests: XCTestCase {
    func write(_ fd: Int32, _ s: String) { _ = Array(s.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
    func str(_ l: UnsafeRawBufferPointer?) -> String? { l.map { String(decoding: $0, as: UTF8.self) } }

    func testPipeLinesArriveWithoutWaitingForMore() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        let r = try LineReader(path: "/dev/fd/\(fds[0])", feed: .streaming)
        write(fds[1], "one\r\n")
        XCTAssertFalse(r.wouldBlock)
        XCTAssertEqual(str(try r.next()), "one")  // returns although the pipe is still open
        XCTAssertTrue(r.wouldBlock)
        write(fds[1], "two\nthr")
        XCTAssertFalse(r.wouldBlock)
        XCTAssertEqual(str(try r.next()), "two")
        XCTAssertTrue(r.wouldBlock, "half a line is not a line")
        close(fds[1])
        XCTAssertFalse(r.wouldBlock, "end of input does not block")
        XCTAssertEqual(str(try r.next()), "thr")
        XCTAssertNil(try r.next())
        XCTAssertEqual(r.lineNumber, 3)
    }

    /// Makes `name` with the shell command `make` (given the path), and a reader over a closed
    /// pipe holding the first `limit` bytes of it; the pipe's read end is closed by `cleanup`.
    func gzipOnAPipe(_ name: String, _ make: (String) -> String, limit: Int = .max) throws -> (LineReader, String, () -> Void) {
        let dir = NSTemporaryDirectory() + "rnn-core-stream-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let gz = dir + "/" + name
        XCTAssertEqual(system(make(gz)), 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: gz)).prefix(limit)
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        _ = data.withUnsafeBytes { Glibc.write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        return (try LineReader(path: "/dev/fd/\(fds[0])", feed: .streaming), gz, { close(fds[0]) })
    }

    func testGzipOnAPipeWithTwoMembers() throws {
        let (r, gz, cleanup) = try gzipOnAPipe("two.gz") { "(printf 'a\\nb\\n' | gzip -c; printf 'c\\n' | gzip -c) > \($0)" }
        defer { cleanup() }
        var lines: [String] = []
        while let l = try r.next() { lines.append(String(decoding: l, as: UTF8.self)) }
        XCTAssertEqual(lines, ["a", "b", "c"])
        // A regular file goes through ByteSource (gzip too) and never blocks.
        let f = try LineReader(path: gz, feed: .streaming)
        XCTAssertFalse(f.wouldBlock)
        XCTAssertEqual(str(try f.next()), "a")
    }

    func testTruncatedGzipOnAPipeIsAnError() throws {
        let (r, _, cleanup) = try gzipOnAPipe("big.gz", { "seq 1 20000 | gzip -c > \($0)" }, limit: 3000)
        defer { cleanup() }
        XCTAssertThrowsError(try { while try r.next() != nil {} }()) { e in
            XCTAssertTrue("\(e)".contains("truncated gzip"), "\(e)")
        }
    }
}
