import Foundation
import XCTest
import RNNCore

/// End-to-end tests of the built rnn-encode binary.
final class EncodeCLITests: XCTestCase {
    let records = """
        {"id":"r0","label":"pos","rating":9,"text":"a great great film "}
        {"id":"r1","label":"neg","rating":2,"text":"a bad film , unseen"}
        {"id":"r2","label":"neg","rating":1,"text":"   "}
        {"id":"r3","label":"neg","rating":1,"text":"bad bad"}

        """

    /// Vocabulary of `records` (ids: <unk>0 <pad>1 bad2 a3 film4 great5 ,6 unseen7) in `dir`.
    func makeVocab(_ dir: String) throws -> String {
        Support.write(records, to: dir + "/in.jsonl")
        let r = try Support.tool("rnn-vocab", [dir + "/in.jsonl", "--min-freq", "2", "-o", dir + "/v.bin"])
        XCTAssertEqual(r.0, 0, r.2)
        return try XCTUnwrap(SafeTensorsFile(path: dir + "/v.bin").metadata["hash"])
    }

    func testJSONLinesOutput() throws {
        let dir = Support.tempDir("encode-jsonl")
        let hash = try makeVocab(dir)  // <unk> <pad> bad a film great
        let r = try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", "--fix-length", "4", "--pad-first", dir + "/in.jsonl"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.2.contains("3 records, 10 tokens kept"), r.2)
        XCTAssertTrue(r.2.contains("1 without tokens (length 0)"), r.2)
        // one output record per input record: the one without tokens has length 0 (all pads)
        let lines = r.1.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines.map { $0["id"] as! String }, ["r0", "r1", "r2", "r3"])
        XCTAssertEqual(lines.map { $0["ids"] as! [Int] }, [[3, 5, 5, 4], [3, 2, 4, 0], [1, 1, 1, 1], [1, 1, 2, 2]])
        XCTAssertEqual(lines.map { $0["length"] as! Int }, [4, 4, 0, 2])
        XCTAssertEqual(lines.map { $0["label"] as! Int }, [1, 0, 0, 0])
        XCTAssertEqual(lines.map { $0["rating"] as! Int }, [9, 2, 1, 1])
        XCTAssertTrue(lines.allSatisfy { $0["vocab"] as? String == hash && $0["text"] == nil })
        // Without --fix-length: true lengths, no pads; --truncate-first keeps the last tokens.
        let r2 = try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", dir + "/in.jsonl"])
        XCTAssertTrue(r2.1.contains("\"ids\":[3,2,4,0,0],\"length\":5"), r2.1)
        let r3 = try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", "--fix-length", "2", "--truncate-first", dir + "/in.jsonl"])
        XCTAssertTrue(r3.1.contains("\"ids\":[0,0],\"length\":2"), r3.1)
        XCTAssertTrue(r3.1.contains("\"ids\":[5,4],\"length\":2"), r3.1)
        // Plain text from stdin: no label member.
        let r4 = try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin"], stdin: "bad film\n")
        XCTAssertEqual(r4.1, "{\"ids\":[2,4],\"length\":2,\"vocab\":\"\(hash)\"}\n")
    }

    func testBinaryDataset() throws {
        let dir = Support.tempDir("encode-bin")
        let hash = try makeVocab(dir)
        let r = try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", "--fix-length", "4", "--pad-first", dir + "/in.jsonl", "-o", dir + "/d.bin"])
        XCTAssertEqual(r.0, 0, r.2)
        let f = try SafeTensorsFile(path: dir + "/d.bin")
        XCTAssertEqual(try f.int32s("ids"), [3, 5, 5, 4, 3, 2, 4, 0, 2, 2])  // real tokens only
        XCTAssertEqual(try f.int64s("offsets"), [0, 4, 8, 10])
        XCTAssertEqual(try f.int32s("labels"), [1, 0, 0])
        let m = f.metadata
        XCTAssertEqual(m["format"], "rnn-encoded")
        XCTAssertEqual(m["version"], "1")
        XCTAssertEqual(m["vocab_hash"], hash)
        XCTAssertEqual(m["fix_length"], "4")
        XCTAssertEqual(m["pad_first"], "true")
        XCTAssertEqual(m["count"], "3")
        XCTAssertEqual(m["labels"], "[\"neg\",\"pos\"]")
    }

    func testBadInputs() throws {
        let dir = Support.tempDir("encode-bad")
        _ = try makeVocab(dir)
        let out = dir + "/d.bin"
        // Unknown label: names the line; no partial output.
        Support.write("{\"label\":\"neg\",\"text\":\"a\"}\n{\"label\":\"maybe\",\"text\":\"a\"}\n", to: dir + "/lab.jsonl")
        Support.assertFails(try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", dir + "/lab.jsonl", "-o", out]),
                            tool: "rnn-encode", [dir + "/lab.jsonl:2:", "label \"maybe\"", "neg, pos"], noFile: out)
        // A dataset given as the vocabulary.
        XCTAssertEqual(try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", dir + "/in.jsonl", "-o", dir + "/ds.bin"]).0, 0)
        Support.assertFails(try Support.tool("rnn-encode", ["--vocab", dir + "/ds.bin", dir + "/in.jsonl", "-o", out]),
                            tool: "rnn-encode", [dir + "/ds.bin", "encoded dataset", "not a vocabulary", "rnn-vocab -o"], noFile: out)
        // Another version, a corrupted file, a missing file, a non-safetensors file.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/v.bin")))
        let header = String(decoding: bytes[8..<(8 + Int(bytes[0]) + 256 * Int(bytes[1]))], as: UTF8.self)
        let v2 = header.replacingOccurrences(of: "\"version\":\"1\"", with: "\"version\":\"9\"")
        XCTAssertNotEqual(v2, header)
        Support.write("", to: dir + "/v9.bin")
        try Data(bytes[0..<8] + Array(v2.utf8) + bytes[(8 + header.utf8.count)...]).write(to: URL(fileURLWithPath: dir + "/v9.bin"))
        Support.assertFails(try Support.tool("rnn-encode", ["--vocab", dir + "/v9.bin", dir + "/in.jsonl", "-o", out]),
                            tool: "rnn-encode", [dir + "/v9.bin", "version 9", "rnn-vocab"], noFile: out)
        bytes[bytes.count - 3] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/bad.bin"))
        Support.assertFails(try Support.tool("rnn-encode", ["--vocab", dir + "/bad.bin", dir + "/in.jsonl", "-o", out]),
                            tool: "rnn-encode", [dir + "/bad.bin", "corrupt vocabulary", "rnn-vocab"], noFile: out)
        Support.assertFails(try Support.tool("rnn-encode", ["--vocab", dir + "/none.bin", dir + "/in.jsonl", "-o", out]),
                            tool: "rnn-encode", [dir + "/none.bin", "no such file"], noFile: out)
        Support.assertFails(try Support.tool("rnn-encode", ["--vocab", dir + "/in.jsonl", dir + "/in.jsonl", "-o", out]),
                            tool: "rnn-encode", [dir + "/in.jsonl", "not a vocabulary"], noFile: out)
        // Input problems.
        Support.assertFails(try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", dir + "/nope.jsonl", "-o", out]),
                            tool: "rnn-encode", [dir + "/nope.jsonl", "no such file"], noFile: out)
        Support.write("", to: dir + "/empty.jsonl")
        Support.assertFails(try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", dir + "/empty.jsonl", "-o", out]),
                            tool: "rnn-encode", ["no records"], noFile: out)
        // a filter: an empty input gives an empty output
        let e = try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", dir + "/empty.jsonl"])
        XCTAssertEqual(e.0, 0, e.2)
        XCTAssertEqual(e.1, "")
        Support.write("{\"text\":\"a\"}\nnot json\n", to: dir + "/mixed.jsonl")
        Support.assertFails(try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", dir + "/mixed.jsonl", "-o", out]),
                            tool: "rnn-encode", [dir + "/mixed.jsonl:2:", "not a JSON object"], noFile: out)
        Support.write("{\"text\":\"a\"}\n{\"id\":\"x\"}\n", to: dir + "/notext.jsonl")
        Support.assertFails(try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", dir + "/notext.jsonl", "-o", out]),
                            tool: "rnn-encode", [dir + "/notext.jsonl:2:", "no \"text\""], noFile: out)
    }

    /// The binary dataset and the JSON Lines output of the 25,000 IMDB training reviews agree.
    func testIMDBBinaryAgreesWithJSONLines() throws {
        guard let train = Support.imdbTrain else { throw XCTSkip("IMDB archive not available") }
        let dir = Support.tempDir("encode-imdb")
        XCTAssertEqual(try Support.tool("rnn-vocab", [train, "--min-freq", "2", "-o", dir + "/v.bin"]).0, 0)
        let b = try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", "--fix-length", "500", "--pad-first", train, "-o", dir + "/train.bin"])
        XCTAssertEqual(b.0, 0, b.2)
        let j = try Support.tool("rnn-encode", ["--vocab", dir + "/v.bin", train])
        XCTAssertEqual(j.0, 0, j.2)
        let f = try SafeTensorsFile(path: dir + "/train.bin")
        let ids = try f.int32s("ids"), offsets = try f.int64s("offsets"), labels = try f.int32s("labels")
        XCTAssertEqual(labels.count, 25_000)
        XCTAssertEqual(labels.filter { $0 == 1 }.count, 12_500)
        var r = 0
        for line in j.1.split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let full = o["ids"] as! [Int]
            let kept = Array(full.prefix(500)).map(Int32.init)
            XCTAssertEqual(Array(ids[Int(offsets[r])..<Int(offsets[r + 1])]), kept, "record \(r)")
            XCTAssertEqual(Int32(o["label"] as! Int), labels[r])
            r += 1
        }
        XCTAssertEqual(r, 25_000)
    }
}
