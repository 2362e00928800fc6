// One training loop for every task (classifier, character language model).
//
// A `TrainingTask` knows its data and model: how an epoch starts (shuffle, stream offset), how one
// batch trains (forward and backward: gradients), how the weights are evaluated, and what the
// checkpoint says about them. The `Trainer` owns everything else, once:
// - the loop: epochs of steps (clip, learning-rate schedule, Adam);
// - evaluation points: every epoch end, every `evalEvery` steps, and when training stops early;
// - the best-checkpoint rule: the point with the lowest validation loss is kept in the output
//   (without validation data, the latest point); written atomically with the run id;
// - with `OptimizerSettings.ema` > 0, an exponential moving average of the weights, updated after
//   every step (``averageDecay``): evaluation points evaluate and keep the averaged weights, while
//   training goes on from the trained ones (which the state holds beside the average);
// - the resume state (TrainingState.swift), written at every evaluation point;
// - one stop path: a stop signal (Ctrl-C, SIGTERM, SIGHUP, polled between steps) or the time
//   budget ends training with a final evaluation point; the budget counts from the command's
//   start and includes that evaluation (and the task's final test): training stops when the time
//   left would not cover one more step plus them (at most a quarter of the budget is set aside),
//   and when they would still not fit, they run on the first part of the data that fits (a
//   point evaluated so is kept only when nothing was kept before);
// - a step whose loss is not finite stops the run with ``TrainingError/diverged`` before the
//   update: the last checkpoint and state written stay as they were;
// - one event stream to a `TrainingSink`;
// - data-parallel training over the processes of a `Communicator` (docs/SCALING.md): every
//   process trains its share of every batch (the task's shard), the gradients (each scaled by its
//   share of the batch's items) are summed over the processes, and every process takes the same
//   clipping and Adam step. The stop decision (signals on any process, rank 0's clock) is agreed
//   before every step; rank 0 alone evaluates, reports, and writes the checkpoint and state. With
//   one process none of this runs: results are those of a plain run, bit for bit.
import RNNCore
import RNNEngine
import RNNMPI

/// Settings of one run of the loop (besides the optimizer's, which a resumed run keeps).
public struct RunSettings: Sendable, Equatable {
    /// Last epoch to train (the total, also when resuming).
    public var epochs = 3
    /// Also evaluate every this many steps (0: at epoch ends only).
    public var evalEvery = 0
    /// Time budget in seconds, counted from `startTime` (nil: none).
    public var maxTime: Double?
    /// Recorded in the checkpoint.
    public var commandLine = ""

    public init() {}
}

/// What one training step reports.
public struct StepOutcome: Sendable {
    /// Mean loss over the step's items (nats).
    public var loss: Float
    /// Items trained (records, predicted characters).
    public var items: Int
    /// Right predictions among them, when the task measures accuracy.
    public var correct: Int?

    public init(loss: Float, items: Int, correct: Int? = nil) { self.loss = loss; self.items = items; self.correct = correct }
}

/// Loss and accuracy of a model on some data.
public struct Evaluation: Sendable, Equatable {
    /// Mean loss per item (nats).
    public var loss: Double
    /// Fraction of items predicted right (nil: not measured).
    public var accuracy: Double?
    /// Number of items.
    public var count: Int

    public init(loss: Double, accuracy: Double?, count: Int) { self.loss = loss; self.accuracy = accuracy; self.count = count }
}

/// Errors of training that the command words for its users (with its option names).
public enum TrainingError: Error, Equatable {
    /// A step's loss was not finite, or its update left a weight that is not (`loss` is then
    /// the step's finite loss and `weights` is true); `kept`: the checkpoint left on disk (nil:
    /// none yet).
    case diverged(loss: Float, step: Int, epoch: Int, kept: String?, weights: Bool = false)
    /// `--resume`: no state file next to the checkpoint.
    case noState(checkpoint: String, state: String)
    /// `--resume`: a state file of an older format.
    case oldState(path: String, format: String)
    /// `--resume`: the checkpoint and the state were written by different runs.
    case mixedRun(checkpoint: String, state: String, detail: String)
    /// `--resume`: the state already trained this many epochs (the total asked for).
    case nothingLeft(state: String, trainedEpochs: Int)
    /// The state belongs to another kind of task.
    case wrongTask(state: String, isClassifier: Bool)
    /// Data-parallel training: these ranks built other initial weights, data or settings than rank 0.
    case processesDisagree(ranks: [Int], of: Int)
}

/// One training task (see the file comment).
public protocol TrainingTask: AnyObject {
    /// Classifier or language model.
    var kind: Task { get }
    /// The model being trained.
    var model: Model { get }
    /// Steps per epoch.
    var batchesPerEpoch: Int { get }
    /// What the plan of the run says about the task (its `epochs` and `firstEpoch` are set by the trainer).
    var plan: TrainingPlan { get }
    /// Tensors the optimizer leaves alone.
    var frozen: Set<String> { get }
    /// Seed of the training generator (shuffling, dropout) at the start of a run.
    var generatorSeed: UInt64 { get }
    /// Settings a resumed run must keep (saved as `task.KEY` metadata in the state).
    var settings: [(String, String)] { get }
    /// Trains share `rank` of `size` of every batch from now on (data-parallel training; a
    /// process whose share of a batch is empty returns 0 items and zero gradients).
    func shard(rank: Int, of size: Int)
    /// Collective: completes on rank 0 the position ``savePosition(_:)`` writes (e.g. the carried
    /// state of every process's streams).
    func gatherPosition(_ comm: any Communicator) throws
    /// Prepares epoch `epoch`, to be trained from batch `batch` (0 unless resumed inside it).
    func startEpoch(_ epoch: Int, at batch: Int, rng: inout RNG)
    /// Forward and backward over batch `index` of the epoch (gradients left in the model).
    func trainStep(_ index: Int, rng: inout RNG) -> StepOutcome
    /// The current weights on the validation data, or its first `limit` items (nil: there is none).
    func evaluate(limit: Int?) throws -> Evaluation?
    /// Checkpoint metadata of the current weights (epoch, loss, seed, run id are filled in by the trainer).
    func checkpointInfo() -> CheckpointInfo
    /// Adds the task's position (e.g. the epoch's order, a carried state) to the state file.
    func savePosition(_ w: inout SafeTensorsWriter)
    /// Restores what ``savePosition(_:)`` saved.
    func restorePosition(_ state: TrainingState) throws
    /// Items of the final test of the kept weights (0: none).
    var testItems: Int { get }
    /// Tests the weights kept in `checkpoint` on the test data, or its first `limit` items:
    /// (name of the test data, evaluation).
    func test(checkpoint: String, limit: Int?) throws -> (String, Evaluation)?
}

extension TrainingTask {
    public var frozen: Set<String> { [] }
    public var testItems: Int { 0 }
    public func test(checkpoint: String, limit: Int?) throws -> (String, Evaluation)? { nil }
    public func gatherPosition(_ comm: any Communicator) throws {}
}

/// What a run produced.
public struct TrainingResult: Sendable {
    /// Every evaluation point (a resumed run's include the earlier ones).
    public var history: [EpochSummary]
    /// The kept checkpoint (nil: none written).
    public var checkpoint: String?
    /// Where the kept weights were taken (epoch position) and their validation numbers.
    public var bestEpoch: Double?
    public var bestLoss: Double?
    public var bestAccuracy: Double?
    /// Optimizer steps taken in all (earlier runs included).
    public var steps: Int
    /// Why training stopped before its last epoch (nil: it did not).
    public var stopped: StopReason?
    /// The final test of the kept weights.
    public var test: Evaluation?
    /// Seconds of training steps in this run, and of them in summing gradients over processes;
    /// `waitSeconds` of `reduceSeconds`: in the first sum of a step (a few values), i.e. mostly
    /// waiting for the slowest process.
    public var stepSeconds = 0.0, reduceSeconds = 0.0, waitSeconds = 0.0
    /// Data-parallel training: steps summed in this run, bytes each process sent into the sums,
    /// and of them in embedding rows (GradientExchange).
    public var exchanged = (steps: 0, bytes: 0, rowBytes: 0)

    /// Stopped by a signal (the command exits 128 + the signal).
    public var interruptedBy: Int32? { if case .signal(let s)? = stopped { return s }; return nil }
}

/// Trains a task (see the file comment).
public final class Trainer {
    let task: any TrainingTask
    let optimizer: OptimizerSettings
    let runSettings: RunSettings
    /// Best checkpoint; the state goes to `output + ".state"`.
    public let output: String
    public var statePath: String { TrainingState.path(checkpoint: output) }
    let sink: any TrainingSink
    let comm: any Communicator
    let stopSignal: () -> Int32?
    let clock: () -> Double
    let startTime: Double
    let runID: String
    var adam: Adam
    var rng: RNG
    var epoch = 1, batch = 0, step = 0
    var epochLR: Float
    var best: (epoch: Double, loss: Double?, accuracy: Double?)?
    var history: [EpochSummary] = []
    var resumedFrom: TrainingState?
    var baseInfo: CheckpointInfo?
    /// Training since the last evaluation point: Σ loss x items, items, right predictions, step seconds.
    var since = (loss: 0.0, items: 0, correct: 0, seconds: 0.0, steps: 0)
    /// Seconds per item of the last full evaluation, of the last checkpoint and state writes, and of
    /// the last step; items and seconds of all training steps of this run.
    var evalSecondsPerItem: Double?
    var writeSeconds = 0.5
    var stepSeconds = 0.0
    var trained = (items: 0, seconds: 0.0)
    /// Seconds spent summing gradients over the processes (with the wait for the slowest one).
    var reduceSeconds = 0.0, waitSeconds = 0.0
    /// The gradient sum over the processes (touched embedding rows only, GradientExchange.swift).
    var exchange: GradientExchange?
    /// Share of the final evaluation and test that the time budget leaves (1: all of them).
    var finalShare = 1.0
    /// The moving average of the weights (`optimizer.ema` > 0), else nil.
    var average: [Float]?

    /// A new run of `task`, or the continuation of `resume` (the task must have been built from
    /// the same state). `startTime`: when the command started (the time budget counts from it).
    /// `processes`: the processes training together (every one builds the same task and trainer;
    /// only rank 0's sink receives events).
    public init(task: any TrainingTask, optimizer: OptimizerSettings, run: RunSettings, output: String, resume: TrainingState? = nil,
                sink: any TrainingSink, stopSignal: @escaping () -> Int32? = { StopRequest.signal },
                clock: @escaping () -> Double = monotonicSeconds, startTime: Double? = nil,
                processes: any Communicator = SingleProcess()) throws {
        self.task = task; self.optimizer = optimizer; self.runSettings = run; self.output = output
        self.comm = processes
        self.sink = processes.isRoot ? sink : NoSink()
        self.stopSignal = stopSignal; self.clock = clock
        self.startTime = startTime ?? clock()
        let model = task.model
        adam = Adam(count: model.params.count, lr: optimizer.lr, weightDecay: optimizer.weightDecay)
        rng = RNG(seed: task.generatorSeed)
        epochLR = optimizer.lr
        runID = resume?.runID ?? String(UInt64.random(in: 0 ... .max), radix: 16)
        if let s = resume {
            guard s.kind == task.kind else { throw TrainingError.wrongTask(state: s.path, isClassifier: s.kind == .classifier) }
            guard s.epoch <= runSettings.epochs else { throw TrainingError.nothingLeft(state: s.path, trainedEpochs: s.epoch - 1) }
            guard s.params.count == model.params.count, s.batch < task.batchesPerEpoch else {
                throw RNNError(path: s.path, "corrupt training state: its position or size does not fit the model and data")
            }
            s.restore(into: model)
            adam = s.adam()
            rng.state = s.rng
            epoch = s.epoch; batch = s.batch; step = s.step; epochLR = s.epochLR
            best = s.best
            history = s.history
            try task.restorePosition(s)
            resumedFrom = s
        }
        adam.lr = epochLR
        if optimizer.ema > 0 { average = resume?.average ?? Array(model.params.values) }
        if comm.size > 1 {
            task.shard(rank: comm.rank, of: comm.size)
            let rows = model.params.entry("embedding.weight").flatMap { e in e.shape.count == 2 ? (e.offset, e.shape[0], e.shape[1]) : nil }
            exchange = GradientExchange(sparse: rows, dense: try GradientExchange.denseFromEnvironment())
            try checkAgreement(resume: resume)
        }
    }

    /// Data-parallel training: every process must start from the same weights, data shape and
    /// position, or the processes would train different models (or wait for each other forever).
    private func checkAgreement(resume: TrainingState?) throws {
        var f = Fingerprint()
        let m = task.model
        f.add("\(task.kind) \(m.params.count) \(task.batchesPerEpoch) \(task.plan.validItems) \(epoch) \(batch) \(step) \(runSettings.epochs)")
        for (k, v) in task.settings { f.add("\(k)=\(v)") }
        f.add(floats: m.params.values)
        f.add("\(optimizer.seed) \(optimizer.lr) \(optimizer.clip ?? 0) \(optimizer.weightDecay) \(optimizer.lrDecay) \(optimizer.cosine) \(optimizer.ema)")
        f.add(resume?.runID ?? "")
        let differ = try comm.disagreeing(f.bytes)
        if !differ.isEmpty {
            throw TrainingError.processesDisagree(ranks: differ, of: comm.size)
        }
    }

    /// Seconds an evaluation of `items` items is expected to take: as the last full evaluation
    /// went, else half the training time of as many items (evaluation has no backward pass).
    private func evalEstimate(_ items: Int) -> Double {
        if let s = evalSecondsPerItem { return 1.2 * s * Double(items) }
        return trained.items > 0 ? 0.5 * Double(items) * trained.seconds / Double(trained.items) : 0
    }

    /// Seconds set aside for the final evaluation point and test: at most a quarter of the budget.
    private func reserve() -> Double {
        let items = task.plan.validItems + task.testItems
        return min(evalEstimate(items), 0.25 * (runSettings.maxTime ?? 0)) + writeSeconds + 0.1
    }

    /// Why to stop before the next step (nil: go on). With several processes, agreed by all:
    /// a signal to any of them, or rank 0's clock.
    private func stopReason() throws -> StopReason? {
        let signal = stopSignal()
        var overTime = false
        if let budget = runSettings.maxTime, comm.isRoot, clock() + stepSeconds + reserve() >= startTime + budget { overTime = true }
        if comm.size > 1 {
            var flags = [Double(signal ?? 0), overTime ? 1 : 0]
            try comm.reduce(&flags, .max)
            let s = Int32(exactly: flags[0]) ?? 0
            if s != 0 { return .signal(s) }
            overTime = flags[1] != 0
        } else if let signal {
            return .signal(signal)
        }
        if overTime, let budget = runSettings.maxTime { return .timeBudget(seconds: budget, step: step) }
        return nil
    }

    /// How many of `items` the final evaluation may use (nil: all).
    private func finalLimit(_ items: Int) -> Int? {
        finalShare < 1 ? Int(Double(items) * finalShare) : nil
    }

    /// Runs the remaining steps; see the file comment.
    public func run() throws -> TrainingResult {
        var plan = task.plan
        plan.epochs = runSettings.epochs
        plan.firstEpoch = epoch
        let batches = task.batchesPerEpoch
        try sink.record(.started(plan))
        if let s = resumedFrom {
            try sink.record(.note("resuming at epoch \(epoch) of \(runSettings.epochs), batch \(batch + 1) of \(batches) (step \(formatThousands(step))"
                                  + (best?.loss.map { ", best valid loss \(formatFixed($0, 4))" } ?? "") + ") from \(s.path)"))
        }
        var stopped: StopReason? = nil
        training: while epoch <= runSettings.epochs {
            task.startEpoch(epoch, at: batch, rng: &rng)
            try sink.record(.epochStarted(epoch: epoch, batches: batches))
            var progress = EpochProgress(start: clock())
            while batch < batches {
                if let reason = try stopReason() { stopped = reason; break training }
                try trainOneStep(&progress)
                if runSettings.evalEvery > 0 && step % runSettings.evalEvery == 0 && batch < batches {
                    try evaluationPoint(isEpochEnd: false)
                }
            }
            batch = 0
            epoch += 1
            epochLR *= optimizer.lrDecay
            adam.lr = epochLR
            try evaluationPoint(isEpochEnd: true)
        }
        if let reason = stopped { try stop(reason) }
        var result = try finish(stopped: stopped)
        result.stepSeconds = trained.seconds; result.reduceSeconds = reduceSeconds; result.waitSeconds = waitSeconds
        if let e = exchange { result.exchanged = (e.steps, e.bytes, e.rowBytes) }
        return result
    }

    /// Loss and items of the epoch so far (for the progress bar).
    struct EpochProgress {
        var start: Double
        var loss = 0.0, items = 0
    }

    /// One step: forward and backward (the task), clipping, the learning rate, Adam; reports it.
    private func trainOneStep(_ progress: inout EpochProgress) throws {
        let t = clock()
        var out: StepOutcome
        if comm.size == 1 {
            out = task.trainStep(batch, rng: &rng)
        } else {
            // Every process draws the step's dropout from its own stream, seeded by the step and
            // the rank: the shared generator (shuffling) advances as in one process without
            // dropout, and a resumed run draws the same.
            var own = RNG(seed: task.generatorSeed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(comm.rank + 1) &* 0xD1B5_4A32_D192_ED03))
            out = task.trainStep(batch, rng: &own)
            out = try reduceStep(out)
        }
        guard out.loss.isFinite else {
            throw TrainingError.diverged(loss: out.loss, step: step + 1, epoch: epoch, kept: best == nil ? nil : output)
        }
        if let c = optimizer.clip { clipGradNorm(task.model.params, maxNorm: c) }
        if optimizer.cosine {
            var p = Double(step) / Double(runSettings.epochs * task.batchesPerEpoch)
            if let mt = runSettings.maxTime { p = max(p, (clock() - startTime) / mt) }
            adam.lr = epochLR * Trainer.cosineFactor(progress: p, floor: optimizer.lrFloor)
        }
        adam.update(task.model.params, frozen: task.frozen)
        // A finite loss does not prove finite weights: an infinite step (a huge learning rate)
        // can leave weights whose NaN the saturating activations hide from the next losses.
        guard task.model.params.allFinite() else {
            throw TrainingError.diverged(loss: out.loss, step: step + 1, epoch: epoch, kept: best == nil ? nil : output, weights: true)
        }
        updateAverage()
        step += 1; batch += 1
        let now = clock()
        stepSeconds = now - t
        let weighted = Double(out.loss) * Double(out.items)
        since.loss += weighted; since.items += out.items; since.steps += 1
        since.correct += out.correct ?? 0; since.seconds += stepSeconds
        trained.items += out.items; trained.seconds += stepSeconds
        progress.loss += weighted; progress.items += out.items
        let elapsed = now - progress.start
        let left = runSettings.maxTime.map { max(0, startTime + $0 - now - reserve()) }
        try sink.record(.batch(BatchProgress(epoch: epoch, done: batch, total: task.batchesPerEpoch, loss: progress.loss / Double(progress.items),
                                             rate: Double(progress.items) / max(elapsed, 1e-9), epochElapsed: elapsed, timeLeft: left)))
    }

    /// Data-parallel step: the batch's loss, items and right predictions summed over the
    /// processes; each process's gradient (of its share's mean loss) weighted by its share of
    /// the items, then summed: the gradient of the whole batch's mean loss.
    /// Its communication (the wait for the slowest process included) adds to `reduceSeconds`.
    private func reduceStep(_ out: StepOutcome) throws -> StepOutcome {
        let items = Double(out.items)
        var totals = [out.items > 0 ? Double(out.loss) * items : 0, items, Double(out.correct ?? 0), out.loss.isFinite ? 0 : 1]
        var t = clock()
        try comm.reduce(&totals, .sum)
        waitSeconds += clock() - t
        reduceSeconds += clock() - t
        guard totals[3] == 0, totals[1] > 0 else { return StepOutcome(loss: .nan, items: out.items) }
        let grads = task.model.params.grads
        let scale = Float(items / totals[1])
        if scale != 1, let g = grads.baseAddress {
            for i in 0 ..< grads.count { g[i] *= scale }
        }
        t = clock()
        if let exchange { try exchange.sum(grads, over: comm) } else { try comm.sum(grads) }
        reduceSeconds += clock() - t
        guard let n = Int(exactly: totals[1].rounded()), let c = Int(exactly: totals[2].rounded()) else {
            return StepOutcome(loss: .nan, items: out.items)
        }
        return StepOutcome(loss: Float(totals[0] / totals[1]), items: n, correct: out.correct == nil ? nil : c)
    }

    /// Training stops early: the final evaluation point (on what the time budget leaves).
    private func stop(_ reason: StopReason) throws {
        try sink.record(.stopping(reason))
        if let budget = runSettings.maxTime {
            let left = startTime + budget - clock() - writeSeconds - 0.1
            let need = evalEstimate((since.steps > 0 ? task.plan.validItems : 0) + task.testItems)
            if need > left { finalShare = max(0, left) / need }
        }
        if since.steps > 0 { try evaluationPoint(isEpochEnd: false, limit: finalLimit(task.plan.validItems)) }
    }

    /// The end: reports an interruption, or tests the kept weights and reports the end.
    private func finish(stopped: StopReason?) throws -> TrainingResult {
        let kept = best == nil ? nil : output
        var result = TrainingResult(history: history, checkpoint: kept, bestEpoch: best?.epoch, bestLoss: best?.loss,
                                    bestAccuracy: best?.accuracy, steps: step, stopped: stopped)
        if result.interruptedBy != nil {
            try sink.record(.interrupted(kept: kept, epoch: best?.epoch, validLoss: best?.loss))
            return result
        }
        if let kept, task.testItems > 0, comm.isRoot {
            let limit = finalLimit(task.testItems)
            try sink.record(.evaluating(epoch: best?.epoch ?? Double(epoch - 1), items: limit ?? task.testItems))
            if let limit { try sink.record(.note("testing on the first \(formatThousands(limit)) of \(formatThousands(task.testItems)) \(task.plan.itemUnit): what the time budget leaves")) }
            if let (name, ev) = try task.test(checkpoint: kept, limit: limit) {
                result.test = ev
                try sink.record(.tested(path: name, epoch: best?.epoch, loss: ev.loss, accuracy: ev.accuracy, items: ev.count))
            }
        }
        try sink.record(.finished(best: kept, epoch: best?.epoch, validLoss: best?.loss, elapsed: clock() - startTime))
        return result
    }

    /// Evaluates (on the first `limit` items only, when given), keeps the checkpoint if best,
    /// reports, writes the state (position: `epoch`, `batch`).
    private func evaluationPoint(isEpochEnd: Bool, limit: Int? = nil) throws {
        try task.gatherPosition(comm)
        guard comm.isRoot else { since = (0, 0, 0, 0, 0); return }
        let t = clock()
        let epochPos = Double(epoch - 1) + Double(batch) / Double(task.batchesPerEpoch)
        let plan = task.plan
        let partial = limit.map { $0 < plan.validItems } ?? false
        if plan.validItems > 0 { try sink.record(.evaluating(epoch: epochPos, items: limit ?? plan.validItems)) }
        if partial, let limit {
            try sink.record(.note("evaluating on the first \(formatThousands(limit)) of \(formatThousands(plan.validItems)) validation \(plan.itemUnit): what the time budget leaves"))
        }
        // With a moving average, the averaged weights are evaluated and kept (the model holds
        // them until the end of this block).
        if average != nil { swapAverage() }
        let ev: Evaluation?, evalEnd: Double, isBest: Bool
        do {
            defer { if average != nil { swapAverage() } }
            ev = partial && limit == 0 ? nil : try task.evaluate(limit: limit)
            evalEnd = clock()
            if !partial && plan.validItems > 0 { evalSecondsPerItem = (evalEnd - t) / Double(plan.validItems) }
            // Lowest finite validation loss; without validation data, the latest point. A point
            // evaluated on part of the data only is kept when nothing was kept before.
            isBest = !(partial && best != nil) && (ev.map { e in e.loss.isFinite && (best?.loss.map { e.loss < $0 } ?? true) } ?? true)
            if isBest {
                var info = baseInfo ?? task.checkpointInfo()
                baseInfo = info
                info.epoch = epochPos; info.validLoss = ev?.loss; info.validAccuracy = ev?.accuracy
                info.seed = optimizer.seed; info.commandLine = runSettings.commandLine
                info.extra["run_id"] = runID
                if optimizer.ema > 0 { info.extra["ema"] = String(optimizer.ema) }
                try Checkpoint.write(model: task.model, info: info, to: output)
                best = (epochPos, ev?.loss, ev?.accuracy)
            }
        }
        let items = Double(since.items)
        let summary = EpochSummary(epoch: epochPos, isEpochEnd: isEpochEnd,
                                   trainLoss: since.items > 0 ? since.loss / items : .nan,
                                   trainAccuracy: plan.hasAccuracy && since.items > 0 ? Double(since.correct) / items : nil,
                                   validLoss: ev?.loss, validAccuracy: ev?.accuracy,
                                   rate: since.seconds > 0 ? items / since.seconds : 0, elapsed: clock() - startTime, isBest: isBest)
        history.append(summary)
        try sink.record(.evaluated(summary))
        if isBest { try sink.record(.checkpointWritten(path: output, epoch: epochPos, validLoss: ev?.loss, best: true)) }
        try TrainingState.write(to: statePath, runID: runID, kind: task.kind, model: task.model, adam: adam, optimizer: optimizer,
                                average: average, taskSettings: task.settings, epoch: epoch, batch: batch, step: step, epochLR: epochLR, rng: rng.state,
                                best: best, history: history, taskTensors: task.savePosition)
        try sink.record(.stateWritten(path: statePath, epoch: epoch))
        since = (0, 0, 0, 0, 0)
        writeSeconds = clock() - evalEnd
    }

    /// The decay of the moving average's update after `step` earlier steps: `ema`, lower at the
    /// start, min(ema, (1 + step) / (10 + step)) (TensorFlow's ExponentialMovingAverage with
    /// num_updates), so that the average soon forgets the initial weights.
    public static func averageDecay(_ ema: Float, step: Int) -> Float {
        min(ema, Float(1 + step) / Float(10 + step))
    }

    /// average <- d * average + (1 - d) * weights, d = averageDecay(ema, step) (before `step` counts this step).
    private func updateAverage() {
        let d = Trainer.averageDecay(optimizer.ema, step: step), e = 1 - d
        let w = task.model.params.values
        average?.withUnsafeMutableBufferPointer { a in
            for i in 0 ..< min(a.count, w.count) { a[i] = d * a[i] + e * w[i] }
        }
    }

    /// Exchanges the model's weights with the moving average.
    private func swapAverage() {
        let w = task.model.params.mutableValues
        average?.withUnsafeMutableBufferPointer { a in
            for i in 0 ..< min(a.count, w.count) { let t = a[i]; a[i] = w[i]; w[i] = t }
        }
    }

    /// The cosine schedule's multiplier at `progress` in [0, 1]: 1 at the start, `floor` at the end.
    public static func cosineFactor(progress: Double, floor: Float) -> Float {
        let f = Float(0.5 * (1 + _cos(Double.pi * min(1, max(0, progress)))))
        return floor + (1 - floor) * f
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif

/// The sink of the processes that do not report (data-parallel ranks other than 0).
final class NoSink: TrainingSink {
    func record(_ event: TrainingEvent) throws {}
}
