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
            _ = s.withUTF8 { w.append(text: UnsafeRawBufferPointer($0), labels: l >= 0 ? [l] : [], encoder: enc) }
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
        // A record longer than the file's fix_length (a damaged file) is refused on loading:
        // the padded view has room for fix_length steps only.
        let f = try SafeTensorsFile(path: path)
        var c = SafeTensorsWriter()
        for name in ["ids", "offsets"] {
            let info = try f.info(name, dtype: name == "ids" ? .i32 : .i64)
            if name == "ids" { c.add(name, shape: info.shape, int32s: try f.int32s(name)) } else { c.add(name, shape: info.shape, int64s: try f.int64s(name)) }
        }
        c.add("labels", shape: [3], int32s: try f.int32s("labels"))
        for (k, v) in f.metadata { c.setMetadata(k, k == "fix_length" ? "3" : v) }
        try c.write(to: path + ".short")
        XCTAssertThrowsError(try EncodedDataset(path: path + ".short")) {
            XCTAssertTrue("\($0)".contains("record 1 has 4 tokens, more than its fix_length 3"), "\($0)")
        }
        // A vocabulary is not a dataset.
        try vocab.save(to: Support.tempDir("ds") + "/v.bin")
        XCTAssertThrowsError(try EncodedDataset(path: Support.tempDir("ds") + "/v.bin")) { XCTAssertTrue("\($0)".contains("is a vocabulary"), "\($0)") }
    }

    /// Multi-label records: their label sets round-trip (label_sets + label_set_offsets); a file
    /// whose sets disagree with its labels, or repeat a label, is refused as corrupt.
    func testMultiLabelDatasetRoundTripAndCorruptSets() throws {
        let enc = Encoder(vocabulary: vocab)
        var w = EncodedDatasetWriter(encoder: enc)
        w.append(ids: [2, 3], labels: [0, 1])
        w.append(ids: [4], labels: [1])
        w.append(ids: [2], labels: [])
        XCTAssertTrue(w.multiLabel)
        let dir = Support.tempDir("ds-multi")
        try w.write(to: dir + "/m.bin")
        let d = try EncodedDataset(path: dir + "/m.bin")
        XCTAssertTrue(d.multiLabel)
        XCTAssertEqual((0 ..< 3).map { Array(d.labelSet($0)) }, [[0, 1], [1], []])
        XCTAssertEqual(Array(d.labels), [-2, 1, -1])
        // one label each: no label sets in the file, the sets come from the labels
        var single = EncodedDatasetWriter(encoder: enc)
        single.append(ids: [2], labels: [1])
        single.append(ids: [3], label: -1)
        try single.write(to: dir + "/s.bin")
        let s1 = try EncodedDataset(path: dir + "/s.bin")
        XCTAssertFalse(s1.multiLabel)
        XCTAssertNil(try SafeTensorsFile(path: dir + "/s.bin").tensors["label_sets"])
        XCTAssertEqual((0 ..< 2).map { Array(s1.labelSet($0)) }, [[1], []])
        // damaged copies
        let f = try SafeTensorsFile(path: dir + "/m.bin")
        func rewrite(_ name: String, sets: [Int32], labels: [Int32], dropSets: Bool = false) throws -> String {
            var c = SafeTensorsWriter()
            c.add("ids", shape: [4], int32s: try f.int32s("ids"))
            c.add("offsets", shape: [4], int64s: try f.int64s("offsets"))
            c.add("labels", shape: [3], int32s: labels)
            if !dropSets {
                c.add("label_sets", shape: [sets.count], int32s: sets)
                c.add("label_set_offsets", shape: [4], int64s: [0, 2, Int64(sets.count), Int64(sets.count)])
            }
            for (k, v) in f.metadata { c.setMetadata(k, v) }
            try c.write(to: dir + "/" + name)
            return dir + "/" + name
        }
        for (name, sets, labels, drop, what) in [("dup.bin", [Int32(1), 1, 1], [Int32(-2), 1, -1], false, "given twice"),
                                                 ("disagree.bin", [0, 1, 0], [-2, 1, -1], false, "disagree"),
                                                 ("range.bin", [0, 7, 1], [-2, 1, -1], false, "outside the labels"),
                                                 ("nosets.bin", [], [-2, 1, -1], true, "outside the labels")] {
            let path = try rewrite(name, sets: sets, labels: labels, dropSets: drop)
            XCTAssertThrowsError(try EncodedDataset(path: path), name) { e in
                XCTAssertTrue("\(e)".contains("corrupt encoded dataset") && "\(e)".contains(what), "\(name): \(e)")
            }
        }
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
