// Whole sequence == chunks with the state carried; same threads bit for bit; same seed
// -> same bits; fast exp/sigmoid/tanh accuracy; dropout, frozen embedding, RNG state.
import XCTest
import Foundation
@testable import RNNEngine

final class EngineBehaviourTests: XCTestCase {
    func lmConfig(_ cell: CellKind, layers: Int = 2, dropout: Float = 0) -> ModelConfig {
        ModelConfig(cell: cell, task: .languageModel, vocabSize: 11, embedDim: 7, hidden: 13, layers: layers,
                    bidirectional: false, dropout: dropout, headDropout: 0, outputs: 11, paddingIndex: nil, freezeEmbedding: false)
    }
    func clsConfig(_ cell: CellKind, bi: Bool = true, dropout: Float = 0, head: Float = 0, freeze: Bool = false) -> ModelConfig {
        ModelConfig(cell: cell, task: .classifier, vocabSize: 50, embedDim: 8, hidden: 16, layers: 2, bidirectional: bi,
                    dropout: dropout, headDropout: head, outputs: 1, paddingIndex: 1, freezeEmbedding: freeze)
    }

    func testWholeSequenceEqualsChunksWithCarriedState() {
        for cell in CellKind.allCases {
            let model = Model(config: lmConfig(cell), seed: 5)
            var rng = RNG(seed: 9)
            let B = 3, T = 12
            let inputs = (0 ..< B * T).map { _ in Int32(rng.below(11)) }, targets = (0 ..< B * T).map { _ in Int32(rng.below(11)) }
            var whole = RecurrentState.zeros(model.config, batch: B)
            let all = inputs.withUnsafeBufferPointer { i in targets.withUnsafeBufferPointer { t in
                model.lossesLM(inputs: i, targets: t, batch: B, steps: T, state: &whole) } }
            var st = RecurrentState.zeros(model.config, batch: B)
            var pieces = [Float](repeating: 0, count: B * T)
            var t0 = 0
            for len in [5, 1, 6] {
                var ci = [Int32](), ct = [Int32]()
                for b in 0 ..< B { ci += inputs[b * T + t0 ..< b * T + t0 + len]; ct += targets[b * T + t0 ..< b * T + t0 + len] }
                let l = ci.withUnsafeBufferPointer { i in ct.withUnsafeBufferPointer { t in
                    model.lossesLM(inputs: i, targets: t, batch: B, steps: len, state: &st) } }
                for b in 0 ..< B { for t in 0 ..< len { pieces[b * T + t0 + t] = l[b * len + t] } }
                t0 += len
            }
            let d = relDiff(pieces, all)
            XCTAssertLessThan(d.abs, 1e-6, "\(cell): chunked losses differ")
            XCTAssertLessThan(relDiff(st.h, whole.h).abs, 1e-6)
            XCTAssertLessThan(relDiff(st.c, whole.c).abs, 1e-6)
            // stepLM (one token at a time) gives the same logits as the last chunk position
            var s1 = RecurrentState.zeros(model.config, batch: B)
            var logits: [Float] = []
            for t in 0 ..< T { logits = model.stepLM(tokens: (0 ..< B).map { inputs[$0 * T + t] }, state: &s1) }
            XCTAssertLessThan(relDiff(s1.h, whole.h).abs, 1e-6, "\(cell): stepLM state")
            var lossLast = 0.0
            for b in 0 ..< B {
                let row = Array(logits[b * 11 ..< (b + 1) * 11]).map(Double.init)
                let mx = row.max()!
                lossLast = log(row.map { exp($0 - mx) }.reduce(0, +)) + mx - row[Int(targets[b * T + T - 1])]
                XCTAssertEqual(lossLast, Double(all[b * T + T - 1]), accuracy: 1e-5)
            }
            print("[chunks] \(cell): max |whole - chunked| loss \(d.abs)")
        }
    }

    func trainTwice(_ cfg: ModelConfig, threads: Int) -> ([Float], [Float]) {
        let model = Model(config: cfg, seed: 77)
        model.threads = threads
        var adam = Adam(count: model.params.count)
        var rng = RNG(seed: 3)
        var data = RNG(seed: 4)
        var losses: [Float] = []
        for _ in 0 ..< 3 {
            let lengths = (0 ..< 9).map { _ in 1 + data.below(30) }
            let tokens = (0 ..< lengths.reduce(0, +)).map { _ in Int32(data.below(50)) }
            let labels = (0 ..< 9).map { _ in Int32(data.below(2)) }
            let (l, _) = tokens.withUnsafeBufferPointer { model.trainClassifier(tokens: $0, lengths: lengths, labels: labels, rng: &rng) }
            losses.append(l)
            adam.update(model.params)
        }
        return (losses, Array(model.params.values))
    }

    func testThreadsAndSeedsGiveIdenticalBits() {
        for cell in CellKind.allCases {
            let cfg = clsConfig(cell, dropout: 0.3, head: 0.5)
            for threads in [1, 2, 3] {
                let a = trainTwice(cfg, threads: threads), b = trainTwice(cfg, threads: threads)
                XCTAssertEqual(a.0, b.0); XCTAssertTrue(a.1 == b.1, "\(cell): same seed and threads \(threads), different bits")
            }
            // across thread counts: KernelTests.testAnyThreadCount
        }
    }

    func testDropoutOnlyWhenTraining() {
        let model = Model(config: clsConfig(.lstm, dropout: 0.5, head: 0.5), seed: 1)
        let tokens: [Int32] = [3, 4, 5, 6, 7, 8, 9], lengths = [4, 3], labels: [Int32] = [0, 1]
        let e1 = tokens.withUnsafeBufferPointer { model.evaluateClassifier(tokens: $0, lengths: lengths, labels: labels) }
        let e2 = tokens.withUnsafeBufferPointer { model.evaluateClassifier(tokens: $0, lengths: lengths, labels: labels) }
        XCTAssertEqual(e1.logits, e2.logits)
        XCTAssertEqual(e1.logits, tokens.withUnsafeBufferPointer { model.classify(tokens: $0, lengths: lengths) })
        var rng = RNG(seed: 2)
        let t1 = tokens.withUnsafeBufferPointer { model.trainClassifier(tokens: $0, lengths: lengths, labels: labels, rng: &rng) }
        let t2 = tokens.withUnsafeBufferPointer { model.trainClassifier(tokens: $0, lengths: lengths, labels: labels, rng: &rng) }
        XCTAssertNotEqual(t1.logits, e1.logits)
        XCTAssertNotEqual(t1.logits, t2.logits)
    }

    /// Embedding dropout: the gradient is that of the loss with the drawn mask (central differences
    /// in Float with the same masks, i.e. the same RNG seed), dropped entries get none, and
    /// evaluation draws no mask. Both tasks.
    func testEmbeddingDropoutGradientFollowsTheMask() {
        var cls = clsConfig(.gru, dropout: 0.3, head: 0.2); cls.embedDropout = 0.5
        var lm = lmConfig(.lstm); lm.embedDropout = 0.5
        for cfg in [cls, lm] {
            let model = Model(config: cfg, seed: 3)
            // every token once, so a dropped embedding entry has exactly zero gradient
            let tokens: [Int32] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 0]
            func trainLoss() -> Float {
                var rng = RNG(seed: 9)
                return tokens.withUnsafeBufferPointer { t in
                    if cfg.task == .classifier {
                        return model.trainClassifier(tokens: t, lengths: [6, 4], labels: [0, 1], rng: &rng).loss
                    }
                    var state = RecurrentState.zeros(cfg, batch: 2)
                    let targets: [Int32] = [3, 4, 5, 6, 7, 8, 9, 10, 0, 1]
                    return targets.withUnsafeBufferPointer { model.trainLM(inputs: t, targets: $0, batch: 2, steps: 5, state: &state, rng: &rng) }
                }
            }
            _ = trainLoss()
            let grad = Array(model.params.grad("embedding.weight"))
            let w = model.params.value("embedding.weight")
            let E = cfg.embedDim
            var checked = 0, dropped = 0
            for t in tokens.prefix(8) {
                for j in 0 ..< E {
                    let i = Int(t) * E + j
                    if grad[i] == 0 { dropped += 1 }
                    let keep = w[i], eps: Float = 1e-2
                    w[i] = keep + eps; let up = trainLoss()
                    w[i] = keep - eps; let down = trainLoss()
                    w[i] = keep
                    let fd = (up - down) / (2 * eps)
                    XCTAssertEqual(fd, grad[i], accuracy: 2e-3 + 0.05 * abs(grad[i]), "\(cfg.task) token \(t) dim \(j)")
                    checked += 1
                }
            }
            XCTAssertEqual(checked, 8 * E)
            XCTAssertGreaterThan(dropped, E, "\(cfg.task): about half of the entries are dropped")
            XCTAssertLessThan(dropped, 8 * E - E)
        }
        let model = Model(config: cls, seed: 3)
        let tokens: [Int32] = [3, 4, 5, 6, 7], lengths = [3, 2], labels: [Int32] = [0, 1]
        let e1 = tokens.withUnsafeBufferPointer { model.evaluateClassifier(tokens: $0, lengths: lengths, labels: labels) }
        let e2 = tokens.withUnsafeBufferPointer { model.evaluateClassifier(tokens: $0, lengths: lengths, labels: labels) }
        XCTAssertEqual(e1.logits, e2.logits)
    }

    func testFrozenEmbeddingAndPaddingRow() {
        let model = Model(config: clsConfig(.gru, freeze: true), seed: 1)
        let pad = model.params.value("embedding.weight")[8 ..< 16]
        XCTAssertTrue(pad.allSatisfy { $0 == 0 }, "padding row initialised to zero")
        var rng = RNG(seed: 2)
        let tokens: [Int32] = [3, 1, 5, 6, 1, 8], lengths = [4, 2], labels: [Int32] = [0, 1]
        _ = tokens.withUnsafeBufferPointer { model.trainClassifier(tokens: $0, lengths: lengths, labels: labels, rng: &rng) }
        XCTAssertTrue(model.params.grad("embedding.weight").allSatisfy { $0 == 0 })
        XCTAssertTrue(model.params.grad("rnn.weight_ih_l0").contains { $0 != 0 })
        let before = Array(model.params.value("embedding.weight"))
        var adam = Adam(count: model.params.count, weightDecay: 0.1)
        adam.update(model.params, frozen: ["embedding.weight"])
        XCTAssertEqual(before, Array(model.params.value("embedding.weight")))
    }

    func testFastMathAccuracy() {
        var worst = (exp: 0.0, sig: 0.0, tanh: 0.0)
        var x: Float = -30
        while x < 30 {
            let v = FV((0 ..< FV.scalarCount).map { x + Float($0) * 1e-4 })
            let e = expV(v), s = sigmoidV(v), t = tanhV(v)
            for i in 0 ..< FV.scalarCount {
                let d = Double(v[i])
                worst.exp = max(worst.exp, abs(Double(e[i]) - Foundation.exp(d)) / Foundation.exp(d))
                let sd = 1 / (1 + Foundation.exp(-d))
                worst.sig = max(worst.sig, abs(Double(s[i]) - sd) / sd)
                if d != 0 { worst.tanh = max(worst.tanh, abs(Double(t[i]) - Foundation.tanh(d)) / abs(Foundation.tanh(d))) }
            }
            x += abs(x) < 1 ? 0.000731 : 0.0173
        }
        print("[fastmath] max rel error exp \(worst.exp) sigmoid \(worst.sig) tanh \(worst.tanh)")
        XCTAssertLessThan(worst.exp, 3e-7); XCTAssertLessThan(worst.sig, 3e-7); XCTAssertLessThan(worst.tanh, 3e-7)
        XCTAssertEqual(tanhV(FV(repeating: 1e-20))[0], 1e-20)
        XCTAssertEqual(tanhV(FV(repeating: 100))[0], 1)
        XCTAssertEqual(sigmoidV(FV(repeating: -200))[0], 0, accuracy: 1e-30)
    }

    func testRNGStateRoundTripAndRanges() {
        var a = RNG(seed: 123)
        for _ in 0 ..< 10 { _ = a.next() }
        let saved = a.state
        let x = (0 ..< 5).map { _ in a.next() }
        var b = RNG(seed: 0); b.state = saved
        XCTAssertEqual(x, (0 ..< 5).map { _ in b.next() })
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0 ..< 70_000 { let u = a.uniform(); XCTAssertTrue(u >= 0 && u < 1); counts[a.below(7)] += 1 }
        XCTAssertTrue(counts.allSatisfy { abs($0 - 10_000) < 500 }, "\(counts)")
        var arr = Array(0 ..< 100); a.shuffle(&arr)
        XCTAssertEqual(arr.sorted(), Array(0 ..< 100)); XCTAssertNotEqual(arr, Array(0 ..< 100))
    }

    func testDefaultInitialisationDistributions() {
        let cfg = clsConfig(.lstm)
        let model = Model(config: cfg, seed: 11)
        let emb = model.params.value("embedding.weight")
        let mean = emb.reduce(0, +) / Float(emb.count)
        let varc = emb.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(emb.count)
        XCTAssertEqual(mean, 0, accuracy: 0.08); XCTAssertEqual(varc, 1, accuracy: 0.15)
        let k = 1 / Float(cfg.hidden).squareRoot()
        let w = model.params.value("rnn.weight_hh_l1_reverse")
        XCTAssertTrue(w.allSatisfy { abs($0) <= k }); XCTAssertGreaterThan(w.map(abs).max()!, 0.9 * k)
        let fc = model.params.value("fc.weight"), kf = 1 / Float(2 * cfg.hidden).squareRoot()
        XCTAssertTrue(fc.allSatisfy { abs($0) <= kf })
        XCTAssertEqual(model.params.entries.map(\.name).prefix(3), ["embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0"])
    }
}
