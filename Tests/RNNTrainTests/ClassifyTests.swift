import Foundation
import XCTest
import RNNCore
import RNNEngine
import RNNText
@testable import RNNTrain

/// Unit tests of the classification library (Classifier, ClassifyJob, metrics) on small random
/// models; end-to-end tests of the binary are in CLITests/ClassifyCLITests.
final class ClassifyTests: XCTestCase {
    static let tokens = ["<unk>", "<pad>", "good", "bad", "film", "a", "great", "awful", "plot", "the"]

    static func model(outputs: Int = 1, cell: CellKind = .gru, bidirectional: Bool = true, seed: UInt64 = 7) -> Model {
        Model(config: ModelConfig(cell: cell, task: .classifier, vocabSize: tokens.count, embedDim: 6, hidden: 5, layers: 1,
                                  bidirectional: bidirectional, dropout: 0, headDropout: 0, outputs: outputs,
                                  paddingIndex: 1, freezeEmbedding: false), seed: seed)
    }

    static func classifier(outputs: Int = 1, labels: [String] = ["neg", "pos"], maxLength: Int? = nil, truncateFirst: Bool = false,
                           tokenLoads: UnsafeMutablePointer<Int>? = nil) throws -> Classifier {
        try Classifier(model: model(outputs: outputs), labels: labels, vocabHash: "00112233aabbccdd", maxLength: maxLength,
                       truncateFirst: truncateFirst, tokens: { tokenLoads?.pointee += 1; return tokens })
    }

    /// Runs a job over `input` (written to a file) and returns stdout and the summary.
    static func run(_ job: ClassifyJob, _ input: String) throws -> (String, ClassifySummary) {
        let dir = NSTemporaryDirectory() + "rnn-classify-tests-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let id = UUID().uuidString
        let inPath = dir + "/\(id).in", outPath = dir + "/\(id).out"
        try Data(input.utf8).write(to: URL(fileURLWithPath: inPath))
        let fd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let out = BufferedOutput(fd: fd, name: outPath)
        let summary = try job.run(paths: [inPath], out: out)
        try out.flush()
        close(fd)
        let text = try String(contentsOfFile: outPath, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: inPath)
        try? FileManager.default.removeItem(atPath: outPath)
        return (text, summary)
    }

    static func objects(_ out: String) -> [[String: Any]] {
        out.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// The logits of one sequence alone (batch of one).
    static func logits(_ c: Classifier, _ ids: [Int32]) -> [Float] {
        ids.withUnsafeBufferPointer { c.logits(tokens: $0, lengths: [ids.count]) }
    }

    func testBinaryProbabilitiesThresholdAndLoss() throws {
        let c = try Self.classifier()
        for x: Float in [-30, -2.5, -0.1, 0, 0.3, 4, 40] {
            let p = [x].withUnsafeBufferPointer { c.predict($0) }
            let p1 = 1 / (1 + exp(-Double(x)))
            XCTAssertEqual(p.probs[1], p1, accuracy: 1e-12)
            XCTAssertEqual(p.probs[0] + p.probs[1], 1, accuracy: 1e-12)
            XCTAssertEqual(p.label, p1 > 0.5 ? 1 : 0, "x = \(x)")
            XCTAssertEqual(p.prob, p.probs[p.label])
            // BCE with logits against both labels: -log p(gold)
            for y in 0 ... 1 {
                let l = [x].withUnsafeBufferPointer { c.loss($0, gold: y) }
                XCTAssertEqual(l, -log(max(p.probs[y], 1e-300)), accuracy: 1e-9 * max(1, l), "x = \(x), y = \(y)")
            }
        }
        c.threshold = 0.9
        XCTAssertEqual([Float(1)].withUnsafeBufferPointer { c.predict($0) }.label, 0)  // sigmoid(1) = 0.73
        XCTAssertEqual([Float(3)].withUnsafeBufferPointer { c.predict($0) }.label, 1)  // 0.95
    }

    func testMultiClassSoftmaxAndLoss() throws {
        let c = try Self.classifier(outputs: 3, labels: ["a", "b", "c"])
        let row: [Float] = [0.5, 2.0, -1.0]
        let p = row.withUnsafeBufferPointer { c.predict($0) }
        let e = row.map { exp(Double($0)) }, s = e.reduce(0, +)
        for j in 0 ..< 3 { XCTAssertEqual(p.probs[j], e[j] / s, accuracy: 1e-12) }
        XCTAssertEqual(p.label, 1)
        XCTAssertEqual(row.withUnsafeBufferPointer { c.loss($0, gold: 2) }, -log(e[2] / s), accuracy: 1e-12)
    }

    func testLabelCountMustMatchOutputs() {
        XCTAssertThrowsError(try Self.classifier(outputs: 1, labels: ["a", "b", "c"])) { e in
            XCTAssertTrue("\(e)".contains("binary"), "\(e)")
        }
        XCTAssertThrowsError(try Self.classifier(outputs: 3, labels: ["a", "b"])) { e in
            XCTAssertTrue("\(e)".contains("3 outputs"), "\(e)")
        }
    }

    /// What an ensemble uses: the prediction from probabilities equals the one from logits, and
    /// the loss of the probabilities equals the logits' loss (binary, multi-class, multi-label);
    /// an ensemble job of two models writes the prediction of their mean probabilities and one of
    /// a model with itself the model's own lines; mixed word/character ensembles give no
    /// prediction to a record that some model has no token of.
    func testPredictionAndLossFromProbabilities() throws {
        let rows: [[Float]] = [[0.7], [-2.5, 0.3, 1.1], [1.5, -0.2, -3.0]]
        for (k, row) in rows.enumerated() {
            var cfg = Self.model(outputs: row.count).config
            cfg.multiLabel = k == 2
            let c = try Classifier(model: Model(config: cfg, seed: 3), labels: row.count == 1 ? ["neg", "pos"] : ["a", "b", "c"],
                                   vocabHash: "", tokens: { Self.tokens })
            try row.withUnsafeBufferPointer { r in
                let probs = c.probabilities(r)
                let a = c.predict(r), b = c.predict(probabilities: probs)
                XCTAssertEqual(a.labels, b.labels)
                XCTAssertEqual(a.probs, b.probs)
                for golds in [[0], [1], k == 2 ? [0, 2] : [2 % max(row.count, 2)]] where golds.allSatisfy({ $0 < probs.count }) {
                    XCTAssertEqual(c.loss(probabilities: probs, golds: golds), c.loss(r, golds: golds), accuracy: 1e-9, "row \(k) gold \(golds)")
                }
                _ = try XCTUnwrap(probs.first)
            }
        }
        let one = try Self.classifier(), other = try Classifier(model: Self.model(seed: 11), labels: ["neg", "pos"],
                                                                   vocabHash: "00112233aabbccdd", tokens: { Self.tokens })
        let input = "{\"text\":\"good film\"}\n{\"text\":\"a bad plot\"}\n{\"text\":\"\"}\n"
        var options = ClassifyOptions()
        options.probs = true
        let (single, _) = try Self.run(ClassifyJob(classifier: one, options: options), input)
        let (twice, _) = try Self.run(ClassifyJob(ensemble: [one, one], options: options), input)
        XCTAssertEqual(single, twice)
        let (mixed, summary) = try Self.run(ClassifyJob(ensemble: [one, other], options: options), input)
        let a = Self.objects(single), b = Self.objects(try Self.run(ClassifyJob(classifier: other, options: options), input).0)
        let m = Self.objects(mixed)
        XCTAssertEqual(summary.empty, 1)
        for i in 0 ..< 2 {
            let pa = a[i]["probs"] as! [String: Double], pb = b[i]["probs"] as! [String: Double], pm = m[i]["probs"] as! [String: Double]
            XCTAssertEqual(pm["pos"]!, (pa["pos"]! + pb["pos"]!) / 2, accuracy: 1e-7)
            XCTAssertNotEqual(pa["pos"]!, pb["pos"]!)
        }
        // a character model has a token of "   " (spaces) where a word model has none: no prediction
        let chars = try Classifier(model: Self.model(), labels: ["neg", "pos"], vocabHash: "", vocabKind: .chars, tokens: { Self.tokens })
        var ids: [Int32] = []
        XCTAssertEqual(try "   ".withUTF8Bytes { try chars.encode(text: $0, into: &ids) }.count, 3)
        XCTAssertEqual(try "   ".withUTF8Bytes { try one.encode(text: $0, into: &ids) }.count, 0)
        let (alone, _) = try Self.run(ClassifyJob(classifier: chars, options: ClassifyOptions()), "   \n")
        XCTAssertNotNil(Self.objects(alone)[0]["prob"] as? Double, "the character model alone classifies it")
        let (gap, gapSummary) = try Self.run(ClassifyJob(ensemble: [chars, one], options: ClassifyOptions()), "   \ngood\n")
        XCTAssertEqual(gapSummary.empty, 1)
        XCTAssertEqual(Self.objects(gap)[0]["reason"] as? String, "no tokens")
        XCTAssertNotNil(Self.objects(gap)[1]["prob"] as? Double)
    }

    func testEncodingTruncatesLikeTraining() throws {
        var ids: [Int32] = []
        let text = "the good film was  awful great"
        let full = try Self.classifier()
        XCTAssertEqual(try text.withUTF8Bytes { try full.encode(text: $0, into: &ids) }, 0 ..< 6)
        XCTAssertEqual(ids, [9, 2, 4, 0, 7, 6])
        ids = []
        let first = try Self.classifier(maxLength: 4)
        _ = try text.withUTF8Bytes { try first.encode(text: $0, into: &ids) }
        XCTAssertEqual(ids, [9, 2, 4, 0])
        ids = [42]
        let last = try Self.classifier(maxLength: 4, truncateFirst: true)
        _ = try text.withUTF8Bytes { try last.encode(text: $0, into: &ids) }
        XCTAssertEqual(ids, [42, 4, 0, 7, 6])
        // the padded view of rnn-fit --padded checkpoints: exactly maxLength steps
        for (padFirst, want) in [(true, [Int32](arrayLiteral: 42, 1, 1, 1, 1, 2, 4)), (false, [42, 2, 4, 1, 1, 1, 1])] {
            let pc = try Classifier(model: Self.model(), labels: ["neg", "pos"], vocabHash: "", maxLength: 6, padded: true,
                                    padFirst: padFirst, tokens: { Self.tokens })
            ids = [42]
            // 6 ids, the real tokens' steps after or before the pads
            XCTAssertEqual(try "good film".withUTF8Bytes { try pc.encode(text: $0, into: &ids) }, padFirst ? 4 ..< 6 : 0 ..< 2)
            XCTAssertEqual(ids, want)
            ids = [42]
            XCTAssertEqual(try "   ".withUTF8Bytes { try pc.encode(text: $0, into: &ids) }, 0 ..< 0, "no token: nothing to classify")
            XCTAssertEqual(ids, [42])
        }
    }

    /// Many records of different lengths, batched, come out in input order with the probability
    /// of each record classified alone; the vocabulary is parsed only for text input.
    func testOrderBatchingAndTextEqualsEncoded() throws {
        var loads = 0
        let c = try Self.classifier(tokenLoads: &loads)
        var rng = SystemRandomNumberGenerator()
        var textLines: [String] = [], encLines: [String] = [], padded: [String] = [], expected: [[Int32]] = []
        for i in 0 ..< 300 {
            let n = Int.random(in: 1 ... 25, using: &rng)
            let toks = (0 ..< n).map { _ in Self.tokens[Int.random(in: 2 ..< Self.tokens.count, using: &rng)] }
            let ids = toks.map { Int32(Self.tokens.firstIndex(of: $0)!) }
            expected.append(ids)
            let label = i % 3 == 0 ? "pos" : "neg"
            textLines.append("{\"id\":\"r\(i)\",\"label\":\"\(label)\",\"text\":\"\(toks.joined(separator: " "))\"}")
            let ints = ids.map(String.init).joined(separator: ",")
            encLines.append("{\"id\":\"r\(i)\",\"ids\":[\(ints)],\"length\":\(n),\"label\":\(label == "pos" ? 1 : 0),\"vocab\":\"00112233aabbccdd\"}")
            let pads = Array(repeating: "1", count: 30 - n).joined(separator: ",")
            let view = i % 2 == 0 ? "[\(pads),\(ints)]" : "[\(ints),\(pads)]"
            padded.append("{\"id\":\"r\(i)\",\"ids\":\(view),\"length\":\(n),\"vocab\":\"00112233aabbccdd\"}")
        }
        var opts = ClassifyOptions()
        opts.batchSize = 37
        opts.metrics = true
        let (encOut, encSum) = try Self.run(ClassifyJob(classifier: c, options: opts), encLines.joined(separator: "\n") + "\n")
        XCTAssertEqual(loads, 0, "encoded input must not parse the vocabulary")
        let (padOut, _) = try Self.run(ClassifyJob(classifier: c, options: opts), padded.joined(separator: "\n") + "\n")
        let (textOut, textSum) = try Self.run(ClassifyJob(classifier: c, options: opts), textLines.joined(separator: "\n"))
        XCTAssertEqual(loads, 1)
        let enc = Self.objects(encOut), text = Self.objects(textOut), pad = Self.objects(padOut)
        XCTAssertEqual(enc.count, 300)
        XCTAssertEqual(text.map { $0["id"] as! String }, (0 ..< 300).map { "r\($0)" })
        XCTAssertEqual(enc.map { $0["id"] as! String }, (0 ..< 300).map { "r\($0)" })
        for i in 0 ..< 300 {
            // encoded and text input: the same numbers; the padded views too
            XCTAssertEqual(enc[i]["prob"] as! Double, text[i]["prob"] as! Double, "record \(i)")
            XCTAssertEqual(enc[i]["label"] as! String, text[i]["label"] as! String)
            XCTAssertEqual(pad[i]["prob"] as! Double, enc[i]["prob"] as! Double, "record \(i)")
            XCTAssertEqual(enc[i]["gold"] as? String, text[i]["gold"] as? String)
            XCTAssertNil(enc[i]["ids"]); XCTAssertNil(enc[i]["vocab"]); XCTAssertNil(enc[i]["length"])
            XCTAssertEqual(text[i]["text"] as? String, textLines[i].split(separator: "\"").dropLast().last.map(String.init))
            // alone vs in a batch: same probability up to float rounding
            let alone = [Self.logits(c, expected[i])[0]].withUnsafeBufferPointer { c.predict($0) }
            XCTAssertEqual(enc[i]["prob"] as! Double, alone.prob, accuracy: 2e-6, "record \(i)")
            XCTAssertEqual(enc[i]["label"] as! String, c.labels[alone.label])
        }
        XCTAssertEqual(encSum.records, 300)
        XCTAssertEqual(encSum.metrics!.count, 300)
        XCTAssertEqual(encSum.metrics!.accuracy!, textSum.metrics!.accuracy!)
        XCTAssertEqual(encSum.metrics!.loss!, textSum.metrics!.loss!, accuracy: 1e-12)
    }

    /// --metrics numbers are those recomputed from the written predictions.
    func testMetricsAgreeWithOutput() throws {
        let c = try Self.classifier(outputs: 3, labels: ["x", "y", "z"])
        var lines: [String] = []
        for i in 0 ..< 120 {
            let toks = (0 ..< (1 + i % 7)).map { Self.tokens[2 + (i * 7 + $0 * 3) % 8] }
            let gold = ["x", "y", "z"][(i * 5) % 3]
            lines.append(i % 10 == 9 ? "{\"text\":\"\(toks.joined(separator: " "))\"}"  // unlabelled
                                     : "{\"label\":\"\(gold)\",\"text\":\"\(toks.joined(separator: " "))\"}")
        }
        var opts = ClassifyOptions()
        opts.metrics = true
        let (out, sum) = try Self.run(ClassifyJob(classifier: c, options: opts), lines.joined(separator: "\n"))
        let recs = Self.objects(out)
        var confusion = Array(repeating: Array(repeating: 0, count: 3), count: 3)
        var loss = 0.0, n = 0
        for r in recs {
            let probs = r["probs"] as! [String: Double]
            XCTAssertEqual(probs.values.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(r["prob"] as! Double, probs.values.max()!)
            guard let g = r["gold"] as? String else { continue }
            let gi = ["x", "y", "z"].firstIndex(of: g)!, pi = ["x", "y", "z"].firstIndex(of: r["label"] as! String)!
            confusion[gi][pi] += 1
            loss -= log(probs[g]!)
            n += 1
        }
        let m = sum.metrics!
        XCTAssertEqual(n, 108)
        XCTAssertEqual(m.count, 108)
        XCTAssertEqual(m.confusion, confusion)
        XCTAssertEqual(m.accuracy!, Double((0 ..< 3).map { confusion[$0][$0] }.reduce(0, +)) / 108, accuracy: 1e-12)
        XCTAssertEqual(m.loss!, loss / 108, accuracy: 1e-5)
        for k in 0 ..< 3 {
            let tp = Double(confusion[k][k]), col = Double((0 ..< 3).map { confusion[$0][k] }.reduce(0, +))
            let row = Double(confusion[k].reduce(0, +))
            let s = m.scores(k)
            if col > 0 { XCTAssertEqual(s.precision!, tp / col, accuracy: 1e-12) } else { XCTAssertNil(s.precision) }
            XCTAssertEqual(s.recall!, tp / row, accuracy: 1e-12)
        }
        let report = m.report(records: 120)
        XCTAssertTrue(report.contains("108 labelled of 120 records"), report)
        let json = JSONWriter.string(m.json(records: 120))
        XCTAssertTrue(json.contains("\"confusion\":[["), json)
    }

    func testTopKAndTSV() throws {
        let c = try Self.classifier(outputs: 3, labels: ["x", "y", "z"])
        var opts = ClassifyOptions()
        opts.topK = 2
        let (out, _) = try Self.run(ClassifyJob(classifier: c, options: opts), "{\"id\":7,\"text\":\"good film\"}\n")
        let probs = Self.objects(out)[0]["probs"] as! [String: Double]
        XCTAssertEqual(probs.count, 2)
        XCTAssertTrue(out.contains("\"probs\":{\"\(Self.objects(out)[0]["label"] as! String)\":"), out)  // most probable first
        var tsv = ClassifyOptions()
        tsv.format = .tsv
        let bin = try Self.classifier()
        let (t, _) = try Self.run(ClassifyJob(classifier: bin, options: tsv), "{\"id\":\"a\\tb\",\"text\":\"good\"}\n{\"text\":\"bad\"}\n{\"text\":\"\"}\n")
        let rows = t.split(separator: "\n", omittingEmptySubsequences: false).map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.count, 4)  // 3 lines + final empty
        XCTAssertEqual(rows[0].count, 3)
        XCTAssertTrue(["neg", "pos"].contains(String(rows[0][0])))
        XCTAssertEqual(rows[0][2], "a b")
        XCTAssertEqual(rows[1][2], "")  // no id: empty (record numbers would restart per chunk)
        XCTAssertEqual(rows[2], ["", "", ""])  // no token: empty label and prob
        // top-k and probs on a binary model: both labels, most probable first; TSV pairs before the id
        let (b2, _) = try Self.run(ClassifyJob(classifier: bin, options: opts), "{\"text\":\"good\"}\n")
        let p2 = Self.objects(b2)[0]["probs"] as! [String: Double]
        XCTAssertEqual(Set(p2.keys), ["neg", "pos"])
        XCTAssertEqual(p2.values.reduce(0, +), 1, accuracy: 1e-6)
        tsv.topK = 2
        let (t2, _) = try Self.run(ClassifyJob(classifier: bin, options: tsv), "{\"id\":\"a\",\"text\":\"good\"}\n{\"text\":\"\"}\n")
        let r2 = t2.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(r2[0].count, 7)  // label, prob, 2 x (label, prob), id
        XCTAssertEqual(r2[0][2], r2[0][0])  // the first pair is the prediction
        XCTAssertEqual(Double(r2[0][3])! + Double(r2[0][5])!, 1, accuracy: 1e-6)
        XCTAssertEqual(r2[0][6], "a")
        XCTAssertEqual(r2[1], ["", "", "", "", "", "", ""])
        opts.topK = 0
        XCTAssertThrowsError(try ClassifyJob(classifier: bin, options: opts))
    }

    func testPlainTextAndEmptyRecords() throws {
        let c = try Self.classifier()
        var opts = ClassifyOptions()
        let (out, sum) = try Self.run(ClassifyJob(classifier: c, options: opts), "good film\n\nbad plot\n")
        let recs = Self.objects(out)
        XCTAssertEqual(recs.count, 3)
        XCTAssertEqual(recs.map { $0["text"] as! String }, ["good film", "", "bad plot"])
        XCTAssertTrue(recs[1]["label"] is NSNull)
        XCTAssertEqual(sum.empty, 1)
        opts.keepText = false
        let (o2, _) = try Self.run(ClassifyJob(classifier: c, options: opts), "{\"id\":1,\"label\":\"pos\",\"prob\":3,\"text\":\"good\"}\n")
        XCTAssertTrue(o2.hasPrefix("{\"id\":1,\"gold\":\"pos\",\"label\":"), o2)
        XCTAssertEqual(o2.components(separatedBy: "\"prob\"").count, 2, o2)
    }

    func testEncodedInputErrors() throws {
        let c = try Self.classifier()
        let job = { try ClassifyJob(classifier: c, options: ClassifyOptions()) }
        func fails(_ input: String, _ fragments: [String]) {
            XCTAssertThrowsError(try Self.run(job(), input)) { e in
                for f in fragments { XCTAssertTrue("\(e)".contains(f), "missing '\(f)' in \(e)") }
            }
        }
        fails("{\"ids\":[2],\"vocab\":\"00112233aabbccdd\"}\n{\"ids\":[2,3],\"vocab\":\"ffffffffffffffff\"}\n",
              [":2:", "ffffffffffffffff", "00112233aabbccdd"])
        fails("{\"ids\":[2,10]}\n", [":1:", "token id 10", "10 ids"])
        fails("{\"ids\":[2,-1]}\n", [":1:", "not an array of non-negative integers"])
        fails("{\"ids\":[2,3,4],\"length\":2}\n", [":1:", "not <pad>"])
        fails("{\"ids\":[2],\"length\":2}\n", [":1:", "\"length\""])
        fails("{\"ids\":[2],\"label\":2}\n", [":1:", "label id 2"])
        fails("{\"id\":1}\n", [":1:", "neither \"text\""])
        fails("{\"text\":\"a\"}\nnope\n", [":2:", "not a JSON object"])
    }

    /// Like any filter: the records before a bad line (or a missing file) are written before the
    /// error, and a half-read encoded record leaves the batch consistent.
    func testRecordsBeforeAnErrorAreWritten() throws {
        let c = try Self.classifier()
        let dir = NSTemporaryDirectory() + "rnn-classify-tests-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("{\"id\":1,\"text\":\"good\"}\n{\"id\":2,\"ids\":[2,3]}\n{\"id\":3,\"ids\":[2,99]}\n".utf8)
            .write(to: URL(fileURLWithPath: dir + "/bad.jsonl"))
        try Data("{\"id\":0,\"text\":\"film\"}\n".utf8).write(to: URL(fileURLWithPath: dir + "/ok.jsonl"))
        for (paths, expected) in [([dir + "/bad.jsonl"], [1, 2]), ([dir + "/ok.jsonl", dir + "/missing.jsonl"], [0])] {
            let outPath = dir + "/partial.out"
            let fd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let out = BufferedOutput(fd: fd, name: outPath)
            XCTAssertThrowsError(try ClassifyJob(classifier: c, options: ClassifyOptions()).run(paths: paths, out: out))
            try out.flush()
            close(fd)
            let got = Self.objects(try String(contentsOfFile: outPath, encoding: .utf8)).map { $0["id"] as! Int }
            XCTAssertEqual(got, expected)
        }
    }

    func testUnknownGoldLabelIsAnErrorOnlyWithMetrics() throws {
        let c = try Self.classifier()
        let (out, _) = try Self.run(ClassifyJob(classifier: c, options: ClassifyOptions()), "{\"label\":\"meh\",\"text\":\"good\"}\n")
        XCTAssertTrue(out.contains("\"gold\":\"meh\""), out)
        var opts = ClassifyOptions()
        opts.metrics = true
        XCTAssertThrowsError(try Self.run(ClassifyJob(classifier: c, options: opts), "{\"label\":\"meh\",\"text\":\"good\"}\n")) { e in
            XCTAssertTrue("\(e)".contains("label \"meh\" is not one of the model's labels (neg, pos)"), "\(e)")
        }
    }
}

extension String {
    func withUTF8Bytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var s = self
        return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}

/// A checkpoint written by the library loads into a classifier that predicts what the model did.
final class ClassifierCheckpointTests: XCTestCase {
    func testCheckpointRoundTripKeepsPredictionsAndTruncation() throws {
        let model = ClassifyTests.model(outputs: 1, cell: .lstm, bidirectional: true, seed: 11)
        let info = CheckpointInfo(kind: .classifier, config: model.config, vocabHash: "0123456789abcdef", vocabKind: .words,
                                  tokens: ClassifyTests.tokens, labels: ["neg", "pos"],
                                  extra: ["fix_length": "3", "truncate_first": "true"])
        let dir = NSTemporaryDirectory() + "rnn-classify-ckpt-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Checkpoint.write(model: model, info: info, to: dir + "/m.ckpt")
        let c = try Classifier(checkpoint: dir + "/m.ckpt")
        XCTAssertEqual(c.maxLength, 3)
        XCTAssertTrue(c.truncateFirst)
        XCTAssertEqual(c.vocabHash, "0123456789abcdef")
        var ids: [Int32] = []
        _ = try "good bad film great".withUTF8Bytes { try c.encode(text: $0, into: &ids) }
        XCTAssertEqual(ids, [3, 4, 6])  // the last 3 tokens
        let direct = ids.withUnsafeBufferPointer { model.classify(tokens: $0, lengths: [3]) }
        XCTAssertEqual(ClassifyTests.logits(c, ids), direct)
        // --fix-length 0 overrides the recorded fixed length
        let all = try Classifier(checkpoint: dir + "/m.ckpt", maxLength: 0)
        XCTAssertNil(all.maxLength)
        // a language model is refused
        let lm = Model(config: ModelConfig(cell: .gru, task: .languageModel, vocabSize: 10, embedDim: 4, hidden: 3, layers: 1,
                                           bidirectional: false, dropout: 0, headDropout: 0, outputs: 10, paddingIndex: nil,
                                           freezeEmbedding: false), seed: 1)
        try Checkpoint.write(model: lm, info: CheckpointInfo(kind: .languageModel, config: lm.config, vocabHash: "", vocabKind: .chars,
                                                             tokens: ClassifyTests.tokens, labels: []), to: dir + "/lm.ckpt")
        XCTAssertThrowsError(try Classifier(checkpoint: dir + "/lm.ckpt")) { e in
            XCTAssertTrue("\(e)".contains("language-model checkpoint"), "\(e)")
        }
    }
}
