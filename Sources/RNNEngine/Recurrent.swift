// Stacked, optionally bidirectional recurrence over a packed batch, forward and backward.
//
// Glossary: B batch, T longest length, N real tokens, E input dim of layer 0, H hidden, L layers,
// D directions, G gates (1 rnn, 4 lstm, 3 gru). Rows of packed buffers: row (t, i) = offsets[t] + i
// (PackedLayout); states are in sorted batch order, indexed [k*D + d, B, H].
//
// Per layer k and direction d (llm.c style, caller-owned flat buffers carved from the workspace):
//   act[k][d]   [N, G*H]  x W_ih^T by one big GEMM, then gate activations in place
//   hprev[k][d] [N, H]    h_{t-1} of every row (the recurrent GEMM's input; reused for dW_hh)
//   cprev[k][d] [N, H]    c_{t-1} (LSTM)
//   aux[k][d]   [N, H]    LSTM tanh(c_t); GRU W_hn h_{t-1} + b_hn
//   out[k]      [N, D*H]  layer output, [forward | backward] columns
//   mask[k]     [N, D*H]  inverted-dropout mask (0 or 1/(1-p)) between layers, training only
//   drop[k]     [N, D*H]  out[k] * mask[k] (input of layer k+1)
//   hn, cn      [L*D, B, H] final states (the state after each sequence's last real token;
//                          for the backward direction, after its first token)
// Inference (training false) keeps no history: h and c live in stateH/stateC [D][B, H], updated
// in place (a step reads row r of h_{t-1} in the GEMM before the gate math overwrites it), and
// with a projection table layer 0's act rows are gathered per step into actStep [D][B, G*H], so
// nothing of size N * G*H is written for layer 0.
// Backward per direction: dG [N, G*H] (and dGh for GRU), carries dh/dc [B, H]; dW_ih, dW_hh as
// one GEMM each over all N rows, dX as one GEMM (rows split over the two threads).
//   packF[d] [ceil(G*H/16), H, 16]  W_hh^T in panels for the forward step products (Gemm.swift)
//   packB[d] [ceil(H/16), G*H, 16]  W_hh in panels for the backward dh_{t-1} = dG W_hh
//
// Where the work goes: the per-step products (at most B rows) run on the hand-written kernel of
// Gemm.swift; everything over all N rows (input projections, weight gradients, dX) goes through
// bigProduct: OpenBLAS in AVX2 builds, the AVX-512 kernel of Gemm512.swift in x86-64-v4 builds,
// one thread per direction. The two directions of a layer are independent recurrences and run on
// the two cores (forEachDirection); a unidirectional stack gives its big products both threads
// instead (OpenBLAS's two threads, or its rows split over the worker).
// A single step of at most 4 streams (sampling) uses one-row products on the unpacked weights.
//
// Direction d = 0 walks t = 0..<T; d = 1 walks t = T-1...0 and starts the sequences of length
// t+1 from the initial state at step t, so it begins at each sequence's real last token.

/// Pointers to one direction's parameters and gradients in the arena.
struct DirectionWeights {
    var wih: FPtr, whh: FPtr, bih: FPtr, bhh: FPtr      // [G*H, in], [G*H, H], [G*H], [G*H]
    var gwih: FPtr, gwhh: FPtr, gbih: FPtr, gbhh: FPtr  // same shapes
}

final class RecurrentStack {
    let cell: CellKind
    let inputDim: Int, hidden: Int, layers: Int, directions: Int
    var dropout: Float
    let weights: [[DirectionWeights]]           // [L][D]
    var threads: Int = 1
    private var worker: Worker?

    // workspace
    private let act: [[FloatBuffer]], hprev: [[FloatBuffer]], cprev: [[FloatBuffer]], aux: [[FloatBuffer]]
    private let out: [FloatBuffer], mask: [FloatBuffer], drop: [FloatBuffer]
    private let ghBuf: [FloatBuffer], carryH: [FloatBuffer], carryC: [FloatBuffer]
    private let dG: [FloatBuffer], dGh: [FloatBuffer]
    private let dIn: [FloatBuffer]               // ping-pong [N, D*H] gradients between layers
    private let packF: [FloatBuffer], packB: [FloatBuffer]  // W_hh^T / W_hh in 16-column panels (Gemm.swift)
    private let stateH: [FloatBuffer], stateC: [FloatBuffer], actStep: [FloatBuffer]  // inference only
    private let bigPack = [FloatBuffer(), FloatBuffer()], bigScratch = [FloatBuffer(), FloatBuffer()]  // per slot (bigProduct)
    /// Phase timings (EngineProfile); slot = direction or half.
    let profiler = Profiler()
    let hn = FloatBuffer(), cn = FloatBuffer()
    private var usedDropout = [Bool]()
    private var layout = PackedLayout(batch: 1, steps: 1)
    /// Layer 0's input projection of every vocabulary entry, per direction [V, G*H], and the token
    /// id of every packed row [N] (inference; see Model.inputProjection).
    struct ProjectionTable {
        var tables: [UnsafePointer<Float>]
        var ids: UnsafePointer<Int32>
    }

    init(cell: CellKind, inputDim: Int, hidden: Int, layers: Int, directions: Int, dropout: Float, params: Parameters) {
        self.cell = cell; self.inputDim = inputDim; self.hidden = hidden; self.layers = layers
        self.directions = directions; self.dropout = dropout
        var w: [[DirectionWeights]] = []
        for k in 0 ..< layers {
            var row: [DirectionWeights] = []
            for d in 0 ..< directions {
                let sfx = d == 0 ? "" : "_reverse"
                func e(_ n: String) -> Parameters.Entry { params.entry("rnn.\(n)_l\(k)\(sfx)")! }
                let a = e("weight_ih"), b = e("weight_hh"), c = e("bias_ih"), dd = e("bias_hh")
                row.append(DirectionWeights(
                    wih: params.valuePointer(a), whh: params.valuePointer(b), bih: params.valuePointer(c), bhh: params.valuePointer(dd),
                    gwih: params.gradPointer(a), gwhh: params.gradPointer(b), gbih: params.gradPointer(c), gbhh: params.gradPointer(dd)))
            }
            w.append(row)
        }
        weights = w
        func grid() -> [[FloatBuffer]] { (0 ..< layers).map { _ in (0 ..< directions).map { _ in FloatBuffer() } } }
        act = grid(); hprev = grid(); cprev = grid(); aux = grid()
        out = (0 ..< layers).map { _ in FloatBuffer() }
        mask = (0 ..< layers).map { _ in FloatBuffer() }
        drop = (0 ..< layers).map { _ in FloatBuffer() }
        ghBuf = (0 ..< directions).map { _ in FloatBuffer() }
        carryH = (0 ..< directions).map { _ in FloatBuffer() }
        carryC = (0 ..< directions).map { _ in FloatBuffer() }
        dG = (0 ..< directions).map { _ in FloatBuffer() }
        dGh = (0 ..< directions).map { _ in FloatBuffer() }
        dIn = [FloatBuffer(), FloatBuffer()]
        packF = (0 ..< directions).map { _ in FloatBuffer() }
        packB = (0 ..< directions).map { _ in FloatBuffer() }
        stateH = (0 ..< directions).map { _ in FloatBuffer() }
        stateC = (0 ..< directions).map { _ in FloatBuffer() }
        actStep = (0 ..< directions).map { _ in FloatBuffer() }
        usedDropout = [Bool](repeating: false, count: layers)
    }

    deinit { worker?.stop() }

    var G: Int { cell.gates * hidden }
    /// Output of the last layer [N, D*H] after `forward`.
    var lastOutput: FPtr { out[layers - 1].pointer }

    /// Runs body(d) for every direction, on two threads when allowed.
    private func forEachDirection(_ body: (Int) -> Void) {
        if directions == 2 && threads >= 2 {
            setBLASThreads(1)
            if worker == nil { worker = Worker() }
            worker!.run2(body)
        } else {
            setBLASThreads(threads >= 2 ? 2 : 1)
            for d in 0 ..< directions { body(d) }
        }
    }

    /// Runs body(0) and body(1), on two threads when allowed (OpenBLAS then gets one thread each).
    private func forBothHalves(_ body: (Int) -> Void) {
        if threads >= 2 {
            setBLASThreads(1)
            if worker == nil { worker = Worker() }
            worker!.run2(body)
        } else {
            setBLASThreads(1)
            body(0); body(1)
        }
    }

    /// The two row halves of one step on the two threads (the caller checked threads >= 2). The
    /// job is formed once per recurrence and calls no BLAS, so nothing is allocated or reset per step.
    private func runStepHalves(_ job: @escaping (Int) -> Void) {
        if worker == nil { worker = Worker() }
        worker!.run2Escaping(job)
    }

    /// C[M, N] (+)= op(A) op(B) over all packed rows (input projections, weight gradients, dX):
    /// OpenBLAS, or in AVX-512 builds the engine's kernel (Gemm512.swift), whose rows are split over
    /// both threads when `split` (a direction running alone with two threads allowed). `slot` is
    /// the calling thread's (direction or half) for its buffers.
    private func bigProduct(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                            _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                            accumulate: Bool, _ c: FPtr, _ ldc: Int, rows: Range<Int>? = nil, slot: Int, split: Bool = false) {
        let rows = rows ?? 0 ..< m
        #if RNN_AVX512
        let source = panelSource(transB: transB, b: b, ldb: ldb, n: n, k: k, pack: bigPack[slot])
        func run(_ r: Range<Int>, _ s: Int) {
            gemm512(rows: r, n: n, k: k, a: a, ars: transA ? 1 : lda, acs: transA ? lda : 1, b: source,
                    c: c, ldc: ldc, accumulate: accumulate, scratch: bigScratch[s])
        }
        if split && threads >= 2 && rows.count >= 16 {
            let mid = rows.lowerBound + (rows.count / 2 + 7) / 8 * 8
            forBothHalves { part in run(part == 0 ? rows.lowerBound ..< mid : mid ..< rows.upperBound, part) }
        } else {
            run(rows, slot)
        }
        #else
        let r0 = rows.lowerBound
        let a0 = transA ? a + r0 : a + r0 * lda
        sgemm(transA, transB, rows.count, n, k, 1, a0, lda, b, ldb, accumulate ? 1 : 0, c + r0 * ldc, ldc)
        #endif
    }

    /// Whether a direction's big products run alone on the two threads (see bigProduct).
    private var splitBig: Bool { directions == 1 && threads >= 2 }

    /// tables[d] [V, G*H] = emb [V, E] W_ih^T of layer 0 for direction d: the input projection of
    /// every vocabulary entry (Model's inference cache), both directions in parallel when allowed.
    func projectVocabulary(_ emb: UnsafePointer<Float>, rows V: Int, into tables: [FPtr]) {
        forEachDirection { d in
            var probe = profiler.probe(d)
            bigProduct(false, true, V, G, inputDim, emb, inputDim, weights[0][d].wih, inputDim, accumulate: false, tables[d], G,
                       slot: d, split: splitBig)
            probe.lap(.bigGEMM)
        }
    }

    // MARK: forward

    /// Forward over a packed batch. x [N, E]; h0/c0 [L*D, B, H] in sorted order (nil = zeros).
    /// `training` keeps what backward needs; `rng` (non-nil only when training with dropout) draws
    /// the inter-layer masks. `table` (inference only) replaces layer 0's input GEMM by row lookups
    /// (x is then not read).
    func forward(layout: PackedLayout, x: UnsafePointer<Float>, h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
                 training: Bool, rng: UnsafeMutablePointer<RNG>?, table: ProjectionTable? = nil) {
        precondition(!training || table == nil, "projection tables are for inference")
        self.layout = layout
        self.layerInput0 = x
        let N = layout.tokens, B = layout.batch, H = hidden, D = directions
        hn.ensure(layers * D * B * H)
        if cell == .lstm { cn.ensure(layers * D * B * H) }
        var input = x
        var inDim = inputDim
        for k in 0 ..< layers {
            let o = out[k].ensure(N * D * H)
            let lookup = k == 0 ? table : nil
            for d in 0 ..< D {
                if training {
                    act[k][d].ensure(N * G); hprev[k][d].ensure(N * H)
                    if cell == .lstm { cprev[k][d].ensure(N * H) }
                    if cell != .rnn { aux[k][d].ensure(N * H) }
                } else {
                    if lookup == nil { act[k][d].ensure(N * G) } else { actStep[d].ensure(B * G) }
                    stateH[d].ensure(B * H)
                    if cell == .lstm { stateC[d].ensure(B * H) }
                }
                ghBuf[d].ensure(B * G)
            }
            let xin = input, ind = inDim
            // One step of a few streams (sampling): one-row products straight from the weights
            // (no packing, no BLAS call overhead).
            let single = layout.steps == 1 && N <= 4
            // Splitting pays only when the layer's weights are far beyond the caches (a wake-up of
            // the worker costs more than a 2 x 512 LSTM layer's step; measured on this machine).
            if single && D == 1 && threads >= 2 && G * (ind + H) >= 1 << 22 {
                oneStepSplit(k: k, xin: xin, ind: ind, lookup: lookup, h0: h0.map { $0 + k * B * H }, c0: c0.map { $0 + k * B * H },
                             hn: hn.pointer + k * B * H, cn: cell == .lstm ? cn.pointer + k * B * H : nil, out: o, training: training)
            } else {
            forEachDirection { d in
                var probe = profiler.probe(d)
                let a = act[k][d].pointer
                if lookup != nil {
                    // rows gathered per step in recurrenceForward
                } else if single {
                    for r in 0 ..< N { rowProduct(y: a + r * G, x: xin + r * ind, w: weights[k][d].wih, k: ind, n: G) }
                } else {
                    bigProduct(false, true, N, G, ind, xin, ind, weights[k][d].wih, ind, accumulate: false, a, G, slot: d, split: splitBig)
                }
                probe.lap(.bigGEMM)
                let s = k * D + d
                recurrenceForward(k: k, d: d, out: o,
                                  h0: h0.map { $0 + s * B * H }, c0: c0.map { $0 + s * B * H },
                                  hn: hn.pointer + s * B * H, cn: cell == .lstm ? cn.pointer + s * B * H : nil,
                                  training: training, single: single, lookup: lookup)
            }
            }
            usedDropout[k] = false
            var probe = profiler.probe(0)
            defer { probe.lap(.copies) }
            if k < layers - 1 {
                if let rng, dropout > 0 {
                    let m = mask[k].ensure(N * D * H), dr = drop[k].ensure(N * D * H)
                    let scale = 1 / (1 - dropout), p = dropout
                    for i in 0 ..< N * D * H {
                        let keep = rng.pointee.uniform() >= p
                        m[i] = keep ? scale : 0
                        dr[i] = o[i] * m[i]
                    }
                    usedDropout[k] = true
                    input = UnsafePointer(dr)
                } else {
                    input = UnsafePointer(o)
                }
            }
            inDim = D * H
        }
    }

    /// y[0..<n] = W x for W [n, k] (one row of x W^T).
    @inline(__always)
    private func rowProduct(y: FPtr, x: UnsafePointer<Float>, w: UnsafePointer<Float>, k: Int, n: Int) {
        gemvRows(y: y, x: x, w: w, k: k, ldw: k, rows: 0 ..< n, accumulate: false)
    }

    /// One step (T = 1, a few streams) of a unidirectional layer on both threads (sampling): each
    /// thread owns half of the hidden units, computes the gate rows of its units (x W_ih^T and
    /// h W_hh^T as one-row products, reading half of every weight matrix) and their gate math, so a
    /// layer costs one synchronisation. Every output is computed as on one thread (same bits).
    /// With T = 1 every row ends at this step: h_t and c_t go to hn/cn, never over h_{t-1}.
    private func oneStepSplit(k: Int, xin: UnsafePointer<Float>, ind: Int, lookup: ProjectionTable?,
                              h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?, hn: FPtr, cn: FPtr?, out o: FPtr, training: Bool) {
        let B = layout.batch, H = hidden, GH = G, gates = cell.gates
        let w = weights[k][0]
        var probe = profiler.probe(0)
        let hp = training ? hprev[k][0].pointer : stateH[0].pointer
        let cp = cell == .lstm ? (training ? cprev[k][0].pointer : stateC[0].pointer) : nil
        let ax = training && cell != .rnn ? aux[k][0].pointer : nil
        if let h0 { hp.update(from: h0, count: B * H) } else { hp.update(repeating: 0, count: B * H) }
        if let cp { if let c0 { cp.update(from: c0, count: B * H) } else { cp.update(repeating: 0, count: B * H) } }
        let a = lookup == nil ? act[k][0].pointer : actStep[0].pointer
        if let lookup {
            for r in 0 ..< B { (a + r * GH).update(from: lookup.tables[0] + Int(lookup.ids[r]) * GH, count: GH) }
        }
        probe.lap(.copies)
        let gh = ghBuf[0].pointer
        let half = (H / 2 + 7) & ~7
        forBothHalves { part in
            var probe = profiler.probe(part)
            let j0 = part == 0 ? 0 : half, j1 = part == 0 ? half : H
            for r in 0 ..< B {
                for g in 0 ..< gates {
                    let rows = g * H + j0 ..< g * H + j1
                    if lookup == nil {
                        gemvRows(y: a + r * GH, x: xin + r * ind, w: w.wih, k: ind, ldw: ind, rows: rows, accumulate: false)
                    }
                    gemvRows(y: gh + r * GH, x: hp + r * H, w: w.whh, k: H, ldw: H, rows: rows, accumulate: false)
                }
            }
            probe.lap(.stepGEMM)
            let to = StepTargets(out: o + j0, ldo: H, split: 0, nextH: hn + j0, nextC: cn.map { $0 + j0 },
                                 finalH: hn + j0, finalC: cn.map { $0 + j0 })
            switch cell {
            case .rnn:
                rnnForwardRows(rows: B, H: H, act: a + j0, gh: gh + j0, bih: w.bih + j0, bhh: w.bhh + j0, to: to, width: j1 - j0)
            case .lstm:
                lstmForwardRows(rows: B, H: H, act: a + j0, gh: gh + j0, bih: w.bih + j0, bhh: w.bhh + j0, cprev: cp! + j0,
                                tanhC: ax.map { $0 + j0 }, to: to, width: j1 - j0)
            case .gru:
                gruForwardRows(rows: B, H: H, act: a + j0, gh: gh + j0, bih: w.bih + j0, bhh: w.bhh + j0, hprev: hp + j0,
                               hnOut: ax.map { $0 + j0 }, to: to, width: j1 - j0)
            }
            probe.lap(.gates)
        }
    }

    /// Steps of a unidirectional layer are split by rows over the two threads when the step
    /// product is big enough to pay for one synchronisation per step (H >= 256 for an LSTM, e.g.
    /// the 2 x 512 character LM): rows are independent within a step, and each thread runs the
    /// product and the gate math of its own rows, so the bits do not change.
    private func splitSteps(_ single: Bool) -> Bool {
        directions == 1 && threads >= 2 && !single && G * hidden >= rowSplitMinimum
    }
    /// G*H from which unidirectional steps are split by rows (tests lower or raise it).
    var rowSplitMinimum = 1 << 18

    private func recurrenceForward(k: Int, d: Int, out o: FPtr, h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
                                   hn: FPtr, cn: FPtr?, training: Bool, single: Bool, lookup: ProjectionTable?) {
        let L = layout, T = L.steps, H = hidden, D = directions, GH = G
        let w = weights[k][d]
        // training: h_{t-1}, c_{t-1} of every packed row (kept for backward); inference: [B, H] in place
        let hp = training ? hprev[k][d].pointer : stateH[d].pointer
        let cp = cell == .lstm ? (training ? cprev[k][d].pointer : stateC[d].pointer) : nil
        @inline(__always) func stateRow(_ base: Int) -> Int { training ? base : 0 }
        let a = lookup == nil ? act[k][d].pointer : actStep[d].pointer
        let ax = cell != .rnn ? aux[k][d].pointer : nil
        let gh = ghBuf[d].pointer
        var probe = profiler.probe(d)
        let pk = packF[d].ensure(single ? 16 : packedCount(k: H, n: GH))
        if !single { packTransposed(w.whh, n: GH, k: H, ldw: H, into: pk) }
        probe.lap(.copies)
        let split = splitSteps(single)
        // Per-step values live outside the loop, so the closure handed to the worker is formed
        // once per call (a closure formed per step allocated its context every step).
        var bs = 0, base = 0, fresh = 0, sb = 0
        var to = StepTargets(out: o, ldo: D * H, split: 0, nextH: hp, nextC: nil, finalH: hn, finalC: nil)
        /// Rows r0..<r1 of this step: initial states, input rows, h W_hh^T, gate math.
        func stepRows(_ r0: Int, _ r1: Int, _ slot: Int) {
            var probe = profiler.probe(slot)
            let f0 = max(fresh, r0)
            if f0 < r1 {
                let n = (r1 - f0) * H
                if let h0 { (hp + (sb + f0) * H).update(from: h0 + f0 * H, count: n) }
                else { (hp + (sb + f0) * H).update(repeating: 0, count: n) }
                if let cp {
                    if let c0 { (cp + (sb + f0) * H).update(from: c0 + f0 * H, count: n) }
                    else { (cp + (sb + f0) * H).update(repeating: 0, count: n) }
                }
            }
            let arow: FPtr
            if let lookup {
                let tb = lookup.tables[d]
                for r in r0 ..< r1 { (a + r * GH).update(from: tb + Int(lookup.ids[base + r]) * GH, count: GH) }
                arow = a + r0 * GH
            } else {
                arow = a + (base + r0) * GH
            }
            probe.lap(.copies)
            let ghr = gh + r0 * GH, m = r1 - r0
            if single {
                for r in r0 ..< r1 { rowProduct(y: gh + r * GH, x: hp + (sb + r) * H, w: w.whh, k: H, n: GH) }
            } else {
                gemmPacked(m: m, n: GH, k: H, a: hp + (sb + r0) * H, lda: H, packed: pk, c: ghr, ldc: GH, accumulate: false)
            }
            probe.lap(.stepGEMM)
            var tr = to
            tr.out += r0 * to.ldo; tr.split -= r0
            tr.nextH += r0 * H; tr.nextC = to.nextC.map { $0 + r0 * H }
            tr.finalH += r0 * H; tr.finalC = to.finalC.map { $0 + r0 * H }
            switch cell {
            case .rnn:
                rnnForwardRows(rows: m, H: H, act: arow, gh: ghr, bih: w.bih, bhh: w.bhh, to: tr, width: H)
            case .lstm:
                lstmForwardRows(rows: m, H: H, act: arow, gh: ghr, bih: w.bih, bhh: w.bhh, cprev: cp! + (sb + r0) * H,
                                tanhC: training ? ax! + (base + r0) * H : nil, to: tr, width: H)
            case .gru:
                gruForwardRows(rows: m, H: H, act: arow, gh: ghr, bih: w.bih, bhh: w.bhh, hprev: hp + (sb + r0) * H,
                               hnOut: training ? ax! + (base + r0) * H : nil, to: tr, width: H)
            }
            probe.lap(.gates)
        }
        let halves: (Int) -> Void = { part in part == 0 ? stepRows(0, bs / 2, 0) : stepRows(bs / 2, bs, 1) }
        for s in 0 ..< T {
            let t = d == 0 ? s : T - 1 - s
            bs = L.batchSizes[t]; base = L.offsets[t]
            // rows that start here take the initial state: all rows at t = 0 forward; for the
            // backward direction the sequences of length t+1 (rows bs[t+1]..<bs[t]).
            fresh = d == 0 ? (t == 0 ? 0 : bs) : L.batchSizes[t + 1]
            sb = stateRow(base)
            if d == 0 {
                let nb = t + 1 < T ? stateRow(L.offsets[t + 1]) : 0
                to = StepTargets(out: o + base * D * H, ldo: D * H, split: L.batchSizes[t + 1],
                                 nextH: hp + nb * H, nextC: cp.map { $0 + nb * H }, finalH: hn, finalC: cn)
            } else {
                let nb = t > 0 ? stateRow(L.offsets[t - 1]) : 0
                to = StepTargets(out: o + base * D * H + H, ldo: D * H, split: t > 0 ? bs : 0,
                                 nextH: hp + nb * H, nextC: cp.map { $0 + nb * H }, finalH: hn, finalC: cn)
            }
            if split && bs >= 2 { runStepHalves(halves) } else { stepRows(0, bs, d) }
        }
    }

    // MARK: backward

    /// Backward after a training `forward` with the same layout. dOut [N, D*H] is the gradient of
    /// the last layer's output (nil = 0); dhn/dcn [L*D, B, H] the gradients of the final states
    /// (nil = 0). Accumulates into the parameter gradients; writes dX [N, E] (if non-nil) and
    /// dh0/dc0 [L*D, B, H] (if non-nil).
    func backward(dOut: UnsafePointer<Float>?, dhn: UnsafePointer<Float>?, dcn: UnsafePointer<Float>?,
                  dX: FPtr?, dh0: FPtr?, dc0: FPtr?) {
        let N = layout.tokens, B = layout.batch, H = hidden, D = directions
        var upstream = dOut
        for k in stride(from: layers - 1, through: 0, by: -1) {
            let inDim = k == 0 ? inputDim : D * H
            let xin: UnsafePointer<Float> = k == 0 ? layerInput0! : UnsafePointer(usedDropout[k - 1] ? drop[k - 1].pointer : out[k - 1].pointer)
            for d in 0 ..< D {
                dG[d].ensure(N * G)
                if cell == .gru { dGh[d].ensure(N * G) }
                carryH[d].ensure(B * H)
                if cell == .lstm { carryC[d].ensure(B * H) }
            }
            let up = upstream
            forEachDirection { d in
                let s = k * D + d
                recurrenceBackward(k: k, d: d, dOut: up, dhn: dhn.map { $0 + s * B * H }, dcn: dcn.map { $0 + s * B * H })
                var probe = profiler.probe(d)
                let w = weights[k][d]
                let g = dG[d].pointer, gh = cell == .gru ? dGh[d].pointer : g
                // dW_hh += dGh^T hprev ; dW_ih += dG^T x ; biases: column sums
                bigProduct(true, false, G, H, N, gh, G, hprev[k][d].pointer, H, accumulate: true, w.gwhh, H, slot: d, split: splitBig)
                bigProduct(true, false, G, inDim, N, g, G, xin, inDim, accumulate: true, w.gwih, inDim, slot: d, split: splitBig)
                probe.lap(.bigGEMM)
                addColumnSums(w.gbih, g, rows: N, cols: G, ld: G)
                addColumnSums(w.gbhh, gh, rows: N, cols: G, ld: G)
                if let dh0 { (dh0 + s * B * H).update(from: carryH[d].pointer, count: B * H) }
                if let dc0, cell == .lstm { (dc0 + s * B * H).update(from: carryC[d].pointer, count: B * H) }
                probe.lap(.copies)
            }
            // gradient w.r.t. this layer's input
            let target: FPtr?
            if k == 0 { target = dX } else { target = dIn[k % 2].ensure(N * inDim) }
            if let target {
                let half = (N + 1) / 2
                forBothHalves { part in
                    var probe = profiler.probe(part)
                    defer { probe.lap(.bigGEMM) }
                    let r0 = part == 0 ? 0 : half, r1 = part == 0 ? half : N
                    for d in 0 ..< D {
                        bigProduct(false, false, N, inDim, G, dG[d].pointer, G, weights[k][d].wih, inDim,
                                   accumulate: d > 0, target, inDim, rows: r0 ..< r1, slot: part)
                    }
                    if k > 0 && usedDropout[k - 1] {
                        let m = mask[k - 1].pointer
                        for i in r0 * inDim ..< r1 * inDim { target[i] *= m[i] }
                    }
                }
                upstream = UnsafePointer(target)
            }
        }
    }

    /// Layer 0's input of the last forward (needed for dW_ih of layer 0).
    var layerInput0: UnsafePointer<Float>?

    private func recurrenceBackward(k: Int, d: Int, dOut: UnsafePointer<Float>?, dhn: UnsafePointer<Float>?, dcn: UnsafePointer<Float>?) {
        let L = layout, T = L.steps, B = L.batch, H = hidden, D = directions, GH = G
        let w = weights[k][d]
        var probe = profiler.probe(d)
        let a = act[k][d].pointer, hp = hprev[k][d].pointer
        let ch = carryH[d].pointer, g = dG[d].pointer
        if let dhn { ch.update(from: dhn, count: B * H) } else { ch.update(repeating: 0, count: B * H) }
        let cc = cell == .lstm ? carryC[d].pointer : nil
        if let cc { if let dcn { cc.update(from: dcn, count: B * H) } else { cc.update(repeating: 0, count: B * H) } }
        // dh_{t-1} = dGh W_hh: B = W_hh [G*H, H] as it is (K = G*H, N = H)
        let pk = packB[d].ensure(packedCount(k: GH, n: H))
        packPlain(w.whh, k: GH, n: H, ldw: H, into: pk)
        probe.lap(.copies)
        let ldd = D * H
        let split = splitSteps(false)
        let auxp = aux[k][d].pointer, cpp = cprev[k][d].pointer, dgh = dGh[d].pointer
        var bs = 0, base = 0   // per-step values outside the loop: the worker's closure is formed once
        /// Rows r0..<r1 of this step: gate gradients, then dh_{t-1} = dGh W_hh for these rows.
        func stepRows(_ r0: Int, _ r1: Int, _ slot: Int) {
            var probe = profiler.probe(slot)
            let m = r1 - r0, rb = base + r0
            let dO: FPtr? = dOut.map { FPtr(mutating: $0) + rb * ldd + d * H }
            let gs: FPtr   // the gradient that flows through W_hh
            switch cell {
            case .rnn:
                rnnBackwardRows(rows: m, H: H, act: a + rb * GH, dOut: dO, ldd: ldd, carryH: ch + r0 * H, dG: g + rb * GH)
                gs = g + rb * GH
            case .lstm:
                lstmBackwardRows(rows: m, H: H, act: a + rb * GH, tanhC: auxp + rb * H, cprev: cpp + rb * H,
                                 dOut: dO, ldd: ldd, carryH: ch + r0 * H, carryC: cc! + r0 * H, dG: g + rb * GH)
                gs = g + rb * GH
            case .gru:
                gruBackwardRows(rows: m, H: H, act: a + rb * GH, hnSaved: auxp + rb * H, hprev: hp + rb * H,
                                dOut: dO, ldd: ldd, carryH: ch + r0 * H, dG: g + rb * GH, dGh: dgh + rb * GH)
                gs = dgh + rb * GH
            }
            probe.lap(.gates)
            // GRU: carryH already holds the direct path dh * z; the others overwrite it
            gemmPacked(m: m, n: H, k: GH, a: gs, lda: GH, packed: pk, c: ch + r0 * H, ldc: H, accumulate: cell == .gru)
            probe.lap(.stepGEMM)
        }
        let halves: (Int) -> Void = { part in part == 0 ? stepRows(0, bs / 2, 0) : stepRows(bs / 2, bs, 1) }
        for s in 0 ..< T {
            let t = d == 0 ? T - 1 - s : s
            bs = L.batchSizes[t]; base = L.offsets[t]
            if split && bs >= 2 { runStepHalves(halves) } else { stepRows(0, bs, d) }
        }
    }
}
