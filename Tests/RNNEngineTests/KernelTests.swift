// The hand-written kernels (RNNKernels/Gemm.swift, Gemm512.swift) against a Double oracle on
// awkward sizes, and the inference projection cache: same logits as the plain GEMM path, rebuilt
// when weights change. Every test runs once per kernel set the machine supports.
import XCTest
import RNNKernelABI
@testable import RNNEngine

final class KernelTests: EveryKernelSetTestCase {
    func randomBuffer(_ n: Int, _ rng: inout RNG) -> FloatBuffer {
        let b = FloatBuffer(n)
        for i in 0 ..< n { b.pointer[i] = rng.uniform(-1, 1) }
        return b
    }

    func testPackedGemmMatchesOracle() {
        forEachKernelSet {
            var rng = RNG(seed: 1)
            // m covers every tail of the 6-row tile, n every tail of the 16-column panel
            for (m, n, k) in [(1, 16, 1), (5, 13, 7), (6, 32, 9), (7, 17, 33), (13, 48, 16), (32, 100, 37), (4, 3, 2)] {
                let a = randomBuffer(m * k + 3, &rng), wt = randomBuffer(n * k, &rng), wp = randomBuffer(k * n, &rng)
                let pt = FloatBuffer(packedCount(k: k, n: n)), pp = FloatBuffer(packedCount(k: k, n: n))
                packTransposed(wt.pointer, n: n, k: k, ldw: k, into: pt.pointer)   // B = Wt^T, Wt [n, k]
                packPlain(wp.pointer, k: k, n: n, ldw: n, into: pp.pointer)         // B = Wp, Wp [k, n]
                let ldc = n + 2
                for (packed, bAt) in [(pt, { (kk: Int, j: Int) in wt.pointer[j * k + kk] }), (pp, { (kk: Int, j: Int) in wp.pointer[kk * n + j] })] {
                    for accumulate in [false, true] {
                        let c = randomBuffer(m * ldc, &rng)
                        let before = Array(UnsafeBufferPointer(start: c.pointer, count: m * ldc))
                        gemmPacked(m: m, n: n, k: k, a: a.pointer, lda: k, packed: packed.pointer, c: c.pointer, ldc: ldc, accumulate: accumulate)
                        var worst = 0.0
                        for i in 0 ..< m {
                            for j in 0 ..< ldc {
                                let got = Double(c.pointer[i * ldc + j])
                                if j >= n { XCTAssertEqual(got, Double(before[i * ldc + j]), "column past n written"); continue }
                                var s = accumulate ? Double(before[i * ldc + j]) : 0
                                for kk in 0 ..< k { s += Double(a.pointer[i * k + kk]) * Double(bAt(kk, j)) }
                                worst = max(worst, abs(got - s))
                            }
                        }
                        XCTAssertLessThan(worst, 1e-5, "m=\(m) n=\(n) k=\(k) accumulate=\(accumulate)")
                    }
                }
            }
        }
    }

    /// The AVX-512 big-product kernel (Gemm512.swift; the v4 set's bigProduct, the others use
    /// OpenBLAS) in every operand form the engine uses, on sizes that hit each row tail of the 8-row
    /// tile, partial 16-column panels of an in-place B, an odd last panel, several K blocks (K > 256)
    /// and a row range that starts inside the matrix.
    func testBigProductMatchesOracle() {
        forEachKernelSet {
            guard let product = EngineKernels.table.bigProduct else {
                XCTAssertNotEqual(kernelSet, .v4, "the v4 set has its own big products")
                return
            }
            var rng = RNG(seed: 3)
            let shapes = [(1, 1, 1), (3, 13, 5), (8, 32, 7), (9, 50, 300), (17, 200, 31), (40, 48, 513), (23, 7, 260)]
            for (m, n, k) in shapes {
                for transA in [false, true] {
                    for transB in [false, true] {
                        let lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 3, ldc = n + 2
                        let a = randomBuffer((transA ? k : m) * lda, &rng), b = randomBuffer((transB ? n : k) * ldb, &rng)
                        func aAt(_ i: Int, _ kk: Int) -> Double { Double(transA ? a.pointer[kk * lda + i] : a.pointer[i * lda + kk]) }
                        func bAt(_ kk: Int, _ j: Int) -> Double { Double(transB ? b.pointer[j * ldb + kk] : b.pointer[kk * ldb + j]) }
                        for (accumulate, rows) in [(false, 0 ..< m), (true, m / 3 ..< m)] {
                            let c = randomBuffer(m * ldc, &rng)
                            let before = Array(UnsafeBufferPointer(start: c.pointer, count: m * ldc))
                            let pack = FloatBuffer(packedCount(k: k, n: n)), scratch = FloatBuffer(16 * min(k, gemmKBlock))
                            product(transA, transB, rows, n, k, a.pointer, lda, b.pointer, ldb, c.pointer, ldc, accumulate,
                                    pack.pointer, scratch.pointer)
                            var worst = 0.0
                            for i in 0 ..< m {
                                for j in 0 ..< ldc {
                                    let got = Double(c.pointer[i * ldc + j])
                                    if j >= n || !rows.contains(i) {
                                        XCTAssertEqual(got, Double(before[i * ldc + j]), "element outside the product written"); continue
                                    }
                                    var s = accumulate ? Double(before[i * ldc + j]) : 0
                                    for kk in 0 ..< k { s += aAt(i, kk) * bAt(kk, j) }
                                    worst = max(worst, abs(got - s) / max(1, abs(s)))
                                }
                            }
                            XCTAssertLessThan(worst, 1e-5, "m=\(m) n=\(n) k=\(k) transA=\(transA) transB=\(transB) accumulate=\(accumulate)")
                        }
                    }
                }
            }
        }
    }

    func testRowProductMatchesOracle() {
        forEachKernelSet {
            var rng = RNG(seed: 2)
            for (n, k) in [(1, 1), (3, 7), (4, 8), (9, 17), (64, 100)] {
                let w = randomBuffer(n * k, &rng), x = randomBuffer(k, &rng), y = randomBuffer(n, &rng)
                let y0 = Array(UnsafeBufferPointer(start: y.pointer, count: n))
                gemvRows(y: y.pointer, x: x.pointer, w: w.pointer, k: k, ldw: k, rows: 0 ..< n, accumulate: true)
                for j in 0 ..< n {
                    var s = Double(y0[j])
                    for kk in 0 ..< k { s += Double(w.pointer[j * k + kk]) * Double(x.pointer[kk]) }
                    XCTAssertEqual(Double(y.pointer[j]), s, accuracy: 1e-5, "n=\(n) k=\(k) row \(j)")
                }
            }
        }
    }

    /// Inference caches (layer 0's projection table, every layer's packed W_ih^T and W_hh^T) are
    /// rebuilt when the weights change, by a write or an Adam step.
    func testInferenceCachesFollowTheWeights() {
        forEachKernelSet {
            for cell in CellKind.allCases {
                let cfg = ModelConfig(cell: cell, task: .classifier, vocabSize: 40, embedDim: 6, hidden: 9, layers: 2, bidirectional: true,
                                      dropout: 0, headDropout: 0, outputs: 3, paddingIndex: 1, freezeEmbedding: false)
                let model = Model(config: cfg, seed: 4)
                var rng = RNG(seed: 5)
                let lengths = [30, 7, 19], tokens = (0 ..< 56).map { _ in Int32(rng.below(40)) }, labels: [Int32] = [0, 2, 1]
                func run() -> [Float] { tokens.withUnsafeBufferPointer { model.classify(tokens: $0, lengths: lengths) } }
                // training never uses the cache (dropout is 0, so its logits are the inference logits)
                func plain() -> [Float] { tokens.withUnsafeBufferPointer { model.trainClassifier(tokens: $0, lengths: lengths, labels: labels, rng: &rng).logits } }
                let reference = plain()
                for _ in 0 ..< 3 { XCTAssertLessThan(relDiff(run(), reference).rel, 1e-6, "\(cell): cached projections") }
                // change the weights: a stale table or stale panels would give the old logits
                model.params.value("rnn.weight_ih_l0_reverse")[2] += 0.5
                model.params.value("embedding.weight")[7 * 6 + 1] -= 0.5
                model.params.value("rnn.weight_hh_l0")[5] += 0.5
                model.params.value("rnn.weight_ih_l1_reverse")[3] -= 0.5
                let changed = plain()
                XCTAssertGreaterThan(relDiff(changed, reference).rel, 1e-4)
                XCTAssertLessThan(relDiff(run(), changed).rel, 1e-6, "\(cell): cache not rebuilt")
                var adam = Adam(count: model.params.count, lr: 0.1)
                adam.update(model.params)
                let stepped = plain()
                XCTAssertGreaterThan(relDiff(stepped, changed).rel, 1e-4)
                XCTAssertLessThan(relDiff(run(), stepped).rel, 1e-6, "\(cell): cache not rebuilt after Adam")
            }
        }
    }

    /// Sampling steps split over two threads (oneStepSplit) give the bits of one thread, and the
    /// same logits as running the sequence in one call.
    func testSplitSamplingStepMatchesOneThread() {
        forEachKernelSet {
            for cell in CellKind.allCases {
                // layer 1 big enough for the split (G * (in + H) >= 2^18), layer 0 not
                let H = cell == .rnn ? 380 : 232
                let cfg = ModelConfig(cell: cell, task: .languageModel, vocabSize: 20, embedDim: 10, hidden: H, layers: 2, bidirectional: false,
                                      dropout: 0, headDropout: 0, outputs: 20, paddingIndex: nil, freezeEmbedding: false)
                for B in [1, 2] {
                    var results: [[Float]] = []
                    var states: [RecurrentState] = []
                    for threads in [1, 2] {
                        let model = Model(config: cfg, seed: 8)
                        model.threads = threads
                        var state = RecurrentState.zeros(cfg, batch: B)
                        var all: [Float] = []
                        for t in 0 ..< 6 { all += model.stepLM(tokens: (0 ..< B).map { Int32((t * 7 + $0 * 3) % 20) }, state: &state) }
                        results.append(all); states.append(state)
                    }
                    XCTAssertEqual(results[0], results[1], "\(cell) B=\(B): threads 2 differs from threads 1")
                    XCTAssertEqual(states[0].h, states[1].h); XCTAssertEqual(states[0].c, states[1].c)
                    // the whole sequence in one call (packed kernels) agrees to rounding
                    let model = Model(config: cfg, seed: 8)
                    var whole = RecurrentState.zeros(cfg, batch: B)
                    let inputs = (0 ..< B).flatMap { b in (0 ..< 6).map { t in Int32((t * 7 + b * 3) % 20) } }
                    let losses = inputs.withUnsafeBufferPointer { i in inputs.withUnsafeBufferPointer { tg in
                        model.lossesLM(inputs: i, targets: tg, batch: B, steps: 6, state: &whole) } }
                    XCTAssertEqual(losses.count, B * 6)
                    XCTAssertLessThan(relDiff(states[1].h, whole.h).rel, 1e-5, "\(cell) B=\(B): state after 6 steps")
                }
            }
        }
    }

    /// A language model's packed weights across sampling steps (which read the weights unpacked)
    /// and scoring calls (which use the panels): a change of the weights between them is seen.
    func testLanguageModelPanelsFollowTheWeightsAcrossSamplingSteps() {
        forEachKernelSet {
            let cfg = ModelConfig(cell: .lstm, task: .languageModel, vocabSize: 12, embedDim: 5, hidden: 24, layers: 2, bidirectional: false,
                                  dropout: 0, headDropout: 0, outputs: 12, paddingIndex: nil, freezeEmbedding: false)
            let model = Model(config: cfg, seed: 3)
            let inputs: [Int32] = (0 ..< 30).map { Int32(2 + $0 % 10) }, targets: [Int32] = (0 ..< 30).map { Int32(2 + ($0 * 3) % 10) }
            func score(_ m: Model) -> [Float] {
                var state = RecurrentState.zeros(cfg, batch: 1)
                return inputs.withUnsafeBufferPointer { i in targets.withUnsafeBufferPointer { t in
                    m.lossesLM(inputs: i, targets: t, batch: 1, steps: 30, state: &state) } }
            }
            let first = score(model)
            XCTAssertEqual(score(model), first, "panels reused while the weights stay")
            model.params.value("rnn.weight_hh_l1")[7] += 0.5
            var state = RecurrentState.zeros(cfg, batch: 1)
            _ = model.stepLM(tokens: [3], state: &state)   // a sampling step between the change and the next score
            let changed = score(model)
            XCTAssertNotEqual(changed, first)
            let fresh = Model(config: cfg, seed: 3)
            fresh.params.value("rnn.weight_hh_l1")[7] += 0.5
            XCTAssertEqual(changed, score(fresh), "stale panels after the weights changed")
        }
    }

    /// One sequence over many steps (rnn-sample --score, one record): each step's product cut by
    /// columns over the threads gives the bits of one thread, for 1, 2 and 3 threads.
    func testSingleSequenceStepsCutOverThreadsMatchOneThread() {
        forEachKernelSet {
            for cell in CellKind.allCases {
                // G * H just past RecurrentStack.splitStepMinWeights (2^18)
                let H = cell == .rnn ? 520 : cell == .gru ? 304 : 264
                XCTAssertGreaterThanOrEqual(cell.gates * H * H, RecurrentStack.splitStepMinWeights)
                let cfg = ModelConfig(cell: cell, task: .languageModel, vocabSize: 20, embedDim: 10, hidden: H, layers: 2, bidirectional: false,
                                      dropout: 0, headDropout: 0, outputs: 20, paddingIndex: nil, freezeEmbedding: false)
                let inputs = (0 ..< 40).map { Int32(($0 * 7 + 3) % 20) }, targets = (0 ..< 40).map { Int32(($0 * 5 + 1) % 20) }
                var results: [([Float], RecurrentState)] = []
                for threads in [1, 2, 3] {
                    let model = Model(config: cfg, seed: 4)
                    model.threads = threads
                    var state = RecurrentState.zeros(cfg, batch: 1)
                    var losses: [Float] = []
                    for chunk in [0 ..< 25, 25 ..< 40] {   // state carried between calls
                        losses += inputs[chunk].withUnsafeBufferPointer { i in targets[chunk].withUnsafeBufferPointer { t in
                            model.lossesLM(inputs: i, targets: t, batch: 1, steps: chunk.count, state: &state) } }
                    }
                    results.append((losses, state))
                }
                for (i, r) in results.enumerated().dropFirst() {
                    XCTAssertTrue(r.0 == results[0].0, "\(cell): losses with \(i + 1) threads differ from one thread")
                    XCTAssertTrue(r.1.h == results[0].1.h && r.1.c == results[0].1.c, "\(cell): state with \(i + 1) threads")
                }
            }
        }
    }

    /// Adam and clipping on the arena's two halves: the same bits with 1 and 2 threads, and the
    /// norm equals a plain Double sum.
    func testClipAndAdamSameBitsOnTwoThreads() {
        forEachKernelSet {
            let cfg = ModelConfig(cell: .gru, task: .classifier, vocabSize: 300, embedDim: 9, hidden: 11, layers: 1, bidirectional: true,
                                  dropout: 0, headDropout: 0, outputs: 1, paddingIndex: 1, freezeEmbedding: false)
            var out: [([Float], Float)] = []
            for threads in [1, 2] {
                let model = Model(config: cfg, seed: 3)
                model.threads = threads
                var rng = RNG(seed: 1)
                for i in 0 ..< model.params.count { model.params.grads[i] = rng.uniform(-1, 1) }
                var oracle = 0.0
                for i in 0 ..< model.params.count { oracle += Double(model.params.grads[i]) * Double(model.params.grads[i]) }
                let norm = clipGradNorm(model.params, maxNorm: 1)
                XCTAssertEqual(Double(norm), oracle.squareRoot(), accuracy: 1e-5 * oracle.squareRoot())
                var adam = Adam(count: model.params.count, weightDecay: 0.01)
                adam.update(model.params, frozen: ["fc.bias"])
                out.append((Array(model.params.values), norm))
            }
            XCTAssertEqual(out[0].1, out[1].1)
            XCTAssertTrue(out[0].0 == out[1].0, "Adam/clip with 2 threads differ from 1 thread")
        }
    }

    /// Any thread count (1, 2, 3, 5 on however many cores): the same count gives the same bits;
    /// any two counts give training losses within 1e-5 relative after 20 steps, for language models
    /// (one direction, the batch cut into slices) and ragged bi- and unidirectional classifiers (the
    /// directions on their own threads, or slices), and inference gives the same bits.
    func testAnyThreadCount() {
        forEachKernelSet {
            func lmRun(_ cell: CellKind, threads: Int) -> [Float] {
                let H = cell == .lstm ? 40 : 48
                let cfg = ModelConfig(cell: cell, task: .languageModel, vocabSize: 11, embedDim: 7, hidden: H, layers: 2, bidirectional: false,
                                      dropout: 0.2, headDropout: 0, outputs: 11, paddingIndex: nil, freezeEmbedding: false)
                var data = RNG(seed: 6), rng = RNG(seed: 7)
                let model = Model(config: cfg, seed: 2)
                model.threads = threads
                var adam = Adam(count: model.params.count, lr: 3e-3)
                var state = RecurrentState.zeros(cfg, batch: 7)
                var losses: [Float] = []
                for _ in 0 ..< 20 {
                    let x = (0 ..< 42).map { _ in Int32(data.below(11)) }, y = x.map { ($0 * 3 + 1) % 11 }
                    losses.append(x.withUnsafeBufferPointer { xi in y.withUnsafeBufferPointer { yi in
                        model.trainLM(inputs: xi, targets: yi, batch: 7, steps: 6, state: &state, rng: &rng) } })
                    clipGradNorm(model.params, maxNorm: 1)
                    adam.update(model.params)
                }
                return losses
            }
            func clsRun(_ cell: CellKind, bidirectional: Bool, threads: Int) -> (losses: [Float], logits: [Float]) {
                let cfg = ModelConfig(cell: cell, task: .classifier, vocabSize: 30, embedDim: 5, hidden: 24, layers: 2, bidirectional: bidirectional,
                                      dropout: 0.1, headDropout: 0.2, outputs: 3, paddingIndex: 1, freezeEmbedding: false)
                var data = RNG(seed: 9), rng = RNG(seed: 4)
                let model = Model(config: cfg, seed: 3)
                model.threads = threads
                var adam = Adam(count: model.params.count, lr: 3e-3)
                var losses: [Float] = []
                for _ in 0 ..< 20 {
                    let lengths = (0 ..< 11).map { _ in 1 + data.below(14) }
                    let tokens = (0 ..< lengths.reduce(0, +)).map { _ in Int32(2 + data.below(28)) }
                    let labels = lengths.map { Int32($0 % 3) }
                    losses.append(tokens.withUnsafeBufferPointer { model.trainClassifier(tokens: $0, lengths: lengths, labels: labels, rng: &rng).loss })
                    adam.update(model.params)
                }
                let lengths = [9, 2, 7, 7, 1, 5, 12, 3], tokens = (0 ..< 46).map { _ in Int32(2 + data.below(28)) }
                return (losses, tokens.withUnsafeBufferPointer { model.classify(tokens: $0, lengths: lengths) })
            }
            func close(_ a: [Float], _ b: [Float], _ what: String) {
                XCTAssertEqual(a.count, b.count)
                for (x, y) in zip(a, b) { XCTAssertLessThanOrEqual(abs(x - y), 1e-5 * max(abs(x), abs(y)), "\(what): \(a) vs \(b)") }
            }
            for cell in CellKind.allCases {
                let lm1 = lmRun(cell, threads: 1)
                for n in [2, 3, 5] {
                    let a = lmRun(cell, threads: n), b = lmRun(cell, threads: n)
                    XCTAssertTrue(a == b, "\(cell) LM: threads \(n) twice, different bits")
                    close(lm1, a, "\(cell) LM threads 1 vs \(n)")
                }
                for bi in [true, false] {
                    let c1 = clsRun(cell, bidirectional: bi, threads: 1)
                    for n in [2, 3, 5] {
                        let a = clsRun(cell, bidirectional: bi, threads: n), b = clsRun(cell, bidirectional: bi, threads: n)
                        XCTAssertTrue(a.losses == b.losses && a.logits == b.logits, "\(cell) bi=\(bi): threads \(n) twice, different bits")
                        close(c1.losses, a.losses, "\(cell) bi=\(bi) threads 1 vs \(n)")
                    }
                }
            }
        }
    }

    /// Classification depends only on the record and the weights: the same logits (bits) for a
    /// record alone, in any batch, with any thread count, with or without the projection table.
    func testClassifyBitsIndependentOfBatchAndThreads() {
        forEachKernelSet {
            for cell in CellKind.allCases {
                for bi in [true, false] {
                    let cfg = ModelConfig(cell: cell, task: .classifier, vocabSize: 40, embedDim: 6, hidden: 20, layers: 2, bidirectional: bi,
                                          dropout: 0, headDropout: 0, outputs: 3, paddingIndex: 1, freezeEmbedding: false)
                    var data = RNG(seed: 12)
                    let lengths = (0 ..< 13).map { _ in 1 + data.below(17) }
                    let tokens = (0 ..< lengths.reduce(0, +)).map { _ in Int32(2 + data.below(38)) }
                    var starts = [0]; for l in lengths { starts.append(starts.last! + l) }
                    var reference: [Float]?
                    for threads in [1, 2, 3, 5] {
                        let model = Model(config: cfg, seed: 5)
                        model.threads = threads
                        // first pass: records one by one (no table yet), then batches of 4, then all (table built)
                        var single: [Float] = []
                        for i in 0 ..< lengths.count {
                            single += Array(tokens[starts[i] ..< starts[i + 1]]).withUnsafeBufferPointer { model.classify(tokens: $0, lengths: [lengths[i]]) }
                        }
                        var fours: [Float] = []
                        for b in stride(from: 0, to: lengths.count, by: 4) {
                            let e = min(b + 4, lengths.count)
                            fours += Array(tokens[starts[b] ..< starts[e]]).withUnsafeBufferPointer { model.classify(tokens: $0, lengths: Array(lengths[b ..< e])) }
                        }
                        var all: [Float] = []
                        for _ in 0 ..< 4 { all = tokens.withUnsafeBufferPointer { model.classify(tokens: $0, lengths: lengths) } }
                        XCTAssertTrue(single == fours && fours == all, "\(cell) bi=\(bi) threads \(threads): logits depend on the batch")
                        if let reference { XCTAssertTrue(reference == all, "\(cell) bi=\(bi): threads \(threads) differs from 1") }
                        else { reference = all }
                    }
                }
            }
        }
    }

    /// The batch slices of the recurrence: contiguous, covering the batch, about N/P tokens each.
    func testRecurrencePlan() {
        forEachKernelSet {
            let layout = PackedLayout(lengths: [3, 9, 1, 4, 4, 7, 2, 8])
            for (D, P) in [(1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (2, 4), (1, 20)] {
                let plan = RecurrentStack.RecurrencePlan(layout: layout, directions: D, threads: P)
                XCTAssertEqual(plan.bounds.first, 0); XCTAssertEqual(plan.bounds.last, 8)
                XCTAssertEqual(plan.bounds, plan.bounds.sorted()); XCTAssertEqual(Set(plan.bounds).count, plan.bounds.count)
                XCTAssertLessThanOrEqual(plan.parts, P)
                var covered: [Int: Int] = [:]
                for p in 0 ..< plan.parts {
                    let (dirs, rows) = plan.job(p, directions: D)
                    for d in dirs { for r in rows { covered[d * 100 + r, default: 0] += 1 } }
                }
                XCTAssertEqual(covered.count, 8 * D, "D=\(D) P=\(P)"); XCTAssertTrue(covered.values.allSatisfy { $0 == 1 })
            }
            // 38 tokens over 2 slices: the longest sequences (9, 8, 7) make the first half
            XCTAssertEqual(RecurrentStack.RecurrencePlan(layout: layout, directions: 1, threads: 2).bounds, [0, 3, 8])
        }
    }
}
