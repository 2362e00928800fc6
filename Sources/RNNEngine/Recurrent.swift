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
//   wdMask[k][d], wdW[k][d] [G*H, H]  weight drop (training only): a 0 or 1/(1-p) mask drawn once
//                          per forward and W_hh times it, which every step of that forward uses
//   hn, cn      [L*D, B, H] final states (the state after each sequence's last real token;
//                          for the backward direction, after its first token)
// Inference (training false) keeps no history: h and c live in stateH/stateC [D][B, H], updated
// in place (a step reads row r of h_{t-1} in the GEMM before the gate math overwrites it), and
// with a projection table layer 0's act rows are gathered per step into actStep [D][B, G*H], so
// nothing of size N * G*H is written for layer 0.
// Backward per direction: dG [N, G*H] (and dGh for GRU), carries dh/dc [B, H]; dW_ih, dW_hh as
// one GEMM each over all N rows (gate rows cut over the threads), dX as one GEMM (rows cut).
//   packF[d] [ceil(G*H/16), H, 16]  W_hh^T in panels for the forward step products (Gemm.swift)
//   inferH[k][d], inferI[k][d]       W_hh^T, W_ih^T of every layer in panels for inference, kept
//                                    while Parameters.version stays the one they were packed from
//   packB[d] [ceil(H/16), G*H, 16]  W_hh in panels for the backward dh_{t-1} = dG W_hh
//
// Where the work goes: the per-step products (at most B rows) run on the hand-written kernel of
// Gemm.swift (the kernel set's, Kernels.swift); everything over all N rows (input projections,
// weight gradients, dX) goes through bigProduct: OpenBLAS (one thread per call) with the baseline
// and v3 kernel sets, the AVX-512 kernel of Gemm512.swift with v4.
// Threads (Threads.swift, any count P): every phase is cut into P parts that depend only on the data
// and P. The recurrence of a layer runs on slices of the sorted batch (contiguous sequences, about
// N/P tokens each): sequences are independent, so a slice runs all its steps without waiting for the
// others, and every row is computed exactly as on one thread. With two directions and an even P,
// half of the threads run each direction (P = 2: one direction per core). Products over all rows are
// cut by rows of their output (input projections and dX by token rows, weight gradients by gate
// rows, so no partial sums need reducing); weight packing by panels.
// A single step of at most 4 streams (sampling) uses one-row products on the unpacked weights.
//
// Direction d = 0 walks t = 0..<T; d = 1 walks t = T-1...0 and starts the sequences of length
// t+1 from the initial state at step t, so it begins at each sequence's real last token.

import RNNKernelABI

/// Pointers to one direction's parameters and gradients in the arena.
struct DirectionWeights {
    var wih: FPtr, whh: FPtr, bih: FPtr, bhh: FPtr      // [G*H, in], [G*H, H], [G*H], [G*H]
    var gwih: FPtr, gwhh: FPtr, gbih: FPtr, gbhh: FPtr  // same shapes
}

final class RecurrentStack {
    let cell: CellKind
    let inputDim: Int, hidden: Int, layers: Int, directions: Int
    var dropout: Float
    /// Weight drop (AWD-LSTM's DropConnect on W_hh), training only: every training forward with an
    /// rng multiplies each W_hh by a fresh inverted-dropout mask, shared by all steps and streams of
    /// that forward; backward gives W_hh the gradient of the masked weights times the mask.
    var weightDrop: Float = 0
    /// Dropout between layers draws one mask per sequence for all its steps (ModelConfig.lockedDropout).
    var lockedDropout = false
    let weights: [[DirectionWeights]]           // [L][D]
    /// The model's threads (shared with its Parameters).
    let pool: Threads
    var threads: Int { pool.count }

    // workspace
    private let act: [[FloatBuffer]], hprev: [[FloatBuffer]], cprev: [[FloatBuffer]], aux: [[FloatBuffer]]
    private let out: [FloatBuffer], mask: [FloatBuffer], drop: [FloatBuffer]
    private let ghBuf: [FloatBuffer], carryH: [FloatBuffer], carryC: [FloatBuffer]
    private let dG: [FloatBuffer], dGh: [FloatBuffer]
    private let dIn: [FloatBuffer]               // ping-pong [N, D*H] gradients between layers
    private let packF: [FloatBuffer], packB: [FloatBuffer]  // W_hh^T / W_hh in 16-column panels (Gemm.swift)
    private let packI: [FloatBuffer]             // W_ih^T in panels (vocabulary projections)
    // Inference keeps every layer's W_hh^T and W_ih^T in panels while the weights stay the same:
    // packedH[k] / packedI[k] say layer k's panels hold the weights of Parameters.version
    // `packedVersion` (nil: unknown, nothing is reused).
    private let inferH: [[FloatBuffer]], inferI: [[FloatBuffer]]
    private var packedVersion: UInt64?
    private var packedH: [Bool], packedI: [Bool]
    /// Weights (floats) of a layer from which one time step of one sequence is cut over the
    /// threads (sampling steps, single-sequence inference): about 1 MB, where a step's product
    /// takes longer than a pool run (ThreadPool; a 2 x 512 LSTM samples 1.8-2.0x faster on two
    /// threads than on one, 2026-12-05, Zen 5; a 1 x 100 model's step is shorter than a run).
    static let splitStepMinWeights = 1 << 18
    private let stateH: [FloatBuffer], stateC: [FloatBuffer], actStep: [FloatBuffer]  // inference only
    private var bigPack = [FloatBuffer](), bigScratch = [FloatBuffer]()  // per thread part (bigProduct)
    /// Training products in bfloat16 (Model.bf16; BFloat16.swift): the input projections, weight
    /// gradients, dX and the per-step products of training run on the bfloat16 kernel, operands
    /// converted as they are used (W_hh once per batch); weights, sums and everything else stay fp32.
    var bf16 = false
    private let packF16: [FloatBuffer], packB16: [FloatBuffer]     // W_hh^T / W_hh in bfloat16 panels
    private var bfA = [FloatBuffer](), bfB = [FloatBuffer]()       // per thread part: bfloat16 operands
    /// Phase timings (EngineProfile); slot = direction or half.
    let profiler = Profiler()
    let hn = FloatBuffer(), cn = FloatBuffer()
    private var usedDropout = [Bool]()
    private let wdMask: [[FloatBuffer]], wdW: [[FloatBuffer]]    // [L][D] [G*H, H]
    private let wdGrad: [FloatBuffer]                            // [D] [G*H, H] d loss / d (masked W_hh)
    private var usedWeightDrop = [Bool]()
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
        pool = params.pool
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
        inferH = grid(); inferI = grid()
        packedH = [Bool](repeating: false, count: layers); packedI = packedH
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
        packF16 = (0 ..< directions).map { _ in FloatBuffer() }
        packB16 = (0 ..< directions).map { _ in FloatBuffer() }
        packI = (0 ..< directions).map { _ in FloatBuffer() }
        stateH = (0 ..< directions).map { _ in FloatBuffer() }
        stateC = (0 ..< directions).map { _ in FloatBuffer() }
        actStep = (0 ..< directions).map { _ in FloatBuffer() }
        usedDropout = [Bool](repeating: false, count: layers)
        wdMask = grid(); wdW = grid()
        wdGrad = (0 ..< directions).map { _ in FloatBuffer() }
        usedWeightDrop = [Bool](repeating: false, count: layers)
    }

    /// The weights of layer k, direction d as the last forward used them (W_hh masked when that
    /// forward drew a weight-drop mask).
    @inline(__always) private func activeWeights(_ k: Int, _ d: Int) -> DirectionWeights {
        var w = weights[k][d]
        if usedWeightDrop[k] { w.whh = wdW[k][d].pointer }
        return w
    }

    /// Draws layer k's weight-drop masks (direction 0, then 1; row-major) and the masked W_hh.
    private func drawWeightDrop(k: Int, rng: inout RNG) {
        let n = G * hidden
        for d in 0 ..< directions {
            dropoutForward(y: wdW[k][d].ensure(n), mask: wdMask[k][d].ensure(n), x: weights[k][d].whh, count: n, p: weightDrop, rng: &rng)
        }
        usedWeightDrop[k] = true
    }

    /// The dropout mask [N, D*H] between layers k and k+1 of the last training forward (nil when none was drawn).
    func dropoutMask(k: Int) -> UnsafeBufferPointer<Float>? {
        usedDropout[k] ? UnsafeBufferPointer(start: mask[k].pointer, count: layout.tokens * directions * hidden) : nil
    }

    /// The mask of layer k, direction d drawn by the last training forward (nil when none was drawn).
    func weightDropMask(k: Int, d: Int) -> UnsafeBufferPointer<Float>? {
        usedWeightDrop[k] ? UnsafeBufferPointer(start: wdMask[k][d].pointer, count: G * hidden) : nil
    }

    var G: Int { cell.gates * hidden }
    /// Output of the last layer [N, D*H] after `forward`.
    var lastOutput: FPtr { out[layers - 1].pointer }

    /// Per-part buffers for `parts` thread parts (called before a parallel phase).
    private func ensureParts(_ parts: Int) {
        while bigPack.count < parts { bigPack.append(FloatBuffer()); bigScratch.append(FloatBuffer()) }
        while bfA.count < parts { bfA.append(FloatBuffer()); bfB.append(FloatBuffer()) }
        profiler.ensure(threads: parts)
    }

    /// Runs body(0..<parts) on the threads (see Threads.run).
    @inline(__always) private func parallel(_ parts: Int, _ body: (Int) -> Void) {
        pool.run(parts, body)
    }

    /// How the recurrence of a layer is cut over P threads: `slices` contiguous ranges of the sorted
    /// batch, about N/slices tokens each (sequences are sorted by length, descending), and which
    /// (direction, slice) jobs part p runs. With two directions and an even P, part p runs one
    /// direction (p % 2) of slice p / 2; otherwise every part runs all directions of its slice.
    struct RecurrencePlan {
        var bounds: [Int]
        var byDirection: Bool
        var parts: Int
        var slices: Int { bounds.count - 1 }

        init(layout: PackedLayout, directions D: Int, threads P: Int) {
            byDirection = D == 2 && P % 2 == 0
            let want = max(1, min(layout.batch, byDirection ? P / 2 : P))
            var b = [0]
            if want > 1 {
                var acc = 0, i = 0
                for j in 1 ..< want {
                    let target = (layout.tokens * j + want - 1) / want
                    while i < layout.batch && acc < target { acc += layout.lengths[i]; i += 1 }
                    if i > b[b.count - 1] && i < layout.batch { b.append(i) }
                }
            }
            b.append(layout.batch)
            bounds = b
            parts = byDirection ? 2 * (b.count - 1) : b.count - 1
        }

        /// Direction range and batch rows of part p.
        func job(_ p: Int, directions D: Int) -> (Range<Int>, Range<Int>) {
            if byDirection { return (p % 2 ..< p % 2 + 1, bounds[p / 2] ..< bounds[p / 2 + 1]) }
            return (0 ..< D, bounds[p] ..< bounds[p + 1])
        }
    }

    /// C[M, N] (+)= op(A) op(B) for the rows `rows` of C (default all): OpenBLAS, or with the v4
    /// kernel set the engine's kernel (Gemm512.swift). `slot` is the calling thread part (its buffers).
    private func bigProduct(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                            _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                            accumulate: Bool, _ c: FPtr, _ ldc: Int, rows: Range<Int>? = nil, slot: Int) {
        let rows = rows ?? 0 ..< m
        if rows.isEmpty { return }
        if bf16 {
            bf16Product(transA: transA, transB: transB, rows: rows, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                        accumulate: accumulate, aBuffer: bfA[slot], bBuffer: bfB[slot])
            return
        }
        if let product = EngineKernels.table.bigProduct {
            let pack = transB ? bigPack[slot].ensure(packedCount(k: k, n: n)) : bigPack[slot].pointer
            let scratch = bigScratch[slot].ensure(16 * min(k, gemmKBlock))
            product(transA, transB, rows, n, k, a, lda, b, ldb, c, ldc, accumulate, pack, scratch)
        } else {
            let r0 = rows.lowerBound
            let a0 = transA ? a + r0 : a + r0 * lda
            sgemm(transA, transB, rows.count, n, k, 1, a0, lda, b, ldb, accumulate ? 1 : 0, c + r0 * ldc, ldc)
        }
    }

    /// Inference input projection, part p of P: C [rows, G*H] = x [rows, in] W_ih^T on the packed
    /// kernel, the output's panels cut over the parts (each part packs and computes its own panels,
    /// so no part waits for another). Every element is one FMA chain over the inputs (Gemm.swift),
    /// so a row's result depends on nothing else: the same bits in any batch, slice, thread count or
    /// projection table (classification output depends only on the record and the checkpoint).
    private func projectPacked(_ x: UnsafePointer<Float>, rows: Int, inDim: Int, w: UnsafePointer<Float>, pack: FPtr, packed: Bool = false,
                               into c: FPtr, part p: Int, parts P: Int) {
        let GH = G
        let pr = chunk(panelCount(GH), parts: P, p)
        if pr.isEmpty { return }
        if !packed { packTransposed(w, n: GH, k: inDim, ldw: inDim, into: pack, panels: pr) }
        if rows == 0 { return }
        let c0 = pr.lowerBound * 16, c1 = min(GH, pr.upperBound * 16)
        var r = 0
        while r < rows {   // blocks of rows stay in the cache while the panels sweep them
            let m = min(96, rows - r)
            gemmPacked(m: m, n: c1 - c0, k: inDim, a: x + r * inDim, lda: inDim, packed: pack + c0 * inDim,
                       c: c + r * GH + c0, ldc: GH, accumulate: false)
            r += m
        }
    }

    /// tables[d] [V, G*H] = emb [V, E] W_ih^T of layer 0 for direction d: the input projection of
    /// every vocabulary entry (Model's inference cache), with the kernel of inference projections.
    func projectVocabulary(_ emb: UnsafePointer<Float>, rows V: Int, into tables: [FPtr]) {
        let P = threads
        ensureParts(P)
        for d in 0 ..< directions { packI[d].ensure(packedCount(k: inputDim, n: G)) }
        parallel(P) { p in
            var probe = profiler.probe(p)
            for d in 0 ..< directions {
                projectPacked(emb, rows: V, inDim: inputDim, w: weights[0][d].wih, pack: packI[d].pointer, into: tables[d], part: p, parts: P)
            }
            probe.lap(.bigGEMM)
        }
    }

    // MARK: forward

    /// Forward over a packed batch. x [N, E]; h0/c0 [L*D, B, H] in sorted order (nil = zeros).
    /// `training` keeps what backward needs; `rng` (training only) draws the weight-drop and
    /// inter-layer masks when `weightDrop` / `dropout` ask for them (layer by layer in that order).
    /// `table` (inference only) replaces layer 0's input GEMM by row lookups (x is then not read).
    /// `oneStep` allows the one-row products of a single step of at most 4 streams (sampling);
    /// classifiers pass false so that a record's result never depends on its batch.
    func forward(layout: PackedLayout, x: UnsafePointer<Float>, h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
                 training: Bool, rng: UnsafeMutablePointer<RNG>?, table: ProjectionTable? = nil, oneStep: Bool = true,
                 weightsVersion: UInt64? = nil) {
        precondition(!training || table == nil, "projection tables are for inference")
        self.layout = layout
        self.layerInput0 = x
        let N = layout.tokens, B = layout.batch, H = hidden, D = directions
        hn.ensure(layers * D * B * H)
        if cell == .lstm { cn.ensure(layers * D * B * H) }
        let P = threads
        let plan = RecurrencePlan(layout: layout, directions: D, threads: P)
        ensureParts(max(P, plan.parts))
        var input = x
        var inDim = inputDim
        // inference: panels packed by earlier calls serve while the weights are unchanged
        if !training && (weightsVersion == nil || weightsVersion != packedVersion) {
            packedVersion = weightsVersion
            for k in 0 ..< layers { packedH[k] = false; packedI[k] = false }
        }
        for k in 0 ..< layers {
            let o = out[k].ensure(N * D * H)
            let lookup = k == 0 ? table : nil
            let ind = inDim
            // One step of a few streams (sampling): one-row products straight from the weights
            // (no packing, no BLAS call overhead).
            let single = oneStep && layout.steps == 1 && N <= 4
            usedWeightDrop[k] = false
            if training, let rng, weightDrop > 0 { drawWeightDrop(k: k, rng: &rng.pointee) }
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
                if !training {
                    if !single {
                        inferH[k][d].ensure(packedCount(k: H, n: G))
                        if lookup == nil { inferI[k][d].ensure(packedCount(k: ind, n: G)) }
                    }
                } else if bf16 {
                    packF16[d].ensure(bf16PanelCount(k: H, n: G))
                } else {
                    packF[d].ensure(packedCount(k: H, n: G))
                }
            }
            let xin = input
            // Splitting one step pays once the layer's weights are past about 1 MB.
            if single && D == 1 && P >= 2 && G * (ind + H) >= RecurrentStack.splitStepMinWeights {
                oneStepSplit(k: k, xin: xin, ind: ind, lookup: lookup, h0: h0.map { $0 + k * B * H }, c0: c0.map { $0 + k * B * H },
                             hn: hn.pointer + k * B * H, cn: cell == .lstm ? cn.pointer + k * B * H : nil, out: o, training: training)
            } else if single {
                for d in 0 ..< D {
                    var probe = profiler.probe(0)
                    let a = act[k][d].pointer
                    if lookup == nil {
                        for r in 0 ..< N { rowProduct(y: a + r * G, x: xin + r * ind, w: weights[k][d].wih, k: ind, n: G) }
                    }
                    probe.lap(.bigGEMM)
                    let s = k * D + d
                    recurrenceForward(k: k, d: d, rows: 0 ..< B, out: o, h0: h0.map { $0 + s * B * H }, c0: c0.map { $0 + s * B * H },
                                      hn: hn.pointer + s * B * H, cn: cell == .lstm ? cn.pointer + s * B * H : nil,
                                      training: training, single: true, lookup: lookup, slot: 0)
                }
            } else {
                // input projections (token rows cut over the threads) and W_hh^T in panels (panels
                // cut; inference: unless this layer's panels are current)
                let panels = panelCount(G)
                let reuseI = packedI[k], reuseH = packedH[k]
                parallel(P) { p in
                    var probe = profiler.probe(p)
                    for d in 0 ..< D where lookup == nil {
                        if training {
                            bigProduct(false, true, N, G, ind, xin, ind, weights[k][d].wih, ind, accumulate: false, act[k][d].pointer, G,
                                       rows: chunk(N, parts: P, p), slot: p)
                        } else {
                            projectPacked(xin, rows: N, inDim: ind, w: weights[k][d].wih, pack: inferI[k][d].pointer, packed: reuseI, into: act[k][d].pointer,
                                          part: p, parts: P)
                        }
                    }
                    probe.lap(.bigGEMM)
                    for d in 0 ..< D {
                        let pr = chunk(panels, parts: P, p)
                        if !training {
                            if !reuseH { packTransposed(weights[k][d].whh, n: G, k: H, ldw: H, into: inferH[k][d].pointer, panels: pr) }
                        } else if bf16 {
                            bf16PackTransposed(activeWeights(k, d).whh, n: G, k: H, ldw: H, into: packF16[d].pointer, panels: pr)
                        } else {
                            packTransposed(activeWeights(k, d).whh, n: G, k: H, ldw: H, into: packF[d].pointer, panels: pr)
                        }
                    }
                    probe.lap(.copies)
                }
                if !training && weightsVersion != nil {
                    packedH[k] = true
                    if lookup == nil { packedI[k] = true }
                }
                // the recurrence on slices of the batch; one slice for all threads (inference on a
                // single sequence: rnn-sample --score, one record): each step's product cut by
                // columns over the threads instead, when the layer is big enough to pay for it
                let cutSteps = !training && plan.parts == 1 && P >= 2 && G * H >= RecurrentStack.splitStepMinWeights ? P : 1
                parallel(plan.parts) { p in
                    let (dirs, rows) = plan.job(p, directions: D)
                    for d in dirs {
                        let s = k * D + d
                        recurrenceForward(k: k, d: d, rows: rows, out: o, h0: h0.map { $0 + s * B * H }, c0: c0.map { $0 + s * B * H },
                                          hn: hn.pointer + s * B * H, cn: cell == .lstm ? cn.pointer + s * B * H : nil,
                                          training: training, single: false, lookup: lookup, slot: p, cutSteps: cutSteps)
                    }
                }
            }
            usedDropout[k] = false
            var probe = profiler.probe(0)
            defer { probe.lap(.copies) }
            if k < layers - 1 {
                if let rng, dropout > 0 {
                    dropoutForward(y: drop[k].ensure(N * D * H), mask: mask[k].ensure(N * D * H), x: o, layout: layout, width: D * H,
                                   p: dropout, locked: lockedDropout, rng: &rng.pointee)
                    usedDropout[k] = true
                    input = UnsafePointer(drop[k].pointer)
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

    /// One step (T = 1, a few streams) of a unidirectional layer on all threads (sampling): each
    /// thread owns a range of the hidden units, computes the gate rows of its units (x W_ih^T and
    /// h W_hh^T as one-row products, reading its share of every weight matrix) and their gate math,
    /// so a layer costs one synchronisation. Every output is computed as on one thread (same bits).
    /// With T = 1 every row ends at this step: h_t and c_t go to hn/cn, never over h_{t-1}.
    private func oneStepSplit(k: Int, xin: UnsafePointer<Float>, ind: Int, lookup: ProjectionTable?,
                              h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?, hn: FPtr, cn: FPtr?, out o: FPtr, training: Bool) {
        let B = layout.batch, H = hidden, GH = G, gates = cell.gates
        let w = activeWeights(k, 0)
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
        let lanes = EngineKernels.table.lanes
        let parts = max(1, min(threads, H / lanes))
        parallel(parts) { part in
            var probe = profiler.probe(part)
            let units = chunk(H, parts: parts, part, align: lanes)
            let j0 = units.lowerBound, j1 = units.upperBound
            if j0 == j1 { return }
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

    /// The forward recurrence of layer k, direction d, for the sorted batch rows `rows` (a slice:
    /// its sequences never read the other rows). W_hh^T is in panels (unless `single`): packF[d] in
    /// training, inferH[k][d] in inference.
    /// `cutSteps` > 1 (called outside any parallel run): every step's h W_hh^T is cut by column
    /// panels over that many threads (each column is the same sum as in one call: same bits).
    private func recurrenceForward(k: Int, d: Int, rows: Range<Int>, out o: FPtr, h0: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
                                   hn: FPtr, cn: FPtr?, training: Bool, single: Bool, lookup: ProjectionTable?, slot: Int,
                                   cutSteps: Int = 1) {
        let L = layout, T = L.steps, H = hidden, D = directions, GH = G
        if rows.isEmpty { return }
        let w = activeWeights(k, d)
        // training: h_{t-1}, c_{t-1} of every packed row (kept for backward); inference: [B, H] in place
        let hp = training ? hprev[k][d].pointer : stateH[d].pointer
        let cp = cell == .lstm ? (training ? cprev[k][d].pointer : stateC[d].pointer) : nil
        @inline(__always) func stateRow(_ base: Int) -> Int { training ? base : 0 }
        let a = lookup == nil ? act[k][d].pointer : actStep[d].pointer
        let ax = cell != .rnn ? aux[k][d].pointer : nil
        let gh = ghBuf[d].pointer
        let pk = UnsafePointer(training ? packF[d].pointer : inferH[k][d].pointer)
        let pk16: UnsafePointer<Float>? = training && bf16 ? UnsafePointer(packF16[d].pointer) : nil
        var probe = profiler.probe(slot)
        for s in 0 ..< T {
            let t = d == 0 ? s : T - 1 - s
            let bs = L.batchSizes[t], base = L.offsets[t]
            if bs <= rows.lowerBound {
                if d == 0 { break } else { continue }   // forward: no later step has these rows; backward: not yet
            }
            let r0 = rows.lowerBound, r1 = min(rows.upperBound, bs), m = r1 - r0
            // rows that start here take the initial state: all rows at t = 0 forward; for the
            // backward direction the sequences of length t+1 (rows bs[t+1]..<bs[t]).
            let fresh = d == 0 ? (t == 0 ? 0 : bs) : L.batchSizes[t + 1]
            let sb = stateRow(base)
            var to: StepTargets
            if d == 0 {
                let nb = t + 1 < T ? stateRow(L.offsets[t + 1]) : 0
                to = StepTargets(out: o + base * D * H, ldo: D * H, split: L.batchSizes[t + 1],
                                 nextH: hp + nb * H, nextC: cp.map { $0 + nb * H }, finalH: hn, finalC: cn)
            } else {
                let nb = t > 0 ? stateRow(L.offsets[t - 1]) : 0
                to = StepTargets(out: o + base * D * H + H, ldo: D * H, split: t > 0 ? bs : 0,
                                 nextH: hp + nb * H, nextC: cp.map { $0 + nb * H }, finalH: hn, finalC: cn)
            }
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
            let ghr = gh + r0 * GH
            if single {
                for r in r0 ..< r1 { rowProduct(y: gh + r * GH, x: hp + (sb + r) * H, w: w.whh, k: H, n: GH) }
            } else if cutSteps > 1 {
                let x = hp + (sb + r0) * H, panels = panelCount(GH)
                parallel(cutSteps) { p in
                    let part = chunk(panels, parts: cutSteps, p, align: 2)
                    if part.isEmpty { return }
                    let c0 = 16 * part.lowerBound, n = min(GH, 16 * part.upperBound) - c0
                    gemmPacked(m: m, n: n, k: H, a: x, lda: H, packed: pk + c0 * H, c: ghr + c0, ldc: GH, accumulate: false)
                }
            } else if let pk16 {
                bf16PackedProduct(m: m, n: GH, k: H, a: hp + (sb + r0) * H, lda: H, packed: pk16, c: ghr, ldc: GH, accumulate: false,
                                  aBuffer: bfA[slot])
            } else {
                gemmPacked(m: m, n: GH, k: H, a: hp + (sb + r0) * H, lda: H, packed: pk, c: ghr, ldc: GH, accumulate: false)
            }
            probe.lap(.stepGEMM)
            to.out += r0 * to.ldo; to.split -= r0
            to.nextH += r0 * H; to.nextC = to.nextC.map { $0 + r0 * H }
            to.finalH += r0 * H; to.finalC = to.finalC.map { $0 + r0 * H }
            switch cell {
            case .rnn:
                rnnForwardRows(rows: m, H: H, act: arow, gh: ghr, bih: w.bih, bhh: w.bhh, to: to, width: H)
            case .lstm:
                lstmForwardRows(rows: m, H: H, act: arow, gh: ghr, bih: w.bih, bhh: w.bhh, cprev: cp! + (sb + r0) * H,
                                tanhC: training ? ax! + (base + r0) * H : nil, to: to, width: H)
            case .gru:
                gruForwardRows(rows: m, H: H, act: arow, gh: ghr, bih: w.bih, bhh: w.bhh, hprev: hp + (sb + r0) * H,
                               hnOut: training ? ax! + (base + r0) * H : nil, to: to, width: H)
            }
            probe.lap(.gates)
        }
    }

    // MARK: backward

    /// Backward after a training `forward` with the same layout. dOut [N, D*H] is the gradient of
    /// the last layer's output (nil = 0); dhn/dcn [L*D, B, H] the gradients of the final states
    /// (nil = 0). Accumulates into the parameter gradients; writes dX [N, E] (if non-nil) and
    /// dh0/dc0 [L*D, B, H] (if non-nil).
    func backward(dOut: UnsafePointer<Float>?, dhn: UnsafePointer<Float>?, dcn: UnsafePointer<Float>?,
                  dX: FPtr?, dh0: FPtr?, dc0: FPtr?) {
        let N = layout.tokens, B = layout.batch, H = hidden, D = directions, GH = G
        let P = threads
        let plan = RecurrencePlan(layout: layout, directions: D, threads: P)
        ensureParts(max(P, plan.parts))
        var upstream = dOut
        for k in stride(from: layers - 1, through: 0, by: -1) {
            let inDim = k == 0 ? inputDim : D * H
            let xin: UnsafePointer<Float> = k == 0 ? layerInput0! : UnsafePointer(usedDropout[k - 1] ? drop[k - 1].pointer : out[k - 1].pointer)
            for d in 0 ..< D {
                dG[d].ensure(N * GH)
                if cell == .gru { dGh[d].ensure(N * GH) }
                carryH[d].ensure(B * H)
                if cell == .lstm { carryC[d].ensure(B * H) }
                if bf16 { packB16[d].ensure(bf16PanelCount(k: GH, n: H)) } else { packB[d].ensure(packedCount(k: GH, n: H)) }
                if usedWeightDrop[k] { wdGrad[d].ensure(GH * H) }
            }
            // W_hh in panels for dh_{t-1} = dGh W_hh (panels cut over the threads)
            let panels = panelCount(H)
            parallel(P) { p in
                var probe = profiler.probe(p)
                for d in 0 ..< D {
                    let pr = chunk(panels, parts: P, p)
                    if bf16 {
                        bf16PackPlain(activeWeights(k, d).whh, k: GH, n: H, ldb: H, into: packB16[d].pointer, panels: pr)
                    } else {
                        packPlain(activeWeights(k, d).whh, k: GH, n: H, ldw: H, into: packB[d].pointer, panels: pr)
                    }
                }
                probe.lap(.copies)
            }
            // the recurrence on slices of the batch
            let up = upstream
            parallel(plan.parts) { p in
                let (dirs, rows) = plan.job(p, directions: D)
                for d in dirs {
                    let s = k * D + d
                    recurrenceBackward(k: k, d: d, rows: rows, dOut: up, dhn: dhn.map { $0 + s * B * H }, dcn: dcn.map { $0 + s * B * H },
                                       slot: p)
                }
            }
            // weight gradients over all rows, gate rows cut over the threads:
            // dW_hh += dGh^T hprev (with weight drop: times the mask) ; dW_ih += dG^T x ; biases: column sums
            parallel(P) { p in
                var probe = profiler.probe(p)
                let gr = chunk(GH, parts: P, p, align: 32)
                if gr.isEmpty { return }
                for d in 0 ..< D {
                    let w = weights[k][d]
                    let g = dG[d].pointer, gh = cell == .gru ? dGh[d].pointer : g
                    if usedWeightDrop[k] {
                        let sg = wdGrad[d].pointer, m = wdMask[k][d].pointer
                        bigProduct(true, false, GH, H, N, gh, GH, hprev[k][d].pointer, H, accumulate: false, sg, H, rows: gr, slot: p)
                        for i in gr.lowerBound * H ..< gr.upperBound * H { w.gwhh[i] += m[i] * sg[i] }
                    } else {
                        bigProduct(true, false, GH, H, N, gh, GH, hprev[k][d].pointer, H, accumulate: true, w.gwhh, H, rows: gr, slot: p)
                    }
                    bigProduct(true, false, GH, inDim, N, g, GH, xin, inDim, accumulate: true, w.gwih, inDim, rows: gr, slot: p)
                    probe.lap(.bigGEMM)
                    addColumnSums(w.gbih + gr.lowerBound, g + gr.lowerBound, rows: N, cols: gr.count, ld: GH)
                    addColumnSums(w.gbhh + gr.lowerBound, gh + gr.lowerBound, rows: N, cols: gr.count, ld: GH)
                    probe.lap(.copies)
                }
            }
            for d in 0 ..< D {
                let s = k * D + d
                if let dh0 { (dh0 + s * B * H).update(from: carryH[d].pointer, count: B * H) }
                if let dc0, cell == .lstm { (dc0 + s * B * H).update(from: carryC[d].pointer, count: B * H) }
            }
            // gradient w.r.t. this layer's input (token rows cut over the threads)
            let target: FPtr?
            if k == 0 { target = dX } else { target = dIn[k % 2].ensure(N * inDim) }
            if let target {
                parallel(P) { p in
                    var probe = profiler.probe(p)
                    defer { probe.lap(.bigGEMM) }
                    let rows = chunk(N, parts: P, p)
                    for d in 0 ..< D {
                        bigProduct(false, false, N, inDim, GH, dG[d].pointer, GH, weights[k][d].wih, inDim,
                                   accumulate: d > 0, target, inDim, rows: rows, slot: p)
                    }
                    if k > 0 && usedDropout[k - 1] {
                        let m = mask[k - 1].pointer
                        for i in rows.lowerBound * inDim ..< rows.upperBound * inDim { target[i] *= m[i] }
                    }
                }
                upstream = UnsafePointer(target)
            }
        }
    }

    /// Layer 0's input of the last forward (needed for dW_ih of layer 0).
    var layerInput0: UnsafePointer<Float>?

    /// The backward recurrence of layer k, direction d, for the sorted batch rows `rows` (a slice).
    /// W_hh is packed in packB[d].
    private func recurrenceBackward(k: Int, d: Int, rows: Range<Int>, dOut: UnsafePointer<Float>?, dhn: UnsafePointer<Float>?,
                                    dcn: UnsafePointer<Float>?, slot: Int) {
        let L = layout, T = L.steps, H = hidden, D = directions, GH = G
        if rows.isEmpty { return }
        let r0 = rows.lowerBound
        var probe = profiler.probe(slot)
        let a = act[k][d].pointer, hp = hprev[k][d].pointer
        let ch = carryH[d].pointer, g = dG[d].pointer
        let n = rows.count * H
        if let dhn { (ch + r0 * H).update(from: dhn + r0 * H, count: n) } else { (ch + r0 * H).update(repeating: 0, count: n) }
        let cc = cell == .lstm ? carryC[d].pointer : nil
        if let cc { if let dcn { (cc + r0 * H).update(from: dcn + r0 * H, count: n) } else { (cc + r0 * H).update(repeating: 0, count: n) } }
        // dh_{t-1} = dGh W_hh: B = W_hh [G*H, H] as it is (K = G*H, N = H)
        let pk = UnsafePointer(packB[d].pointer)
        let pk16: UnsafePointer<Float>? = bf16 ? UnsafePointer(packB16[d].pointer) : nil
        probe.lap(.copies)
        let ldd = D * H
        let auxp = aux[k][d].pointer, cpp = cprev[k][d].pointer, dgh = dGh[d].pointer
        for s in 0 ..< T {
            let t = d == 0 ? T - 1 - s : s
            let bs = L.batchSizes[t], base = L.offsets[t]
            if bs <= r0 {
                if d == 0 { continue } else { break }   // walking back: not yet / no earlier step has these rows
            }
            let m = min(rows.upperBound, bs) - r0, rb = base + r0
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
            if let pk16 {
                bf16PackedProduct(m: m, n: H, k: GH, a: gs, lda: GH, packed: pk16, c: ch + r0 * H, ldc: H, accumulate: cell == .gru,
                                  aBuffer: bfA[slot])
            } else {
                gemmPacked(m: m, n: H, k: GH, a: gs, lda: GH, packed: pk, c: ch + r0 * H, ldc: H, accumulate: cell == .gru)
            }
            probe.lap(.stepGEMM)
        }
    }
}
