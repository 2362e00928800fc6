import XCTest
@testable import RNNCore

final class SafeTensorsTests: XCTestCase {
    func tempPath(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "rnn-core-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + name
    }

    func testRoundTrip() throws {
        var w = SafeTensorsWriter()
        w.add("b", shape: [3], int32s: [1, -2, 3])
        w.add("a", shape: [2, 2], floats: [1, 2, 3, 4.5])
        w.add("c", shape: [1], int64s: [Int64.max])
        w.add("t", shape: [3], uint8s: [7, 8, 9])
        w.setMetadata("format", "test")
        let path = tempPath("rt.safetensors")
        try w.write(to: path)
        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(f.metadata["format"], "test")
        XCTAssertEqual(try f.floats("a", shape: [2, 2]), [1, 2, 3, 4.5])
        XCTAssertEqual(try f.int32s("b"), [1, -2, 3])
        XCTAssertEqual(try f.int64s("c"), [Int64.max])
        XCTAssertEqual(try f.uint8s("t"), [7, 8, 9])
        XCTAssertThrowsError(try f.floats("a", shape: [4])) { e in
            XCTAssertTrue("\(e)".contains("expected [4]"), "\(e)")
        }
        XCTAssertThrowsError(try f.floats("b"))
    }

    func testTruncatedAndGarbageFilesAreRefused() throws {
        var w = SafeTensorsWriter()
        w.add("a", shape: [100], floats: [Float](repeating: 1, count: 100))
        let bytes = w.serialize()
        let p1 = tempPath("trunc.safetensors")
        try AtomicFile.write(Array(bytes[0..<(bytes.count - 10)]), to: p1)
        XCTAssertThrowsError(try SafeTensorsFile(path: p1)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
        let p2 = tempPath("garbage.safetensors")
        try AtomicFile.write(Array("hello world, not a tensor file".utf8), to: p2)
        XCTAssertThrowsError(try SafeTensorsFile(path: p2))
        XCTAssertThrowsError(try SafeTensorsFile(path: tempPath("missing"))) { XCTAssertTrue("\($0)".contains("no such file")) }
    }

    func testAtomicFileLeavesNothingWhenNotCommitted() throws {
        let path = tempPath("atomic.bin")
        unlink(path)
        do {
            let f = try AtomicFile(path: path)
            try f.write([1, 2, 3])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        let dir = (path as NSString).deletingLastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("atomic.bin.tmp") }
        XCTAssertEqual(leftovers, [])
    }
}
