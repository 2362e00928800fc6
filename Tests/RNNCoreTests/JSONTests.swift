import XCTest
@testable import RNNCore

final class JSONTests: XCTestCase {
    func testParseAndWriteRoundTrip() throws {
        let v = try JSONScanner.parse(#"{"a":1,"b":[true,false,null],"c":"x\"y\u00e9\ud83d\ude00","d":-1.5e2}"#)
        XCTAssertEqual(v["a"]?.intValue, 1)
        XCTAssertEqual(v["c"]?.stringValue, "x\"yé😀")
        XCTAssertEqual(v["d"]?.doubleValue, -150)
        let again = try JSONScanner.parse(JSONWriter.string(v))
        XCTAssertEqual(v, again)
    }

    func testRejectsBadJSON() {
        for bad in ["{", "{\"a\":}", "[1,]", "{\"a\":1} x", "\"\\q\"", "01", "tru", "{\"a\" 1}", "\"a\nb\""] {
            XCTAssertThrowsError(try JSONScanner.parse(bad), bad)
        }
    }

    func testRecordSpansPassThroughFields() throws {
        let line = Array(#" {"id":"train/pos/0_9", "te\u0078t" : "Hello", "n":[1,{"x":2}]} "#.utf8)
        try line.withUnsafeBytes { p in
            let spans = try JSONRecordSpans(p)
            XCTAssertEqual(spans.members.count, 3)
            let i = try XCTUnwrap(spans.index(of: "text", in: p))
            XCTAssertEqual(i, 1)
            let v = spans.members[i].value
            XCTAssertEqual(String(decoding: UnsafeRawBufferPointer(rebasing: p[v]), as: UTF8.self), "\"Hello\"")
            XCTAssertNil(spans.index(of: "label", in: p))
        }
    }

    func testEscapingControlCharacters() {
        var out: [UInt8] = []
        JSONWriter.appendString("a\u{1}b\n\"\\é", into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #""a\u0001b\n\"\\é""#)
    }
}
