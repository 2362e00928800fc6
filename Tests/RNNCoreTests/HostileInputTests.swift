import XCTest
@testable import RNNCore

/// Issue 11, items 1, 2 and 10: readers validate before they trust. Every case here used to trap,
/// allocate by a claimed size, or silently lose data.
final class HostileInputTests: XCTestCase {
    lazy var dir: String = {
        let d = NSTemporaryDirectory() + "rnn-core-hostile-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    func file(_ name: String, _ bytes: [UInt8]) -> String {
        let p = dir + "/" + name
        FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }

    func safetensors(_ header: String, data: [UInt8] = []) -> [UInt8] {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var n = UInt64(h.count).littleEndian
        return withUnsafeBytes(of: &n) { Array($0) } + h + data
    }

    func assertRefused(_ bytes: [UInt8], _ fragment: String, file f: StaticString = #filePath, line: UInt = #line) {
        let p = file("t.safetensors", bytes)
        XCTAssertThrowsError(try SafeTensorsFile(path: p), file: f, line: line) { e in
            XCTAssertTrue("\(e)".contains(fragment), "'\(e)' lacks '\(fragment)'", file: f, line: line)
            XCTAssertTrue("\(e)".hasPrefix(p), "'\(e)' does not name the file", file: f, line: line)
        }
    }

    func testSafeTensorsHeaderLengthsAreCheckedWithoutTrapping() {
        for len: UInt64 in [1 << 63, UInt64.max, 1 << 62, 1_000_000, 0, 1] {
            var n = len.littleEndian
            let bytes = withUnsafeBytes(of: &n) { Array($0) } + Array("{}      ".utf8)
            assertRefused(bytes, "bad header length")
        }
    }

    func testSafeTensorsSizesOffsetsAndAliasing() {
        // element count overflows Int
        assertRefused(safetensors(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}"#), "tensor a")
        // byte size overflows (count * 8)
        assertRefused(safetensors(#"{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}"#), "tensor a")
        // offsets out of range, reversed, negative, not integers
        assertRefused(safetensors(#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#, data: [1, 2]), "truncated")
        assertRefused(safetensors(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}}"#, data: [1, 2]), "tensor a")
        assertRefused(safetensors(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}"#, data: [1, 2]), "tensor a")
        assertRefused(safetensors(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0.5,1.5]}}"#, data: [1, 2]), "tensor a")
        assertRefused(safetensors(#"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#, data: [1, 2]), "bad shape")
        assertRefused(safetensors(#"{"a":{"dtype":"X9","shape":[1],"data_offsets":[0,1]}}"#, data: [1, 2]), "bad entry")
        // aliased and overlapping tensors
        assertRefused(safetensors(#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#, data: [1, 2]), "overlap")
        assertRefused(safetensors(#"{"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#, data: [1, 2, 3, 4]), "overlap")
        // the same tensor name twice, metadata that is not a string
        assertRefused(safetensors(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: [1, 2]), "duplicate key")
        assertRefused(safetensors(#"{"__metadata__":{"k":5}}"#), "not a string")
        // empty tensors may share an offset; adjacent ones are fine
        let ok = file("ok.safetensors", safetensors(#"{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#, data: [1, 2, 3, 4]))
        XCTAssertEqual(try SafeTensorsFile(path: ok).uint8s("b"), [3, 4])
    }

    func testDuplicateJSONKeysAreAnErrorEverywhere() throws {
        XCTAssertThrowsError(try JSONScanner.parse(#"{"a":1,"a":2}"#)) { XCTAssertTrue("\($0)".contains("duplicate key \"a\""), "\($0)") }
        XCTAssertThrowsError(try JSONScanner.parse(#"{"x":{"te\u0078t":1,"text":2}}"#))
        let many = "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k7\":0}"
        XCTAssertThrowsError(try JSONScanner.parse(many))
        XCTAssertNoThrow(try JSONScanner.parse(#"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#))
        for line in [#"{"text":"a","text":"b"}"#, #"{"text":"a","te\u0078t":"b"}"#, #"{"label":"pos","text":"x","label":"neg"}"#] {
            XCTAssertThrowsError(try Array(line.utf8).withUnsafeBytes { try JSONRecordSpans($0) }, line) {
                XCTAssertTrue("\($0)".contains("duplicate key"), "\($0)")
            }
        }
        XCTAssertNoThrow(try Array(#"{"text":"a","label":"b","id":"c"}"#.utf8).withUnsafeBytes { try JSONRecordSpans($0) })
    }

    func gzip(_ text: String) -> [UInt8] {
        let p = file("g.txt", Array(text.utf8))
        XCTAssertEqual(system("gzip -nf \(p)"), 0)
        return Array(FileManager.default.contents(atPath: p + ".gz")!)
    }

    func readAll(_ bytes: [UInt8], _ name: String = "t.gz") throws -> String {
        String(decoding: try ByteSource(path: file(name, bytes)).readAll(), as: UTF8.self)
    }

    func testGzipIsReadLikeZcat() throws {
        let a = gzip("one\n"), b = gzip("two\n")
        XCTAssertEqual(try readAll(a + b), "one\ntwo\n", "every member is read")
        XCTAssertEqual(try readAll(Array("plain\n".utf8)), "plain\n")
        // trailing garbage after a member: an error naming the file and the offset
        XCTAssertThrowsError(try readAll(a + Array("{\"text\":\"x\"}\n".utf8))) { e in
            XCTAssertTrue("\(e)".contains("t.gz: trailing data after the gzip stream at compressed byte \(a.count)"), "\(e)")
        }
        XCTAssertThrowsError(try readAll(a + [0x1F])) { XCTAssertTrue("\($0)".contains("trailing data"), "\($0)") }
        // bad CRC, bad length, missing trailer
        var crc = a; crc[crc.count - 8] ^= 1
        XCTAssertThrowsError(try readAll(crc)) { e in
            XCTAssertTrue("\(e)".contains("t.gz: corrupt gzip data (incorrect data check)"), "\(e)")
            XCTAssertFalse("\(e)".contains("<fd:"), "\(e)")
        }
        var len = a; len[len.count - 1] ^= 1
        XCTAssertThrowsError(try readAll(len)) { XCTAssertTrue("\($0)".contains("incorrect length check"), "\($0)") }
        XCTAssertThrowsError(try readAll(Array(a.dropLast(8)))) { XCTAssertTrue("\($0)".contains("truncated gzip stream"), "\($0)") }
        XCTAssertThrowsError(try readAll(a + Array(b.dropLast(3)))) { e in
            XCTAssertTrue("\(e)".contains("member starting at compressed byte \(a.count)"), "\(e)")
        }
    }

    func testLinesLongerThanTheLimitAreAnError() throws {
        let p = dir + "/long.txt"
        XCTAssertEqual(system("head -c \(InputLimits.maxLineBytes + 10) /dev/zero > \(p)"), 0)
        let r = try LineReader(path: p)
        XCTAssertThrowsError(try r.next()) { XCTAssertTrue("\($0)".contains("long.txt:1: line longer than 64 MiB"), "\($0)") }
        let s = try LineReader(path: p, feed: .streaming)
        XCTAssertThrowsError(try s.next()) { XCTAssertTrue("\($0)".contains("line longer than"), "\($0)") }
    }
}
