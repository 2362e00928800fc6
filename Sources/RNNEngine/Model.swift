// The model: embedding -> stacked (bi)directional recurrence -> head (classifier or LM).
//
// Glossary: B batch, T time, E embedding dim, H hidden, L layers, D directions (1 or 2),
// G gates (1 rnn, 4 lstm, 3 gru), V vocabulary, O outputs of fc, N real tokens of a batch.
// Workspace (grown on demand, reused across calls; no allocation per time step):
//   x      [N, E]    embedded packed rows          dx   [N, E]   their gradient
//   ids    [N]       token id per packed row
//   feat   [B, F]    classifier features (original batch order; F = config.featureWidth, the
//                    pooling head's blocks of D*H, Pooling.swift), featD after head dropout, fmask
//   argmax [B, D*H]  packed row that won each max-pooled column
//   logits [R, O]    R = B (classifier) or N (LM, packed row order t*B + b)
//   dlogit [R, O], dfeat [B, F], dstate [L*D, B, H], dout [N, D*H]
//   proj   [D][V, G*H]  inference cache: layer 0's input projection of every vocabulary entry

/// A recurrent text model whose parameters live in one PyTorch-named arena.
public final class Model {
    /// Shape of the model.
    public let config: ModelConfig
    /// Parameters and gradients.
    public let params: Parameters
    /// Threads for this model's kernels, any count >= 1 (default 1; tools default to CPUs.available).
    /// Results depend on the data, the seed and this count only (same count: same bits).
    public var threads: Int {
        get { params.pool.count }
        set { params.pool.set(newValue) }
    }
    /// Training products in bfloat16 (rnn-fit --bf16): the matrix products of training forward
    /// and backward round their operands to bfloat16 and sum in fp32 (AVX512_BF16, about twice the
    /// products per cycle of fp32 FMA); weights, gate math, losses and the optimizer stay fp32, and
    /// inference (evaluation, classification, sampling) is unchanged; deterministic like fp32 (same
    /// threads: same bits). Stays false where `EngineKernels.bf16Available` is not (the engine never
    /// runs an instruction the CPU lacks; tools refuse --bf16 there before training).
    public var bf16: Bool {
        get { stack.bf16 }
        set { stack.bf16 = newValue && EngineKernels.bf16Available }
    }
    /// Times the engine's phases into `profile` (off by default; costs a few clock reads per step).
    public var profiling: Bool {
        get { stack.profiler.enabled }
        set { stack.profiler.enabled = newValue }
    }
    /// Thread-seconds per phase accumulated while `profiling` was on.
    public var profile: EngineProfile { stack.profiler.sum }
    /// Sets `profile` back to zero.
    public func resetProfile() { stack.profiler.reset() }

    let stack: RecurrentStack
    private let embEntry: Parameters.Entry, fcW: Parameters.Entry, fcB: Parameters.Entry
    private let x = FloatBuffer(), dx = FloatBuffer(), xDrop = FloatBuffer(), xMask = FloatBuffer()
    private var ids = UnsafeMutablePointer<Int32>.allocate(capacity: 16)
    private var idsCapacity = 16
    private let feat = FloatBuffer(), featD = FloatBuffer(), fmask = FloatBuffer()
    let logits = FloatBuffer()
    private let dlogits = FloatBuffer(), dfeat = FloatBuffer()
    private let dstate = FloatBuffer(), dout = FloatBuffer(), h0 = FloatBuffer(), c0 = FloatBuffer()
    private var labelBuf = [Int32]()
    private var argmax = [Int32]()
    // inference projection cache (see inputProjection)
    private let proj: [FloatBuffer]
    private var projVersion: UInt64 = .max, seenVersion: UInt64 = .max, seenTokens = 0

    /// PyTorch's default initialisation (embedding N(0,1) with the padding row zeroed; recurrent
    /// weights and biases U(-1/sqrt(H), 1/sqrt(H)); fc like nn.Linear), drawn from RNG(seed).
    /// With `initialize: false` every parameter stays 0 (for loading a checkpoint: drawing 2.6M
    /// normals for the IMDB embedding costs more than the rest of a one-review start-up).
    public init(config: ModelConfig, seed: UInt64, initialize: Bool = true) {
        precondition(config.layers >= 1 && config.hidden >= 1 && config.embedDim >= 1 && config.vocabSize >= 1 && config.outputs >= 1,
                     "invalid model configuration")
        precondition(!(config.task == .languageModel && config.bidirectional), "language models are unidirectional")
        precondition(config.task == .classifier || config.pool == .last, "language models read every step, not a pooling head")
        self.config = config
        _ = BLASKernels.name
        let params = Parameters(Model.parameterSpec(config))
        self.params = params
        embEntry = params.entry("embedding.weight")!
        fcW = params.entry("fc.weight")!
        fcB = params.entry("fc.bias")!
        proj = (0 ..< config.directions).map { _ in FloatBuffer() }
        stack = RecurrentStack(cell: config.cell, inputDim: config.embedDim, hidden: config.hidden, layers: config.layers,
                               directions: config.directions, dropout: config.dropout, params: params)
        stack.weightDrop = config.weightDrop
        stack.lockedDropout = config.lockedDropout
        var rng = RNG(seed: seed)
        for e in params.entries where initialize {
            let p = params.valuePointer(e)
            if e.name == "embedding.weight" {
                for i in 0 ..< e.count { p[i] = rng.normal() }
                if let pad = config.paddingIndex, pad >= 0, pad < config.vocabSize {
                    (p + pad * config.embedDim).update(repeating: 0, count: config.embedDim)
                }
            } else {
                let fanIn = e.name.hasPrefix("fc.") ? config.featureWidth : config.hidden
                let bound = 1 / Float(fanIn).squareRoot()
                for i in 0 ..< e.count { p[i] = rng.uniform(-bound, bound) }
            }
        }
    }

    deinit { ids.deallocate() }

    /// (name, shape) of every tensor in PyTorch state_dict order.
    public static func parameterSpec(_ c: ModelConfig) -> [(String, [Int])] {
        var spec: [(String, [Int])] = [("embedding.weight", [c.vocabSize, c.embedDim])]
        let gh = c.gates * c.hidden
        for k in 0 ..< c.layers {
            for d in 0 ..< c.directions {
                let sfx = d == 0 ? "" : "_reverse"
                let inDim = k == 0 ? c.embedDim : c.directions * c.hidden
                spec.append(("rnn.weight_ih_l\(k)\(sfx)", [gh, inDim]))
                spec.append(("rnn.weight_hh_l\(k)\(sfx)", [gh, c.hidden]))
                spec.append(("rnn.bias_ih_l\(k)\(sfx)", [gh]))
                spec.append(("rnn.bias_hh_l\(k)\(sfx)", [gh]))
            }
        }
        spec.append(("fc.weight", [c.outputs, c.featureWidth]))
        spec.append(("fc.bias", [c.outputs]))
        return spec
    }

    private func ensureIDs(_ n: Int) {
        if n > idsCapacity {
            ids.deallocate()
            idsCapacity = max(n, idsCapacity * 2)
            ids = .allocate(capacity: idsCapacity)
        }
    }

    private var embedding: UnsafePointer<Float> { UnsafePointer(params.valuePointer(embEntry)) }

    /// Inference only: layer 0's input projection x W_ih^T depends on the token alone, so a table
    /// [V, G*H] per direction turns the biggest GEMM of inference into row copies. Building it costs
    /// as much as projecting V tokens, so it is built once the tokens run since the weights last
    /// changed (params.version) reach V (at most twice the best cost in hindsight), and used until
    /// they change again. Tables over 512 MB are never built. Returns the table to hand to the
    /// stack (after `ids` is filled), or nil (compute the GEMM as usual).
    private func inputProjection(tokens N: Int) -> RecurrentStack.ProjectionTable? {
        let c = config, V = c.vocabSize, G = c.gates * c.hidden, D = c.directions
        if params.version != projVersion {
            if V * G * D > 128 << 20 { return nil }
            if params.version != seenVersion { seenVersion = params.version; seenTokens = 0 }
            seenTokens += N
            if seenTokens < V { return nil }
            stack.projectVocabulary(embedding, rows: V, into: proj.map { $0.ensure(V * G) })
            projVersion = params.version
        }
        return RecurrentStack.ProjectionTable(tables: proj.map { UnsafePointer($0.pointer) }, ids: UnsafePointer(ids))
    }

    /// Training with config.embedDropout > 0 and an rng: the embedded tokens times an inverted-dropout
    /// mask (kept for backward); otherwise x itself.
    private func embeddingDropout(_ x: FPtr, layout: PackedLayout, rng: UnsafeMutablePointer<RNG>?) -> FPtr {
        usedEmbedDropout = false
        guard let rng, config.embedDropout > 0 else { return x }
        let count = layout.tokens * config.embedDim
        let y = xDrop.ensure(count)
        dropoutForward(y: y, mask: xMask.ensure(count), x: x, layout: layout, width: config.embedDim, p: config.embedDropout,
                       locked: config.lockedDropout, rng: &rng.pointee)
        usedEmbedDropout = true
        return y
    }
    private var usedEmbedDropout = false

    /// dx *= the embedding dropout mask of the last training forward (if one was drawn).
    private func embeddingDropoutBackward(_ dx: FPtr, count: Int) {
        guard usedEmbedDropout else { return }
        let m = xMask.pointer
        for i in 0 ..< count { dx[i] *= m[i] }
    }

    // MARK: classification

    /// Forward through the features and logits [B, O] (original order). Returns the layout.
    /// `realSteps` (original order): the steps of each sequence that max and mean pooling read
    /// (nil: all of them; the padded view names its real tokens' steps).
    private func classifierForward(tokens: UnsafeBufferPointer<Int32>, lengths: [Int], realSteps: [Range<Int>]?, training: Bool,
                                   rng: UnsafeMutablePointer<RNG>?) -> PackedLayout {
        let c = config
        precondition(c.task == .classifier, "classifier call on a language model")
        let layout = PackedLayout(lengths: lengths)
        checkRealSteps(realSteps, layout)
        let N = layout.tokens, B = layout.batch, H = c.hidden, D = c.directions, L = c.layers, F = c.featureWidth
        let xp = x.ensure(N * c.embedDim)
        ensureIDs(N)
        let project = training ? nil : inputProjection(tokens: N)
        var probe = stack.profiler.probe(0)
        embeddingForward(x: project == nil ? xp : nil, ids: ids, tokens: tokens, layout: layout, originalLengths: lengths,
                         table: embedding, V: c.vocabSize, E: c.embedDim)
        let input = embeddingDropout(xp, layout: layout, rng: rng)
        probe.lap(.copies)
        stack.forward(layout: layout, x: input, h0: nil, c0: nil, training: training, rng: rng, table: project,
                      oneStep: false, weightsVersion: params.version)
        probe = stack.profiler.probe(0)
        defer { probe.lap(.other) }
        // features in the caller's order: [h_n forward | h_n backward] of the last layer and/or
        // max / mean over the real steps of its output (Pooling.swift)
        let f = feat.ensure(B * F), pool = c.pool, W = D * H
        if let lb = pool.lastBlock {
            let hn = stack.hn.pointer
            for i in 0 ..< B {
                let o = layout.order[i]
                for d in 0 ..< D {
                    (f + o * F + lb * W + d * H).update(from: hn + ((L - 1) * D + d) * B * H + i * H, count: H)
                }
            }
        }
        if pool.maxBlock != nil || pool.meanBlock != nil {
            if argmax.count < B * W { argmax = [Int32](repeating: 0, count: B * W) }
            argmax.withUnsafeMutableBufferPointer { a in
                poolForward(out: stack.lastOutput, layout: layout, realSteps: realSteps, W: W, f: f, F: F,
                            maxAt: pool.maxBlock.map { $0 * W }, meanAt: pool.meanBlock.map { $0 * W }, argmax: a.baseAddress!)
            }
        }
        var head = UnsafePointer(f)
        if let rng, c.headDropout > 0 {
            let fd = featD.ensure(B * F), m = fmask.ensure(B * F)
            dropoutForward(y: fd, mask: m, x: f, count: B * F, p: c.headDropout, rng: &rng.pointee)
            head = UnsafePointer(fd)
        }
        linearForward(y: logits.ensure(B * c.outputs), x: head, w: params.valuePointer(fcW), b: params.valuePointer(fcB),
                      R: B, I: F, O: c.outputs, rowwise: true)
        return layout
    }

    /// `labels`: B label ids, or with a multi-label head B*O 0/1 targets (row b's target for
    /// output o at b*O + o).
    private func classifierLoss(labels: [Int32], B: Int, withGradient: Bool) -> Float {
        let O = config.outputs
        let multi = config.multiLabel
        precondition(labels.count == (multi ? B * O : B), "\(labels.count) labels for \(B) sequences")
        let dl: FPtr? = withGradient ? dlogits.ensure(B * O) : nil
        return labels.withUnsafeBufferPointer { lb in
            if O == 1 || multi {
                for l in lb { precondition(l == 0 || l == 1, "binary targets must be 0 or 1, got \(l)") }
                return bceWithLogits(logits: logits.pointer, labels: lb.baseAddress!, R: multi ? B * O : B, dlogits: dl)
            }
            return Float(softmaxCrossEntropy(logits: logits.pointer, labels: lb.baseAddress!, R: B, O: O, losses: nil,
                                             dlogits: dl, scale: 1 / Float(B)) / Double(B))
        }
    }

    /// Inference: logits [B*O] (no dropout). `realSteps` (padded view; nil: every step): the
    /// steps of each sequence's real tokens, which max and mean pooling read (Pooling.swift).
    public func classify(tokens: UnsafeBufferPointer<Int32>, lengths: [Int], realSteps: [Range<Int>]? = nil) -> [Float] {
        let layout = classifierForward(tokens: tokens, lengths: lengths, realSteps: realSteps, training: false, rng: nil)
        return Array(UnsafeBufferPointer(start: logits.pointer, count: layout.batch * config.outputs))
    }

    /// Loss and logits without gradients (no dropout).
    public func evaluateClassifier(tokens: UnsafeBufferPointer<Int32>, lengths: [Int], labels: [Int32],
                                   realSteps: [Range<Int>]? = nil) -> (loss: Float, logits: [Float]) {
        let layout = classifierForward(tokens: tokens, lengths: lengths, realSteps: realSteps, training: false, rng: nil)
        let loss = classifierLoss(labels: labels, B: layout.batch, withGradient: false)
        return (loss, Array(UnsafeBufferPointer(start: logits.pointer, count: layout.batch * config.outputs)))
    }

    /// Zeroes grads, forward with dropout from `rng`, loss, backward: params.grads holds d loss / d params.
    public func trainClassifier(tokens: UnsafeBufferPointer<Int32>, lengths: [Int], labels: [Int32], realSteps: [Range<Int>]? = nil,
                                rng: inout RNG) -> (loss: Float, logits: [Float]) {
        params.zeroGrads()
        let c = config
        let layout = withUnsafeMutablePointer(to: &rng) {
            classifierForward(tokens: tokens, lengths: lengths, realSteps: realSteps, training: true, rng: $0)
        }
        let B = layout.batch, N = layout.tokens, H = c.hidden, D = c.directions, L = c.layers, O = c.outputs
        let F = c.featureWidth, W = D * H, pool = c.pool
        let loss = classifierLoss(labels: labels, B: B, withGradient: true)
        let result = Array(UnsafeBufferPointer(start: logits.pointer, count: B * O))
        // head backward
        let useHeadDrop = c.headDropout > 0
        let head = useHeadDrop ? featD.pointer : feat.pointer
        let df = dfeat.ensure(B * F)
        linearBackward(dx: df, dw: params.gradPointer(fcW), db: params.gradPointer(fcB), dy: dlogits.pointer, x: head,
                       w: params.valuePointer(fcW), R: B, I: F, O: O)
        if useHeadDrop { let m = fmask.pointer; for i in 0 ..< B * F { df[i] *= m[i] } }
        // last-state features -> d h_n of the last layer (sorted order); other layers get 0
        var ds: FPtr? = nil
        if let lb = pool.lastBlock {
            let s = dstate.zeroed(L * D * B * H)
            for i in 0 ..< B {
                let o = layout.order[i]
                for d in 0 ..< D {
                    (s + ((L - 1) * D + d) * B * H + i * H).update(from: df + o * F + lb * W + d * H, count: H)
                }
            }
            ds = s
        }
        // max / mean features -> d output of the last layer
        var dO: FPtr? = nil
        if pool.maxBlock != nil || pool.meanBlock != nil {
            let g = dout.zeroed(N * W)
            argmax.withUnsafeBufferPointer { a in
                poolBackward(dOut: g, df: df, layout: layout, realSteps: realSteps, W: W, F: F,
                             maxAt: pool.maxBlock.map { $0 * W }, meanAt: pool.meanBlock.map { $0 * W }, argmax: a.baseAddress!)
            }
            dO = g
        }
        let wantDX = !c.freezeEmbedding
        let dxp: FPtr? = wantDX ? dx.ensure(N * c.embedDim) : nil
        stack.backward(dOut: dO, dhn: ds, dcn: nil, dX: dxp, dh0: nil, dc0: nil)
        var probe = stack.profiler.probe(0)
        defer { probe.lap(.copies) }
        if let dxp {
            embeddingDropoutBackward(dxp, count: N * c.embedDim)
            embeddingBackward(grad: params.gradPointer(embEntry), dx: dxp, ids: ids, N: N, E: c.embedDim, paddingIndex: c.paddingIndex)
        }
        return (loss, result)
    }

    // MARK: language model

    private func lmForward(inputs: UnsafeBufferPointer<Int32>, batch B: Int, steps T: Int, state: RecurrentState,
                           training: Bool, rng: UnsafeMutablePointer<RNG>?) -> PackedLayout {
        let c = config
        precondition(c.task == .languageModel, "language-model call on a classifier")
        precondition(B >= 1 && T >= 1, "batch and steps must be >= 1")
        precondition(state.batch == B && state.h.count == c.layers * B * c.hidden, "state does not match batch \(B)")
        let layout = PackedLayout(batch: B, steps: T)
        let N = B * T, H = c.hidden
        let xp = x.ensure(N * c.embedDim)
        ensureIDs(N)
        let project = training ? nil : inputProjection(tokens: N)
        embeddingForwardLM(x: project == nil ? xp : nil, ids: ids, inputs: inputs, batch: B, steps: T, table: embedding,
                           V: c.vocabSize, E: c.embedDim)
        let n = c.layers * B * H
        let hp = h0.ensure(n)
        state.h.withUnsafeBufferPointer { hp.update(from: $0.baseAddress!, count: n) }
        var cp: FPtr? = nil
        if c.cell == .lstm {
            precondition(state.c.count == n, "LSTM state needs c")
            cp = c0.ensure(n)
            state.c.withUnsafeBufferPointer { cp!.update(from: $0.baseAddress!, count: n) }
        }
        let input = embeddingDropout(xp, layout: layout, rng: rng)
        stack.forward(layout: layout, x: input, h0: hp, c0: cp, training: training, rng: rng, table: project,
                      weightsVersion: params.version)
        var head = UnsafePointer(stack.lastOutput)
        if let rng, c.headDropout > 0 {
            let fd = featD.ensure(N * H), m = fmask.ensure(N * H)
            dropoutForward(y: fd, mask: m, x: head, layout: layout, width: H, p: c.headDropout, locked: c.lockedDropout, rng: &rng.pointee)
            head = UnsafePointer(fd)
        }
        linearForward(y: logits.ensure(N * c.outputs), x: head, w: params.valuePointer(fcW), b: params.valuePointer(fcB),
                      R: N, I: H, O: c.outputs)
        return layout
    }

    private func saveState(_ state: inout RecurrentState, B: Int) {
        let n = config.layers * B * config.hidden
        state.h.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: stack.hn.pointer, count: n) }
        if config.cell == .lstm {
            state.c.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: stack.cn.pointer, count: n) }
        }
    }

    /// Calls `body` with the targets in packed row order (row t*B + b); the pointer is valid only
    /// inside `body`.
    private func withPackedTargets<R>(_ targets: UnsafeBufferPointer<Int32>, B: Int, T: Int, _ body: (UnsafePointer<Int32>) -> R) -> R {
        precondition(targets.count >= B * T, "need batch*steps targets")
        if labelBuf.count < B * T { labelBuf = [Int32](repeating: 0, count: B * T) }
        return labelBuf.withUnsafeMutableBufferPointer { buf in
            for b in 0 ..< B { for t in 0 ..< T { buf[t * B + b] = targets[b * T + t] } }
            return body(UnsafePointer(buf.baseAddress!))
        }
    }

    /// Zeroes grads, forward/backward over one chunk; returns the mean loss.
    public func trainLM(inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>, batch: Int, steps: Int, state: inout RecurrentState, rng: inout RNG) -> Float {
        params.zeroGrads()
        let c = config
        let st = state
        let layout = withUnsafeMutablePointer(to: &rng) { lmForward(inputs: inputs, batch: batch, steps: steps, state: st, training: true, rng: $0) }
        let N = layout.tokens, H = c.hidden, V = c.outputs
        let dl = dlogits.ensure(N * V), lg = logits.pointer
        let total = withPackedTargets(targets, B: batch, T: steps) { tg in
            softmaxCrossEntropy(logits: lg, labels: tg, R: N, O: V, losses: nil, dlogits: dl, scale: 1 / Float(N))
        }
        let useHeadDrop = c.headDropout > 0
        let head = useHeadDrop ? UnsafePointer(featD.pointer) : UnsafePointer(stack.lastOutput)
        let dO = dout.ensure(N * H)
        linearBackward(dx: dO, dw: params.gradPointer(fcW), db: params.gradPointer(fcB), dy: dlogits.pointer, x: head,
                       w: params.valuePointer(fcW), R: N, I: H, O: V)
        if useHeadDrop { let m = fmask.pointer; for i in 0 ..< N * H { dO[i] *= m[i] } }
        let dxp: FPtr? = c.freezeEmbedding ? nil : dx.ensure(N * c.embedDim)
        stack.backward(dOut: dO, dhn: nil, dcn: nil, dX: dxp, dh0: nil, dc0: nil)
        if let dxp {
            embeddingDropoutBackward(dxp, count: N * c.embedDim)
            embeddingBackward(grad: params.gradPointer(embEntry), dx: dxp, ids: ids, N: N, E: c.embedDim, paddingIndex: c.paddingIndex)
        }
        saveState(&state, B: batch)
        return Float(total / Double(N))
    }

    /// Mean loss without gradients (no dropout).
    public func evaluateLM(inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>, batch: Int, steps: Int, state: inout RecurrentState) -> Float {
        let layout = lmForward(inputs: inputs, batch: batch, steps: steps, state: state, training: false, rng: nil)
        let lg = logits.pointer, O = config.outputs
        let total = withPackedTargets(targets, B: batch, T: steps) { tg in
            softmaxCrossEntropy(logits: lg, labels: tg, R: layout.tokens, O: O, losses: nil, dlogits: nil, scale: 1)
        }
        saveState(&state, B: batch)
        return Float(total / Double(layout.tokens))
    }

    /// Per-position losses (nats) without gradients, [B*T] batch-major (for scoring text).
    public func lossesLM(inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>, batch: Int, steps: Int, state: inout RecurrentState) -> [Float] {
        let layout = lmForward(inputs: inputs, batch: batch, steps: steps, state: state, training: false, rng: nil)
        let packed = dout.ensure(layout.tokens)
        let lg = logits.pointer, O = config.outputs
        withPackedTargets(targets, B: batch, T: steps) { tg in
            _ = softmaxCrossEntropy(logits: lg, labels: tg, R: layout.tokens, O: O, losses: packed, dlogits: nil, scale: 1)
        }
        saveState(&state, B: batch)
        var result = [Float](repeating: 0, count: batch * steps)
        for b in 0 ..< batch { for t in 0 ..< steps { result[b * steps + t] = packed[t * batch + b] } }
        return result
    }

    /// One step for sampling: one input token per stream -> logits [B*V]; state advanced.
    public func stepLM(tokens: [Int32], state: inout RecurrentState) -> [Float] {
        let B = tokens.count
        _ = tokens.withUnsafeBufferPointer { lmForward(inputs: $0, batch: B, steps: 1, state: state, training: false, rng: nil) }
        saveState(&state, B: B)
        return Array(UnsafeBufferPointer(start: logits.pointer, count: B * config.outputs))
    }
}
