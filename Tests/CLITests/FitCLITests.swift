import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import RNNCore

/// End-to-end tests of the built rnn-fit binary on a small slice of the real IMDB data:
/// 2,084 training reviews (every 12th), 1,000 test reviews (every 25th), GloVe 50d vectors.
final class FitCLITests: XCTestCase {
    struct Data {
        var dir: String
        var train: String, test: String, vocab: String, plainVocab: String, unpadded: String
    }

    /// Built once per test process from ../shared/data with the suite's own front end; nil when
    /// the archive or GloVe are absent (tests skipped).
    static let data: Data? = {
        let archive = Support.data + "/aclImdb_v1.tar.gz", glove = Support.data + "/glove.6B.50d.txt.gz"
        guard FileManager.default.fileExists(atPath: archive), FileManager.default.fileExists(atPath: glove) else { return nil }
        let dir = Support.tempDir("fit-data")
        let script = """
            set -e
            cd '\(dir)'
            rnn-corpus '\(archive)' --split train | rnn-clean | awk 'NR % 12 == 1' > train.jsonl
            rnn-corpus '\(archive)' --split test | rnn-clean | awk 'NR % 25 == 1' > test.jsonl
            rnn-vocab --min-freq 2 --vectors '\(glove)' train.jsonl -o v.bin
            rnn-vocab --min-freq 3 train.jsonl -o plain.bin
            rnn-encode --vocab v.bin --fix-length 200 train.jsonl -o train.bin
            rnn-encode --vocab v.bin --fix-length 200 test.jsonl -o test.bin
            rnn-encode --vocab v.bin test.jsonl -o unpadded.bin
            """
        guard let r = try? E2E.sh(script), r.status == 0 else { return nil }
        return Data(dir: dir, train: dir + "/train.bin", test: dir + "/test.bin", vocab: dir + "/v.bin",
                    plainVocab: dir + "/plain.bin", unpadded: dir + "/unpadded.bin")
    }()

    func need() throws -> Data {
        guard let d = FitCLITests.data else { throw XCTSkip("IMDB archive or GloVe vectors not in ../shared/data (or the front end failed)") }
        return d
    }

    /// Small, fast settings that still learn in one epoch.
    let small = ["--cell", "gru", "--bidirectional", "--hidden", "32", "--lr", "0.01", "--batch-size", "16", "--valid-split", "0.1"]

    func fit(_ args: [String]) throws -> (Int32, String, String) {
        try Support.tool("rnn-fit", args)
    }

    func tensors(_ path: String) throws -> [String: [Float]] {
        let f = try SafeTensorsFile(path: path)
        var out: [String: [Float]] = [:]
        for n in f.names where f.tensors[n]!.dtype == .f32 { out[n] = try f.floats(n) }
        return out
    }

    /// Asserts two files hold the same tensors, naming the first that differs (not printing them).
    func assertSameTensors(_ a: String, _ b: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ta = try tensors(a), tb = try tensors(b)
        XCTAssertEqual(ta.keys.sorted(), tb.keys.sorted(), what, file: file, line: line)
        for k in ta.keys.sorted() where ta[k] != tb[k] {
            XCTFail("\(what): tensor \(k) differs between \(a) and \(b)", file: file, line: line)
            return
        }
    }

    func testOneEpochOnTwoThousandReviewsBeatsSeventyPercent() throws {
        let d = try need()
        let dir = Support.tempDir("fit-small")
        let ckpt = dir + "/best.ckpt"
        let r = try fit([d.train, "--vocab", d.vocab] + small + ["--epochs", "1", "--seed", "1", "--test", d.test,
                                                                "-o", ckpt, "--log", dir + "/m.jsonl", "--plot", dir + "/c.svg"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertEqual(r.1, "", "nothing on stdout")
        // stderr: one line per epoch, the test line, the kept line
        let lines = r.2.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("epoch 1/1  train loss "), r.2)
        XCTAssertTrue(lines[0].contains("valid loss") && lines[0].contains("reviews/s") && lines[0].contains("elapsed"), r.2)
        let testLine = try XCTUnwrap(lines.first { $0.hasPrefix("test: ") }, r.2)
        let acc = try XCTUnwrap(Double(testLine.components(separatedBy: "accuracy ")[1].components(separatedBy: "%")[0]))
        XCTAssertGreaterThan(acc, 70, testLine)
        XCTAssertTrue(testLine.contains("on 1,000 reviews (\(d.test), weights of epoch 1)"), testLine)
        XCTAssertTrue(lines.last!.hasPrefix("kept \(ckpt) (epoch 1, valid loss "), r.2)

        // Checkpoint: the PyTorch state_dict of the module (bi-GRU, E=50, H=32, one logit).
        let f = try SafeTensorsFile(path: ckpt)
        let V = Int(try SafeTensorsFile(path: d.vocab).metadata["size"] ?? "") ?? f.tensors["embedding.weight"]!.shape[0]
        var expected: [String: [Int]] = ["embedding.weight": [V, 50], "fc.weight": [1, 64], "fc.bias": [1]]
        for sfx in ["", "_reverse"] {
            expected["rnn.weight_ih_l0" + sfx] = [96, 50]
            expected["rnn.weight_hh_l0" + sfx] = [96, 32]
            expected["rnn.bias_ih_l0" + sfx] = [96]
            expected["rnn.bias_hh_l0" + sfx] = [96]
        }
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: f.tensors.map { ($0.key, $0.value.shape) }), expected)
        XCTAssertTrue(f.tensors.values.allSatisfy { $0.dtype == .f32 })
        let m = f.metadata
        XCTAssertEqual(m["format"], "rnn-checkpoint")
        XCTAssertEqual(m["kind"], "classifier")
        XCTAssertEqual(m["epoch"], "1")
        XCTAssertEqual(m["seed"], "1")
        XCTAssertEqual(m["vocab_hash"], try SafeTensorsFile(path: d.vocab).metadata["hash"])
        XCTAssertEqual(m["labels"], "[\"neg\",\"pos\"]")
        XCTAssertTrue(m["command"]?.contains("rnn-fit") == true && m["command"]?.contains("--seed 1") == true, m["command"] ?? "")
        // the <pad> row stays zero
        let emb = try f.floats("embedding.weight")
        XCTAssertEqual(Array(emb[50 ..< 100]), [Float](repeating: 0, count: 50))

        // --log: JSON lines, the epoch line carries the checkpoint's validation numbers.
        let log = try String(contentsOfFile: dir + "/m.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Foundation.Data($0.utf8)) as! [String: Any] }
        let epochLine = try XCTUnwrap(log.first { $0["event"] as? String == "epoch" })
        let vl = try XCTUnwrap(epochLine["valid_loss"] as? Double)
        XCTAssertEqual(vl, Double(m["valid_loss"] ?? "") ?? -1, accuracy: 1e-9)
        XCTAssertEqual(log.first?["event"] as? String, "start")
        XCTAssertEqual(log.last?["event"] as? String, "end")
        let testEntry = try XCTUnwrap(log.first { $0["event"] as? String == "test" })
        XCTAssertEqual(testEntry["accuracy"] as? Double ?? 0, acc / 100, accuracy: 0.0001)
        XCTAssertEqual(testEntry["items"] as? Int, 1000)

        // rnn-classify on the same test reviews (as cleaned text) agrees with rnn-fit --test.
        let c = try Support.tool("rnn-classify", ["-m", ckpt, "--metrics-json", dir + "/metrics.json", "-q", d.dir + "/test.jsonl"])
        XCTAssertEqual(c.0, 0, c.2)
        let metrics = try JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: dir + "/metrics.json"))) as! [String: Any]
        XCTAssertEqual(metrics["accuracy"] as? Double ?? 0, acc / 100, accuracy: 0.0025, "\(metrics)")

        // --plot: a well-formed SVG with both series.
        let svg = try String(contentsOfFile: dir + "/c.svg", encoding: .utf8)
        let parser = XMLParser(data: Foundation.Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "SVG not well-formed")
        XCTAssertTrue(svg.contains("class=\"train\"") && svg.contains("class=\"valid\""))
        XCTAssertTrue(FileManager.default.fileExists(atPath: ckpt + ".state"))
    }

    func testSameSeedSameResultAndResumeContinuesExactly() throws {
        let d = try need()
        let dir = Support.tempDir("fit-resume")
        let args = [d.train, "--vocab", d.vocab] + small + ["--hidden", "16", "--seed", "7", "--head-dropout", "0.3", "--embed-dropout", "0.2"]
        // uninterrupted, twice
        for name in ["a", "b"] {
            let r = try fit(args + ["--epochs", "2", "-o", "\(dir)/\(name).ckpt", "--log", "\(dir)/\(name).jsonl"])
            XCTAssertEqual(r.0, 0, r.2)
        }
        try assertSameTensors(dir + "/a.ckpt", dir + "/b.ckpt", "same seed, same checkpoint")
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/a.ckpt").metadata["embed_dropout"], "0.2")
        try assertSameTensors(dir + "/a.ckpt.state", dir + "/b.ckpt.state", "same seed, same state")
        // another seed differs
        let r0 = try fit(args.map { $0 == "7" ? "8" : $0 } + ["--epochs", "1", "-o", "\(dir)/other.ckpt"])
        XCTAssertEqual(r0.0, 0, r0.2)
        XCTAssertNotEqual(try tensors(dir + "/other.ckpt")["fc.weight"], try tensors(dir + "/a.ckpt")["fc.weight"])

        // one epoch, then resume to two: same final state as the uninterrupted run
        let r1 = try fit(args + ["--epochs", "1", "-o", "\(dir)/c.ckpt", "--log", "\(dir)/c.jsonl"])
        XCTAssertEqual(r1.0, 0, r1.2)
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/c.ckpt.state").int64s("position").first, 2, "next: epoch 2")
        let r2 = try fit([d.train, "--vocab", d.vocab, "--resume", dir + "/c.ckpt", "--epochs", "2", "--log", "\(dir)/c.jsonl"])
        XCTAssertEqual(r2.0, 0, r2.2)
        XCTAssertTrue(r2.2.hasPrefix("resuming at epoch 2 of 2, batch 1 of "), r2.2)
        XCTAssertTrue(r2.2.contains("epoch 2/2"), r2.2)
        XCTAssertFalse(r2.2.contains("epoch 1/2"), r2.2)
        try assertSameTensors(dir + "/c.ckpt.state", dir + "/a.ckpt.state", "resumed == uninterrupted")
        try assertSameTensors(dir + "/c.ckpt", dir + "/a.ckpt", "same best checkpoint")
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/c.ckpt.state").int64s("position").first, 3)
        // the log continues (appended): the epoch lines equal those of the uninterrupted run but for timing
        func epochs(_ p: String) throws -> [[String: Any]] {
            try String(contentsOfFile: p, encoding: .utf8).split(separator: "\n")
                .map { try JSONSerialization.jsonObject(with: Foundation.Data($0.utf8)) as! [String: Any] }
                .filter { $0["event"] as? String == "epoch" }
        }
        let ea = try epochs(dir + "/a.jsonl"), ec = try epochs(dir + "/c.jsonl")
        XCTAssertEqual(ec.count, 2)
        for k in ["epoch", "train_loss", "train_acc", "valid_loss", "valid_acc"] {
            XCTAssertEqual(ea.map { $0[k] as! Double }, ec.map { $0[k] as! Double }, k)
        }
        // nothing left to do
        let r3 = try fit([d.train, "--vocab", d.vocab, "--resume", dir + "/c.ckpt", "--epochs", "2"])
        Support.assertFails(r3, tool: "rnn-fit", ["already trained 2 epochs", "--epochs"])
        // settings of the saved run cannot be changed on resume
        let r5 = try fit([d.train, "--vocab", d.vocab, "--resume", dir + "/c.ckpt", "--epochs", "3", "--hidden", "32", "--lr", "0.01"])
        XCTAssertEqual(r5.0, 2, r5.2)
        XCTAssertTrue(r5.2.contains("drop --hidden, --lr"), r5.2)
        // no state
        let r4 = try fit([d.train, "--vocab", d.vocab, "--resume", dir + "/missing.ckpt"])
        Support.assertFails(r4, tool: "rnn-fit", ["missing.ckpt", "missing.ckpt.state", "does not exist"])
    }

    func testCtrlCStopsBetweenBatchesAndKeepsTheBestCheckpoint() throws {
        let d = try need()
        let dir = Support.tempDir("fit-sigint")
        let ckpt = dir + "/best.ckpt"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Support.bin + "/rnn-fit")
        p.arguments = [d.train, "--vocab", d.vocab] + small + ["--epochs", "200", "-o", ckpt]
        let errPath = dir + "/err"
        Support.write("", to: errPath)
        p.standardError = FileHandle(forWritingAtPath: errPath)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // wait for the first checkpoint (end of epoch 1), then interrupt in the middle of a later epoch
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: ckpt + ".state") && Date() < deadline && p.isRunning { usleep(20_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: ckpt), "no checkpoint after the first epoch")
        usleep(300_000)
        let before = try Foundation.Data(contentsOf: URL(fileURLWithPath: ckpt))
        p.interrupt()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        let err = try String(contentsOfFile: errPath, encoding: .utf8)
        XCTAssertTrue(err.contains("interrupted: kept \(ckpt) (epoch "), err)
        // the kept checkpoint is complete and is the best one written so far
        let f = try SafeTensorsFile(path: ckpt)
        XCTAssertEqual(f.metadata["format"], "rnn-checkpoint")
        let keptEpoch = err.components(separatedBy: "interrupted: kept \(ckpt) (epoch ").last?.components(separatedBy: ",").first
        XCTAssertEqual(Double(keptEpoch ?? "") ?? -1, Double(f.metadata["epoch"] ?? "") ?? -2, accuracy: 0.006, err)
        XCTAssertTrue(err.contains("Ctrl-C: stopping after this step"), err)
        XCTAssertGreaterThan(before.count, 0)
        let temps = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(temps, [])
    }

    func testSIGTERMAndTheTimeBudgetStopAClassifierAfterAFinalEvaluation() throws {
        let d = try need()
        let dir = Support.tempDir("fit-stop")
        let args = ([d.train, "--vocab", d.vocab] + small + ["--epochs", "200", "-o", dir + "/t.ckpt"]).map { "'\($0)'" }.joined(separator: " ")
        let r = try E2E.sh("""
            set -m
            rnn-fit \(args) 2>'\(dir)/err' & pid=$!
            for i in $(seq 1 1200); do [ -e '\(dir)/t.ckpt.state' ] && break; sleep 0.05; done
            sleep 0.3; kill -TERM $pid; wait $pid; echo "status $?"
            """)
        XCTAssertEqual(r.out, "status 143\n", r.stderr)
        let err = try String(contentsOfFile: dir + "/err", encoding: .utf8)
        XCTAssertTrue(err.contains("SIGTERM: stopping after this step") && err.contains("interrupted: kept \(dir)/t.ckpt (epoch "), err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }, [])
        // the budget: evaluation and --test included, exit 0
        let start = Date()
        let b = try fit([d.train, "--vocab", d.vocab] + small + ["--epochs", "200", "--max-time", "4s", "--test", d.test, "-o", dir + "/b.ckpt"])
        let wall = Date().timeIntervalSince(start)
        XCTAssertEqual(b.0, 0, b.2)
        XCTAssertTrue(b.2.contains("time budget of 0:04 reached at step "), b.2)
        XCTAssertTrue(b.2.contains("test: loss "), b.2)
        XCTAssertLessThan(wall, 4 + 2, "budget 4 s (final evaluation and test included) plus start-up")
        // --lr-schedule applies to classifiers too
        let c = try fit([d.train, "--vocab", d.vocab] + small + ["--epochs", "1", "--lr-schedule", "cosine", "--seed", "1", "-o", dir + "/c.ckpt"])
        XCTAssertEqual(c.0, 0, c.2)
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/c.ckpt.state").metadata["schedule"], "cosine")
    }

    func testCorruptOrMixedStatesAreRefusedOnResume() throws {
        let d = try need()
        let dir = Support.tempDir("fit-mixed")
        for name in ["a", "b"] {
            let r = try fit([d.train, "--vocab", d.vocab] + small + ["--hidden", "8", "--epochs", "1", "-o", "\(dir)/\(name).ckpt"])
            XCTAssertEqual(r.0, 0, r.2)
        }
        try FileManager.default.removeItem(atPath: dir + "/a.ckpt.state")
        try FileManager.default.copyItem(atPath: dir + "/b.ckpt.state", toPath: dir + "/a.ckpt.state")
        let r = try fit([d.train, "--vocab", d.vocab, "--resume", dir + "/a.ckpt", "--epochs", "2"])
        Support.assertFails(r, tool: "rnn-fit", ["a.ckpt", "different runs", "start a new run"])
        // a non-finite loss or weights (lr 1e38 in epoch 2): the checkpoint of epoch 1 is kept
        let n = try fit([d.train, "--vocab", d.vocab] + small + ["--hidden", "8", "--epochs", "3", "--lr", "1", "--lr-decay", "1e38", "-o", dir + "/n.ckpt"])
        XCTAssertEqual(n.0, 1, n.2)
        let last = n.2.split(separator: "\n").last.map(String.init) ?? ""
        for f in ["rnn-fit: error: training diverged", "epoch 2", "n.ckpt and its state", "--lr"] { XCTAssertTrue(last.contains(f), last) }
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/n.ckpt").metadata["epoch"], "1")
    }

    func testVocabularyAndOptionErrors() throws {
        let d = try need()
        let dir = Support.tempDir("fit-errors")
        let out = dir + "/x.ckpt"
        let hashV = try XCTUnwrap(SafeTensorsFile(path: d.vocab).metadata["hash"])
        let hashP = try XCTUnwrap(SafeTensorsFile(path: d.plainVocab).metadata["hash"])
        // data encoded with another vocabulary
        let r1 = try fit([d.train, "--vocab", d.plainVocab, "-o", out])
        Support.assertFails(r1, tool: "rnn-fit", [d.train, d.plainVocab, hashV, hashP], noFile: out)
        // a vocabulary without vectors needs --embed-dim; vectors and another --embed-dim conflict
        let r2 = try fit([d.train, "--vocab", d.vocab, "--embed-dim", "20", "-o", out])
        Support.assertFails(r2, tool: "rnn-fit", ["--embed-dim 20", "50-dimensional", d.vocab], noFile: out)
        // --padded needs fixed-length data
        let r3 = try fit([d.unpadded, "--vocab", d.vocab, "--padded", "-o", out])
        Support.assertFails(r3, tool: "rnn-fit", ["--padded", "--fix-length"], noFile: out)
        // usage errors: exit 2
        let r4 = try fit([d.train, "--vocab", d.vocab, "--cell", "transformer", "-o", out])
        XCTAssertEqual(r4.0, 2, r4.2)
        XCTAssertTrue(r4.2.contains("'rnn', 'lstm' or 'gru'"), r4.2)
        let r6 = try fit([d.train, "--vocab", d.vocab, "--model", "gru", "-o", out])
        XCTAssertEqual(r6.0, 2, r6.2)
        XCTAssertTrue(r6.2.contains("--model is now --cell"), r6.2)
        // options of the other task name the task; non-finite numbers are usage errors
        let r7 = try fit([d.train, "--vocab", d.vocab, "--seq-len", "64", "-o", out])
        XCTAssertEqual(r7.0, 2, r7.2)
        XCTAssertTrue(r7.2.contains("--seq-len does not apply to a classifier"), r7.2)
        for bad in [["--lr", "inf"], ["--lr-decay", "nan"], ["--clip", "nan"], ["--weight-decay", "inf"], ["--max-time", "soon"],
                    ["--lr-schedule", "linear"], ["--threads", "0"]] {
            let r = try fit([d.train, "--vocab", d.vocab, "-o", out] + bad)
            XCTAssertEqual(r.0, 2, "\(bad): \(r.2)")
            XCTAssertTrue(r.2.contains(bad[0]), r.2)
        }
        let r5 = try fit([d.train, "--vocab", d.vocab])
        XCTAssertEqual(r5.0, 2, r5.2)
        XCTAssertTrue(r5.2.contains("-o/--output"), r5.2)
    }

    /// --pool concat: the checkpoint records it and fc reads 3 blocks of D*H features; same seed
    /// and threads give the same bits; one epoch resumed to two equals two epochs (the state keeps
    /// the pool); --pool with --resume or --lm, and an unknown kind, are refused.
    func testPoolingHeadIsRecordedAndResumesExactly() throws {
        let d = try need()
        let dir = Support.tempDir("fit-pool")
        let args = [d.train, "--vocab", d.vocab, "--cell", "gru", "--bidirectional", "--hidden", "8", "--batch-size", "32",
                    "--valid-split", "0.1", "--threads", "2", "--seed", "5", "--pool", "concat"]
        for name in ["a", "b"] {
            let r = try fit(args + ["--epochs", "2", "-o", "\(dir)/\(name).ckpt"])
            XCTAssertEqual(r.0, 0, r.2)
        }
        try assertSameTensors(dir + "/a.ckpt", dir + "/b.ckpt", "same seed and threads, same checkpoint")
        let f = try SafeTensorsFile(path: dir + "/a.ckpt")
        XCTAssertEqual(f.metadata["pool"], "concat")
        XCTAssertEqual(f.tensors["fc.weight"]?.shape, [1, 3 * 2 * 8])
        let r1 = try fit(args + ["--epochs", "1", "-o", "\(dir)/c.ckpt"])
        XCTAssertEqual(r1.0, 0, r1.2)
        let r2 = try fit([d.train, "--vocab", d.vocab, "--resume", dir + "/c.ckpt", "--epochs", "2"])
        XCTAssertEqual(r2.0, 0, r2.2)
        try assertSameTensors(dir + "/c.ckpt.state", dir + "/a.ckpt.state", "resumed == uninterrupted")
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/c.ckpt").metadata["pool"], "concat")
        let r3 = try fit([d.train, "--vocab", d.vocab, "--resume", dir + "/c.ckpt", "--epochs", "3", "--pool", "max"])
        XCTAssertEqual(r3.0, 2, r3.2)
        XCTAssertTrue(r3.2.contains("drop --pool"), r3.2)
        let r4 = try fit(["--lm", d.train, "--pool", "max", "-o", dir + "/lm.ckpt"])
        XCTAssertEqual(r4.0, 2, r4.2)
        XCTAssertTrue(r4.2.contains("--pool does not apply to --lm"), r4.2)
        let r5 = try fit(args.map { $0 == "concat" ? "median" : $0 } + ["-o", dir + "/x.ckpt"])
        XCTAssertEqual(r5.0, 2, r5.2)
        XCTAssertTrue(r5.2.contains("--pool"), r5.2)
    }

    func testPaddedAndPackedBothTrainAndDiffer() throws {
        let d = try need()
        let dir = Support.tempDir("fit-padded")
        let args = [d.train, "--vocab", d.vocab, "--cell", "lstm", "--hidden", "8", "--epochs", "1", "--threads", "1"]
        let r1 = try fit(args + ["-o", dir + "/packed.ckpt"])
        XCTAssertEqual(r1.0, 0, r1.2)
        let r2 = try fit(args + ["--padded", "-o", dir + "/padded.ckpt"])
        XCTAssertEqual(r2.0, 0, r2.2)
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/padded.ckpt").metadata["padded"], "true")
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/packed.ckpt").metadata["padded"], "false")
        XCTAssertNotEqual(try tensors(dir + "/packed.ckpt")["fc.weight"], try tensors(dir + "/padded.ckpt")["fc.weight"])
    }
}
