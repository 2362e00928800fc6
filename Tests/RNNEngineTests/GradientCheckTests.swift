// The fast Float stack (packed rows, SIMD gate math, BLAS) against the naive Double oracle:
// forward equality, and every gradient (all parameters, the input rows = embedding output, the
// initial h0/c0) against central differences of the Double implementation.
// Every layer type (rnn, lstm, gru) x (uni, bi) x (1, 2 layers), ragged lengths.
import XCTest
@testable import RNNEngine

final class GradientCheckTests: EveryKernelSetTestCase {
    struct Case { var cell: CellKind; var D: Int; var L: Int }
    static let lengths = [4, 6, 1, 3]   // unsorted on purpose (the stack sorts internally)
    static let E = 3, H = 9             // H = 9: one 8-lane vector + a scalar tail

    func run(_ c: Case) {
        let E = Self.E, H = Self.H, lengths = Self.lengths, B = lengths.count
        var rng = RNG(seed: UInt64(c.L * 100 + c.D * 10 + c.cell.gates))
        func r() -> Double { Double(rng.uniform(-0.6, 0.6)) }
        let cfg = ModelConfig(cell: c.cell, task: .classifier, vocabSize: 4, embedDim: E, hidden: H, layers: c.L,
                              bidirectional: c.D == 2, dropout: 0, headDropout: 0, outputs: 1, paddingIndex: nil, freezeEmbedding: false)
        let params = Parameters(Model.parameterSpec(cfg))
        var naive = NaiveStack(cell: c.cell, E: E, H: H, L: c.L, D: c.D, w: [:])
        for e in params.entries where e.name.hasPrefix("rnn.") {
            let v = (0 ..< e.count).map { _ in r() }
            naive.w[e.name] = v
            let p = params.value(e.name); for i in 0 ..< e.count { p[i] = Float(v[i]) }
        }
        // inputs, initial states and the random projections that define the scalar loss
        var xs = lengths.map { l in (0 ..< l).map { _ in (0 ..< E).map { _ in r() } } }
        var h0 = (0 ..< c.L * c.D).map { _ in (0 ..< B).map { _ in (0 ..< H).map { _ in r() } } }
        var c0 = (0 ..< c.L * c.D).map { _ in (0 ..< B).map { _ in (0 ..< H).map { _ in c.cell == .lstm ? r() : 0 } } }
        let rOut = lengths.map { l in (0 ..< l).map { _ in (0 ..< c.D * H).map { _ in r() } } }
        let rH = (0 ..< c.L * c.D).map { _ in (0 ..< B).map { _ in (0 ..< H).map { _ in r() } } }
        let rC = (0 ..< c.L * c.D).map { _ in (0 ..< B).map { _ in (0 ..< H).map { _ in r() } } }
        func loss(_ n: NaiveStack, _ xs: [[[Double]]], _ h0: [[[Double]]], _ c0: [[[Double]]]) -> Double {
            let (o, hn, cn) = n.forward(xs, h0: h0, c0: c0)
            var s = 0.0
            for b in 0 ..< B { for t in 0 ..< lengths[b] { for j in 0 ..< c.D * H { s += o[b][t][j] * rOut[b][t][j] } } }
            for s_ in 0 ..< c.L * c.D { for b in 0 ..< B { for j in 0 ..< H {
                s += hn[s_][b][j] * rH[s_][b][j]
                if c.cell == .lstm { s += cn[s_][b][j] * rC[s_][b][j] }
            } } }
            return s
        }

        // ---- fast path
        let layout = PackedLayout(lengths: lengths)
        let N = layout.tokens, SD = c.L * c.D
        var x = [Float](repeating: 0, count: N * E), dOut = [Float](repeating: 0, count: N * c.D * H)
        for i in 0 ..< B {
            let b = layout.order[i]
            for t in 0 ..< lengths[b] {
                let row = layout.offsets[t] + i
                for j in 0 ..< E { x[row * E + j] = Float(xs[b][t][j]) }
                for j in 0 ..< c.D * H { dOut[row * c.D * H + j] = Float(rOut[b][t][j]) }
            }
        }
        func sorted(_ s: [[[Double]]]) -> [Float] {
            var a = [Float](repeating: 0, count: SD * B * H)
            for q in 0 ..< SD { for i in 0 ..< B { for j in 0 ..< H { a[(q * B + i) * H + j] = Float(s[q][layout.order[i]][j]) } } }
            return a
        }
        let h0f = sorted(h0), c0f = sorted(c0), dhn = sorted(rH), dcn = sorted(rC)
        let stack = RecurrentStack(cell: c.cell, inputDim: E, hidden: H, layers: c.L, directions: c.D, dropout: 0, params: params)
        var dX = [Float](repeating: 0, count: N * E), dh0 = [Float](repeating: 0, count: SD * B * H), dc0 = dh0
        params.zeroGrads()
        x.withUnsafeBufferPointer { xp in
            stack.forward(layout: layout, x: xp.baseAddress!, h0: h0f, c0: c.cell == .lstm ? c0f : nil, training: true, rng: nil)
        }
        // forward equality with the oracle
        let (no, nhn, ncn) = naive.forward(xs, h0: h0, c0: c0)
        var fwdDiff = 0.0
        for i in 0 ..< B {
            let b = layout.order[i]
            for t in 0 ..< lengths[b] { for j in 0 ..< c.D * H {
                fwdDiff = max(fwdDiff, abs(Double(stack.lastOutput[(layout.offsets[t] + i) * c.D * H + j]) - no[b][t][j]))
            } }
            for q in 0 ..< SD { for j in 0 ..< H {
                fwdDiff = max(fwdDiff, abs(Double(stack.hn.pointer[(q * B + i) * H + j]) - nhn[q][b][j]))
                if c.cell == .lstm { fwdDiff = max(fwdDiff, abs(Double(stack.cn.pointer[(q * B + i) * H + j]) - ncn[q][b][j])) }
            } }
        }
        XCTAssertLessThan(fwdDiff, 2e-6, "\(c) forward differs from the naive Double oracle")
        dX.withUnsafeMutableBufferPointer { dx in dh0.withUnsafeMutableBufferPointer { g0 in dc0.withUnsafeMutableBufferPointer { gc0 in
            stack.backward(dOut: dOut, dhn: dhn, dcn: c.cell == .lstm ? dcn : nil, dX: dx.baseAddress!, dh0: g0.baseAddress!,
                           dc0: c.cell == .lstm ? gc0.baseAddress! : nil)
        } } }

        // ---- central differences on the Double oracle
        let eps = 1e-5
        var worst = 0.0
        func compare(_ what: String, analytic: [Float], numeric: [Double]) {
            var m = 0.0, scale = 0.0
            for i in 0 ..< numeric.count { m = max(m, abs(Double(analytic[i]) - numeric[i])); scale = max(scale, abs(numeric[i])) }
            let rel = m / max(scale, 1e-12)
            worst = max(worst, rel)
            XCTAssertLessThan(rel, 1e-5, "\(c) \(what): max |analytic - numeric| = \(m) (scale \(scale))")
            XCTAssertGreaterThan(scale, 1e-6, "\(c) \(what): gradient unexpectedly zero")
        }
        for e in params.entries where e.name.hasPrefix("rnn.") {
            var num = [Double](repeating: 0, count: e.count)
            for i in 0 ..< e.count {
                var p = naive; p.w[e.name]![i] += eps
                var m = naive; m.w[e.name]![i] -= eps
                num[i] = (loss(p, xs, h0, c0) - loss(m, xs, h0, c0)) / (2 * eps)
            }
            compare(e.name, analytic: Array(params.grad(e.name)), numeric: num)
        }
        // inputs (embedding output rows)
        var numX = [Double](repeating: 0, count: N * E)
        for i in 0 ..< B {
            let b = layout.order[i]
            for t in 0 ..< lengths[b] { for j in 0 ..< E {
                let keep = xs[b][t][j]
                xs[b][t][j] = keep + eps; let lp = loss(naive, xs, h0, c0)
                xs[b][t][j] = keep - eps; let lm = loss(naive, xs, h0, c0)
                xs[b][t][j] = keep
                numX[(layout.offsets[t] + i) * E + j] = (lp - lm) / (2 * eps)
            } }
        }
        compare("input x", analytic: dX, numeric: numX)
        // initial states
        var numH = [Double](repeating: 0, count: SD * B * H), numC = numH
        for q in 0 ..< SD { for i in 0 ..< B { for j in 0 ..< H {
            let b = layout.order[i]
            let keep = h0[q][b][j]
            h0[q][b][j] = keep + eps; let lp = loss(naive, xs, h0, c0)
            h0[q][b][j] = keep - eps; let lm = loss(naive, xs, h0, c0)
            h0[q][b][j] = keep
            numH[(q * B + i) * H + j] = (lp - lm) / (2 * eps)
            if c.cell == .lstm {
                let kc = c0[q][b][j]
                c0[q][b][j] = kc + eps; let cp = loss(naive, xs, h0, c0)
                c0[q][b][j] = kc - eps; let cm = loss(naive, xs, h0, c0)
                c0[q][b][j] = kc
                numC[(q * B + i) * H + j] = (cp - cm) / (2 * eps)
            }
        } } }
        compare("h0", analytic: dh0, numeric: numH)
        if c.cell == .lstm { compare("c0", analytic: dc0, numeric: numC) }
        print("[gradcheck] \(c.cell) D=\(c.D) L=\(c.L): forward max abs diff \(fwdDiff), gradients max rel diff \(worst)")
    }

    /// The multi-label head (one sigmoid per label, binary cross-entropy per label, mean over
    /// labels and batch): the whole classifier (embedding -> bidirectional GRU -> fc -> loss) in
    /// Double against the engine's Float gradients of every parameter, and the loss itself.
    func testMultiLabelHead() {
        forEachKernelSet {
            let V = 6, E = 3, H = 5, O = 4, lengths = [3, 1, 4], B = lengths.count
            var cfg = ModelConfig(cell: .gru, task: .classifier, vocabSize: V, embedDim: E, hidden: H, layers: 1, bidirectional: true,
                                  dropout: 0, headDropout: 0, outputs: O, paddingIndex: nil, freezeEmbedding: false)
            cfg.multiLabel = true
            let model = Model(config: cfg, seed: 5)
            var rng = RNG(seed: 77)
            var w: [String: [Double]] = [:]
            for e in model.params.entries {
                let v = (0 ..< e.count).map { _ in Double(rng.uniform(-0.8, 0.8)) }
                w[e.name] = v
                let p = model.params.value(e.name); for i in 0 ..< e.count { p[i] = Float(v[i]) }
            }
            let tokens: [Int32] = [2, 5, 1, 4, 0, 3, 3, 2]
            // targets [B, O]: several labels, one label and none
            let targets: [Int32] = [1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0]
            func loss(_ w: [String: [Double]]) -> Double {
                let naive = NaiveStack(cell: .gru, E: E, H: H, L: 1, D: 2, w: w)
                var xs: [[[Double]]] = [], at = 0
                for l in lengths {
                    xs.append((0 ..< l).map { t in (0 ..< E).map { w["embedding.weight"]![Int(tokens[at + t]) * E + $0] } })
                    at += l
                }
                let zero = (0 ..< 2).map { _ in (0 ..< B).map { _ in [Double](repeating: 0, count: H) } }
                let hn = naive.forward(xs, h0: zero, c0: zero).hn
                var total = 0.0
                for b in 0 ..< B {
                    let f = hn[0][b] + hn[1][b]
                    for o in 0 ..< O {
                        var x = w["fc.bias"]![o]
                        for j in 0 ..< 2 * H { x += w["fc.weight"]![o * 2 * H + j] * f[j] }
                        let y = Double(targets[b * O + o])
                        total += max(x, 0) - x * y + log1p(exp(-abs(x)))
                    }
                }
                return total / Double(B * O)
            }
            let (l, _) = tokens.withUnsafeBufferPointer { model.trainClassifier(tokens: $0, lengths: lengths, labels: targets, rng: &rng) }
            checkWholeModel(model, w, loss: l, loss, "multi-label head (gru D=2, \(O) labels)")
        }
    }

    /// The engine's Float loss `l` and the gradients of every parameter of `model` (set to `w`)
    /// against `loss` in Double and its central differences.
    func checkWholeModel(_ model: Model, _ w: [String: [Double]], loss l: Float, _ loss: ([String: [Double]]) -> Double, _ what: String) {
        let exact = loss(w)
        XCTAssertLessThan(abs(Double(l) - exact) / exact, 1e-6, "\(what): loss \(l) vs Double \(exact)")
        let eps = 1e-5
        var worst = 0.0
        for e in model.params.entries {
            var num = [Double](repeating: 0, count: e.count)
            for i in 0 ..< e.count {
                var p = w; p[e.name]![i] += eps
                var m = w; m[e.name]![i] -= eps
                num[i] = (loss(p) - loss(m)) / (2 * eps)
            }
            let g = model.params.grad(e.name)
            var d = 0.0, scale = 0.0
            for i in 0 ..< e.count { d = max(d, abs(Double(g[i]) - num[i])); scale = max(scale, abs(num[i])) }
            worst = max(worst, d / scale)
            XCTAssertGreaterThan(scale, 1e-6, "\(what) \(e.name): gradient unexpectedly zero")
            XCTAssertLessThan(d / scale, 1e-5, "\(what) \(e.name): max |analytic - numeric| = \(d) (scale \(scale))")
        }
        print("[gradcheck] \(what): loss rel diff \(abs(Double(l) - exact) / exact), gradients max rel diff \(worst)")
    }

    /// The pooling heads (last, max, mean, concat; Pooling.swift): the whole classifier
    /// (embedding -> 2-layer bidirectional LSTM -> pooled features -> fc -> softmax
    /// cross-entropy) in Double against the engine's Float loss and gradients of every parameter,
    /// packed (ragged lengths) and in the padded view (every sequence runs over T steps; max and
    /// mean read only the real steps, pads in front of some sequences and after others), on 1 and
    /// 3 threads (batch slices).
    func testPoolingHeads() {
        forEachKernelSet {
            for pool in Pooling.allCases {
                for padded in [false, true] { for threads in [1, 3] { poolingCase(pool, padded: padded, threads: threads) } }
            }
        }
    }

    func poolingCase(_ pool: Pooling, padded: Bool, threads: Int) {
        let V = 6, E = 3, H = 4, L = 2, D = 2, O = 3, W = D * H, F = pool.blocks * W
        let real = [3, 1, 5, 2], T = 5, B = real.count
        var cfg = ModelConfig(cell: .lstm, task: .classifier, vocabSize: V, embedDim: E, hidden: H, layers: L, bidirectional: true,
                              dropout: 0, headDropout: 0, outputs: O, paddingIndex: nil, freezeEmbedding: false)
        cfg.pool = pool
        let model = Model(config: cfg, seed: 5)
        model.threads = threads
        var rng = RNG(seed: 91)
        var w: [String: [Double]] = [:]
        for e in model.params.entries {
            let v = (0 ..< e.count).map { _ in Double(rng.uniform(-0.8, 0.8)) }
            w[e.name] = v
            let p = model.params.value(e.name); for i in 0 ..< e.count { p[i] = Float(v[i]) }
        }
        // real tokens; the padded view puts pads (1) in front of even and after odd sequences
        var tokens: [Int32] = [], lengths: [Int] = [], steps: [Range<Int>] = []
        for (b, n) in real.enumerated() {
            let ids = (0 ..< n).map { Int32((b * 7 + $0 * 3) % V) }
            if padded {
                let front = b % 2 == 0 ? T - n : 0
                tokens += [Int32](repeating: 1, count: front) + ids + [Int32](repeating: 1, count: T - n - front)
                lengths.append(T)
                steps.append(front ..< front + n)
            } else {
                tokens += ids
                lengths.append(n)
                steps.append(0 ..< n)
            }
        }
        let labels: [Int32] = [2, 0, 1, 2]
        func loss(_ w: [String: [Double]]) -> Double {
            let naive = NaiveStack(cell: .lstm, E: E, H: H, L: L, D: D, w: w)
            var xs: [[[Double]]] = [], at = 0
            for l in lengths {
                xs.append((0 ..< l).map { t in (0 ..< E).map { w["embedding.weight"]![Int(tokens[at + t]) * E + $0] } })
                at += l
            }
            let zero = (0 ..< L * D).map { _ in (0 ..< B).map { _ in [Double](repeating: 0, count: H) } }
            let (out, hn, _) = naive.forward(xs, h0: zero, c0: zero)
            var total = 0.0
            for b in 0 ..< B {
                let r = steps[b]
                let last = hn[(L - 1) * D][b] + hn[(L - 1) * D + 1][b]
                let mx = (0 ..< W).map { j in r.map { out[b][$0][j] }.max()! }
                let mean = (0 ..< W).map { j in r.map { out[b][$0][j] }.reduce(0, +) / Double(r.count) }
                let f: [Double]
                switch pool {
                case .last: f = last
                case .max: f = mx
                case .mean: f = mean
                case .concat: f = last + mx + mean
                }
                var z = [Double](repeating: 0, count: O)
                for o in 0 ..< O {
                    z[o] = w["fc.bias"]![o]
                    for j in 0 ..< F { z[o] += w["fc.weight"]![o * F + j] * f[j] }
                }
                let m = z.max()!
                total += log(z.map { exp($0 - m) }.reduce(0, +)) + m - z[Int(labels[b])]
            }
            return total / Double(B)
        }
        let (l, _) = tokens.withUnsafeBufferPointer {
            model.trainClassifier(tokens: $0, lengths: lengths, labels: labels, realSteps: padded ? steps : nil, rng: &rng)
        }
        checkWholeModel(model, w, loss: l, loss, "pool \(pool) \(padded ? "padded" : "packed") threads \(threads)")
    }

    func testRNN() { forEachKernelSet { for D in 1 ... 2 { for L in 1 ... 2 { run(Case(cell: .rnn, D: D, L: L)) } } } }
    func testLSTM() { forEachKernelSet { for D in 1 ... 2 { for L in 1 ... 2 { run(Case(cell: .lstm, D: D, L: L)) } } } }
    func testGRU() { forEachKernelSet { for D in 1 ... 2 { for L in 1 ... 2 { run(Case(cell: .gru, D: D, L: L)) } } } }
}
