// Training a character language model (`rnn-fit --lm`): the language-model task of the Trainer
// (Trainer.swift), truncated BPTT over parallel streams.
//
// Glossary: B batch (parallel streams), T sequence length of one chunk, S characters per stream,
// V alphabet size. The training ids are cut into B contiguous streams of S characters
// (stream b = train[off + b*S ..< off + (b+1)*S + 1]); chunk k of an epoch feeds
//   inputs  [B, T]  stream[b][k*T + t]        (batch-major, row b*T + t)
//   targets [B, T]  stream[b][k*T + t + 1]
// and carries the recurrent state h/c [L, B, H] from chunk k to k+1 (reset at every epoch).
// `off` is 0 in epoch 1 and a seeded offset in [0, T) in later epochs, so chunk boundaries move.
//
// Validation runs over the whole validation split the same way (min(B, ...) streams, state
// carried, no dropout) and reports the mean loss per predicted character in nats.
import RNNCore
import RNNEngine
import RNNMPI
import RNNText

/// The model and batch shape of a language-model run (the optimizer's settings are ``OptimizerSettings``).
public struct LMTrainingOptions: Sendable, Equatable {
    public var cell: CellKind = .lstm
    public var layers = 2
    public var hidden = 256
    public var embedDim = 64
    /// Dropout between stacked layers.
    public var dropout: Float = 0
    /// Dropout on the last layer's output before the linear layer (ModelConfig.headDropout).
    public var headDropout: Float = 0
    /// Dropout on the embedded characters (ModelConfig.embedDropout).
    public var embedDropout: Float = 0
    /// Weight drop on the recurrent weights (ModelConfig.weightDrop).
    public var weightDrop: Float = 0
    /// One dropout mask per stream and chunk for all its steps (ModelConfig.lockedDropout).
    public var lockedDropout = false
    /// B: parallel streams.
    public var batchSize = 32
    /// T: characters per chunk (truncated BPTT length).
    public var seqLen = 128
    /// Threads for the kernels, >= 1 (Model.threads).
    public var threads = 2
    /// Training products in bfloat16 (Model.bf16; needs EngineKernels.bf16Available).
    public var bf16 = false
    /// The fraction of the text held out for validation (recorded: a resumed run needs the same).
    public var validSplit = 0.1

    public init() {}

    /// The model shape for an alphabet of `V` characters.
    public func modelConfig(vocabSize V: Int) -> ModelConfig {
        var c = ModelConfig(cell: cell, task: .languageModel, vocabSize: V, embedDim: embedDim, hidden: hidden, layers: layers,
                            bidirectional: false, dropout: dropout, headDropout: headDropout, outputs: V, paddingIndex: nil, freezeEmbedding: false)
        c.embedDropout = embedDropout
        c.weightDrop = weightDrop
        c.lockedDropout = lockedDropout
        return c
    }
}

/// Mean loss (nats per predicted character) of `model` over `ids` read as `batch` contiguous
/// streams in chunks of `steps` with the state carried; nil when there is nothing to predict.
public func evaluateLM(model: Model, ids: [Int32], batch: Int, steps: Int) -> Double? {
    let M = ids.count
    guard M >= 2 else { return nil }
    let B = max(1, min(batch, (M - 1) / max(1, steps)))
    let S = (M - 1) / B
    var state = RecurrentState.zeros(model.config, batch: B)
    var inputs = [Int32](repeating: 0, count: B * steps), targets = inputs
    var total = 0.0, count = 0
    var pos = 0
    while pos < S {
        let T = min(steps, S - pos)
        for b in 0 ..< B {
            let base = b * S + pos
            for t in 0 ..< T { inputs[b * T + t] = ids[base + t]; targets[b * T + t] = ids[base + t + 1] }
        }
        let loss = inputs.withUnsafeBufferPointer { i in
            targets.withUnsafeBufferPointer { o in
                model.evaluateLM(inputs: UnsafeBufferPointer(rebasing: i[0 ..< B * T]), targets: UnsafeBufferPointer(rebasing: o[0 ..< B * T]),
                                 batch: B, steps: T, state: &state)
            }
        }
        total += Double(loss) * Double(B * T)
        count += B * T
        pos += T
    }
    return total / Double(count)
}

/// The language-model task (see the file comment).
public final class LanguageModelTask: TrainingTask {
    public let kind = Task.languageModel
    public let corpus: LMCorpus
    public let model: Model
    let B: Int, T: Int
    /// Characters per stream.
    let S: Int
    let seed: UInt64
    let validSplit: Double
    public let batchesPerEpoch: Int
    /// Where this epoch's streams start.
    var offset = 0
    /// The streams this process trains (all B in one process; a share with data-parallel training).
    var streams: Range<Int>
    /// The carried state of `streams`.
    var state: RecurrentState
    /// Data-parallel training: the state of all B streams, gathered for the state file.
    var gathered: RecurrentState?
    var inputs: [Int32], targets: [Int32]

    /// With `resume`, the model and batch shape are those of the state (the text must have the
    /// same alphabet).
    public init(corpus: LMCorpus, options: LMTrainingOptions, seed: UInt64, resume: TrainingState? = nil) throws {
        var o = options
        var config = o.modelConfig(vocabSize: corpus.alphabet.count)
        if let s = resume {
            let m = s.settingsReader
            o.batchSize = try m.int("batch_size", in: 1 ... 1 << 20)
            o.seqLen = try m.int("seq_len", in: 1 ... 1 << 20)
            let want = Checkpoint.tokensHash(corpus.alphabet.tokens)
            guard m.values["alphabet"] == want, s.config.vocabSize == corpus.alphabet.count else {
                throw RNNError(path: s.path, "was written for another alphabet (\(m.values["alphabet"] ?? "?"); this text's is \(want)): resume with the same text and alphabet")
            }
            let chars = try m.int("train_chars", in: 0 ... Int.max)
            guard chars == corpus.train.count else {
                throw RNNError(path: s.path, "was trained on \(chars) characters, this text has \(corpus.train.count) for training: resume with the same text and validation")
            }
            config = s.config
        }
        guard (1 ... ModelLimits.embedDim).contains(config.embedDim), (1 ... ModelLimits.layers).contains(config.layers),
              (1 ... ModelLimits.hidden).contains(config.hidden), o.batchSize >= 1, o.seqLen >= 1, o.batchSize <= 1 << 20, o.seqLen <= 1 << 20 else {
            throw RNNError("model or batch sizes out of range")
        }
        B = o.batchSize; T = o.seqLen
        self.corpus = corpus; self.seed = seed; validSplit = o.validSplit
        batchesPerEpoch = LanguageModelTask.chunksPerEpoch(n: corpus.train.count, batch: B, seqLen: T)
        guard batchesPerEpoch >= 1 else { throw FitSetupError.textTooShort(characters: corpus.train.count, batch: B, seqLen: T) }
        S = (corpus.train.count - 1 - T) / B
        model = Model(config: config, seed: seed)
        model.threads = max(1, o.threads)
        model.bf16 = o.bf16
        state = RecurrentState.zeros(config, batch: B)
        streams = 0 ..< B
        inputs = [Int32](repeating: 0, count: B * T); targets = inputs
    }

    public func shard(rank: Int, of size: Int) {
        let full = state
        streams = share(of: B, parts: max(1, size), index: rank)
        state = RecurrentState(batch: streams.count, h: rows(of: full.h), c: rows(of: full.c))
    }

    /// The rows of `streams` from a full [L*D, B, H] state tensor (empty stays empty).
    private func rows(of full: [Float]) -> [Float] {
        guard !full.isEmpty else { return [] }
        let H = model.config.hidden, R = full.count / (B * H)
        var out: [Float] = []
        out.reserveCapacity(R * streams.count * H)
        for r in 0 ..< R { out.append(contentsOf: full[(r * B + streams.lowerBound) * H ..< (r * B + streams.upperBound) * H]) }
        return out
    }

    public func gatherPosition(_ comm: any Communicator) throws {
        guard comm.size > 1 else { return }
        var full = RecurrentState.zeros(model.config, batch: B)
        let H = model.config.hidden, n = streams.count
        func place(_ local: [Float], _ into: inout [Float]) throws {
            guard !into.isEmpty else { return }
            let R = into.count / (B * H)
            for r in 0 ..< R where n > 0 {
                into.replaceSubrange((r * B + streams.lowerBound) * H ..< (r * B + streams.upperBound) * H, with: local[(r * n * H) ..< ((r + 1) * n * H)])
            }
            try into.withUnsafeMutableBufferPointer { try comm.sum($0) }
        }
        try place(state.h, &full.h)
        try place(state.c, &full.c)
        gathered = full
    }

    /// Chunks per epoch for `n` training ids.
    static func chunksPerEpoch(n: Int, batch: Int, seqLen: Int) -> Int {
        let S = (n - 1 - seqLen) / batch     // room for an offset of up to T-1
        return max(0, S / seqLen)
    }

    public var plan: TrainingPlan {
        TrainingPlan(task: "lm", epochs: 0, batchesPerEpoch: batchesPerEpoch, itemsPerEpoch: batchesPerEpoch * B * T, itemUnit: "chars",
                     validItems: corpus.valid.count, hasAccuracy: false, showBits: true,
                     kernels: TrainingPlan.kernelName(bf16: model.bf16))
    }
    public var generatorSeed: UInt64 { seed &+ 0x5EED }
    public var settings: [(String, String)] {
        [("batch_size", String(B)), ("seq_len", String(T)), ("alphabet", Checkpoint.tokensHash(corpus.alphabet.tokens)),
         ("train_chars", String(corpus.train.count)), ("valid_split", String(validSplit))]
    }

    /// B parallel streams of T characters per step.
    public var shape: (streams: Int, seqLen: Int) { (B, T) }

    public func startEpoch(_ epoch: Int, at batch: Int, rng: inout RNG) {
        if epoch == 1 { offset = 0 } else { var r = RNG(seed: seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)); offset = r.below(T) }
        if batch == 0 { state = RecurrentState.zeros(model.config, batch: streams.count) }
    }

    public func trainStep(_ index: Int, rng: inout RNG) -> StepOutcome {
        let train = corpus.train
        let n = streams.count
        if n == 0 { model.params.zeroGrads(); return StepOutcome(loss: 0, items: 0) }
        for (k, b) in streams.enumerated() {
            let base = offset + b * S + index * T
            for t in 0 ..< T { inputs[k * T + t] = train[base + t]; targets[k * T + t] = train[base + t + 1] }
        }
        let loss = inputs.withUnsafeBufferPointer { i in
            targets.withUnsafeBufferPointer { tg in
                model.trainLM(inputs: UnsafeBufferPointer(rebasing: i[0 ..< n * T]), targets: UnsafeBufferPointer(rebasing: tg[0 ..< n * T]),
                              batch: n, steps: T, state: &state, rng: &rng)
            }
        }
        return StepOutcome(loss: loss, items: n * T)
    }

    public func evaluate(limit: Int?) throws -> Evaluation? {
        let ids = limit.map { Array(corpus.valid.prefix($0 + 1)) } ?? corpus.valid
        return evaluateLM(model: model, ids: ids, batch: B, steps: T).map { Evaluation(loss: $0, accuracy: nil, count: ids.count) }
    }

    public func checkpointInfo() -> CheckpointInfo {
        CheckpointInfo(kind: .languageModel, config: model.config, vocabHash: corpus.alphabet.vocabHash, vocabKind: .chars,
                       tokens: corpus.alphabet.tokens, labels: [],
                       extra: ["batch_size": String(B), "seq_len": String(T),
                               "train_chars": String(corpus.train.count), "valid_chars": String(corpus.valid.count)])
    }

    public func savePosition(_ w: inout SafeTensorsWriter) {
        let s = streams.count == B ? state : gathered ?? state
        w.add("task.h", shape: [s.h.count], floats: s.h)
        w.add("task.c", shape: [s.c.count], floats: s.c)
    }

    public func restorePosition(_ s: TrainingState) throws {
        guard let f = s.file else { return }
        let h = try f.floats("task.h", shape: [state.h.count]), c = try f.floats("task.c", shape: [state.c.count])
        guard h.allSatisfy(\.isFinite), c.allSatisfy(\.isFinite) else { throw RNNError(path: s.path, "corrupt training state: non-finite task.h or task.c") }
        state.h = h; state.c = c
    }
}

/// Parses a duration: a number with an optional unit `s` (default), `m` or `h`, e.g. "90",
/// "10m", "1.5h"; nil when malformed or not positive.
public func parseDuration(_ text: String) -> Double? {
    var s = Substring(text)
    var scale = 1.0
    switch s.last {
    case "s": s = s.dropLast()
    case "m": s = s.dropLast(); scale = 60
    case "h": s = s.dropLast(); scale = 3600
    default: break
    }
    guard let v = Double(s), v.isFinite, v > 0 else { return nil }
    return v * scale
}

