import XCTest
@testable import RNNCore

/// AtomicFile over devices and pipes: written in place, never replaced by a renamed file.
final class AtomicFileTests: XCTestCase {
    func testDeviceDestinationIsWrittenInPlace() throws {
        try AtomicFile.write(Array("data\n".utf8), to: "/dev/null")
        var st = stat()
        XCTAssertEqual(stat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "/dev/null must stay a character device")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "/dev").filter { $0.hasPrefix(".null.tmp-") }
        XCTAssertEqual(leftovers, [])
    }

    func testFIFODestinationReceivesTheData() throws {
        let path = NSTemporaryDirectory() + "rnn-atomic-fifo-\(getpid())"
        unlink(path)
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        defer { unlink(path) }
        let reader = open(path, O_RDONLY | O_NONBLOCK)  // so that opening for writing does not block
        defer { close(reader) }
        try AtomicFile.write(Array("through the pipe".utf8), to: path)
        var buf = [UInt8](repeating: 0, count: 64)
        let n = read(reader, &buf, 64)
        XCTAssertEqual(String(decoding: buf[0 ..< max(n, 0)], as: UTF8.self), "through the pipe")
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
    }
}
