import Foundation
import XCTest
import RNNCore
@testable import RNNText

final class VocabTests: XCTestCase {
    func build(_ texts: [String], labels: [String?] = [], kind: Vocabulary.Kind = .words, minFreq: Int = 1, maxSize: Int? = nil) -> Vocabulary {
        var b = VocabularyBuilder(kind: kind)
        for (i, t) in texts.enumerated() {
            var s = t
            s.withUTF8 { b.addRecord(text: UnsafeRawBufferPointer($0), label: i < labels.count ? labels[i] : nil) }
        }
        return b.build(minFreq: minFreq, maxSize: maxSize)
    }

    func tokens(_ v: Vocabulary) -> [String] { (0..<v.count).map { v.token($0) } }

    func testTokenizerMatchesPythonSplit() throws {
        let sample = "  a b\tc\n\nd\u{0B}e\u{0C}f\r g\u{1C}h\u{1F}i\u{85}j\u{A0}k\u{1680}l\u{2000}m\u{200A}n\u{200B}o\u{2028}p\u{2029}q\u{202F}r\u{205F}s\u{3000}t\u{FEFF}u é  日本 don't  "
        let mine = Tokenizer.words(sample)
        let dir = Support.tempDir("tok")
        Support.write(sample, to: dir + "/s.txt")
        let (st, out, err) = try Support.run("/usr/bin/env", ["python3", "-c", "import json,sys; print(json.dumps(open(sys.argv[1],encoding='utf-8',newline='').read().split()))", dir + "/s.txt"])
        XCTAssertEqual(st, 0, err)
        let py = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String]
        XCTAssertEqual(mine, py)
        XCTAssertTrue(mine.contains("n\u{200B}o"))  // U+200B is not whitespace for Python either
    }

    func testOrderCountThenCodePoint() {
        // counts: the 3, b 2, a 2, é 2, z 2, <unk> 2 (a special seen in text), c 1
        let v = build(["the the the b b a a", "z z é é c <unk> <unk>"])
        XCTAssertEqual(tokens(v), ["<unk>", "<pad>", "the", "a", "b", "z", "é", "c"])
        XCTAssertEqual(v.counts, [0, 0, 3, 2, 2, 2, 2, 1])
        let v2 = build(["the the the b b a a", "z z é é c <unk> <unk>"], minFreq: 2, maxSize: 3)
        XCTAssertEqual(tokens(v2), ["<unk>", "<pad>", "the", "a", "b"])
        XCTAssertEqual(v2.id("a"), 3)
        XCTAssertEqual(v2.id("z"), Vocabulary.unkID)
    }

    func testLabelsOrderedLikeTokens() {
        let v = build(["x", "y", "z", "w"], labels: ["pos", "neg", "pos", "neg"])
        XCTAssertEqual(v.labels, ["neg", "pos"])
        XCTAssertEqual(v.labelID("pos"), 1)
        let v2 = build(["x", "y", "z"], labels: ["b", "a", "b"])
        XCTAssertEqual(v2.labels, ["b", "a"])
    }

    func testCharacterVocabulary() {
        let v = build(["abba", "é\u{1F600}a"], kind: .chars)
        XCTAssertEqual(tokens(v), ["<unk>", "<pad>", "a", "b", "é", "\u{1F600}"])
        let e = Encoder(vocabulary: v)
        XCTAssertEqual(e.encode("ab?"), [2, 3, 0])
    }

    func testSaveLoadRoundTripAndHash() throws {
        let v = build(["the cat sat", "the dog"], labels: ["neg", "pos"]).withVectors([Float](repeating: 0.5, count: 6 * 3), dim: 3)
        let path = Support.tempDir("rt") + "/v.bin"
        try v.save(to: path)
        let w = try Vocabulary.load(path: path)
        XCTAssertEqual(tokens(w), tokens(v))
        XCTAssertEqual(w.labels, ["neg", "pos"])
        XCTAssertEqual(w.dim, 3)
        XCTAssertEqual(w.vectors, v.vectors)
        XCTAssertEqual(w.hash, v.hash)
        XCTAssertEqual(w.counts, v.counts)
        // The hash covers tokens, labels and vectors.
        XCTAssertNotEqual(build(["the cat sat", "the dog"], labels: ["neg", "pos"]).hash, v.hash)
        XCTAssertNotEqual(build(["the cat sat", "the dog"], labels: ["neg", "xx"]).withVectors(v.vectors, dim: 3).hash, v.hash)
        XCTAssertNotEqual(v.withVectors([Float](repeating: 0.25, count: 18), dim: 3).hash, v.hash)
    }

    func testCorruptVocabularyIsRefused() throws {
        let v = build(["alpha beta gamma", "beta"], labels: ["x", "y"])
        let path = Support.tempDir("corrupt") + "/v.bin"
        try v.save(to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 20] ^= 0x55  // inside the data section
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Vocabulary.load(path: path)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.hasPrefix(path + ": corrupt vocabulary"), m)
            XCTAssertTrue(m.contains("rnn-vocab"), m)
        }
        try Data(bytes[0..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Vocabulary.load(path: path)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
    }

    func testOtherVersionAndOtherKindAreRefused() throws {
        let dir = Support.tempDir("kinds")
        var w = SafeTensorsWriter()
        w.add("tokens", shape: [0], uint8s: [])
        w.setMetadata("format", "rnn-vocab")
        w.setMetadata("version", "2")
        try w.write(to: dir + "/v2.bin")
        XCTAssertThrowsError(try Vocabulary.load(path: dir + "/v2.bin")) { e in
            XCTAssertTrue("\(e)".contains("version 2 is not supported"), "\(e)")
            XCTAssertTrue("\(e)".contains("rnn-vocab"), "\(e)")
        }
        let v = build(["a b"])
        var dw = EncodedDatasetWriter(encoder: Encoder(vocabulary: v))
        dw.append(ids: [2, 3], label: -1)
        try dw.write(to: dir + "/d.bin")
        XCTAssertThrowsError(try Vocabulary.load(path: dir + "/d.bin")) { XCTAssertTrue("\($0)".contains("encoded dataset"), "\($0)") }
        XCTAssertThrowsError(try Vocabulary.load(path: dir + "/missing.bin")) { XCTAssertTrue("\($0)".contains("no such file"), "\($0)") }
    }

    /// The complete token list at min-freq 2 equals a Python re-implementation of torchtext's
    /// legacy build_vocab on the 25,000 cleaned IMDB training reviews.
    func testMatchesLegacyTorchtextOnIMDBTrain() throws {
        guard let train = Support.imdbTrain else { throw XCTSkip("IMDB archive not available") }
        let (st, out, err) = try Support.run("/bin/sh", ["-c", "python3 '\(Support.root)/scripts/reference/legacy_vocab.py' --min-freq 2 < '\(train)'"])
        XCTAssertEqual(st, 0, err)
        var lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let cut = try XCTUnwrap(lines.firstIndex(of: "#labels"))
        let refTokens = Array(lines[..<cut]), refLabels = Array(lines[(cut + 1)...])
        let v = try VocabularyBuilder.count(RecordReader(paths: [train]), kind: .words).build(minFreq: 2)
        let mine = tokens(v)
        XCTAssertEqual(mine.count, refTokens.count)
        if let i = (0..<min(mine.count, refTokens.count)).first(where: { mine[$0] != refTokens[$0] }) {
            XCTFail("first difference at id \(i): \(mine[i]) vs reference \(refTokens[i])")
        }
        XCTAssertEqual(v.labels, refLabels)
        XCTAssertEqual(v.labels, ["neg", "pos"])
    }
}
