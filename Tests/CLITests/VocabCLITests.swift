import Foundation
import XCTest
import RNNCore

/// End-to-end tests of the built rnn-vocab binary.
final class VocabCLITests: XCTestCase {
    let records = """
        {"id":"train/pos/0_9","label":"pos","rating":9,"text":"a great great film "}
        {"id":"train/neg/1_2","label":"neg","rating":2,"text":"a bad film"}
        {"id":"train/neg/2_1","label":"neg","rating":1,"text":"bad bad"}

        """

    func testBuildsVocabularyWithLabelsAndSummary() throws {
        let dir = Support.tempDir("vocab-ok")
        Support.write(records, to: dir + "/in.jsonl")
        let r = try Support.tool("rnn-vocab", [dir + "/in.jsonl", "-o", dir + "/v.bin"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.2.contains("3 records, 9 tokens, 4 distinct"), r.2)
        XCTAssertTrue(r.2.contains("neg=0 (2), pos=1 (1)"), r.2)
        let f = try SafeTensorsFile(path: dir + "/v.bin")
        XCTAssertEqual(try Support.strings(f, "tokens", "token_offsets"), ["<unk>", "<pad>", "bad", "a", "film", "great"])
        XCTAssertEqual(try Support.strings(f, "labels", "label_offsets"), ["neg", "pos"])
        XCTAssertEqual(try f.int64s("counts"), [0, 0, 3, 2, 2, 2])
        XCTAssertEqual(f.metadata["format"], "rnn-vocab")
        XCTAssertEqual(f.metadata["version"], "1")
        XCTAssertEqual(f.metadata["hash"]?.count, 16)
        XCTAssertNil(f.tensors["vectors"])
        // min-freq / max-size, plain text from stdin.
        let r2 = try Support.tool("rnn-vocab", ["--min-freq", "2", "--max-size", "1", "-o", dir + "/v2.bin"], stdin: "x y y z z z\nz y\n")
        XCTAssertEqual(r2.0, 0, r2.2)
        let f2 = try SafeTensorsFile(path: dir + "/v2.bin")
        XCTAssertEqual(try Support.strings(f2, "tokens", "token_offsets"), ["<unk>", "<pad>", "z"])
        XCTAssertEqual(try Support.strings(f2, "labels", "label_offsets"), [])
    }

    func testCharacterVocabulary() throws {
        let dir = Support.tempDir("vocab-chars")
        let r = try Support.tool("rnn-vocab", ["--chars", "-o", dir + "/c.bin"], stdin: "abca\nbé\n")
        XCTAssertEqual(r.0, 0, r.2)
        let f = try SafeTensorsFile(path: dir + "/c.bin")
        XCTAssertEqual(try Support.strings(f, "tokens", "token_offsets"), ["<unk>", "<pad>", "\n", "a", "b", "c", "é"])
        XCTAssertEqual(f.metadata["kind"], "chars")
    }

    func testVectorsFromGzipWithCoverage() throws {
        let dir = Support.tempDir("vocab-vectors")
        Support.write(records, to: dir + "/in.jsonl")
        Support.write("the 1 2\nbad -0.5 0.25\nfilm 3 4\nzebra 5 6\n", to: dir + "/g.txt")
        XCTAssertEqual(try Support.run("/bin/sh", ["-c", "gzip -f '\(dir)/g.txt'"]).0, 0)
        let r = try Support.tool("rnn-vocab", [dir + "/in.jsonl", "--vectors", dir + "/g.txt.gz", "-o", dir + "/v.bin"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.2.contains("vectors: 2 of 4 tokens found (50.0%), dim 2, 4 words read"), r.2)
        let f = try SafeTensorsFile(path: dir + "/v.bin")
        // ids: <unk> <pad> bad a film great
        XCTAssertEqual(try f.floats("vectors", shape: [6, 2]), [0, 0, 0, 0, -0.5, 0.25, 0, 0, 3, 4, 0, 0])
        XCTAssertEqual(f.metadata["dim"], "2")
    }

    func testBadInputs() throws {
        let dir = Support.tempDir("vocab-bad")
        let out = dir + "/v.bin"
        Support.write(records, to: dir + "/in.jsonl")
        Support.write("the 1 2\nbad 1 2\nfilm 3\n", to: dir + "/short.txt")
        Support.assertFails(try Support.tool("rnn-vocab", [dir + "/in.jsonl", "--vectors", dir + "/short.txt", "-o", out]),
                            tool: "rnn-vocab", [dir + "/short.txt:3:", "expected 2 values", "found 1"], noFile: out)
        Support.assertFails(try Support.tool("rnn-vocab", [dir + "/nope.jsonl", "-o", out]), tool: "rnn-vocab", [dir + "/nope.jsonl", "no such file"], noFile: out)
        Support.write("", to: dir + "/empty.jsonl")
        Support.assertFails(try Support.tool("rnn-vocab", [dir + "/empty.jsonl", "-o", out]), tool: "rnn-vocab", ["no records"], noFile: out)
        Support.write("{\"text\":\"a b\"}\n{\"text\": oops}\n", to: dir + "/broken.jsonl")
        Support.assertFails(try Support.tool("rnn-vocab", [dir + "/broken.jsonl", "-o", out]), tool: "rnn-vocab", [dir + "/broken.jsonl:2:", "not a JSON object"], noFile: out)
        Support.write("{\"text\":\"a b\"}\n{\"label\":\"pos\"}\n", to: dir + "/notext.jsonl")
        Support.assertFails(try Support.tool("rnn-vocab", [dir + "/notext.jsonl", "-o", out]), tool: "rnn-vocab", [dir + "/notext.jsonl:2:", "no \"text\""], noFile: out)
        Support.assertFails(try Support.tool("rnn-vocab", [dir + "/in.jsonl", "--vectors", dir + "/missing.txt", "-o", out]),
                            tool: "rnn-vocab", [dir + "/missing.txt", "no such file"], noFile: out)
        let usage = try Support.tool("rnn-vocab", [dir + "/in.jsonl", "--min-freq", "0", "-o", out])
        XCTAssertEqual(usage.0, 2, usage.2)
        XCTAssertTrue(usage.2.contains("--min-freq must be at least 1"), usage.2)
    }
}
