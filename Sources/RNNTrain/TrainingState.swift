// The resume file of a training run, `CKPT.state` next to the checkpoint `CKPT` (docs/FORMATS.md
// section 4, "Training state"): one format for classifiers and language models, rewritten
// (atomically) at every evaluation point, so `--resume CKPT` continues exactly where it was written.
//
// A safetensors file, format `rnn-train-state`, version 2:
//   params    F32 [P]  the weights at that point (the engine's arena: tensors at multiples of 16 floats)
//   adam.m    F32 [P]  Adam's first moments, same layout
//   adam.v    F32 [P]  Adam's second moments
//   rng       I64 [4]  xoshiro256** state words of the training generator (bit patterns)
//   position  I64 [4]  epoch to train next (from 1), batch of that epoch to train next (from 0),
//                      optimizer steps taken, Adam's step count
//   lr        F32 [1]  the learning rate of this epoch (after decay, before the cosine factor)
//   average   F32 [P]  the moving average of the weights (only when `ema` > 0)
//   task.*             the task's own position (classifier: `task.order`, the epoch's record order;
//                      language model: `task.h`, `task.c`, the recurrent state carried between chunks)
// metadata: format, version, run_id (also in the checkpoint: a mixed pair is refused), kind
// (classifier or lm), the architecture (the keys of checkpoints), the optimizer settings (base_lr,
// weight_decay, clip, lr_decay, schedule, lr_floor, beta1, beta2, eps, seed; ema, absent in states
// of older builds: 0), `task.*` settings
// the run must keep (batch size, data...), best_epoch / best_valid_loss / best_valid_accuracy
// (empty: none kept), history (JSON array of the evaluation points), threads (the count the run
// trained with: results depend on it, so a resumed run uses it unless told otherwise).
import RNNCore
import RNNEngine
import RNNText

/// Optimizer settings a run keeps from start to end (saved in its state).
public struct OptimizerSettings: Sendable, Equatable {
    /// Adam's learning rate at the start.
    public var lr: Float = 1e-3
    /// L2 weight decay added to the gradients.
    public var weightDecay: Float = 0
    /// Max global gradient norm (nil: no clipping).
    public var clip: Float?
    /// Learning rate multiplied by this after every epoch.
    public var lrDecay: Float = 1
    /// Cosine annealing to `lr * lrFloor` over the run (on top of `lrDecay`).
    public var cosine = false
    public var lrFloor: Float = 0.05
    /// Decay of the exponential moving average of the weights that is evaluated and kept (0: none;
    /// Trainer.averageDecay).
    public var ema: Float = 0
    /// Seed of initialisation, shuffling, dropout (and the classifier's validation split).
    public var seed: UInt64 = 42

    public init() {}
}

/// What a training state holds (see the file comment).
public struct TrainingState {
    public static let formatName = "rnn-train-state"
    public static let formatVersion = 2
    /// Formats of version 1 (refused with a message saying what to do).
    static let oldFormats = ["rnn-fit-state", "rnn-lm-state"]

    /// The state file of checkpoint `path`.
    public static func path(checkpoint: String) -> String { checkpoint + ".state" }

    public var path: String
    public var runID: String
    public var kind: Task
    public var config: ModelConfig
    public var optimizer: OptimizerSettings
    /// Task settings (keys without the `task.` prefix), read back with ``taskSettings``.
    public var taskSettings: [String: String]
    public var epoch: Int
    public var batch: Int
    public var step: Int
    public var adamStep: Int
    public var epochLR: Float
    public var rng: [UInt64]
    public var best: (epoch: Double, loss: Double?, accuracy: Double?)?
    public var history: [EpochSummary]
    /// Threads the run trained with (results depend on the count): a resumed run's default.
    public var threads: Int?
    var params: [Float] = []
    var adamM: [Float] = []
    var adamV: [Float] = []
    /// The moving average of the weights (when `optimizer.ema` > 0).
    var average: [Float]?
    /// The open file (the task reads its `task.*` tensors from it).
    let file: SafeTensorsFile?

    /// A reader of the task settings, with this file's name in its errors.
    public var settingsReader: MetadataReader { MetadataReader(path: path, what: "training state", values: taskSettings) }

    /// Writes the state atomically. `taskTensors` adds the task's tensors (names get `task.`).
    static func write(to path: String, runID: String, kind: Task, model: Model, adam: Adam, optimizer o: OptimizerSettings,
                      average: [Float]?, taskSettings: [(String, String)], epoch: Int, batch: Int, step: Int, epochLR: Float, rng: [UInt64],
                      best: (epoch: Double, loss: Double?, accuracy: Double?)?, history: [EpochSummary],
                      taskTensors: (inout SafeTensorsWriter) -> Void) throws {
        var w = SafeTensorsWriter()
        let P = model.params.count
        w.add("params", shape: [P], floats: model.params.values)
        w.add("adam.m", shape: [P], floats: adam.m)
        w.add("adam.v", shape: [P], floats: adam.v)
        w.add("rng", shape: [4], int64s: rng.map { Int64(bitPattern: $0) })
        w.add("position", shape: [4], int64s: [epoch, batch, step, adam.step].map(Int64.init))
        w.add("lr", shape: [1], floats: [epochLR])
        if let average { w.add("average", shape: [P], floats: average) }
        taskTensors(&w)
        func n(_ x: Double?) -> String { x.map { String($0) } ?? "" }
        var meta: [(String, String)] = [("format", formatName), ("version", String(formatVersion)), ("run_id", runID),
                                        ("kind", kind == .classifier ? "classifier" : "lm")]
        meta += Checkpoint.architectureMetadata(model.config)
        meta += [("base_lr", String(o.lr)), ("weight_decay", String(adam.weightDecay)), ("clip", o.clip.map { String($0) } ?? ""),
                 ("lr_decay", String(o.lrDecay)), ("schedule", o.cosine ? "cosine" : "constant"), ("lr_floor", String(o.lrFloor)),
                 ("beta1", String(adam.beta1)), ("beta2", String(adam.beta2)), ("eps", String(adam.eps)), ("seed", String(o.seed)), ("ema", String(o.ema)),
                 ("best_epoch", n(best?.epoch)), ("best_valid_loss", n(best?.loss)), ("best_valid_accuracy", n(best?.accuracy)),
                 ("history", JSONWriter.string(.array(history.map(TrainingState.json)))), ("threads", String(model.threads))]
        meta += taskSettings.map { ("task." + $0.0, $0.1) }
        for (k, v) in meta { w.setMetadata(k, v) }
        try w.write(to: path)
    }

    static func json(_ s: EpochSummary) -> JSONValue {
        func n(_ x: Double?) -> JSONValue { x.map { $0.isFinite ? .number($0) : .null } ?? .null }
        return .object([JSONMember("epoch", .number(s.epoch)), JSONMember("end", .bool(s.isEpochEnd)),
                        JSONMember("train_loss", n(s.trainLoss)), JSONMember("train_acc", n(s.trainAccuracy)),
                        JSONMember("valid_loss", n(s.validLoss)), JSONMember("valid_acc", n(s.validAccuracy)),
                        JSONMember("rate", n(s.rate)), JSONMember("elapsed", n(s.elapsed)), JSONMember("best", .bool(s.isBest))])
    }

    static func summary(_ v: JSONValue) -> EpochSummary? {
        // Points outside the range a run can reach are dropped (they are only drawn and logged).
        guard let e = v["epoch"]?.doubleValue, e >= 0, e <= 1e12, let tl = v["train_loss"]?.doubleValue ?? Double?.some(.nan) else { return nil }
        return EpochSummary(epoch: e, isEpochEnd: v["end"] != .bool(false), trainLoss: tl, trainAccuracy: v["train_acc"]?.doubleValue,
                            validLoss: v["valid_loss"]?.doubleValue, validAccuracy: v["valid_acc"]?.doubleValue,
                            rate: v["rate"]?.doubleValue ?? 0, elapsed: v["elapsed"]?.doubleValue ?? 0, isBest: v["best"] == .bool(true))
    }

    /// Reads and checks the state of checkpoint `checkpoint` (the --resume argument): format,
    /// version, every number in range, every tensor with the size the metadata implies, and the
    /// checkpoint (when there is one) from the same run.
    public static func load(checkpoint: String) throws -> TrainingState {
        let path = TrainingState.path(checkpoint: checkpoint)
        let f: SafeTensorsFile
        do {
            f = try SafeTensorsFile(path: path, what: "training state")
        } catch let e as RNNError where e.isMissingFile {
            throw TrainingError.noState(checkpoint: checkpoint, state: path)
        }
        let m = MetadataReader(path: path, what: "training state", values: f.metadata)
        let format = f.metadata["format"] ?? ""
        if oldFormats.contains(format) { throw TrainingError.oldState(path: path, format: format) }
        guard format == formatName else {
            throw RNNError(path: path, "not a training state (format '\(format.isEmpty ? "none" : format)'); resume from the checkpoint written by rnn-fit, next to which CKPT.state lies")
        }
        guard f.metadata["version"] == String(formatVersion) else {
            throw RNNError(path: path, "training state version \(f.metadata["version"] ?? "?") is not supported (this build reads version \(formatVersion)); start a new run")
        }
        let runID = try m.string("run_id")
        let kind: Task
        switch f.metadata["kind"] {
        case "classifier": kind = .classifier
        case "lm": kind = .languageModel
        default: throw m.corrupt("kind = '\(f.metadata["kind"] ?? "")' (expected classifier or lm)")
        }
        let config = try Checkpoint.readArchitecture(m, kind: kind)
        guard let P = Checkpoint.arenaSize(config), f.tensors["params"]?.shape == [P] else {
            throw m.corrupt("the architecture (\(Checkpoint.describe(config))) does not match the size of its params tensor \(f.tensors["params"].map { "\($0.shape)" } ?? "(missing)")")
        }
        var o = OptimizerSettings()
        o.lr = try m.float("base_lr", in: Float.leastNonzeroMagnitude ... 1e6)
        let weightDecay = try m.float("weight_decay", in: 0 ... 1e6)
        let clip = try m.string("clip")
        if !clip.isEmpty { o.clip = try m.float("clip", in: Float.leastNonzeroMagnitude ... Float.greatestFiniteMagnitude) }
        o.lrDecay = try m.float("lr_decay", in: Float.leastNonzeroMagnitude ... 1e6)
        switch try m.string("schedule") {
        case "constant": o.cosine = false
        case "cosine": o.cosine = true
        case let s: throw m.corrupt("schedule = '\(s)' (expected constant or cosine)")
        }
        o.lrFloor = try m.float("lr_floor", in: 0 ... 1)
        o.seed = try m.uint64("seed")
        o.ema = try m.float("ema", in: 0 ... 0.999_999_9, default: 0)
        let betas = (try m.float("beta1", in: 0 ... 0.999_999_9), try m.float("beta2", in: 0 ... 0.999_999_9),
                     try m.float("eps", in: Float.leastNonzeroMagnitude ... 1), weightDecay)
        let position = try f.int64s("position", shape: [4])
        let maxSteps = Int64(1) << 48
        guard position[0] >= 1, position[0] <= maxSteps, position[1] >= 0, position[1] <= maxSteps,
              position[2] >= 0, position[2] <= maxSteps, position[3] >= 0, position[3] <= maxSteps else {
            throw m.corrupt("position \(position) out of range (epoch >= 1; batch, step and Adam step in [0, 2^48])")
        }
        let lr = try f.floats("lr", shape: [1])[0]
        guard lr.isFinite, lr >= 0 else { throw m.corrupt("lr = \(lr) is not a number >= 0") }
        let bestEpoch = try m.optionalDouble("best_epoch", in: 0 ... Double(maxSteps))
        let best = try bestEpoch.map { e in
            (epoch: e, loss: try m.optionalDouble("best_valid_loss", in: 0 ... 1e30),
             accuracy: try m.optionalDouble("best_valid_accuracy", in: 0 ... 1))
        }
        let history = ((try? JSONScanner.parse(f.metadata["history"] ?? "[]"))?.arrayValue ?? []).compactMap(summary)
        var taskSettings: [String: String] = [:]
        for (k, v) in f.metadata where k.hasPrefix("task.") { taskSettings[String(k.dropFirst(5))] = v }
        var s = TrainingState(path: path, runID: runID, kind: kind, config: config, optimizer: o, taskSettings: taskSettings,
                              epoch: Int(position[0]), batch: Int(position[1]), step: Int(position[2]), adamStep: Int(position[3]),
                              epochLR: lr, rng: try f.int64s("rng", shape: [4]).map { UInt64(bitPattern: $0) }, best: best,
                              history: history, threads: m.values["threads"] == nil ? nil : try m.int("threads", in: 1 ... 1024), file: f)
        s.params = try f.floats("params", shape: [P])
        s.adamM = try f.floats("adam.m", shape: [P])
        s.adamV = try f.floats("adam.v", shape: [P])
        guard s.params.allSatisfy(\.isFinite), s.adamM.allSatisfy(\.isFinite), s.adamV.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw m.corrupt("non-finite weights or moments")
        }
        if o.ema > 0 {
            let a = try f.floats("average", shape: [P])
            guard a.allSatisfy(\.isFinite) else { throw m.corrupt("non-finite averaged weights") }
            s.average = a
        }
        s.betas = betas
        try s.checkRun(checkpoint: checkpoint)
        return s
    }

    /// Adam's beta1, beta2, eps and weight decay.
    var betas: (Float, Float, Float, Float) = (0.9, 0.999, 1e-8, 0)

    /// The optimizer as saved (moments, step count, hyper-parameters, this epoch's rate).
    public func adam() -> Adam {
        var a = Adam(count: params.count, lr: epochLR, beta1: betas.0, beta2: betas.1, eps: betas.2, weightDecay: betas.3)
        a.m = adamM; a.v = adamV; a.step = adamStep
        return a
    }

    /// Refuses a checkpoint written by another run than this state (two runs writing the same -o).
    func checkRun(checkpoint: String) throws {
        guard let c = try? SafeTensorsFile(path: checkpoint, what: "checkpoint") else {
            if best != nil { throw TrainingError.mixedRun(checkpoint: checkpoint, state: path, detail: "the checkpoint it kept is missing") }
            return
        }
        let other = c.metadata["run_id"] ?? ""
        guard other == runID else {
            throw TrainingError.mixedRun(checkpoint: checkpoint, state: path,
                                         detail: other.isEmpty ? "the checkpoint has no run id" : "run \(other) wrote the checkpoint, run \(runID) the state")
        }
    }

    /// Copies the saved weights into `model` (same architecture).
    public func restore(into model: Model) {
        let dst = model.params.mutableValues
        params.withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress!, count: min(dst.count, $0.count)) }
    }
}
