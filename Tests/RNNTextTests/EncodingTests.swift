import Foundation
import XCTest
import RNNCore
@testable import RNNText

final class EncodingTests: XCTestCase {
    let vocab: Vocabulary = {
        var b = VocabularyBuilder()
        var s = "a a a b b c"
        s.withUTF8 { b.addRecord(text: UnsafeRawBufferPointer($0), label: "pos") }
        b.addLabel("neg")
        return b.build()  // a=2 b=3 c=4
    }()

    func padded(_ e: Encoder, _ text: String) -> [Int32] {
        var out: [Int32] = []
        Encoder.appendPadded(e.encode(text), fixLength: e.fixLength, padFirst: e.padFirst, into: &out)
        return out
    }

    func testUnknownTruncationAndPadding() {
        XCTAssertEqual(Encoder(vocabulary: vocab).encode("a zzz c b a"), [2, 0, 4, 3, 2])
        let first = Encoder(vocabulary: vocab, fixLength: 3)
        XCTAssertEqual(first.encode("a zzz c b a"), [2, 0, 4])
        XCTAssertEqual(padded(first, "c b"), [4, 3, 1])
        let last = Encoder(vocabulary: vocab, fixLength: 3, truncateFirst: true, padFirst: true)
        XCTAssertEqual(last.encode("a zzz c b a"), [4, 3, 2])
        XCTAssertEqual(padded(last, "c"), [1, 1, 4])
        XCTAssertEqual(padded(Encoder(vocabulary: vocab), "c b"), [4, 3])
    }

    func testDatasetRoundTrip() throws {
        let enc = Encoder(vocabulary: vocab, fixLength: 4, padFirst: true)
        var w = EncodedDatasetWriter(encoder: enc)
        for (t, l) in [("a b c", Int32(0)), ("   ", 1), ("c c c c c c", 1), ("b", -1)] {
            var s = t
            _ = s.withUTF8 { w.append(text: UnsafeRawBufferPointer($0), label: l, encoder: enc) }
        }
        XCTAssertEqual(w.count, 3)  // the empty record is not appended
        let path = Support.tempDir("ds") + "/d.bin"
        try w.write(to: path)
        let d = try EncodedDataset(path: path)
        XCTAssertEqual(d.count, 3)
        XCTAssertEqual(Array(d.sequence(0)), [2, 3, 4])
        XCTAssertEqual((0..<3).map { d.length($0) }, [3, 4, 1])
        XCTAssertEqual(Array(d.labels), [0, 1, -1])
        XCTAssertEqual(d.fixLength, 4)
        XCTAssertTrue(d.padFirst)
        XCTAssertEqual(d.labelNames, vocab.labels)
        var p: [Int32] = []
        d.appendPadded(0, into: &p)
        XCTAssertEqual(p, [1, 2, 3, 4])
        XCTAssertNoThrow(try d.check(vocabulary: vocab, vocabularyPath: "v.bin"))
        var b = VocabularyBuilder()
        var s = "x y"
        s.withUTF8 { b.addRecord(text: UnsafeRawBufferPointer($0)) }
        XCTAssertThrowsError(try d.check(vocabulary: b.build(), vocabularyPath: "other.bin")) { XCTAssertTrue("\($0)".contains("encode again"), "\($0)") }
        // A vocabulary is not a dataset.
        try vocab.save(to: Support.tempDir("ds") + "/v.bin")
        XCTAssertThrowsError(try EncodedDataset(path: Support.tempDir("ds") + "/v.bin")) { XCTAssertTrue("\($0)".contains("is a vocabulary"), "\($0)") }
    }
}

final class JSONArrayTests: XCTestCase {
    func testIntegersLikeSwiftDescription() {
        let ids: [Int32] = [0, 1, 9, 10, 99, 100, 51955, -1, Int32.max, Int32.min]
        var out: [UInt8] = []
        Encoder.appendJSONArray(ids, into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "[" + ids.map(String.init).joined(separator: ",") + "]")
        out.removeAll()
        Encoder.appendJSONArray([Int32](), into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "[]")
    }
}
