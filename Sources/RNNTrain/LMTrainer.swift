// Training a character language model (`rnn-fit --lm`): truncated BPTT over parallel streams.
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
import RNNText

/// Hyper-parameters of a language-model run.
public struct LMTrainingOptions: Sendable, Equatable {
    public var cell: CellKind = .lstm
    public var layers = 2
    public var hidden = 256
    public var embedDim = 64
    /// Dropout between stacked layers.
    public var dropout: Float = 0
    /// B: parallel streams.
    public var batchSize = 32
    /// T: characters per chunk (truncated BPTT length).
    public var seqLen = 128
    public var lr: Float = 2e-3
    /// Learning rate multiplied by this after every epoch.
    public var lrDecay: Float = 1
    /// Cosine annealing: the learning rate falls from `lr` to `lr * lrFloor` along a half cosine
    /// over the run (its progress is the larger of steps / (epochs x steps per epoch) and elapsed
    /// time / `maxTime`), on top of `lrDecay`.
    public var cosine = false
    /// Final fraction of the learning rate with `cosine`.
    public var lrFloor: Float = 0.05
    /// Gradient-norm clipping (0: none).
    public var clip: Float = 5
    public var weightDecay: Float = 0
    public var epochs = 10
    /// Wall-clock budget in seconds (evaluate, keep the best, stop).
    public var maxTime: Double?
    public var seed: UInt64 = 1
    /// Evaluate every this many steps as well as at every epoch end (0: epoch ends only).
    public var evalEvery = 0
    /// 1 or 2 threads for the kernels.
    public var threads = 2

    public init() {}

    /// The model shape for an alphabet of `V` characters.
    public func modelConfig(vocabSize V: Int) -> ModelConfig {
        ModelConfig(cell: cell, task: .languageModel, vocabSize: V, embedDim: embedDim, hidden: hidden, layers: layers,
                    bidirectional: false, dropout: dropout, headDropout: 0, outputs: V, paddingIndex: nil, freezeEmbedding: false)
    }
}

/// What a finished (or interrupted) run produced.
public struct LMTrainingResult: Sendable {
    /// Path of the kept checkpoint (nil if none was written).
    public var checkpoint: String?
    /// Lowest validation loss (nats/char) and where it was reached.
    public var bestLoss: Double?
    public var bestEpoch: Double?
    /// Optimizer steps taken in total (resumed runs included).
    public var steps: Int
    /// Stopped by the interrupt flag.
    public var interrupted: Bool
    /// Stopped by the time budget.
    public var timedOut: Bool
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

/// Trains a character LM, evaluating, keeping the best checkpoint and writing the resume state.
public final class LMTrainer {
    public let corpus: LMCorpus
    public let options: LMTrainingOptions
    /// Best checkpoint path; the resume state goes to `output + ".state"`.
    public let output: String
    public let commandLine: String
    let sink: any TrainingSink
    let shouldStop: () -> Bool
    let clock: () -> Double

    /// `shouldStop` is polled between steps (Ctrl-C); `clock` gives seconds (tests may fake it).
    public init(corpus: LMCorpus, options: LMTrainingOptions, output: String, commandLine: String,
                sink: any TrainingSink, shouldStop: @escaping () -> Bool = { false }, clock: @escaping () -> Double = monotonicSeconds) {
        self.corpus = corpus; self.options = options; self.output = output; self.commandLine = commandLine
        self.sink = sink; self.shouldStop = shouldStop; self.clock = clock
    }

    /// Path of the resume state of checkpoint `path`.
    public static func statePath(_ path: String) -> String { path + ".state" }

    /// The evaluation points saved in the resume state of checkpoint `path` (empty when there is
    /// none): what a resumed run's --plot starts from.
    public static func earlierHistory(checkpoint path: String) -> [EpochSummary] {
        guard let f = try? SafeTensorsFile(path: statePath(path), what: "training state") else { return [] }
        return LMResumeState.earlierHistory(f.metadata)
    }

    /// The cosine schedule's multiplier at `progress` in [0, 1]: 1 at the start, `floor` at the end.
    public static func cosineFactor(progress: Double, floor: Float) -> Float {
        let f = Float(0.5 * (1 + _cos(Double.pi * min(1, max(0, progress)))))
        return floor + (1 - floor) * f
    }

    /// Chunks per epoch for `n` training ids.
    static func chunksPerEpoch(n: Int, batch: Int, seqLen: Int) -> Int {
        let S = (n - 1 - seqLen) / batch     // room for an offset of up to T-1
        return max(0, S / seqLen)
    }

    func info(model: Model, epoch: Double, validLoss: Double?) -> CheckpointInfo {
        CheckpointInfo(kind: .languageModel, config: model.config, vocabHash: corpus.alphabet.vocabHash, vocabKind: .chars,
                       tokens: corpus.alphabet.tokens, labels: [], epoch: epoch, validLoss: validLoss, seed: options.seed,
                       commandLine: commandLine,
                       extra: ["batch_size": String(options.batchSize), "seq_len": String(options.seqLen),
                               "train_chars": String(corpus.train.count), "valid_chars": String(corpus.valid.count)])
    }

    /// Runs the training loop (from the saved state when `resume`).
    public func run(resume: Bool = false) throws -> LMTrainingResult {
        let o = options
        let V = corpus.alphabet.count
        let B = o.batchSize, T = o.seqLen
        let chunks = LMTrainer.chunksPerEpoch(n: corpus.train.count, batch: B, seqLen: T)
        guard chunks >= 1 else {
            throw RNNError("the training text (\(formatThousands(corpus.train.count)) characters) is too short for --batch-size \(B) x --seq-len \(T) (needs more than \(formatThousands(B * 2 * T + 1))); lower them")
        }
        let S = (corpus.train.count - 1 - T) / B
        let model = Model(config: o.modelConfig(vocabSize: V), seed: o.seed)
        model.threads = o.threads
        var adam = Adam(count: model.params.count, lr: o.lr, weightDecay: o.weightDecay)
        var rng = RNG(seed: o.seed &+ 0x5EED)
        var state = RecurrentState.zeros(model.config, batch: B)
        var epoch = 1, chunk = 0, step = 0
        var lr = o.lr
        var bestLoss: Double? = nil, bestEpoch: Double? = nil
        var kept: String? = nil
        var history: [EpochSummary] = []
        let statePath = LMTrainer.statePath(output)
        if resume {
            let r = try LMResumeState.load(path: statePath, model: model, options: o, alphabet: corpus.alphabet)
            adam.m = r.m; adam.v = r.v; adam.step = r.adamStep
            rng.state = r.rng
            state = r.state
            epoch = r.epoch; chunk = r.chunk; step = r.step; lr = r.lr
            bestLoss = r.bestLoss; bestEpoch = r.bestEpoch
            history = r.history
            kept = r.bestLoss != nil ? output : nil
            try sink.record(.note("resuming from epoch \(epoch), step \(formatThousands(step))" + (bestLoss.map { ", best valid loss \(formatFixed($0, 4))" } ?? "")))
        }
        adam.lr = lr
        var epochLR = lr            // lr of this epoch before the cosine factor
        let plannedSteps = Double(o.epochs * chunks)
        try sink.record(.started(TrainingPlan(task: "lm", epochs: o.epochs, firstEpoch: epoch, batchesPerEpoch: chunks,
                                              itemsPerEpoch: chunks * B * T, itemUnit: "chars", validItems: corpus.valid.count,
                                              hasAccuracy: false, showBits: true)))
        let t0 = clock()
        var inputs = [Int32](repeating: 0, count: B * T), targets = inputs
        var sinceEvalLoss = 0.0, sinceEvalSteps = 0, sinceEvalTime = 0.0
        var interrupted = false, timedOut = false
        let validBatch = B

        /// Evaluates, reports, keeps the checkpoint if best, writes the resume state.
        func evaluationPoint(epochPos: Double, isEpochEnd: Bool, nextEpoch: Int, nextChunk: Int) throws {
            let vl = evaluateLM(model: model, ids: corpus.valid, batch: validBatch, steps: T)
            let trainLoss = sinceEvalSteps > 0 ? sinceEvalLoss / Double(sinceEvalSteps) : .nan
            let rate = sinceEvalTime > 0 ? Double(sinceEvalSteps * B * T) / sinceEvalTime : 0
            // Without validation data the latest weights are kept.
            let isBest = vl.map { v in bestLoss.map { v < $0 } ?? true } ?? true
            if isBest {
                bestLoss = vl; bestEpoch = epochPos
                try Checkpoint.write(model: model, info: info(model: model, epoch: epochPos, validLoss: vl), to: output)
                kept = output
            }
            let summary = EpochSummary(epoch: epochPos, isEpochEnd: isEpochEnd, trainLoss: trainLoss, validLoss: vl,
                                       rate: rate, elapsed: clock() - t0, isBest: isBest && vl != nil)
            history.append(summary)
            try sink.record(.evaluated(summary))
            if isBest { try sink.record(.checkpointWritten(path: output, epoch: epochPos, validLoss: vl, best: true)) }
            try LMResumeState(model: model, adam: adam, rng: rng.state, state: state, epoch: nextEpoch, chunk: nextChunk, step: step,
                              lr: epochLR, bestLoss: bestLoss, bestEpoch: bestEpoch, options: o, alphabet: corpus.alphabet,
                              history: history)
                .write(to: statePath)
            try sink.record(.stateWritten(path: statePath, epoch: nextEpoch))
            sinceEvalLoss = 0; sinceEvalSteps = 0; sinceEvalTime = 0
        }

        training: while epoch <= o.epochs {
            let offset = epoch == 1 ? 0 : { var r = RNG(seed: o.seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)); return r.below(T) }()
            if chunk == 0 { state = RecurrentState.zeros(model.config, batch: B) }
            try sink.record(.epochStarted(epoch: epoch, batches: chunks))
            let epochStart = clock()
            var epochLoss = 0.0, epochSteps = 0
            while chunk < chunks {
                let ts = clock()
                for b in 0 ..< B {
                    let base = offset + b * S + chunk * T
                    for t in 0 ..< T { inputs[b * T + t] = corpus.train[base + t]; targets[b * T + t] = corpus.train[base + t + 1] }
                }
                let loss = inputs.withUnsafeBufferPointer { i in
                    targets.withUnsafeBufferPointer { tg in
                        model.trainLM(inputs: i, targets: tg, batch: B, steps: T, state: &state, rng: &rng)
                    }
                }
                if o.clip > 0 { clipGradNorm(model.params, maxNorm: o.clip) }
                if o.cosine {
                    var progress = Double(step) / plannedSteps
                    if let mt = o.maxTime { progress = max(progress, (clock() - t0) / mt) }
                    adam.lr = epochLR * LMTrainer.cosineFactor(progress: progress, floor: o.lrFloor)
                }
                adam.update(model.params)
                step += 1; chunk += 1
                let now = clock()
                epochLoss += Double(loss); epochSteps += 1
                sinceEvalLoss += Double(loss); sinceEvalSteps += 1; sinceEvalTime += now - ts
                try sink.record(.batch(BatchProgress(epoch: epoch, done: chunk, total: chunks, loss: epochLoss / Double(epochSteps),
                                                     rate: Double(epochSteps * B * T) / max(now - epochStart, 1e-9), epochElapsed: now - epochStart)))
                if !loss.isFinite {
                    throw RNNError("training diverged (loss \(loss) at step \(step)); lower --lr or --clip")
                }
                let epochPos = Double(epoch - 1) + Double(chunk) / Double(chunks)
                if shouldStop() {
                    interrupted = true
                    try evaluationPoint(epochPos: epochPos, isEpochEnd: chunk == chunks, nextEpoch: chunk == chunks ? epoch + 1 : epoch,
                                        nextChunk: chunk == chunks ? 0 : chunk)
                    break training
                }
                if let mt = o.maxTime, now - t0 >= mt {
                    timedOut = true
                    try sink.record(.note("time budget of \(formatDuration(mt)) reached at step \(formatThousands(step))"))
                    try evaluationPoint(epochPos: epochPos, isEpochEnd: chunk == chunks, nextEpoch: chunk == chunks ? epoch + 1 : epoch,
                                        nextChunk: chunk == chunks ? 0 : chunk)
                    break training
                }
                if o.evalEvery > 0 && step % o.evalEvery == 0 && chunk < chunks {
                    try evaluationPoint(epochPos: epochPos, isEpochEnd: false, nextEpoch: epoch, nextChunk: chunk)
                }
            }
            chunk = 0
            epoch += 1
            epochLR *= o.lrDecay
            adam.lr = epochLR
            try evaluationPoint(epochPos: Double(epoch - 1), isEpochEnd: true, nextEpoch: epoch, nextChunk: 0)
        }
        let result = LMTrainingResult(checkpoint: kept, bestLoss: bestLoss, bestEpoch: bestEpoch, steps: step,
                                      interrupted: interrupted, timedOut: timedOut)
        if interrupted {
            try sink.record(.interrupted(kept: kept, epoch: bestEpoch, validLoss: bestLoss))
        } else {
            try sink.record(.finished(best: kept, epoch: bestEpoch, validLoss: bestLoss, elapsed: clock() - t0))
        }
        return result
    }
}

/// The resume state of a language-model run (`<checkpoint>.state`): the current weights, Adam
/// moments, the RNG, the carried recurrent state and the position in the data. A safetensors file
/// (metadata format `rnn-lm-state`, version 1); it is overwritten atomically at every evaluation.
struct LMResumeState {
    static let formatName = "rnn-lm-state"
    var params: [Float], m: [Float], v: [Float]
    var adamStep: Int
    var rng: [UInt64]
    var state: RecurrentState
    var epoch: Int, chunk: Int, step: Int
    var lr: Float
    var bestLoss: Double?, bestEpoch: Double?
    var fingerprint: String
    /// Every evaluation point so far (for --plot after --resume).
    var history: [EpochSummary]

    /// What must not change between the run that wrote the state and the one resuming it.
    static func fingerprint(options o: LMTrainingOptions, config: ModelConfig, alphabet: CharAlphabet) -> String {
        "\(config.cell.rawValue) L=\(config.layers) H=\(config.hidden) E=\(config.embedDim) V=\(config.vocabSize) "
            + "B=\(o.batchSize) T=\(o.seqLen) alphabet=\(Checkpoint.tokensHash(alphabet.tokens))"
    }

    init(model: Model, adam: Adam, rng: [UInt64], state: RecurrentState, epoch: Int, chunk: Int, step: Int, lr: Float,
         bestLoss: Double?, bestEpoch: Double?, options: LMTrainingOptions, alphabet: CharAlphabet, history: [EpochSummary] = []) {
        params = Array(model.params.values); m = adam.m; v = adam.v; adamStep = adam.step
        self.history = history
        self.rng = rng; self.state = state; self.epoch = epoch; self.chunk = chunk; self.step = step; self.lr = lr
        self.bestLoss = bestLoss; self.bestEpoch = bestEpoch
        fingerprint = LMResumeState.fingerprint(options: options, config: model.config, alphabet: alphabet)
    }

    func write(to path: String) throws {
        var w = SafeTensorsWriter()
        w.add("params", shape: [params.count], floats: params)
        w.add("adam.m", shape: [m.count], floats: m)
        w.add("adam.v", shape: [v.count], floats: v)
        w.add("state.h", shape: [state.h.count], floats: state.h)
        w.add("state.c", shape: [state.c.count], floats: state.c)
        w.setMetadata("format", LMResumeState.formatName)
        w.setMetadata("version", "1")
        w.setMetadata("fingerprint", fingerprint)
        w.setMetadata("adam_step", String(adamStep))
        w.setMetadata("rng", rng.map(String.init).joined(separator: ","))
        w.setMetadata("epoch", String(epoch)); w.setMetadata("chunk", String(chunk)); w.setMetadata("step", String(step))
        w.setMetadata("lr", String(lr))
        if let b = bestLoss { w.setMetadata("best_loss", String(b)) }
        if let b = bestEpoch { w.setMetadata("best_epoch", String(b)) }
        w.setMetadata("history", JSONWriter.string(.array(history.map(TrainingState.json))))
        try w.write(to: path)
    }

    /// The evaluation points recorded in a state's metadata.
    static func earlierHistory(_ meta: [String: String]) -> [EpochSummary] {
        ((try? JSONScanner.parse(meta["history"] ?? "[]"))?.arrayValue ?? []).compactMap(TrainingState.summary)
    }

    /// Loads the state into `model` and checks it belongs to this run.
    static func load(path: String, model: Model, options: LMTrainingOptions, alphabet: CharAlphabet) throws -> LMResumeState {
        let f: SafeTensorsFile
        do { f = try SafeTensorsFile(path: path, what: "training state") } catch let e as RNNError {
            throw RNNError("cannot resume: \(e.message) (it is written next to the checkpoint by a previous 'rnn-fit --lm' run)")
        }
        let meta = f.metadata
        guard meta["format"] == formatName, meta["version"] == "1" else {
            throw RNNError(path: path, "not a language-model training state (format \(meta["format"] ?? "?") version \(meta["version"] ?? "?"))")
        }
        let want = fingerprint(options: options, config: model.config, alphabet: alphabet)
        guard meta["fingerprint"] == want else {
            throw RNNError(path: path, "was written by a different run (\(meta["fingerprint"] ?? "?")); this run is \(want): resume with the same text, model and batch options")
        }
        func int(_ k: String) throws -> Int {
            guard let s = meta[k], let v = Int(s) else { throw RNNError(path: path, "corrupt training state: \(k)") }
            return v
        }
        let count = model.params.count
        let params = try f.floats("params", shape: [count])
        var r = LMResumeState(model: model, adam: Adam(count: count), rng: [], state: .zeros(model.config, batch: options.batchSize),
                              epoch: try int("epoch"), chunk: try int("chunk"), step: try int("step"),
                              lr: Float(meta["lr"] ?? "") ?? options.lr,
                              bestLoss: meta["best_loss"].flatMap(Double.init), bestEpoch: meta["best_epoch"].flatMap(Double.init),
                              options: options, alphabet: alphabet)
        r.m = try f.floats("adam.m", shape: [count]); r.v = try f.floats("adam.v", shape: [count])
        r.adamStep = try int("adam_step")
        r.rng = (meta["rng"] ?? "").split(separator: ",").compactMap { UInt64($0) }
        guard r.rng.count == 4 else { throw RNNError(path: path, "corrupt training state: rng") }
        r.state.h = try f.floats("state.h", shape: [r.state.h.count])
        r.state.c = try f.floats("state.c", shape: [r.state.c.count])
        r.history = earlierHistory(meta)
        params.withUnsafeBufferPointer { model.params.mutableValues.baseAddress!.update(from: $0.baseAddress!, count: count) }
        r.params = params
        return r
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

#if canImport(Glibc)
import Glibc
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
