import Foundation
import XCTest
import RNNCore

/// End-to-end tests of the built rnn-classify binary. Checkpoints are written here from the
/// documented format (docs/FORMATS.md section 4: PyTorch state_dict names + metadata) with
/// random weights, over a vocabulary built by rnn-vocab.
final class ClassifyCLITests: XCTestCase {
    static let words = ["good", "bad", "great", "awful", "film", "plot", "the", "a", "was", "not", "acting", "boring", "fun", "story"]

    /// `n` labelled cleaned records (deterministic), the label depending on the words.
    static func records(_ n: Int, labels: [String] = ["neg", "pos"]) -> String {
        var s: UInt64 = 12345
        func next() -> Int { s = s &* 6364136223846793005 &+ 1442695040888963407; return Int(s >> 33) }
        var out = ""
        for i in 0 ..< n {
            let len = 1 + next() % 30
            let toks = (0 ..< len).map { _ in words[next() % words.count] }
            let label = labels[(toks.filter { $0 == "good" || $0 == "great" }.count + i) % labels.count]
            out += "{\"id\":\"r\(i)\",\"label\":\"\(label)\",\"rating\":\(i % 10),\"text\":\"\(toks.joined(separator: " "))\"}\n"
        }
        return out
    }

    /// Writes a checkpoint with random weights for the vocabulary `vocab` (an rnn-vocab file).
    /// `metaHidden` writes a different hidden size in the metadata than the tensors have.
    static func writeCheckpoint(_ path: String, vocab: String, cell: String = "gru", layers: Int = 1, bidirectional: Bool = true,
                                hidden: Int = 6, embed: Int = 5, labels: [String]? = nil, kind: String = "classifier",
                                metaHidden: Int? = nil, extra: [String: String] = [:], seed: UInt64 = 1, outputs: Int? = nil) throws {
        let v = try SafeTensorsFile(path: vocab)
        let tokens = try Support.strings(v, "tokens", "token_offsets")
        let labels = try labels ?? Support.strings(v, "labels", "label_offsets")
        let V = tokens.count, G = ["rnn": 1, "gru": 3, "lstm": 4][cell]!, D = bidirectional ? 2 : 1
        let O = outputs ?? (kind == "lm" ? V : (labels.count == 2 ? 1 : labels.count))
        var s = seed
        func rand(_ n: Int) -> [Float] {
            (0 ..< n).map { _ in s = s &* 6364136223846793005 &+ 1442695040888963407; return Float(Int(s >> 40) % 2001 - 1000) / 1000 }
        }
        var w = SafeTensorsWriter()
        w.add("embedding.weight", shape: [V, embed], floats: rand(V * embed))
        for k in 0 ..< layers {
            for d in 0 ..< D {
                let sfx = d == 0 ? "" : "_reverse", inDim = k == 0 ? embed : D * hidden
                w.add("rnn.weight_ih_l\(k)\(sfx)", shape: [G * hidden, inDim], floats: rand(G * hidden * inDim))
                w.add("rnn.weight_hh_l\(k)\(sfx)", shape: [G * hidden, hidden], floats: rand(G * hidden * hidden))
                w.add("rnn.bias_ih_l\(k)\(sfx)", shape: [G * hidden], floats: rand(G * hidden))
                w.add("rnn.bias_hh_l\(k)\(sfx)", shape: [G * hidden], floats: rand(G * hidden))
            }
        }
        w.add("fc.weight", shape: [O, D * hidden], floats: rand(O * D * hidden))
        w.add("fc.bias", shape: [O], floats: rand(O))
        func json(_ a: [String]) -> String { JSONWriter.string(.array(a.map { .string($0) })) }
        var meta: [String: String] = [
            "format": "rnn-checkpoint", "version": "1", "kind": kind, "model": cell, "layers": String(layers),
            "hidden": String(metaHidden ?? hidden), "bidirectional": String(bidirectional), "vocab": json(tokens),
            "labels": json(kind == "lm" ? [] : labels), "vocab_hash": v.metadata["hash"]!, "vocab_kind": "words",
        ]
        for (k, x) in extra { meta[k] = x }
        for (k, x) in meta.sorted(by: { $0.key < $1.key }) { w.setMetadata(k, x) }
        try w.write(to: path)
    }

    /// A folder with in.jsonl (records), v.bin (their vocabulary) and m.ckpt (a bi-GRU over it).
    func setUp(_ name: String, records n: Int = 40) throws -> String {
        let dir = Support.tempDir("classify-" + name)
        Support.write(Self.records(n), to: dir + "/in.jsonl")
        let r = try Support.tool("rnn-vocab", [dir + "/in.jsonl", "-o", dir + "/v.bin"])
        XCTAssertEqual(r.0, 0, r.2)
        try Self.writeCheckpoint(dir + "/m.ckpt", vocab: dir + "/v.bin")
        return dir
    }

    static func objects(_ out: String) -> [[String: Any]] {
        out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func sh(_ script: String) throws -> E2E.Result { try E2E.sh(script) }

    /// The output depends only on the record and the checkpoint: byte-identical for any batch size,
    /// thread count, and under GNU parallel (chunks of 250 records on two jobs), JSONL and TSV.
    func testOutputIndependentOfBatchThreadsAndSplitting() throws {
        let dir = try setUp("invariant", records: 700)
        // plain text lines too (TSV has no id then: nothing that could restart per chunk)
        XCTAssertEqual(try sh("sed 's/.*\"text\":\"\\(.*\\)\"}$/\\1/' \(dir)/in.jsonl > \(dir)/in.txt").status, 0)
        for (format, input) in [("jsonl", "in.jsonl"), ("tsv", "in.jsonl"), ("tsv", "in.txt")] {
            let reference = try sh("rnn-classify -q -m \(dir)/m.ckpt --output-format \(format) --batch-size 128 --threads 1 < \(dir)/\(input)")
            XCTAssertEqual(reference.status, 0, reference.stderr)
            XCTAssertEqual(reference.out.split(separator: "\n").count, 700)
            for (batch, threads) in [(1, 1), (7, 2), (32, 3), (256, 1), (256, 2), (7, 3), (32, 1)] {
                let r = try sh("rnn-classify -q -m \(dir)/m.ckpt --output-format \(format) --batch-size \(batch) --threads \(threads) < \(dir)/\(input)")
                XCTAssertEqual(r.status, 0, r.stderr)
                XCTAssertTrue(r.out == reference.out, "\(input) \(format) --batch-size \(batch) --threads \(threads) differs")
            }
            let p = try sh("parallel --pipe -k -N 250 -j 2 rnn-classify -q -m \(dir)/m.ckpt --output-format \(format) < \(dir)/\(input)")
            XCTAssertEqual(p.status, 0, p.stderr)
            XCTAssertTrue(p.out == reference.out, "\(input) \(format) under GNU parallel differs")
        }
    }

    /// Many records: output order is input order; text input and encoded input (plain, padded on
    /// either side) give identical predictions; passthrough members are kept.
    func testOrderAndTextEqualsEncoded() throws {
        let dir = try setUp("order", records: 1000)
        let text = try sh("rnn-classify -m \(dir)/m.ckpt --batch-size 50 \(dir)/in.jsonl")
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stderr.contains("1,000 records"), text.stderr)
        let enc = try sh("rnn-encode --vocab \(dir)/v.bin \(dir)/in.jsonl | rnn-classify -m \(dir)/m.ckpt")
        let padded = try sh("rnn-encode --vocab \(dir)/v.bin --fix-length 40 --pad-first \(dir)/in.jsonl | rnn-classify -m \(dir)/m.ckpt --threads 1")
        XCTAssertEqual(enc.status, 0, enc.stderr)
        XCTAssertEqual(padded.status, 0, padded.stderr)
        let t = Self.objects(text.out), e = Self.objects(enc.out), p = Self.objects(padded.out)
        XCTAssertEqual(t.count, 1000)
        XCTAssertEqual(t.map { $0["id"] as! String }, (0 ..< 1000).map { "r\($0)" })
        XCTAssertEqual(e.map { $0["id"] as! String }, (0 ..< 1000).map { "r\($0)" })
        let inputs = Self.objects(Self.records(1000))
        for i in 0 ..< 1000 {
            XCTAssertEqual(t[i]["prob"] as! Double, e[i]["prob"] as! Double, "record \(i)")
            XCTAssertEqual(t[i]["label"] as! String, e[i]["label"] as! String, "record \(i)")
            XCTAssertEqual(p[i]["prob"] as! Double, e[i]["prob"] as! Double, "record \(i)")
            XCTAssertEqual(t[i]["gold"] as! String, inputs[i]["label"] as! String)
            XCTAssertEqual(e[i]["gold"] as! String, inputs[i]["label"] as! String)
            XCTAssertEqual(t[i]["rating"] as! Int, inputs[i]["rating"] as! Int)
            XCTAssertEqual(t[i]["text"] as! String, inputs[i]["text"] as! String)
            XCTAssertNil(e[i]["ids"])
            XCTAssertNil(e[i]["vocab"])
        }
        // member order: passthrough first, then gold, label, prob
        XCTAssertTrue(text.out.hasPrefix("{\"id\":\"r0\",\"rating\":0,\"text\":"), text.out)
        XCTAssertTrue(e.allSatisfy { Set($0.keys) == ["id", "rating", "gold", "label", "prob"] })
        XCTAssertTrue(Set(t.map { $0["label"] as! String }).isSubset(of: ["neg", "pos"]))
    }

    /// A line out while the input pipe is still open: the first prediction arrives before the
    /// second line is written.
    func testStreamsALineOutPerLineIn() throws {
        let dir = try setUp("stream")
        let p = Process()
        p.executableURL = E2E.bin.appendingPathComponent("rnn-classify")
        p.arguments = ["-m", dir + "/m.ckpt", "-q"]
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        try p.run()
        let fd = outPipe.fileHandleForReading.fileDescriptor
        func readLine(timeout: Int32) -> String? {
            var got: [UInt8] = []
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while !got.contains(0x0A) {
                guard poll(&pfd, 1, timeout) == 1 else { return nil }
                var b = [UInt8](repeating: 0, count: 4096)
                let n = read(fd, &b, 4096)
                if n <= 0 { return nil }
                got += b[0 ..< n]
            }
            return String(decoding: got, as: UTF8.self)
        }
        inPipe.fileHandleForWriting.write(Data("{\"id\":\"first\",\"text\":\"good film\"}\n".utf8))
        let first = readLine(timeout: 20_000)
        XCTAssertNotNil(first, "no output while the input stays open: rnn-classify does not stream")
        XCTAssertTrue(first?.hasPrefix("{\"id\":\"first\"") ?? false, first ?? "")
        inPipe.fileHandleForWriting.write(Data("{\"id\":\"second\",\"text\":\"bad plot\"}\n".utf8))
        let second = readLine(timeout: 20_000)
        XCTAssertTrue(second?.hasPrefix("{\"id\":\"second\"") ?? false, second ?? "")
        try inPipe.fileHandleForWriting.close()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }

    /// The whole pipeline streams: `rnn-clean | rnn-classify` (and with rnn-encode between them)
    /// answers a line while its input stays open.
    func testCleanToClassifyPipelineStreams() throws {
        let dir = try setUp("pipeline")
        let b = E2E.bin.path
        for pipeline in ["'\(b)/rnn-clean' | '\(b)/rnn-classify' -m '\(dir)/m.ckpt' -q --no-text",
                         "'\(b)/rnn-clean' | '\(b)/rnn-encode' --vocab '\(dir)/v.bin' 2>/dev/null | '\(b)/rnn-classify' -m '\(dir)/m.ckpt' -q"] {
            try assertStreams(pipeline)
        }
    }

    func assertStreams(_ pipeline: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", pipeline]
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        try p.run()
        let fd = outPipe.fileHandleForReading.fileDescriptor
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        inPipe.fileHandleForWriting.write(Data("{\"id\":\"x\",\"text\":\"A <b>GOOD</b> film!\"}\n".utf8))
        XCTAssertEqual(poll(&pfd, 1, 20_000), 1, "no output while the input stays open: \(pipeline) does not stream", file: file, line: line)
        var b = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &b, 4096)
        XCTAssertTrue(String(decoding: b[0 ..< max(n, 0)], as: UTF8.self).hasPrefix("{\"id\":\"x\",\"label\":"), file: file, line: line)
        try inPipe.fileHandleForWriting.close()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, file: file, line: line)
    }

    func testTSVAndNoText() throws {
        let dir = try setUp("tsv")
        let r = try sh("head -3 \(dir)/in.jsonl | rnn-classify -m \(dir)/m.ckpt --output-format tsv -q; printf 'good film\\n\\nbad\\n' | rnn-classify -m \(dir)/m.ckpt --output-format tsv -q")
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = r.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.count, 6)
        XCTAssertEqual(rows.map { $0[2] }, ["r0", "r1", "r2", "", "", ""])
        for (i, row) in rows.enumerated() where i != 4 {
            XCTAssertTrue(["neg", "pos"].contains(row[0]), "\(row)")
            XCTAssertTrue((Double(row[1]) ?? 0) >= 0.5, "\(row)")
        }
        XCTAssertEqual(rows[4], ["", "", ""])  // a blank line: no token
        let j = try sh("head -1 \(dir)/in.jsonl | rnn-classify -m \(dir)/m.ckpt --no-text -q")
        XCTAssertFalse(j.out.contains("\"text\""), j.out)
        XCTAssertTrue(j.out.hasPrefix("{\"id\":\"r0\",\"rating\":0,\"gold\":"), j.out)
    }

    /// --metrics (stderr) and --metrics-json agree with a recomputation from the written output.
    func testMetricsEqualARecomputationFromTheOutput() throws {
        let dir = try setUp("metrics", records: 300)
        let r = try sh("rnn-classify -m \(dir)/m.ckpt --metrics --metrics-json \(dir)/m.json \(dir)/in.jsonl")
        XCTAssertEqual(r.status, 0, r.stderr)
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/m.json"))) as! [String: Any]
        let labels = m["labels"] as! [String]  // vocabulary order: by count
        XCTAssertEqual(Set(labels), ["neg", "pos"])
        var confusion = [[0, 0], [0, 0]]
        var loss = 0.0
        for o in Self.objects(r.out) {
            let g = labels.firstIndex(of: o["gold"] as! String)!, p = labels.firstIndex(of: o["label"] as! String)!
            confusion[g][p] += 1
            let prob = o["prob"] as! Double
            loss -= log(g == p ? prob : 1 - prob)
        }
        XCTAssertEqual(m["records"] as! Int, 300)
        XCTAssertEqual(m["labelled"] as! Int, 300)
        XCTAssertEqual(m["confusion"] as! [[Int]], confusion)
        XCTAssertEqual(m["accuracy"] as! Double, Double(confusion[0][0] + confusion[1][1]) / 300, accuracy: 1e-12)
        XCTAssertEqual(m["loss"] as! Double, loss / 300, accuracy: 1e-5)
        let pos = (m["per_class"] as! [String: [String: Any]])[labels[1]]!
        XCTAssertEqual(pos["precision"] as! Double, Double(confusion[1][1]) / Double(confusion[0][1] + confusion[1][1]), accuracy: 1e-12)
        XCTAssertEqual(pos["recall"] as! Double, Double(confusion[1][1]) / Double(confusion[1][0] + confusion[1][1]), accuracy: 1e-12)
        XCTAssertEqual(pos["support"] as! Int, confusion[1][0] + confusion[1][1])
        let acc = formatFixed(m["accuracy"] as! Double, 4)
        XCTAssertTrue(r.stderr.contains("metrics: 300 labelled of 300 records: accuracy \(acc)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("confusion matrix"), r.stderr)
        // A threshold moves predictions, not the loss.
        let t = try sh("rnn-classify -m \(dir)/m.ckpt --threshold 0.99 --metrics-json \(dir)/t.json -q \(dir)/in.jsonl")
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertTrue(Self.objects(t.out).allSatisfy { $0["label"] as! String == labels[0] || ($0["prob"] as! Double) > 0.99 })
        XCTAssertNotEqual(Self.objects(t.out).map { $0["label"] as! String }, Self.objects(r.out).map { $0["label"] as! String })
        let mt = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/t.json"))) as! [String: Any]
        XCTAssertEqual(mt["loss"] as! Double, m["loss"] as! Double, accuracy: 1e-12)
    }

    func testMultiClassProbsAndTopK() throws {
        let dir = Support.tempDir("classify-multi")
        Support.write(Self.records(60, labels: ["a", "b", "c", "d"]), to: dir + "/in.jsonl")
        XCTAssertEqual(try Support.tool("rnn-vocab", [dir + "/in.jsonl", "-o", dir + "/v.bin"]).0, 0)
        try Self.writeCheckpoint(dir + "/m.ckpt", vocab: dir + "/v.bin", cell: "lstm", layers: 2, bidirectional: false)
        let r = try sh("rnn-classify -m \(dir)/m.ckpt -q --metrics \(dir)/in.jsonl")
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = Self.objects(r.out)
        XCTAssertEqual(o.count, 60)
        for x in o {
            let probs = x["probs"] as! [String: Double]
            XCTAssertEqual(Set(probs.keys), ["a", "b", "c", "d"])
            XCTAssertEqual(probs.values.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(probs[x["label"] as! String], x["prob"] as? Double)
        }
        let k = try sh("rnn-classify -m \(dir)/m.ckpt -q --top-k 2 \(dir)/in.jsonl")
        XCTAssertTrue(Self.objects(k.out).allSatisfy { ($0["probs"] as! [String: Double]).count == 2 })
        // P@1 = accuracy for one label per record; R@k grows with k up to 1 at k = labels
        var recall: [Double] = []
        for kk in 1 ... 4 {
            let m = try sh("rnn-classify -m \(dir)/m.ckpt -q --top-k \(kk) --metrics-json \(dir)/m\(kk).json \(dir)/in.jsonl > /dev/null")
            XCTAssertEqual(m.status, 0, m.stderr)
            let j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/m\(kk).json"))) as! [String: Any]
            if kk == 1 {
                XCTAssertEqual(j["precision_at_k"] as! Double, j["accuracy"] as! Double, accuracy: 1e-12)
                XCTAssertEqual(j["micro_f1"] as! Double, j["accuracy"] as! Double, accuracy: 1e-12)
            }
            XCTAssertEqual(j["precision_at_k"] as! Double, (j["recall_at_k"] as! Double) / Double(kk), accuracy: 1e-12)
            recall.append(j["recall_at_k"] as! Double)
        }
        XCTAssertEqual(recall, recall.sorted())
        XCTAssertEqual(recall.last, 1)
        // --probs: every label's probability, summing to 1
        let p = try sh("rnn-classify -m \(dir)/m.ckpt -q --probs \(dir)/in.jsonl")
        XCTAssertTrue(Self.objects(p.out).allSatisfy { abs(($0["probs"] as! [String: Double]).values.reduce(0, +) - 1) < 1e-5 })
        // --threshold 0: every most probable label reaches it (the output without --threshold);
        // above every probability: no label (MultiLabelCLITests covers the cases between)
        XCTAssertEqual(try sh("rnn-classify -m \(dir)/m.ckpt -q --threshold 0 \(dir)/in.jsonl").out, r.out)
        XCTAssertTrue(Self.objects(try sh("rnn-classify -m \(dir)/m.ckpt -q --threshold 1 \(dir)/in.jsonl").out).allSatisfy { $0["label"] is NSNull && $0["reason"] as? String == "below threshold" })
    }

    func testEncodedWithAnotherVocabularyIsRefused() throws {
        let dir = try setUp("vocab")
        Support.write(Self.records(40) + "{\"label\":\"neg\",\"text\":\"extra words here\"}\n", to: dir + "/other.jsonl")
        XCTAssertEqual(try Support.tool("rnn-vocab", [dir + "/other.jsonl", "-o", dir + "/v2.bin"]).0, 0)
        let mine = try XCTUnwrap(SafeTensorsFile(path: dir + "/v.bin").metadata["hash"])
        let other = try XCTUnwrap(SafeTensorsFile(path: dir + "/v2.bin").metadata["hash"])
        let r = try sh("rnn-encode --vocab \(dir)/v2.bin \(dir)/in.jsonl 2>/dev/null | rnn-classify -m \(dir)/m.ckpt")
        Support.assertFails((r.status, "", r.stderr), tool: "rnn-classify", ["<stdin>:1:", other, mine, "vocabulary"])
        XCTAssertEqual(r.out, "")
        // ids beyond the vocabulary (no hash to compare) name the line
        let ids = try sh("printf '{\"ids\":[2,3]}\\n{\"ids\":[2,99999]}\\n' | rnn-classify -m \(dir)/m.ckpt")
        XCTAssertEqual(ids.status, 1)
        XCTAssertTrue(ids.stderr.contains("<stdin>:2: token id 99999 is outside the model's vocabulary"), ids.stderr)
    }

    func testBadCheckpointsAreRefused() throws {
        let dir = try setUp("bad")
        func fails(_ model: String, _ fragments: [String]) throws {
            let r = try sh("rnn-classify -m \(model) \(dir)/in.jsonl")
            Support.assertFails((r.status, r.out, r.stderr), tool: "rnn-classify", fragments)
        }
        // tensor shapes disagree with the metadata
        try Self.writeCheckpoint(dir + "/shape.ckpt", vocab: dir + "/v.bin", hidden: 6, metaHidden: 8)
        try fails(dir + "/shape.ckpt", [dir + "/shape.ckpt", "rnn.weight_ih_l0", "[18, 5]", "[24, 5]"])
        // a language model is not a classifier
        try Self.writeCheckpoint(dir + "/lm.ckpt", vocab: dir + "/v.bin", bidirectional: false, kind: "lm")
        try fails(dir + "/lm.ckpt", [dir + "/lm.ckpt", "language-model checkpoint", "classifier is needed"])
        // missing, truncated, not a checkpoint
        try fails(dir + "/none.ckpt", [dir + "/none.ckpt", "no such file"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.ckpt"))
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: dir + "/cut.ckpt"))
        try fails(dir + "/cut.ckpt", [dir + "/cut.ckpt", "truncated"])
        try fails(dir + "/v.bin", [dir + "/v.bin", "not a checkpoint", "rnn-vocab"])
        try fails(dir + "/in.jsonl", [dir + "/in.jsonl", "not a checkpoint"])
        // a pooling head this version does not know
        try Self.writeCheckpoint(dir + "/pool.ckpt", vocab: dir + "/v.bin", extra: ["pool": "median"])
        try fails(dir + "/pool.ckpt", [dir + "/pool.ckpt", "pool = 'median'", "last, max, mean or concat"])
        // a concat head needs fc.weight [O, 3*D*H]
        try Self.writeCheckpoint(dir + "/concat.ckpt", vocab: dir + "/v.bin", extra: ["pool": "concat"])
        try fails(dir + "/concat.ckpt", [dir + "/concat.ckpt", "fc.weight", "[1, 36]"])
    }

    /// -m a -m b: the prediction comes from the mean of the models' probabilities. A model with
    /// itself gives exactly the model's output (JSONL, TSV, metrics); two models with different
    /// vocabularies (each encodes the text itself) give the mean of their probabilities, the same
    /// for any batch size and thread count; different labels or heads are refused, naming the file.
    func testEnsembleAveragesProbabilities() throws {
        let dir = try setUp("ensemble", records: 300)
        // a second model: another vocabulary (more words), cell, size and weights
        Support.write(Self.records(300) + "{\"label\":\"neg\",\"text\":\"extra words here\"}\n", to: dir + "/other.jsonl")
        XCTAssertEqual(try Support.tool("rnn-vocab", [dir + "/other.jsonl", "-o", dir + "/v2.bin"]).0, 0)
        try Self.writeCheckpoint(dir + "/m2.ckpt", vocab: dir + "/v2.bin", cell: "lstm", bidirectional: false, hidden: 5, embed: 4, seed: 9)
        for format in ["jsonl", "tsv"] {
            let one = try sh("rnn-classify -q -m \(dir)/m.ckpt --output-format \(format) --metrics-json \(dir)/one.json < \(dir)/in.jsonl")
            let twice = try sh("rnn-classify -q -m \(dir)/m.ckpt -m \(dir)/m.ckpt --output-format \(format) --metrics-json \(dir)/twice.json < \(dir)/in.jsonl")
            XCTAssertEqual(one.status, 0, one.stderr)
            XCTAssertEqual(twice.status, 0, twice.stderr)
            XCTAssertEqual(one.out.split(separator: "\n").count, 300)
            XCTAssertTrue(one.out == twice.out, "\(format): a model with itself differs from the model")
            let m1 = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/one.json"))) as! [String: Any]
            let m2 = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/twice.json"))) as! [String: Any]
            XCTAssertEqual(m1["accuracy"] as! Double, m2["accuracy"] as! Double)
            XCTAssertEqual(m1["loss"] as! Double, m2["loss"] as! Double, accuracy: 1e-9)
        }
        func probs(_ args: String) throws -> [[Double]] {
            let r = try sh("rnn-classify -q --probs \(args) < \(dir)/in.jsonl")
            XCTAssertEqual(r.status, 0, r.stderr)
            return Self.objects(r.out).map { o in let p = o["probs"] as! [String: Double]; return [p["neg"]!, p["pos"]!] }
        }
        let a = try probs("-m \(dir)/m.ckpt"), b = try probs("-m \(dir)/m2.ckpt")
        let ens = try probs("-m \(dir)/m.ckpt -m \(dir)/m2.ckpt")
        XCTAssertEqual(ens.count, 300)
        var differ = 0
        for i in 0 ..< 300 {
            for j in 0 ..< 2 { XCTAssertEqual(ens[i][j], (a[i][j] + b[i][j]) / 2, accuracy: 1e-6, "record \(i)") }
            if abs(a[i][1] - b[i][1]) > 1e-3 { differ += 1 }
        }
        XCTAssertGreaterThan(differ, 100, "the two models should disagree")
        let reference = try sh("rnn-classify -q -m \(dir)/m.ckpt -m \(dir)/m2.ckpt --threads 1 --batch-size 128 < \(dir)/in.jsonl")
        for (batch, threads) in [(1, 2), (7, 3), (300, 1)] {
            let r = try sh("rnn-classify -q -m \(dir)/m.ckpt -m \(dir)/m2.ckpt --threads \(threads) --batch-size \(batch) < \(dir)/in.jsonl")
            XCTAssertTrue(r.out == reference.out, "ensemble --batch-size \(batch) --threads \(threads) differs")
        }
        // encoded records need every model's vocabulary
        let enc = try sh("rnn-encode --vocab \(dir)/v.bin \(dir)/in.jsonl 2>/dev/null | rnn-classify -m \(dir)/m.ckpt -m \(dir)/m2.ckpt")
        Support.assertFails((enc.status, enc.out, enc.stderr), tool: "rnn-classify", ["<stdin>:1:", "the model \(dir)/m2.ckpt", "vocabulary"])
        // other labels, another head
        try Self.writeCheckpoint(dir + "/labels.ckpt", vocab: dir + "/v.bin", labels: ["yes", "no"])
        let l = try sh("rnn-classify -m \(dir)/m.ckpt -m \(dir)/labels.ckpt < \(dir)/in.jsonl")
        Support.assertFails((l.status, l.out, l.stderr), tool: "rnn-classify", [dir + "/labels.ckpt", "(yes, no)", "differ from those of \(dir)/m.ckpt"])
        try Self.writeCheckpoint(dir + "/multi.ckpt", vocab: dir + "/v.bin", extra: ["head": "multi_label"], outputs: 2)
        let h = try sh("rnn-classify -m \(dir)/m.ckpt -m \(dir)/multi.ckpt < \(dir)/in.jsonl")
        Support.assertFails((h.status, h.out, h.stderr), tool: "rnn-classify", [dir + "/multi.ckpt", "its head is multi_label", "\(dir)/m.ckpt has a binary head"])
    }

    func testEmptyInputAndUsageErrors() throws {
        let dir = try setUp("empty")
        let r = try sh("printf '' | rnn-classify -m \(dir)/m.ckpt")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.out, "")
        XCTAssertTrue(r.stderr.contains("0 records"), r.stderr)
        let m = try sh("printf '' | rnn-classify -m \(dir)/m.ckpt --metrics-json \(dir)/m.json")
        Support.assertFails((m.status, m.out, m.stderr.split(separator: "\n").filter { $0.contains("error") }.joined(separator: "\n")),
                            tool: "rnn-classify", ["no record carries a label"], noFile: dir + "/m.json")
        for (args, msg) in [("--output-format csv", "--output-format"), ("--format xml", "--format"), ("--threads 0", "--threads"), ("--top-k 0", "--top-k"),
                            ("--threshold 1.5", "--threshold")] {
            let u = try sh("rnn-classify -m \(dir)/m.ckpt \(args) < /dev/null")
            XCTAssertEqual(u.status, 2, args)
            XCTAssertTrue(u.stderr.hasPrefix("rnn-classify: error: ") && u.stderr.contains(msg), u.stderr)
        }
        let noModel = try sh("rnn-classify < /dev/null")
        XCTAssertEqual(noModel.status, 2, noModel.stderr)
    }

    /// The training data's fixed length recorded in the checkpoint cuts long text records the way
    /// rnn-encode --fix-length cut the training data.
    func testTrainingFixLengthTruncatesText() throws {
        let dir = try setUp("fix")
        try Self.writeCheckpoint(dir + "/fix.ckpt", vocab: dir + "/v.bin", extra: ["fix_length": "5"])
        let cut = try sh("rnn-classify -m \(dir)/fix.ckpt -q \(dir)/in.jsonl")
        let enc = try sh("rnn-encode --vocab \(dir)/v.bin --fix-length 5 \(dir)/in.jsonl 2>/dev/null | rnn-classify -m \(dir)/m.ckpt -q")
        let all = try sh("rnn-classify -m \(dir)/fix.ckpt --fix-length 0 -q \(dir)/in.jsonl")
        let full = try sh("rnn-classify -m \(dir)/m.ckpt -q \(dir)/in.jsonl")
        XCTAssertEqual(Self.objects(cut.out).map { $0["prob"] as! Double }, Self.objects(enc.out).map { $0["prob"] as! Double })
        XCTAssertEqual(Self.objects(all.out).map { $0["prob"] as! Double }, Self.objects(full.out).map { $0["prob"] as! Double })
        XCTAssertNotEqual(Self.objects(cut.out).map { $0["prob"] as! Double }, Self.objects(full.out).map { $0["prob"] as! Double })
    }

    /// rnn-fit -> rnn-classify: classifying the validation records (as text) gives the validation
    /// loss and accuracy that rnn-fit recorded in the checkpoint (same truncation, same numbers),
    /// for packed training and for --padded training (pads in front, run through the recurrence),
    /// with every pooling head (max and mean over the real tokens only, also in the padded view).
    func testMetricsOfAFittedCheckpointEqualItsValidationScores() throws {
        let dir = Support.tempDir("classify-fit")
        let lines = Self.records(600).split(separator: "\n")
        Support.write(lines[..<400].joined(separator: "\n") + "\n", to: dir + "/train.jsonl")
        Support.write(lines[400...].joined(separator: "\n") + "\n", to: dir + "/valid.jsonl")
        var losses: [Double] = []
        for mode in ["", "--padded", "--pool concat", "--padded --pool concat", "--padded --pool max", "--pool mean"] {
            let r = try sh("""
                cd \(dir) && rnn-vocab train.jsonl -o v.bin 2>/dev/null && \
                rnn-encode --vocab v.bin --fix-length 12 --pad-first train.jsonl -o train.bin 2>/dev/null && \
                rnn-encode --vocab v.bin --fix-length 12 --pad-first valid.jsonl -o valid.bin 2>/dev/null && \
                rnn-fit train.bin --vocab v.bin --valid valid.bin --embed-dim 8 --hidden 8 --bidirectional --epochs 2 --seed 3 \(mode) -o m.ckpt 2>/dev/null && \
                rnn-classify -m m.ckpt --metrics-json m.json -q valid.jsonl > pred.jsonl
                """)
            XCTAssertEqual(r.status, 0, r.stderr)
            let meta = try SafeTensorsFile(path: dir + "/m.ckpt").metadata
            let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/m.json"))) as! [String: Any]
            XCTAssertEqual(m["labelled"] as! Int, 200)
            let validLoss = try XCTUnwrap(meta["valid_loss"].flatMap(Double.init)), validAcc = try XCTUnwrap(meta["valid_accuracy"].flatMap(Double.init))
            XCTAssertEqual(m["loss"] as! Double, validLoss, accuracy: 1e-5 * validLoss, "rnn-fit \(mode)")
            XCTAssertEqual(m["accuracy"] as! Double, validAcc, accuracy: 1e-9, "rnn-fit \(mode)")
            XCTAssertEqual(meta["fix_length"], "12")
            XCTAssertEqual(meta["padded"], mode.contains("--padded") ? "true" : "false")
            XCTAssertEqual(meta["pool"], mode.contains("--pool") ? String(mode.split(separator: " ").last!) : "last")
            losses.append(validLoss)
        }
        XCTAssertEqual(Set(losses).count, losses.count, "every head and view trains a different model: \(losses)")
    }
}
