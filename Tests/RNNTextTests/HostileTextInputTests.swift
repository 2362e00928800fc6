import Foundation
import XCTest
import RNNCore
@testable import RNNText

/// Issue 11, items 1, 2, 3, 5 and 10 for the text readers: tar sizes are checked against what
/// remains, vectors must be finite and of a bounded dimension, vocabularies and datasets with
/// duplicate or out-of-range content are refused, a BOM does not turn JSONL into text.
final class HostileTextInputTests: XCTestCase {
    /// A one-member tar made by Python's tarfile; `edit` (Python code) may change `raw` (the bytes)
    /// or pass pax headers.
    func tar(_ dir: String, _ name: String, pax: String = "None", edit: String = "") throws -> String {
        let path = dir + "/" + name
        let script = """
        import io, sys, tarfile, gzip
        bio = io.BytesIO()
        pax = \(pax)
        t = tarfile.open(fileobj=bio, mode='w', format=tarfile.PAX_FORMAT if pax else tarfile.GNU_FORMAT)
        ti = tarfile.TarInfo('aclImdb/train/pos/1_1.txt'); ti.size = 5
        if pax: ti.pax_headers = pax
        t.addfile(ti, io.BytesIO(b'hello')); t.close()
        raw = bytearray(bio.getvalue())
        def fix():
            raw[148:156] = b' ' * 8; raw[148:156] = b'%06o\\0 ' % sum(raw[:512])
        \(edit)
        out = bytes(raw)
        open(sys.argv[1], 'wb').write(gzip.compress(out) if sys.argv[1].endswith('.gz') else out)
        """
        Support.write(script, to: dir + "/mk.py")
        XCTAssertEqual(system("python3 \(dir)/mk.py \(path)"), 0)
        return path
    }

    func corpusError(_ path: String) -> String {
        do {
            try CorpusReader(path: path, options: CorpusOptions()).forEach { _ in }
            return "no error"
        } catch { return "\(error)" }
    }

    func testTarSizesAreCheckedAgainstWhatRemains() throws {
        let d = makeTempDir("hostile-tar")
        for v in ["'-5'", "str(2**62)", "'12abc'", "str(2**70)"] {
            let p = try tar(d, "pax.tar", pax: "{'size': \(v)}")
            XCTAssertTrue(corpusError(p).contains("bad pax extended header"), corpusError(p))
        }
        // a 31 KB archive whose header claims an 8 GB member: an error at once, nothing zero-filled
        let claim = "raw[124:136] = b'%011o\\0' % (8 * 2**30 - 1); fix(); raw = raw[:31 * 1024]"
        let plain = try tar(d, "claim.tar", edit: claim)
        XCTAssertTrue(corpusError(plain).contains("truncated tar archive: the data ends inside member 'aclImdb/train/pos/1_1.txt'"), corpusError(plain))
        let gz = try tar(d, "claim.tar.gz", edit: claim)
        XCTAssertTrue(corpusError(gz).contains("more than the limit of 1073741824 for one record"), corpusError(gz))
        // a size just below what the gzip stream holds: read in chunks, then "truncated"
        let near = try tar(d, "near.tar.gz", edit: "raw[124:136] = b'%011o\\0' % (1 << 29); fix(); raw = raw[:31 * 1024]")
        XCTAssertTrue(corpusError(near).contains("truncated tar archive"), corpusError(near))
        // base-256 size field with every bit set
        let b256 = try tar(d, "b256.tar", edit: "raw[124:136] = b'\\xff' * 12; fix()")
        XCTAssertTrue(corpusError(b256).contains("bad size field"), corpusError(b256))
    }

    func vocab(_ words: String, labels: [String] = []) -> Vocabulary {
        var b = VocabularyBuilder()
        var s = words
        s.withUTF8 { b.addRecord(text: UnsafeRawBufferPointer($0)) }
        for l in labels { b.addLabel(l) }
        return b.build()
    }

    func testNonFiniteAndHugeVectorsAreRefused() throws {
        let d = makeTempDir("hostile-vectors")
        let v = vocab("the cat")
        for bad in ["nan", "inf", "-inf", "1e400", "-1e39"] {
            Support.write("the 0.5 0.25\ncat 0.1 \(bad)\n", to: d + "/v.txt")
            XCTAssertThrowsError(try PretrainedVectors.load(path: d + "/v.txt", for: v)) { e in
                XCTAssertTrue("\(e)".hasPrefix(d + "/v.txt:2: value 2 '\(bad)' is not a finite number"), "\(e)")
            }
        }
        Support.write("the " + Array(repeating: "0.1", count: 100_000).joined(separator: " ") + "\n", to: d + "/wide.txt")
        XCTAssertThrowsError(try PretrainedVectors.load(path: d + "/wide.txt", for: v)) { e in
            XCTAssertTrue("\(e)".contains("wide.txt:1: vectors of dimension 100000 exceed the limit of 16384"), "\(e)")
        }
        Support.write("2 99999999\n", to: d + "/hdr.txt")
        XCTAssertThrowsError(try PretrainedVectors.load(path: d + "/hdr.txt", for: v)) { XCTAssertTrue("\($0)".contains("exceed the limit"), "\($0)") }
    }

    /// Rewrites a saved vocabulary with `edit` applied to its tensors and the hash recomputed over
    /// what the loader will see, so the check under test (not the hash) must refuse it.
    func testDuplicateLabelsTokensAndBadVectorsAreRefused() throws {
        let d = makeTempDir("hostile-vocab")
        let good = vocab("a b b c", labels: ["pos", "neg"])
        let dup = Vocabulary(kind: .words, tokens: good.tokens, counts: good.counts, labels: ["pos", "pos"], labelCounts: [1, 1])
        try dup.save(to: d + "/dup.bin")
        XCTAssertThrowsError(try Vocabulary.load(path: d + "/dup.bin")) { XCTAssertTrue("\($0)".contains("duplicate label 'pos'"), "\($0)") }
        var vec = [Float](repeating: 0.5, count: good.count * 2)
        vec[5] = .nan
        try good.withVectors(vec, dim: 2).save(to: d + "/nan.bin")
        XCTAssertThrowsError(try Vocabulary.load(path: d + "/nan.bin")) { XCTAssertTrue("\($0)".contains("only finite values"), "\($0)") }
        // duplicate tokens: write the token bytes by hand
        var w = SafeTensorsWriter()
        w.add("tokens", shape: [12], uint8s: Array("<unk><pad>aa".utf8))
        w.add("token_offsets", shape: [5], int64s: [0, 5, 10, 11, 12])
        w.add("counts", shape: [4], int64s: [0, 0, 1, 1])
        w.add("labels", shape: [0], uint8s: [])
        w.add("label_offsets", shape: [1], int64s: [0])
        w.add("label_counts", shape: [0], int64s: [])
        for (k, v) in [("format", "rnn-vocab"), ("version", "1"), ("kind", "words"), ("hash", "x")] { w.setMetadata(k, v) }
        try w.write(to: d + "/duptok.bin")
        XCTAssertThrowsError(try Vocabulary.load(path: d + "/duptok.bin")) { XCTAssertTrue("\($0)".contains("duplicate tokens"), "\($0)") }
    }

    func testEncodedDatasetMetadataIsRangeChecked() throws {
        let d = makeTempDir("hostile-dataset")
        let v = vocab("a b c", labels: ["pos", "neg"])
        var w = EncodedDatasetWriter(encoder: Encoder(vocabulary: v, fixLength: 4))
        w.append(ids: [2, 3] as [Int32], label: 0)
        try w.write(to: d + "/ok.bin")
        XCTAssertNoThrow(try EncodedDataset(path: d + "/ok.bin"))
        let f = try SafeTensorsFile(path: d + "/ok.bin")
        for (key, value, fragment) in [("fix_length", "1000000000000", "fix_length = 1000000000000 exceeds the limit"),
                                       ("vocab_size", "-3", "vocab_size = -3 is out of range"),
                                       ("labels", "[\"pos\",\"pos\"]", "labels must be distinct strings"),
                                       ("labels", "[5,[\"pos\"],true]", "labels must be distinct strings"),
                                       ("labels", "{", "labels is not a JSON array")] {
            var w2 = SafeTensorsWriter()
            w2.add("ids", shape: [2], int32s: try f.int32s("ids"))
            w2.add("offsets", shape: [2], int64s: try f.int64s("offsets"))
            w2.add("labels", shape: [1], int32s: try f.int32s("labels"))
            for (k, val) in f.metadata { w2.setMetadata(k, k == key ? value : val) }
            try w2.write(to: d + "/bad.bin")
            XCTAssertThrowsError(try EncodedDataset(path: d + "/bad.bin")) { XCTAssertTrue("\($0)".contains(fragment), "\($0)") }
        }
    }

    func testJSONLinesWithAByteOrderMarkAreStillJSONLines() throws {
        let d = makeTempDir("hostile-bom")
        FileManager.default.createFile(atPath: d + "/bom.jsonl", contents: Data([0xEF, 0xBB, 0xBF] + Array("{\"text\":\"hi\",\"label\":\"pos\"}\n{\"text\":\"yo\"}\n".utf8)))
        var texts: [String] = []
        try RecordReader(paths: [d + "/bom.jsonl"]).forEach { r in
            XCTAssertTrue(r.isJSON)
            texts.append(String(decoding: r.text(), as: UTF8.self))
        }
        XCTAssertEqual(texts, ["hi", "yo"])
    }
}
