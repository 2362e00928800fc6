import Foundation
import RNNCore
import XCTest

/// End-to-end tests of rnn-fit --lm and rnn-sample on the built binaries.
final class LMCLITests: XCTestCase {
    static let small = ["--cell", "lstm", "--layers", "1", "--hidden", "48", "--embed-dim", "16", "--batch-size", "8",
                        "--seq-len", "32", "--lr", "0.01", "--threads", "1"]

    /// A model trained once on the first 20 KB of tiny-shakespeare (3 epochs, seconds).
    static let shakespeare: Result<(dir: String, ckpt: String, text: String), Error> = Result {
        let dir = Support.tempDir("lm-shakespeare")
        let path = E2E.data.appendingPathComponent("tinyshakespeare.txt").path
        guard let all = FileManager.default.contents(atPath: path) else { throw XCTSkip("no tinyshakespeare.txt") }
        let text = String(decoding: all.prefix(20_000), as: UTF8.self)
        Support.write(text, to: dir + "/ts.txt")
        let r = try Support.tool("rnn-fit", ["--lm", dir + "/ts.txt", "--epochs", "3", "-o", dir + "/lm.ckpt", "--log", dir + "/log.jsonl"] + small)
        guard r.0 == 0 else { throw RNNError("rnn-fit failed: \(r.2)") }
        return (dir, dir + "/lm.ckpt", text)
    }

    func model() throws -> (dir: String, ckpt: String, text: String) { try LMCLITests.shakespeare.get() }

    func testTrainingReportsLossesInNatsAndBitsAndWritesALoadableCheckpoint() throws {
        let m = try model()
        let log = try String(contentsOfFile: m.dir + "/log.jsonl", encoding: .utf8)
        let epochs = log.split(separator: "\n").filter { $0.contains("\"event\":\"epoch\"") }
        XCTAssertEqual(epochs.count, 3)
        XCTAssertTrue(epochs[0].contains("\"valid_bits\""), String(epochs[0]))
        let f = try SafeTensorsFile(path: m.ckpt)
        XCTAssertEqual(f.metadata["kind"], "lm")
        XCTAssertEqual(f.metadata["vocab_kind"], "chars")
        XCTAssertEqual(Set(f.names), ["embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "fc.weight", "fc.bias"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: m.ckpt + ".state"))
    }

    func testAlphabetFromACharVocabularyAndGzipTextOnStdin() throws {
        let m = try model()
        let dir = Support.tempDir("lm-vocab")
        let r = try E2E.sh("""
            set -e
            rnn-vocab --chars '\(m.dir)/ts.txt' -o '\(dir)/v.bin' 2>/dev/null
            gzip -c '\(m.dir)/ts.txt' | rnn-fit --lm --vocab '\(dir)/v.bin' --epochs 1 -o '\(dir)/m.ckpt' \(LMCLITests.small.joined(separator: " "))
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("rnn-fit: <stdin>: 20,000 characters"), r.stderr)
        let v = try SafeTensorsFile(path: dir + "/v.bin"), c = try SafeTensorsFile(path: dir + "/m.ckpt")
        XCTAssertEqual(c.metadata["vocab_hash"], v.metadata["hash"])
        XCTAssertEqual(c.tensors["embedding.weight"]?.shape.first, Int(v.metadata["size"] ?? ""))
        // a separate validation text; options of classification are refused
        let vf = try Support.tool("rnn-fit", ["--lm", m.dir + "/ts.txt", "--valid", m.dir + "/ts.txt", "--epochs", "1", "-o", dir + "/vf.ckpt"] + LMCLITests.small)
        XCTAssertEqual(vf.0, 0, vf.2)
        XCTAssertTrue(vf.2.contains("20,000 for training, 20,000 for validation"), vf.2)
        let bad = try Support.tool("rnn-fit", ["--lm", m.dir + "/ts.txt", "--padded", "-o", dir + "/p.ckpt"])
        XCTAssertEqual(bad.0, 2)
        XCTAssertTrue(bad.2.contains("--padded does not apply to --lm"), bad.2)
        let bad2 = try Support.tool("rnn-fit", ["--lm", m.dir + "/ts.txt", "--pool", "max", "-o", dir + "/p.ckpt"])
        XCTAssertEqual(bad2.0, 2)
        XCTAssertTrue(bad2.2.contains("--pool does not apply to --lm"), bad2.2)
        // a word vocabulary is refused
        let w = try E2E.sh("rnn-vocab '\(m.dir)/ts.txt' -o '\(dir)/w.bin' 2>/dev/null && rnn-fit --lm '\(m.dir)/ts.txt' --vocab '\(dir)/w.bin' -o '\(dir)/x.ckpt'")
        XCTAssertEqual(w.status, 1)
        XCTAssertTrue(w.stderr.contains("rnn-vocab --chars"), w.stderr)
    }

    /// --weight-drop, --embed-dropout, --head-dropout and --locked-dropout with --lm: recorded in the checkpoint and its state (a
    /// resumed run keeps them and refuses new values), they change training but not the model's
    /// tensors, and out-of-range values are refused.
    /// `--resume CKPT` with `option value` is refused (a setting of the state), without it the run
    /// resumes to epoch 2 and the checkpoint's metadata `key` keeps `kept`.
    func resumeKeeps(_ ckpt: String, text: String, option: String, _ value: String, key: String, _ kept: String) throws {
        let again = try Support.tool("rnn-fit", ["--lm", text, "--resume", ckpt, "--epochs", "2", option, value])
        XCTAssertEqual(again.0, 2)
        XCTAssertTrue(again.2.contains("drop \(option)"), again.2)
        let resumed = try Support.tool("rnn-fit", ["--lm", text, "--resume", ckpt, "--epochs", "2"])
        XCTAssertEqual(resumed.0, 0, resumed.2)
        XCTAssertEqual(try SafeTensorsFile(path: ckpt).metadata[key], kept)
    }

    func testWeightDropAndEmbeddingDropout() throws {
        let m = try model(), dir = Support.tempDir("lm-wd")
        let base = ["--lm", m.dir + "/ts.txt", "--epochs", "1", "--seed", "3"] + LMCLITests.small
        let plain = try Support.tool("rnn-fit", base + ["-o", dir + "/a.ckpt"])
        XCTAssertEqual(plain.0, 0, plain.2)
        let wd = try Support.tool("rnn-fit", base + ["--weight-drop", "0.3", "--embed-dropout", "0.1", "--head-dropout", "0.2", "--locked-dropout",
                                                     "-o", dir + "/b.ckpt"])
        XCTAssertEqual(wd.0, 0, wd.2)
        let a = try SafeTensorsFile(path: dir + "/a.ckpt"), b = try SafeTensorsFile(path: dir + "/b.ckpt")
        XCTAssertEqual(b.metadata["weight_drop"], "0.3")
        XCTAssertEqual(b.metadata["embed_dropout"], "0.1")
        XCTAssertEqual(b.metadata["head_dropout"], "0.2")
        XCTAssertEqual(a.metadata["head_dropout"], "0.0")
        XCTAssertEqual(b.metadata["locked_dropout"], "true")
        XCTAssertEqual(a.metadata["locked_dropout"], "false")
        let flag = try Support.tool("rnn-fit", ["--lm", m.dir + "/ts.txt", "--resume", dir + "/b.ckpt", "--epochs", "2", "--locked-dropout"])
        XCTAssertEqual(flag.0, 2)
        XCTAssertTrue(flag.2.contains("drop --locked-dropout"), flag.2)
        XCTAssertEqual(a.metadata["weight_drop"], "0.0")
        XCTAssertEqual(Set(a.names), Set(b.names))
        XCTAssertNotEqual(try a.floats("rnn.weight_hh_l0"), try b.floats("rnn.weight_hh_l0"))
        XCTAssertNotEqual(a.metadata["valid_loss"], b.metadata["valid_loss"])
        try resumeKeeps(dir + "/b.ckpt", text: m.dir + "/ts.txt", option: "--weight-drop", "0.1", key: "weight_drop", "0.3")
        for (opt, v) in [("--weight-drop", "1"), ("--weight-drop", "-0.1"), ("--weight-drop", "nan"), ("--embed-dropout", "1.5"), ("--head-dropout", "1")] {
            let r = try Support.tool("rnn-fit", base + [opt, v, "-o", dir + "/c.ckpt"])
            XCTAssertEqual(r.0, 2, "\(opt) \(v)")
            XCTAssertTrue(r.2.contains("\(opt) must be in [0, 1)"), r.2)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/c.ckpt"))
    }

    func testMovingAverageOfTheWeights() throws {
        let m = try model(), dir = Support.tempDir("lm-ema")
        let base = ["--lm", m.dir + "/ts.txt", "--epochs", "1", "--seed", "3"] + LMCLITests.small
        let r = try Support.tool("rnn-fit", base + ["--ema", "0.99", "-o", dir + "/a.ckpt"])
        XCTAssertEqual(r.0, 0, r.2)
        let a = try SafeTensorsFile(path: dir + "/a.ckpt"), state = try SafeTensorsFile(path: dir + "/a.ckpt.state")
        XCTAssertEqual(a.metadata["ema"], "0.99")
        XCTAssertEqual(state.metadata["ema"], "0.99")
        XCTAssertNotEqual(try state.floats("average"), try state.floats("params"))
        try resumeKeeps(dir + "/a.ckpt", text: m.dir + "/ts.txt", option: "--ema", "0.9", key: "ema", "0.99")
        for v in ["1", "0", "-0.5", "nan", "1.5"] {
            let bad = try Support.tool("rnn-fit", base + ["--ema", v, "-o", dir + "/c.ckpt"])
            XCTAssertEqual(bad.0, 2, v)
            XCTAssertTrue(bad.2.contains("--ema must be in (0, 1)"), bad.2)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/c.ckpt"))
    }

    /// Invalid UTF-8 in the training text is read as U+FFFD with one warning naming the first place
    /// (issue 11); -q silences it.
    func testInvalidUTF8InTheTextIsWarnedAbout() throws {
        let dir = Support.tempDir("lm-utf8")
        var bytes = Array(String(repeating: "to be or not to be\n", count: 60).utf8)
        bytes[45] = 0xFF; bytes[300] = 0xC3; bytes[301] = 0x28
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/bad.txt"))
        let args = ["--lm", dir + "/bad.txt", "--epochs", "1", "-o", dir + "/m.ckpt"] + LMCLITests.small
        let r = try Support.tool("rnn-fit", args)
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.2.contains("rnn-fit: warning: 2 invalid UTF-8 sequences read as U+FFFD (first at \(dir)/bad.txt: byte 46)"), r.2)
        let q = try Support.tool("rnn-fit", args + ["-q"])
        XCTAssertEqual(q.0, 0, q.2)
        XCTAssertFalse(q.2.contains("warning"), q.2)
        let clean = try Support.tool("rnn-fit", ["--lm", try model().dir + "/ts.txt", "--epochs", "1", "-o", dir + "/c.ckpt"] + LMCLITests.small)
        XCTAssertFalse(clean.2.contains("invalid UTF-8"), clean.2)
    }

    func testSamplesRepeatWithTheSeedAndAtTemperatureZero() throws {
        let m = try model()
        let args = ["-m", m.ckpt, "--prime", "ROMEO:", "--length", "300"]
        let a = try Support.tool("rnn-sample", args + ["--seed", "7"])
        let b = try Support.tool("rnn-sample", args + ["--seed", "7"])
        let c = try Support.tool("rnn-sample", args + ["--seed", "8"])
        XCTAssertEqual(a.0, 0, a.2)
        XCTAssertEqual(a.1, b.1)
        XCTAssertNotEqual(a.1, c.1)
        XCTAssertTrue(a.1.hasPrefix("ROMEO:"), a.1)
        XCTAssertEqual(a.2, "")
        let g1 = try Support.tool("rnn-sample", args + ["--temp", "0", "--seed", "1"])
        let g2 = try Support.tool("rnn-sample", args + ["--temp", "0", "--seed", "2"])
        XCTAssertEqual(g1.0, 0, g1.2)
        XCTAssertEqual(g1.1, g2.1, "greedy output does not depend on the seed")
        // -n: samples separated by an empty line, each ending with a newline
        let n = try Support.tool("rnn-sample", ["-m", m.ckpt, "--length", "40", "--seed", "3", "-n", "3", "--prime", "A"])
        XCTAssertEqual(n.0, 0, n.2)
        XCTAssertTrue(n.1.hasSuffix("\n"))
        XCTAssertGreaterThanOrEqual(n.1.components(separatedBy: "\n\nA").count, 3, n.1)
    }

    func testPrimeOutsideTheAlphabetIsAnErrorNamingTheCharacters() throws {
        let m = try model()
        let r = try Support.tool("rnn-sample", ["-m", m.ckpt, "--prime", "Hi 한€"])
        Support.assertFails(r, tool: "rnn-sample", ["--prime", "'한' (U+D55C)", "'€' (U+20AC)"])
    }

    func testKoreanPrimeRoundTripsAsUTF8() throws {
        let dir = Support.tempDir("lm-korean")
        var text = ""
        let lines = ["안녕하세요, 반갑습니다.", "오늘은 날씨가 좋네요.", "Hello, 세계! 한국어 문장입니다.", "우리는 문자 모델을 학습합니다."]
        for i in 0 ..< 300 { text += lines[i % lines.count] + "\n" }
        Support.write(text, to: dir + "/ko.txt")
        let t = try Support.tool("rnn-fit", ["--lm", dir + "/ko.txt", "--epochs", "2", "-o", dir + "/ko.ckpt"] + LMCLITests.small)
        XCTAssertEqual(t.0, 0, t.2)
        let prime = "안녕하세요"
        let r = try Support.tool("rnn-sample", ["-m", dir + "/ko.ckpt", "--prime", prime, "--length", "50", "--seed", "1"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.1.hasPrefix(prime), r.1)
        XCTAssertFalse(r.1.unicodeScalars.contains("\u{FFFD}"))
        let n = r.1.unicodeScalars.count
        XCTAssertTrue(n == 55 || (n == 56 && r.1.hasSuffix("\n")), "\(n) scalars: \(r.1)")
        XCTAssertTrue(r.1.unicodeScalars.dropFirst(5).contains { $0.value >= 0xAC00 && $0.value <= 0xD7A3 }, "generates Hangul: \(r.1)")
    }

    func testScoreMakesOneLinePerInputLineAndRanksRealTextAboveNoise() throws {
        let m = try model()
        let real = String(m.text.prefix(2_000))
        let realLines = real.split(separator: "\n", omittingEmptySubsequences: false).count - (real.hasSuffix("\n") ? 1 : 0)
        let r = try Support.tool("rnn-sample", ["-m", m.ckpt, "--score"], stdin: real)
        XCTAssertEqual(r.0, 0, r.2)
        let rows = r.1.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(rows.count, realLines)
        for row in rows {
            let f = row.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
            XCTAssertEqual(f.count, 4, String(row))
            XCTAssertEqual(Double(f[1])!, Double(f[0])! * 1.4427, accuracy: 2e-4)
        }
        func total(_ stderr: String) -> Double? {
            guard let range = stderr.range(of: "lines: ") else { return nil }
            return Double(stderr[range.upperBound...].prefix { $0 != " " })
        }
        let realLoss = try XCTUnwrap(total(r.2), r.2)
        let noise = String((0 ..< 2_000).map { i in Array("abcdefghijklmnopqrstuvwxyz.,;:ABCDEFG \n")[(i * 7919 + i / 3) % 39] })
        let q = try Support.tool("rnn-sample", ["-m", m.ckpt, "--score"], stdin: noise)
        XCTAssertEqual(q.0, 0, q.2)
        let noiseLoss = try XCTUnwrap(total(q.2), q.2)
        XCTAssertLessThan(realLoss + 0.5, noiseLoss)
        // unknown characters: scored as <unk>, with a warning
        let u = try Support.tool("rnn-sample", ["-m", m.ckpt, "--score", "--reset"], stdin: "héllo\n")
        XCTAssertEqual(u.0, 0, u.2)
        XCTAssertTrue(u.2.contains("'é' (U+00E9)"), u.2)
        XCTAssertTrue(u.1.hasSuffix("\t6\théllo\n"), u.1)
    }

    func testEnsembleScoresTheMeanOfTheProbabilitiesAndRefusesAnotherAlphabet() throws {
        let m = try model()
        let dir = Support.tempDir("lm-ensemble")
        // a second model: the same text and shape, another seed
        let fit = try Support.tool("rnn-fit", ["--lm", m.dir + "/ts.txt", "--epochs", "3", "--seed", "2", "-o", dir + "/b.ckpt"] + LMCLITests.small)
        XCTAssertEqual(fit.0, 0, fit.2)
        func total(_ args: [String]) throws -> Double {
            let r = try Support.tool("rnn-sample", args + ["--score"], stdin: String(m.text.suffix(3_000)))
            XCTAssertEqual(r.0, 0, r.2)
            guard let range = r.2.range(of: "lines: ") else { throw RNNError("no total in: \(r.2)") }
            return try XCTUnwrap(Double(r.2[range.upperBound...].prefix { $0 != " " }), r.2)
        }
        let a = try total(["-m", m.ckpt]), b = try total(["-m", dir + "/b.ckpt"])
        let ab = try total(["-m", m.ckpt, "-m", dir + "/b.ckpt"])
        XCTAssertNotEqual(a, b)
        // the mean of two distributions scores below the mean of their losses (and the members)
        XCTAssertLessThan(ab, (a + b) / 2 - 1e-3, "\(a) \(b) \(ab)")
        XCTAssertEqual(try total(["-m", m.ckpt, "-m", m.ckpt]), a, accuracy: 1e-4, "a model averaged with itself is itself")
        // samples from the ensemble repeat with the seed
        let args = ["-m", m.ckpt, "-m", dir + "/b.ckpt", "--prime", "ROMEO:", "--length", "80"]
        let s1 = try Support.tool("rnn-sample", args + ["--seed", "5"]), s2 = try Support.tool("rnn-sample", args + ["--seed", "5"])
        XCTAssertEqual(s1.0, 0, s1.2)
        XCTAssertEqual(s1.1, s2.1)
        XCTAssertTrue(s1.1.hasPrefix("ROMEO:"), s1.1)
        // a model over other characters cannot join
        Support.write(String(repeating: "abc ab ca\n", count: 400), to: dir + "/abc.txt")
        let other = try Support.tool("rnn-fit", ["--lm", dir + "/abc.txt", "--epochs", "1", "-o", dir + "/abc.ckpt"] + LMCLITests.small)
        XCTAssertEqual(other.0, 0, other.2)
        for extra in [[String](), ["--score"]] {
            let r = try Support.tool("rnn-sample", ["-m", m.ckpt, "-m", dir + "/abc.ckpt"] + extra, stdin: "abc\n")
            Support.assertFails(r, tool: "rnn-sample", ["abc.ckpt", "alphabet", "lm.ckpt", "same text"])
        }
        // no model at all
        let none = try Support.tool("rnn-sample", ["--length", "5"])
        XCTAssertEqual(none.0, 2, none.2)
        XCTAssertTrue(none.2.contains("-m/--model is required"), none.2)
    }

    func testClosedPipeEndsQuietlyAtOnce() throws {
        let m = try model()
        let r = try E2E.sh("timeout 30 rnn-sample -m '\(m.ckpt)' --length 100000000 --seed 1 | head -c 100 >/dev/null; echo \"status ${PIPESTATUS[0]}\"")
        XCTAssertEqual(r.out, "status 0\n", r.stderr)
        XCTAssertEqual(r.stderr, "")
    }

    func testClassifierCheckpointIsRefused() throws {
        let dir = Support.tempDir("lm-classifier")
        var w = SafeTensorsWriter()
        let shapes: [(String, [Int])] = [("embedding.weight", [3, 2]), ("rnn.weight_ih_l0", [2, 2]), ("rnn.weight_hh_l0", [2, 2]),
                                         ("rnn.bias_ih_l0", [2]), ("rnn.bias_hh_l0", [2]), ("fc.weight", [1, 2]), ("fc.bias", [1])]
        for (name, shape) in shapes { w.add(name, shape: shape, floats: [Float](repeating: 0.1, count: shape.reduce(1, *))) }
        for (k, v) in [("format", "rnn-checkpoint"), ("version", "1"), ("kind", "classifier"), ("model", "rnn"), ("layers", "1"),
                       ("hidden", "2"), ("bidirectional", "false"), ("vocab", "[\"<unk>\",\"<pad>\",\"a\"]"), ("labels", "[\"neg\",\"pos\"]")] {
            w.setMetadata(k, v)
        }
        try w.write(to: dir + "/cls.ckpt")
        for extra in [[String](), ["--score"]] {
            let r = try Support.tool("rnn-sample", ["-m", dir + "/cls.ckpt"] + extra, stdin: "x\n")
            Support.assertFails(r, tool: "rnn-sample", ["cls.ckpt", "classifier", "rnn-fit --lm"])
        }
    }

    func testCtrlCKeepsTheBestCheckpointAndResumeContinues() throws {
        let m = try model()
        let dir = Support.tempDir("lm-interrupt")
        let args = (["--lm", m.dir + "/ts.txt", "-o", dir + "/lm.ckpt", "--log", dir + "/log.jsonl", "--eval-every", "5"] + LMCLITests.small)
            .map { "'\($0)'" }.joined(separator: " ")
        let script = """
            set -m
            rnn-fit \(args) --epochs 100000 2>'\(dir)/err' & pid=$!
            for i in $(seq 1 600); do grep -q '"checkpoint"' '\(dir)/log.jsonl' 2>/dev/null && break; sleep 0.05; done
            kill -INT $pid; wait $pid; echo "status $?"
            """
        let r = try E2E.sh(script)
        XCTAssertEqual(r.out, "status 130\n", r.stderr)
        let err = try String(contentsOfFile: dir + "/err", encoding: .utf8)
        XCTAssertTrue(err.contains("interrupted: kept"), err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/lm.ckpt"))
        // --resume continues from the saved position and appends to the log
        let again = try Support.tool("rnn-fit", ["--lm", m.dir + "/ts.txt", "-o", dir + "/lm.ckpt", "--log", dir + "/log.jsonl",
                                                 "--eval-every", "5", "--resume", dir + "/lm.ckpt", "--max-time", "1s", "--threads", "1", "--epochs", "100000"])
        XCTAssertEqual(again.0, 0, again.2)
        XCTAssertTrue(again.2.contains("resuming at epoch 1 of 100000"), again.2)
        XCTAssertTrue(again.2.contains("time budget of 0:01 reached"), again.2)
        let log = try String(contentsOfFile: dir + "/log.jsonl", encoding: .utf8)
        XCTAssertEqual(log.components(separatedBy: "\"event\":\"start\"").count - 1, 2, log)
        XCTAssertTrue(log.contains("\"event\":\"interrupted\""), log)
    }
}
