// The engine's kernel set (RNNEngine/Kernels.swift): RNN_KERNELS overrides the CPUID choice, a set
// the CPU lacks or an unknown name is refused with one line and status 2, every supported set
// trains (baseline and v3 to the same bits), and `rnn-fit --log` names the set in use.
import Foundation
import RNNCore
import XCTest

final class KernelSetCLITests: XCTestCase {
    static let allSets = ["baseline", "v3", "v4"]

    /// The sets this CPU supports, from `rnn-bench-engine --kernels` ("...; this CPU supports baseline, v3; ...").
    func supported() throws -> [String] {
        let r = try E2E.sh("env -u RNN_KERNELS rnn-bench-engine --kernels")
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(r.out.split(separator: ";").first { $0.contains("this CPU supports") }, r.out)
        let sets = line.replacingOccurrences(of: "this CPU supports", with: "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(sets.first, "baseline"); XCTAssertTrue(sets.allSatisfy(KernelSetCLITests.allSets.contains), r.out)
        return sets
    }

    func testUnknownAndUnsupportedSetsAreRefused() throws {
        let have = try supported()
        let missing = KernelSetCLITests.allSets.filter { !have.contains($0) }
        for tool in ["rnn-fit /nonexistent.txt --lm -o /tmp/x.ckpt", "rnn-classify -m /nonexistent.ckpt", "rnn-sample -m /nonexistent.ckpt"] {
            let name = String(tool.prefix { $0 != " " })
            for bad in ["avx9", "V3"] + missing {
                let r = try E2E.sh("RNN_KERNELS=\(bad) \(tool)")
                XCTAssertEqual(r.status, 2, "\(tool) with RNN_KERNELS=\(bad): \(r.stderr)")
                XCTAssertEqual(r.stdout.count, 0)
                let lines = r.stderr.split(separator: "\n")
                XCTAssertEqual(lines.count, 1, r.stderr)
                let expected = missing.contains(bad) ? "\(name): error: RNN_KERNELS=\(bad) needs " : "\(name): error: RNN_KERNELS=\(bad) is not a kernel set"
                XCTAssertTrue(r.stderr.hasPrefix(expected), r.stderr)
                XCTAssertTrue(r.stderr.contains("this CPU supports \(have.joined(separator: ", "))"), r.stderr)
            }
            // empty means unset: the tool goes on (and fails on the missing file, status 1)
            let r = try E2E.sh("RNN_KERNELS= \(tool)")
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertFalse(r.stderr.contains("RNN_KERNELS"), r.stderr)
        }
    }

    /// A character model trained under each supported set: the log names the set; baseline and v3
    /// give the same weights and the same samples (same arithmetic), v4 agrees to rounding.
    func testEverySupportedSetTrainsAndTheLogNamesIt() throws {
        let have = try supported()
        let dir = Support.tempDir("kernel-sets")
        var g = SplitMix(seed: 5)
        let words = ["the", "king", "and", "queen", "of", "hearts", "sat", "in", "a", "garden", "where", "roses", "grew"]
        var text = ""
        while text.utf8.count < 8000 { text += words[Int(g.next() % UInt64(words.count))] + (g.next() % 9 == 0 ? ".\n" : " ") }
        Support.write(text, to: dir + "/t.txt")
        let args = "--lm \(dir)/t.txt --cell gru --layers 2 --hidden 40 --embed-dim 12 --batch-size 8 --seq-len 32 --epochs 1 --seed 3 --threads 2 -q"
        func run(_ set: String?) throws -> (log: String, weights: [String: [Float]], sample: String) {
            let name = set ?? "auto", env = set.map { "RNN_KERNELS=\($0)" } ?? "env -u RNN_KERNELS"
            let r = try E2E.sh("\(env) rnn-fit \(args) -o \(dir)/\(name).ckpt --log \(dir)/\(name).jsonl && " +
                               "\(env) rnn-sample -m \(dir)/\(name).ckpt --seed 9 --length 200 --threads 2")
            XCTAssertEqual(r.status, 0, r.stderr)
            let log = try String(contentsOfFile: "\(dir)/\(name).jsonl", encoding: .utf8)
            let f = try SafeTensorsFile(path: "\(dir)/\(name).ckpt")
            var w: [String: [Float]] = [:]
            for n in f.names { w[n] = try f.floats(n) }
            return (log, w, r.out)
        }
        func kernels(_ log: String) throws -> String? {
            let start = try XCTUnwrap(log.split(separator: "\n").first)
            let json = try JSONSerialization.jsonObject(with: Foundation.Data(start.utf8)) as? [String: Any]
            XCTAssertEqual(json?["event"] as? String, "start")
            return json?["kernels"] as? String
        }
        var results: [String: (log: String, weights: [String: [Float]], sample: String)] = [:]
        for set in have {
            results[set] = try run(set)
            XCTAssertEqual(try kernels(results[set]!.log), set)
        }
        let auto = try run(nil)
        XCTAssertEqual(try kernels(auto.log), have.last, "unset: the fastest supported set")
        if let b = results["baseline"], let v = results["v3"] {
            XCTAssertTrue(b.weights == v.weights, "baseline and v3 trained different weights")
            XCTAssertEqual(b.sample, v.sample)
        }
        if let v4 = results["v4"], let v3 = results["v3"] {
            for (n, w) in v3.weights {
                let o = try XCTUnwrap(v4.weights[n])
                let worst = zip(w, o).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-3, "v4 and v3 weights \(n)")
            }
        }
    }
    /// rnn-fit --bf16: where the CPU has AVX512_BF16 and v4 runs, a character model and a classifier
    /// (from TSV records) train, the log names "v4+bf16" and the validation loss is near, not equal
    /// to, fp32 training's; under RNN_KERNELS=v3, or on a CPU without AVX512_BF16, the flag is
    /// refused with one line and status 2.
    func testBFloat16TrainingIsLoggedOrRefused() throws {
        let have = try supported()
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let bf16 = have.contains("v4") && cpuinfo.contains(" avx512_bf16")
        let dir = Support.tempDir("bf16")
        var g = SplitMix(seed: 7)
        let words = ["the", "king", "and", "queen", "of", "hearts", "sat", "in", "a", "garden", "where", "roses", "grew"]
        var text = "", records = "label\ttext\n"
        while text.utf8.count < 8000 { text += words[Int(g.next() % UInt64(words.count))] + (g.next() % 9 == 0 ? ".\n" : " ") }
        for _ in 0 ..< 300 {
            let line = (0 ..< 6).map { _ in words[Int(g.next() % UInt64(words.count))] }
            records += (line.contains("roses") ? "pos" : "neg") + "\t" + line.joined(separator: " ") + "\n"
        }
        Support.write(text, to: dir + "/t.txt")
        Support.write(records, to: dir + "/r.tsv")
        let tasks = [("lm", "--lm \(dir)/t.txt --cell lstm --layers 2 --hidden 40 --embed-dim 12 --batch-size 8 --seq-len 32"),
                     ("cls", "\(dir)/r.tsv --cell gru --bidirectional --layers 2 --hidden 24 --embed-dim 8 --valid-split 0.2")]
        for (name, task) in tasks {
            let args = task + " --epochs 1 --seed 3 --threads 2 -q"
            let v3 = try E2E.sh("RNN_KERNELS=v3 rnn-fit \(args) --bf16 -o \(dir)/\(name)-v3.ckpt")
            XCTAssertEqual(v3.status, 2, v3.stderr)
            XCTAssertEqual(v3.stderr.split(separator: "\n").count, 1, v3.stderr)
            XCTAssertTrue(v3.stderr.contains(have.contains("v4") ? "--bf16 needs the v4 kernels" : "--bf16 needs a CPU with AVX512_BF16"), v3.stderr)
            let r = try E2E.sh("env -u RNN_KERNELS rnn-fit \(args) --bf16 -o \(dir)/\(name)-bf16.ckpt --log \(dir)/\(name)-bf16.jsonl")
            guard bf16 else {
                XCTAssertEqual(r.status, 2, r.stderr)
                XCTAssertTrue(r.stderr.contains("--bf16 needs a CPU with AVX512_BF16"), r.stderr)
                continue
            }
            XCTAssertEqual(r.status, 0, r.stderr)
            let log = try String(contentsOfFile: "\(dir)/\(name)-bf16.jsonl", encoding: .utf8)
            XCTAssertTrue(log.hasPrefix("{\"event\":\"start\"") && log.contains("\"kernels\":\"v4+bf16\""), log)
            let f = try E2E.sh("env -u RNN_KERNELS rnn-fit \(args) -o \(dir)/\(name)-fp32.ckpt")
            XCTAssertEqual(f.status, 0, f.stderr)
            let half = try XCTUnwrap(Double(try SafeTensorsFile(path: "\(dir)/\(name)-bf16.ckpt").metadata["valid_loss"] ?? ""))
            let full = try XCTUnwrap(Double(try SafeTensorsFile(path: "\(dir)/\(name)-fp32.ckpt").metadata["valid_loss"] ?? ""))
            XCTAssertNotEqual(half, full, name)
            XCTAssertEqual(half, full, accuracy: 0.02 * full, name)
        }
    }
}

/// A tiny deterministic generator for test text.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

}
