import Foundation
import XCTest
import RNNCore

/// Multi-label classification end to end (issue 13): records with several labels train a
/// sigmoid-per-label head; rnn-classify predicts every label that reaches --threshold and scores
/// label sets; malformed label lists are errors naming the file and the line.
final class MultiLabelCLITests: XCTestCase {
    static let labels = ["sport", "food", "music", "rain"]
    static let markers = [["goal", "match"], ["soup", "bread"], ["guitar", "song"], ["storm", "umbrella"]]
    static let filler = ["the", "a", "was", "very", "today", "we", "saw", "it", "and", "then", "quite", "some", "after", "our",
                         "old", "new", "long", "short", "friend", "town", "day", "night", "good", "bad"]

    /// `n` fastText lines: each label present with probability 0.4 (at least one), shown by one of
    /// its marker words among filler words. Deterministic for a given `seed`.
    static func lines(_ n: Int, seed: UInt64) -> (text: String, sets: [Set<String>]) {
        var s = seed
        func next() -> Int { s = s &* 6364136223846793005 &+ 1442695040888963407; return Int(s >> 33) }
        var out = "", sets: [Set<String>] = []
        for _ in 0 ..< n {
            var present = (0 ..< 4).filter { _ in next() % 10 < 4 }
            if present.isEmpty { present = [next() % 4] }
            var toks = (0 ..< (3 + next() % 8)).map { _ in filler[next() % filler.count] }
            for l in present { toks.insert(markers[l][next() % 2], at: next() % (toks.count + 1)) }
            out += present.map { "__label__" + labels[$0] }.joined(separator: " ") + " " + toks.joined(separator: " ") + "\n"
            sets.append(Set(present.map { labels[$0] }))
        }
        return (out, sets)
    }

    /// Micro F1 and exact-match ratio of predicted label sets against gold sets.
    static func scores(_ predicted: [Set<String>], _ gold: [Set<String>]) -> (microF1: Double, exact: Double) {
        var tp = 0, np = 0, ng = 0, exact = 0
        for (p, g) in zip(predicted, gold) {
            tp += p.intersection(g).count; np += p.count; ng += g.count
            if p == g { exact += 1 }
        }
        let pr = np == 0 ? 0 : Double(tp) / Double(np), rc = Double(tp) / Double(ng)
        return (pr + rc == 0 ? 0 : 2 * pr * rc / (pr + rc), Double(exact) / Double(gold.count))
    }

    func testMultiLabelTrainingBeatsTheMajorityLabelSet() throws {
        let dir = Support.tempDir("multilabel-train")
        let train = Self.lines(800, seed: 11), test = Self.lines(300, seed: 12)
        Support.write(train.text, to: dir + "/train.ft")
        Support.write(test.text, to: dir + "/test.ft")
        let fit = try E2E.sh("rnn-clean --format fasttext \(dir)/train.ft | rnn-fit --hidden 24 --embed-dim 16 --epochs 6 --lr 0.01 --batch-size 16 --threads 1 -o \(dir)/m.ckpt")
        XCTAssertEqual(fit.status, 0, fit.stderr)
        // the head kind and the labels are in the checkpoint metadata
        let meta = try SafeTensorsFile(path: dir + "/m.ckpt").metadata
        XCTAssertEqual(meta["head"], "multi_label")
        XCTAssertEqual(meta["outputs"], "4")
        XCTAssertEqual(Set(try XCTUnwrap(JSONScanner.parse(meta["labels"] ?? "").arrayValue).compactMap(\.stringValue)), Set(Self.labels))

        let r = try E2E.sh("rnn-clean --format fasttext \(dir)/test.ft | rnn-classify -m \(dir)/m.ckpt -q --metrics-json \(dir)/metrics.json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = ClassifyCLITests.objects(r.out)
        XCTAssertEqual(out.count, 300)
        var predicted: [Set<String>] = []
        for o in out {
            let names = try XCTUnwrap(o["label"] as? [String]), probs = try XCTUnwrap(o["prob"] as? [Double])
            let all = try XCTUnwrap(o["probs"] as? [String: Double])
            XCTAssertEqual(all.count, 4)
            XCTAssertEqual(names.count, probs.count)
            // every label at or above 0.5, most probable first, and no other
            XCTAssertEqual(Set(names), Set(all.filter { $0.value >= 0.5 }.keys))
            XCTAssertEqual(probs, probs.sorted(by: >))
            XCTAssertEqual(names.map { all[$0]! }, probs)
            XCTAssertNotNil(o["gold"] as? [String] ?? (o["gold"] as? String).map { [$0] })
            predicted.append(Set(names))
        }
        let model = Self.scores(predicted, test.sets)
        // the majority baseline: always the most frequent label set of the training data
        var counts: [Set<String>: Int] = [:]
        for s in train.sets { counts[s, default: 0] += 1 }
        let majority = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key.sorted().joined() > $1.key.sorted().joined()) }!.key
        let baseline = Self.scores(Array(repeating: majority, count: test.sets.count), test.sets)
        print("[multilabel] test micro-F1 \(model.microF1) exact match \(model.exact); majority set \(majority.sorted()): micro-F1 \(baseline.microF1) exact match \(baseline.exact)")
        XCTAssertGreaterThan(model.microF1, baseline.microF1 + 0.3)
        XCTAssertGreaterThan(model.exact, baseline.exact + 0.3)
        // --metrics-json agrees with a recomputation from the output
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/metrics.json"))) as! [String: Any]
        XCTAssertEqual(m["multi_label"] as? Bool, true)
        XCTAssertEqual(m["micro_f1"] as! Double, model.microF1, accuracy: 1e-9)
        XCTAssertEqual(m["accuracy"] as! Double, model.exact, accuracy: 1e-9)
        XCTAssertTrue(m["confusion"] is NSNull)
        // a higher threshold predicts a subset of the labels
        let strict = try E2E.sh("rnn-clean --format fasttext \(dir)/test.ft | rnn-classify -m \(dir)/m.ckpt -q --threshold 0.9 --output-format tsv")
        XCTAssertEqual(strict.status, 0, strict.stderr)
        let rows = strict.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(rows.count, 300)
        for (row, p) in zip(rows, predicted) {
            let fields = row.split(separator: "\t", omittingEmptySubsequences: false)
            let names = fields[0].isEmpty ? [] : fields[0].split(separator: ",").map(String.init)
            XCTAssertTrue(Set(names).isSubset(of: p), String(row))
            XCTAssertTrue(fields[1].split(separator: ",").allSatisfy { Double($0)! >= 0.9 }, String(row))
        }
    }

    /// P@k and R@k over label sets: R@4 = 1 (every label is among the 4 most probable) and P@4 =
    /// mean |gold| / 4.
    func testPrecisionAndRecallAtKOverLabelSets() throws {
        let dir = Support.tempDir("multilabel-atk")
        let train = Self.lines(200, seed: 21)
        Support.write(train.text, to: dir + "/train.ft")
        let fit = try E2E.sh("rnn-clean --format fasttext \(dir)/train.ft | rnn-fit --hidden 8 --embed-dim 8 --epochs 1 --threads 1 -q -o \(dir)/m.ckpt")
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let r = try E2E.sh("rnn-clean --format fasttext \(dir)/train.ft | rnn-classify -m \(dir)/m.ckpt -q --top-k 4 --metrics-json \(dir)/m.json > /dev/null")
        XCTAssertEqual(r.status, 0, r.stderr)
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/m.json"))) as! [String: Any]
        XCTAssertEqual(m["recall_at_k"] as! Double, 1, accuracy: 1e-12)
        let meanGold = Double(train.sets.map(\.count).reduce(0, +)) / Double(train.sets.count)
        XCTAssertEqual(m["precision_at_k"] as! Double, meanGold / 4, accuracy: 1e-12)
    }

    func testMalformedLabelListsNameTheFileAndLine() throws {
        let dir = Support.tempDir("multilabel-bad")
        Support.write("__label__a one two\n__label__b __label__a __label__b three four\n", to: dir + "/dup.ft")
        Support.write("{\"label\":[\"a\"],\"text\":\"one\"}\n{\"label\":[],\"text\":\"two\"}\n", to: dir + "/empty.jsonl")
        Support.write("{\"label\":[\"a\",\"b\"],\"text\":\"one\"}\n{\"label\":[\"a\",\"a\"],\"text\":\"two\"}\n", to: dir + "/dup.jsonl")
        Support.write("{\"label\":[\"a\",3],\"text\":\"one\"}\n", to: dir + "/number.jsonl")
        for (file, line, what) in [("dup.ft", 2, "given twice"), ("empty.jsonl", 2, "empty list of labels"), ("dup.jsonl", 2, "given twice"),
                                   ("number.jsonl", 1, "must be a string")] {
            for tool in ["rnn-fit", "rnn-vocab"] {
                let args = tool == "rnn-fit" ? ["--epochs", "1", "-o", dir + "/m.ckpt", dir + "/" + file] : [dir + "/" + file, "-o", dir + "/v.bin"]
                Support.assertFails(try Support.tool(tool, args + (file.hasSuffix(".ft") ? ["--format", "fasttext"] : [])), tool: tool,
                                    ["\(dir)/\(file):\(line)", what], noFile: tool == "rnn-fit" ? dir + "/m.ckpt" : dir + "/v.bin")
            }
        }
        // rnn-classify --metrics reads the gold label lists the same way
        Support.write("{\"label\":[\"a\"],\"text\":\"one\"}\n", to: dir + "/ok.jsonl")
        Support.write("{\"label\":[\"a\",\"b\"],\"text\":\"one two\"}\n{\"label\":[\"b\"],\"text\":\"two\"}\n", to: dir + "/train.jsonl")
        XCTAssertEqual(try Support.tool("rnn-fit", ["--epochs", "1", "--hidden", "4", "--embed-dim", "4", "--valid-split", "0", "-q", "-o", dir + "/m.ckpt", dir + "/train.jsonl"]).0, 0)
        let c = try Support.tool("rnn-classify", ["-m", dir + "/m.ckpt", "--metrics", "-q", dir + "/dup.jsonl"])
        XCTAssertEqual(c.0, 1, c.2)
        XCTAssertTrue(c.2.contains("\(dir)/dup.jsonl:2") && c.2.contains("given twice"), c.2)
        XCTAssertEqual(c.1.split(separator: "\n").count, 1, "the record before the bad line is answered")
    }

    /// --threshold on every head: binary (the second label only above it), multi-class (the most
    /// probable label only when it reaches it, else none with a reason).
    func testThresholdOnBinaryAndMultiClassModels() throws {
        let dir = Support.tempDir("multilabel-threshold")
        Support.write(ClassifyCLITests.records(60, labels: ["a", "b", "c"]), to: dir + "/in.jsonl")
        XCTAssertEqual(try Support.tool("rnn-vocab", [dir + "/in.jsonl", "-o", dir + "/v.bin"]).0, 0)
        try ClassifyCLITests.writeCheckpoint(dir + "/m.ckpt", vocab: dir + "/v.bin", seed: 3)
        let all = ClassifyCLITests.objects(try E2E.sh("rnn-classify -m \(dir)/m.ckpt -q \(dir)/in.jsonl").out)
        let probs = all.map { ($0["probs"] as! [String: Double]).values.max()! }
        let cut = probs.sorted()[30]   // half the records below, half at or above
        let t = try E2E.sh("rnn-classify -m \(dir)/m.ckpt -q --threshold \(cut) \(dir)/in.jsonl")
        XCTAssertEqual(t.status, 0, t.stderr)
        let th = ClassifyCLITests.objects(t.out)
        XCTAssertEqual(th.count, 60)
        var none = 0
        for (x, (y, p)) in zip(th, zip(all, probs)) {
            if p >= cut {
                XCTAssertEqual(x["label"] as? String, y["label"] as? String)
            } else {
                none += 1
                XCTAssertTrue(x["label"] is NSNull)
                XCTAssertTrue(x["prob"] is NSNull)
                XCTAssertEqual(x["reason"] as? String, "below threshold")
                XCTAssertEqual((x["probs"] as! [String: Double]).count, 3)
            }
        }
        XCTAssertEqual(none, 30)
        // metrics: a record without a predicted label counts against recall and accuracy, not precision
        let m = try E2E.sh("rnn-classify -m \(dir)/m.ckpt -q --threshold \(cut) --metrics-json \(dir)/m.json \(dir)/in.jsonl > /dev/null")
        XCTAssertEqual(m.status, 0, m.stderr)
        let j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/m.json"))) as! [String: Any]
        XCTAssertEqual((j["unpredicted"] as! [Int]).reduce(0, +), 30)
        XCTAssertEqual((j["confusion"] as! [[Int]]).flatMap { $0 }.reduce(0, +), 30)
        // binary: the second label exactly when its probability is above the threshold
        Support.write(ClassifyCLITests.records(40), to: dir + "/bin.jsonl")
        XCTAssertEqual(try Support.tool("rnn-vocab", [dir + "/bin.jsonl", "-o", dir + "/vb.bin"]).0, 0)
        try ClassifyCLITests.writeCheckpoint(dir + "/b.ckpt", vocab: dir + "/vb.bin")
        let b = ClassifyCLITests.objects(try E2E.sh("rnn-classify -m \(dir)/b.ckpt -q --probs --threshold 0.3 \(dir)/bin.jsonl").out)
        let labels = try Support.strings(SafeTensorsFile(path: dir + "/vb.bin"), "labels", "label_offsets")
        for x in b {
            let p = (x["probs"] as! [String: Double])[labels[1]]!
            XCTAssertEqual(x["label"] as? String, p > 0.3 ? labels[1] : labels[0])
        }
    }
}
