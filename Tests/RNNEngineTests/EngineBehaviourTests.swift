// Whole sequence == chunks with the state carried; same threads bit for bit; same seed
// -> same bits; fast exp/sigmoid/tanh accuracy; dropout, frozen embedding, RNG state.
import XCTest
import Foundation
import RNNKernelABI
@testable import RNNEngine

final class EngineBehaviourTests: XCTestCase {
    /// The thread pool under many short runs back to back (workers still polling) and runs after
    /// pauses longer than the poll (workers asleep): every part of every run runs once, on the
    /// pool's threads, and each run returns only when its parts are done.
    func testThreadPoolRunsEveryPartOnceWhetherWorkersPollOrSleep() {
        for threads in [2, 3] {
            let pool = ThreadPool(threads: threads)
            defer { pool.stop() }
            let slots = UnsafeMutablePointer<Int>.allocate(capacity: 8)
            defer { slots.deallocate() }
            for run in 0 ..< 20_000 {
                let parts = 2 + run % 3   // 2...4: fewer, as many and more parts than threads
                slots.update(repeating: 0, count: 8)
                pool.run(parts) { p in slots[p] += p + 1 }
                for p in 0 ..< 8 { XCTAssertEqual(slots[p], p < parts ? p + 1 : 0, "run \(run) part \(p)") }
                if run % 1_000 == 999 { usleep(2_000) }   // past ThreadPool.spinSeconds: the workers sleep
            }
        }
    }

    /// Parameters.allFinite: true for finite values; false for a NaN or an infinity anywhere,
    /// in the 8-wide body or in the tail of the arena.
    func testAllFiniteFindsNaNAndInfinityAnywhere() {
        let params = Parameters([("a", [3, 7]), ("b", [5])])
        let n = params.values.count
        XCTAssertTrue(params.allFinite())
        params.mutableValues[0] = .greatestFiniteMagnitude
        XCTAssertTrue(params.allFinite())
        for bad in [Float.nan, .infinity, -.infinity] {
            for i in [0, 9, n - 1] {
                params.mutableValues[i] = bad
                XCTAssertFalse(params.allFinite(), "\(bad) at \(i) of \(n)")
                params.mutableValues[i] = 1
            }
        }
        XCTAssertTrue(params.allFinite())
    }

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

    /// (loss(w[i] + eps) - loss(w[i] - eps)) / 2 eps in Float, eps 1e-2; w[i] restored.
    private func centralDifference(_ w: UnsafeMutableBufferPointer<Float>, _ i: Int, _ loss: () -> Float) -> Float {
        let keep = w[i], eps: Float = 1e-2
        w[i] = keep + eps; let up = loss()
        w[i] = keep - eps; let down = loss()
        w[i] = keep
        return (up - down) / (2 * eps)
    }

    /// Weight drop (DropConnect on W_hh): a training step is exactly the step of the same model
    /// with W_hh times the drawn mask (same loss bits; every other gradient the same bits; W_hh's
    /// gradient that gradient times the mask), about p of the weights dropped, masks fresh each step,
    /// and evaluation uses the unmasked weights. LM (stacked LSTM) and bidirectional GRU classifier,
    /// on one and three threads.
    func testWeightDropIsTheStepOfTheMaskedWeights() {
        var lm = lmConfig(.lstm); lm.weightDrop = 0.5
        var cls = clsConfig(.gru); cls.weightDrop = 0.5
        let tokens: [Int32] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 0], targets: [Int32] = [3, 4, 5, 6, 7, 8, 9, 10, 0, 1]
        for cfg in [lm, cls] {
            for threads in [1, 3] {
                var plainCfg = cfg; plainCfg.weightDrop = 0
                let dropped = Model(config: cfg, seed: 3), plain = Model(config: plainCfg, seed: 3)
                dropped.threads = threads; plain.threads = threads
                func step(_ model: Model, seed: UInt64) -> Float {
                    var rng = RNG(seed: seed)
                    return tokens.withUnsafeBufferPointer { t in
                        if cfg.task == .classifier {
                            return model.trainClassifier(tokens: t, lengths: [6, 4], labels: [0, 1], rng: &rng).loss
                        }
                        var state = RecurrentState.zeros(cfg, batch: 2)
                        return targets.withUnsafeBufferPointer { model.trainLM(inputs: t, targets: $0, batch: 2, steps: 5, state: &state, rng: &rng) }
                    }
                }
                let what = "\(cfg.task) threads \(threads)"
                let loss = step(dropped, seed: 9)
                // the plain model with W_hh times the masks (nothing else draws from the rng)
                var masks: [String: [Float]] = [:]
                var zeros = 0, total = 0
                for k in 0 ..< cfg.layers {
                    for d in 0 ..< cfg.directions {
                        let name = "rnn.weight_hh_l\(k)" + (d == 1 ? "_reverse" : "")
                        guard let m = dropped.stack.weightDropMask(k: k, d: d) else { XCTFail("\(what): no mask for \(name)"); continue }
                        masks[name] = Array(m)
                        zeros += m.filter { $0 == 0 }.count; total += m.count
                        XCTAssertTrue(m.allSatisfy { $0 == 0 || $0 == 2 }, what)
                        let w = plain.params.value(name)
                        for i in 0 ..< w.count { w[i] *= m[i] }
                    }
                }
                XCTAssertGreaterThan(Double(zeros) / Double(total), 0.4, what)
                XCTAssertLessThan(Double(zeros) / Double(total), 0.6, what)
                XCTAssertEqual(step(plain, seed: 9), loss, what)
                for e in dropped.params.entries {
                    let g = Array(dropped.params.grad(e.name)), gp = Array(plain.params.grad(e.name))
                    if let m = masks[e.name] {
                        XCTAssertEqual(g, zip(gp, m).map { $0 * $1 }, "\(what): \(e.name)")
                        XCTAssertTrue(zip(g, m).allSatisfy { $1 != 0 || $0 == 0 }, "\(what): dropped weights get no gradient")
                    } else {
                        XCTAssertEqual(g, gp, "\(what): \(e.name)")
                    }
                }
                XCTAssertEqual(masks.count, cfg.layers * cfg.directions, what)
                // a fresh mask each step; evaluation reads the unmasked weights
                _ = step(dropped, seed: 10)
                XCTAssertNotEqual(dropped.stack.weightDropMask(k: 0, d: 0).map(Array.init), masks["rnn.weight_hh_l0"], what)
                let twin = Model(config: plainCfg, seed: 3)
                _ = twin.params.mutableValues.update(from: UnsafeBufferPointer(dropped.params.mutableValues))
                let eval = { (model: Model) -> Float in
                    tokens.withUnsafeBufferPointer { t in
                        if cfg.task == .classifier { return model.evaluateClassifier(tokens: t, lengths: [6, 4], labels: [0, 1]).loss }
                        var state = RecurrentState.zeros(cfg, batch: 2)
                        return targets.withUnsafeBufferPointer { model.evaluateLM(inputs: t, targets: $0, batch: 2, steps: 5, state: &state) }
                    }
                }
                XCTAssertEqual(eval(dropped), eval(twin), what)
                XCTAssertNil(dropped.stack.weightDropMask(k: 0, d: 0), "\(what): evaluation draws no mask")
            }
        }
    }

    /// Weight drop, numerically: W_hh's gradient is the central difference of the loss with the same
    /// masks (the same rng seed); dropped weights have exactly none.
    func testWeightDropGradientByCentralDifferences() {
        var cfg = lmConfig(.lstm); cfg.weightDrop = 0.3
        let model = Model(config: cfg, seed: 3)
        let tokens: [Int32] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 0], targets: [Int32] = [3, 4, 5, 6, 7, 8, 9, 10, 0, 1]
        func trainLoss() -> Float {
            var rng = RNG(seed: 9)
            var state = RecurrentState.zeros(cfg, batch: 2)
            return tokens.withUnsafeBufferPointer { t in
                targets.withUnsafeBufferPointer { model.trainLM(inputs: t, targets: $0, batch: 2, steps: 5, state: &state, rng: &rng) }
            }
        }
        _ = trainLoss()
        for name in ["rnn.weight_hh_l0", "rnn.weight_hh_l1"] {
            let grad = Array(model.params.grad(name)), w = model.params.value(name)
            // the 24 largest gradients (up to 1e-3: a Float difference of the loss resolves them to
            // about 1e-5) and every seventh weight that has none
            let largest = grad.indices.sorted { abs(grad[$0]) > abs(grad[$1]) }.prefix(24)
            XCTAssertGreaterThan(abs(grad[largest.last!]), 2e-4, name)
            for i in largest {
                let fd = centralDifference(w, i, trainLoss)
                XCTAssertEqual(fd, grad[i], accuracy: 2e-5 + 0.05 * abs(grad[i]), "\(name)[\(i)]")
            }
            var zeroGrad = 0
            for i in stride(from: 0, to: w.count, by: 7) where grad[i] == 0 {
                zeroGrad += 1
                XCTAssertEqual(centralDifference(w, i, trainLoss), 0, "\(name)[\(i)]: a dropped weight does not change the loss")
            }
            XCTAssertGreaterThan(zeroGrad, 5, name)
        }
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
                    let fd = centralDifference(w, i, trainLoss)
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

    /// Head dropout of a language model (char-rnn's dropout before the next-character layer): the
    /// gradient of every tensor is that of the loss with the drawn mask (central differences with
    /// the same RNG seed), and evaluation draws no mask (it equals training without head dropout).
    /// Locked (variational) dropout: one mask per sequence, the same at every step it is active
    /// (packed rows of sequences of different lengths), a fresh mask per element without it; in
    /// the model, the mask between layers is constant over the steps of each stream.
    func testLockedDropoutSharesEachSequenceMaskOverTime() {
        let layout = PackedLayout(lengths: [3, 5, 1, 4, 5])
        let width = 40, n = layout.tokens * width
        let x = (0 ..< n).map { Float($0 % 7) + 1 }
        for locked in [false, true] {
            var rng = RNG(seed: 3)
            var y = [Float](repeating: 0, count: n), m = y
            dropoutForward(y: &y, mask: &m, x: x, layout: layout, width: width, p: 0.5, locked: locked, rng: &rng)
            var sameOverTime = true
            for t in 1 ..< layout.steps {
                for i in 0 ..< layout.batchSizes[t] {
                    let r = layout.offsets[t] + i
                    if Array(m[r * width ..< (r + 1) * width]) != Array(m[i * width ..< (i + 1) * width]) { sameOverTime = false }
                }
            }
            XCTAssertEqual(sameOverTime, locked, "locked \(locked)")
            XCTAssertTrue(m.allSatisfy { $0 == 0 || $0 == 2 })
            for i in 0 ..< n { XCTAssertEqual(y[i], x[i] * m[i]) }
            let kept = Double(m.filter { $0 > 0 }.count) / Double(n)
            XCTAssertEqual(kept, 0.5, accuracy: 0.1)
        }
        var cfg = lmConfig(.lstm, dropout: 0.5); cfg.lockedDropout = true
        let model = Model(config: cfg, seed: 5)
        let B = 3, T = 6
        let inputs = (0 ..< B * T).map { Int32($0 % 11) }
        var rng = RNG(seed: 13), state = RecurrentState.zeros(cfg, batch: B)
        _ = inputs.withUnsafeBufferPointer { i in model.trainLM(inputs: i, targets: i, batch: B, steps: T, state: &state, rng: &rng) }
        let mask = Array(model.stack.dropoutMask(k: 0)!), w = cfg.hidden
        XCTAssertTrue(mask.contains(0) && mask.contains(2))
        for t in 1 ..< T { for b in 0 ..< B { XCTAssertEqual(Array(mask[(t * B + b) * w ..< (t * B + b + 1) * w]), Array(mask[b * w ..< (b + 1) * w])) } }
    }

    /// Model.bf16 stays off where the bfloat16 kernel cannot run (another kernel set in use, or a
    /// CPU without AVX512_BF16), so the engine never reaches an instruction the CPU lacks.
    func testBFloat16StaysOffWhereItCannotRun() {
        let model = Model(config: lmConfig(.lstm), seed: 1)
        EngineKernels.using(.baseline) {
            model.bf16 = true
            XCTAssertFalse(model.bf16)
        }
        model.bf16 = true
        XCTAssertEqual(model.bf16, EngineKernels.bf16Available)
    }

    func testLanguageModelHeadDropoutGradientFollowsTheMask() {
      for locked in [false, true] {
        var cfg = lmConfig(.lstm, dropout: locked ? 0.3 : 0); cfg.headDropout = 0.5; cfg.lockedDropout = locked
        if locked { cfg.embedDropout = 0.3 }
        let model = Model(config: cfg, seed: 5)
        let inputs: [Int32] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 0], targets: [Int32] = [3, 4, 5, 6, 7, 8, 9, 10, 0, 1]
        func trainLoss() -> Float {
            var rng = RNG(seed: 13), state = RecurrentState.zeros(cfg, batch: 2)
            return inputs.withUnsafeBufferPointer { i in
                targets.withUnsafeBufferPointer { model.trainLM(inputs: i, targets: $0, batch: 2, steps: 5, state: &state, rng: &rng) } }
        }
        func evalLoss() -> Float {
            var state = RecurrentState.zeros(cfg, batch: 2)
            return inputs.withUnsafeBufferPointer { i in
                targets.withUnsafeBufferPointer { model.evaluateLM(inputs: i, targets: $0, batch: 2, steps: 5, state: &state) } }
        }
        var plainConfig = lmConfig(.lstm); plainConfig.lockedDropout = locked
        let plain = Model(config: plainConfig, seed: 5)
        plain.params.mutableValues.baseAddress!.update(from: model.params.values.baseAddress!, count: model.params.count)
        var rng = RNG(seed: 13), state = RecurrentState.zeros(plainConfig, batch: 2)
        let unmasked = inputs.withUnsafeBufferPointer { i in
            targets.withUnsafeBufferPointer { plain.trainLM(inputs: i, targets: $0, batch: 2, steps: 5, state: &state, rng: &rng) } }
        if !locked { XCTAssertEqual(evalLoss(), unmasked, accuracy: 1e-6, "evaluation draws no mask") }
        XCTAssertNotEqual(trainLoss(), unmasked, "training draws masks (locked \(locked))")
        var checked = 0
        for name in ["fc.weight", "fc.bias", "rnn.weight_hh_l1", "rnn.weight_ih_l0", "embedding.weight"] {
            _ = trainLoss()
            let grad = Array(model.params.grad(name))
            let w = model.params.value(name)
            for i in stride(from: 0, to: grad.count, by: max(1, grad.count / 12)) {
                XCTAssertEqual(centralDifference(w, i, trainLoss), grad[i], accuracy: 2e-3 + 0.05 * abs(grad[i]), "\(name)[\(i)] locked \(locked)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 50)
      }
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

    /// The gate math's exp, sigmoid and tanh (RNNKernels/FastMath.swift) against Double, in every
    /// kernel set the machine supports (the same polynomials: the same bits in every set).
    func testFastMathAccuracy() {
        var xs: [Float] = []
        var x: Float = -30
        while x < 30 {
            for i in 0 ..< 16 { xs.append(x + Float(i) * 1e-4) }
            x += abs(x) < 1 ? 0.000731 : 0.0173
        }
        xs += [1e-20, 100, -200, 0.3]   // and a tail shorter than a vector
        func run(_ table: KernelTable, _ f: VectorFunction, _ x: [Float]) -> [Float] {
            var y = [Float](repeating: .nan, count: x.count)
            x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { table.vectorFunction(f, xb.baseAddress!, $0.baseAddress!, x.count) } }
            return y
        }
        var first: [[Float]]?
        for set in EngineKernels.supported {
            let table = EngineKernels.table(for: set)
            let e = run(table, .exp, xs), s = run(table, .sigmoid, xs), t = run(table, .tanh, xs)
            var worst = (exp: 0.0, sig: 0.0, tanh: 0.0)
            for i in 0 ..< xs.count - 4 {
                let d = Double(xs[i])
                worst.exp = max(worst.exp, abs(Double(e[i]) - Foundation.exp(d)) / Foundation.exp(d))
                let sd = 1 / (1 + Foundation.exp(-d))
                worst.sig = max(worst.sig, abs(Double(s[i]) - sd) / sd)
                if d != 0 { worst.tanh = max(worst.tanh, abs(Double(t[i]) - Foundation.tanh(d)) / abs(Foundation.tanh(d))) }
            }
            print("[fastmath \(set)] max rel error exp \(worst.exp) sigmoid \(worst.sig) tanh \(worst.tanh)")
            XCTAssertLessThan(worst.exp, 3e-7, "\(set)"); XCTAssertLessThan(worst.sig, 3e-7, "\(set)"); XCTAssertLessThan(worst.tanh, 3e-7, "\(set)")
            let n = xs.count
            XCTAssertEqual(t[n - 4], 1e-20, "\(set)")
            XCTAssertEqual(t[n - 3], 1, "\(set)")
            XCTAssertEqual(s[n - 2], 0, accuracy: 1e-30, "\(set)")
            if let first { XCTAssertTrue(first == [e, s, t], "\(set): other bits than \(EngineKernels.supported[0])") } else { first = [e, s, t] }
        }
    }

    /// Every kernel set the machine supports trains and classifies with the same bits where the
    /// arithmetic is the same: baseline and v3 run the same operations (software or hardware FMA,
    /// OpenBLAS for the big products); v4 has its own big products, so it agrees to rounding, and
    /// its packed product (one FMA chain per element like v3's) gives the same bits.
    func testKernelSetsAgree() {
        func run(_ cell: CellKind, lm: Bool) -> (losses: [Float], params: [Float], logits: [Float]) {
            let cfg = ModelConfig(cell: cell, task: lm ? .languageModel : .classifier, vocabSize: 30, embedDim: 7, hidden: 21,
                                  layers: 2, bidirectional: !lm, dropout: 0.1, headDropout: 0.1, outputs: lm ? 30 : 3,
                                  paddingIndex: lm ? nil : 1, freezeEmbedding: false)
            let model = Model(config: cfg, seed: 11)
            model.threads = 2
            var data = RNG(seed: 3), rng = RNG(seed: 4)
            var adam = Adam(count: model.params.count, lr: 3e-3, weightDecay: 0.01)
            var state = RecurrentState.zeros(cfg, batch: 5)
            var losses: [Float] = []
            for _ in 0 ..< 6 {
                if lm {
                    let x = (0 ..< 40).map { _ in Int32(data.below(30)) }, y = x.map { ($0 * 7 + 3) % 30 }
                    losses.append(x.withUnsafeBufferPointer { xi in y.withUnsafeBufferPointer { yi in
                        model.trainLM(inputs: xi, targets: yi, batch: 5, steps: 8, state: &state, rng: &rng) } })
                } else {
                    let lengths = (0 ..< 9).map { _ in 1 + data.below(13) }
                    let tokens = (0 ..< lengths.reduce(0, +)).map { _ in Int32(2 + data.below(28)) }
                    losses.append(tokens.withUnsafeBufferPointer {
                        model.trainClassifier(tokens: $0, lengths: lengths, labels: lengths.map { Int32($0 % 3) }, rng: &rng).loss })
                }
                clipGradNorm(model.params, maxNorm: 0.5)
                adam.update(model.params)
            }
            let logits = lm ? model.stepLM(tokens: [1, 2, 3, 4, 5], state: &state)
                : [Int32](arrayLiteral: 5, 9, 2, 7, 7, 3).withUnsafeBufferPointer { model.classify(tokens: $0, lengths: [4, 2]) }
            return (losses, Array(model.params.values), logits)
        }
        for cell in CellKind.allCases {
            for lm in [false, true] {
                var results: [(KernelSet, (losses: [Float], params: [Float], logits: [Float]))] = []
                for set in EngineKernels.supported { results.append((set, EngineKernels.using(set) { run(cell, lm: lm) })) }
                let (s0, r0) = results[0]
                for (set, r) in results.dropFirst() {
                    if set == .v3 && s0 == .baseline {
                        XCTAssertTrue(r.losses == r0.losses && r.params == r0.params && r.logits == r0.logits,
                                      "\(cell) lm=\(lm): v3 and baseline differ")
                    } else {
                        XCTAssertLessThan(relDiff(r.losses, r0.losses).rel, 1e-5, "\(cell) lm=\(lm): \(set) vs \(s0)")
                        XCTAssertLessThan(relDiff(r.logits, r0.logits).rel, 1e-4, "\(cell) lm=\(lm): \(set) vs \(s0)")
                    }
                }
            }
        }
        // the packed product: one FMA chain per element in every set
        var rng = RNG(seed: 9)
        let m = 13, n = 37, k = 45
        let a = (0 ..< m * k).map { _ in rng.uniform(-1, 1) }, w = (0 ..< n * k).map { _ in rng.uniform(-1, 1) }
        let packed = FloatBuffer(packedCount(k: k, n: n))
        packTransposed(w, n: n, k: k, ldw: k, into: packed.pointer)
        var outputs: [[Float]] = []
        for set in EngineKernels.supported {
            var c = [Float](repeating: 0, count: m * n)
            c.withUnsafeMutableBufferPointer { EngineKernels.table(for: set).gemmPacked(m, n, k, a, k, packed.pointer, $0.baseAddress!, n, false) }
            outputs.append(c)
        }
        XCTAssertTrue(outputs.allSatisfy { $0 == outputs[0] }, "packed products differ between kernel sets")
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
