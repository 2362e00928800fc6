// Training events (STYLE.md example 11).
//
// The trainer (classification or language model, Trainer.swift) reports what happens as
// `TrainingEvent`s to a `TrainingSink`; it never prints. The command decides how to show them
// (RNNTrainCLI: a console with a progress bar, a JSON Lines log, an SVG plot). Tests capture the
// events with `EventRecorder`.
//
// Units: losses are in nats (mean per item for classifiers, per predicted token for language
// models); `TrainingPlan.showBits` adds bits per character (nats x log2 e). Accuracy is a fraction
// in [0, 1] and optional. Epochs are Doubles: evaluations may happen inside an epoch (every N
// steps, or when a stop is requested), at fractional epochs such as 0.25.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNCore
import RNNEngine

/// What a training run will do, reported once at the start.
public struct TrainingPlan: Sendable, Equatable {
    /// "classifier" or "lm" (written to the log).
    public var task: String
    /// Last epoch the run trains (epochs are numbered from 1).
    public var epochs: Int
    /// First epoch this run trains (> 1 when resuming).
    public var firstEpoch: Int
    /// Optimizer steps per epoch.
    public var batchesPerEpoch: Int
    /// Items (reviews, characters, ...) per epoch.
    public var itemsPerEpoch: Int
    /// Plural name of an item in rates: "reviews", "chars", "tokens".
    public var itemUnit: String
    /// Items in the validation data (0: none).
    public var validItems: Int
    /// Accuracy is measured and shown.
    public var hasAccuracy: Bool
    /// Also show losses in bits (bits per character for character models).
    public var showBits: Bool
    /// The engine's kernel set ("baseline", "v3", "v4": EngineKernels; "v4+bf16" with training
    /// products in bfloat16) and OpenBLAS's kernels.
    public var kernels: String, blasKernels: String

    /// The `kernels` value of a run: the set in use, "+bf16" when the model trains in bfloat16.
    public static func kernelName(bf16: Bool) -> String {
        EngineKernels.setName + (bf16 ? "+bf16" : "")
    }

    /// Memberwise initialiser (the kernel sets default to the ones in use).
    public init(task: String, epochs: Int, firstEpoch: Int = 1, batchesPerEpoch: Int, itemsPerEpoch: Int,
                itemUnit: String, validItems: Int, hasAccuracy: Bool, showBits: Bool = false,
                kernels: String = EngineKernels.setName, blasKernels: String = BLASKernels.name) {
        self.task = task; self.epochs = epochs; self.firstEpoch = firstEpoch; self.batchesPerEpoch = batchesPerEpoch
        self.itemsPerEpoch = itemsPerEpoch; self.itemUnit = itemUnit; self.validItems = validItems
        self.hasAccuracy = hasAccuracy; self.showBits = showBits; self.kernels = kernels; self.blasKernels = blasKernels
    }
}

/// Progress inside an epoch, reported after every batch (sinks throttle their drawing).
public struct BatchProgress: Sendable, Equatable {
    /// Epoch being trained (from 1).
    public var epoch: Int
    /// Batches done in this epoch, 1...total.
    public var done: Int
    /// Batches in this epoch.
    public var total: Int
    /// Mean training loss over this epoch's batches so far (nats).
    public var loss: Double
    /// Items per second over this epoch so far.
    public var rate: Double
    /// Seconds since this epoch started.
    public var epochElapsed: Double
    /// Seconds until the time budget stops training (its final evaluation included), when there
    /// is one: the ETA is the earlier of the epoch's end and this.
    public var timeLeft: Double?

    /// Memberwise initialiser.
    public init(epoch: Int, done: Int, total: Int, loss: Double, rate: Double, epochElapsed: Double, timeLeft: Double? = nil) {
        self.epoch = epoch; self.done = done; self.total = total; self.loss = loss; self.rate = rate
        self.epochElapsed = epochElapsed; self.timeLeft = timeLeft
    }

    /// Seconds until this epoch ends or the time budget runs out, whichever comes first.
    public var eta: Double {
        let epochLeft = done > 0 ? epochElapsed / Double(done) * Double(total - done) : .infinity
        return min(epochLeft, timeLeft ?? .infinity)
    }
}

/// One evaluation point: the end of an epoch, or an intermediate evaluation (language models).
public struct EpochSummary: Sendable, Equatable {
    /// Epoch position: whole numbers at epoch ends, fractions for intermediate evaluations.
    public var epoch: Double
    /// True at the end of an epoch.
    public var isEpochEnd: Bool
    /// Mean training loss since the previous evaluation point (nats).
    public var trainLoss: Double
    /// Training accuracy over the same batches (with dropout), nil when not measured.
    public var trainAccuracy: Double?
    /// Validation loss (nats), nil when there is no validation data.
    public var validLoss: Double?
    /// Validation accuracy, nil when not measured.
    public var validAccuracy: Double?
    /// Training items per second since the previous evaluation point (evaluation time excluded).
    public var rate: Double
    /// Seconds since the run started (this process).
    public var elapsed: Double
    /// This point has the lowest validation loss so far (its checkpoint is kept).
    public var isBest: Bool

    /// Memberwise initialiser.
    public init(epoch: Double, isEpochEnd: Bool = true, trainLoss: Double, trainAccuracy: Double? = nil,
                validLoss: Double? = nil, validAccuracy: Double? = nil, rate: Double, elapsed: Double, isBest: Bool = false) {
        self.epoch = epoch; self.isEpochEnd = isEpochEnd; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.validLoss = validLoss; self.validAccuracy = validAccuracy; self.rate = rate; self.elapsed = elapsed
        self.isBest = isBest
    }
}

/// Everything a trainer reports.
public enum TrainingEvent: Sendable, Equatable {
    /// The run starts (once).
    case started(TrainingPlan)
    /// An epoch starts.
    case epochStarted(epoch: Int, batches: Int)
    /// A batch finished.
    case batch(BatchProgress)
    /// Evaluation on `items` validation (or test) items starts (drawn on a terminal only).
    case evaluating(epoch: Double, items: Int)
    /// An evaluation point (every epoch end; language models may add fractional ones).
    case evaluated(EpochSummary)
    /// A checkpoint file was written (atomically). `best`: it is the best so far.
    case checkpointWritten(path: String, epoch: Double, validLoss: Double?, best: Bool)
    /// The training-state file (for --resume) was written.
    case stateWritten(path: String, epoch: Int)
    /// A free-form note for the user ("resuming from epoch 2 of 3", ...).
    case note(String)
    /// The kept weights were evaluated on test data (`path`, `items` records).
    case tested(path: String, epoch: Double?, loss: Double, accuracy: Double?, items: Int)
    /// Training stops early (a signal, or the time budget): the final evaluation follows.
    case stopping(StopReason)
    /// A signal stopped training (after its final evaluation). `kept`: the checkpoint left on
    /// disk, if any.
    case interrupted(kept: String?, epoch: Double?, validLoss: Double?)
    /// The run finished normally.
    case finished(best: String?, epoch: Double?, validLoss: Double?, elapsed: Double)
}

/// Why training stops before its last epoch.
public enum StopReason: Sendable, Equatable {
    /// SIGINT (Ctrl-C), SIGTERM or SIGHUP.
    case signal(Int32)
    /// The time budget (seconds) leaves no room for another step before the final evaluation.
    case timeBudget(seconds: Double, step: Int)
}

/// Receives training events (STYLE.md example 11).
public protocol TrainingSink: AnyObject {
    /// Handles one event. Errors (e.g. a log file that cannot be written) stop training.
    func record(_ event: TrainingEvent) throws
}

/// Sends every event to several sinks, in order.
public final class SinkList: TrainingSink {
    /// The sinks.
    public private(set) var sinks: [any TrainingSink]
    /// Fans out to `sinks`.
    public init(_ sinks: [any TrainingSink] = []) { self.sinks = sinks }
    /// Adds a sink.
    public func append(_ sink: any TrainingSink) { sinks.append(sink) }
    public func record(_ event: TrainingEvent) throws { for s in sinks { try s.record(event) } }
}

/// Keeps every event (tests, and callers that want a history).
public final class EventRecorder: TrainingSink {
    /// Events in the order received.
    public private(set) var events: [TrainingEvent] = []
    /// Records batch events too when true (default false: they are many).
    public let keepBatches: Bool
    public init(keepBatches: Bool = false) { self.keepBatches = keepBatches }
    public func record(_ event: TrainingEvent) throws {
        if case .batch = event, !keepBatches { return }
        events.append(event)
    }
    /// The evaluation points received.
    public var summaries: [EpochSummary] {
        events.compactMap { if case .evaluated(let s) = $0 { return s }; return nil }
    }
}

/// Formats seconds as `m:ss` or `h:mm:ss`.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return "--:--" }
    let s = Int(seconds.rounded())
    let h = s / 3600, m = (s / 60) % 60, sec = s % 60
    let ss = sec < 10 ? "0\(sec)" : "\(sec)"
    if h > 0 { return "\(h):\(m < 10 ? "0" : "")\(m):\(ss)" }
    return "\(m):\(ss)"
}

/// Formats an epoch position: "3" for whole epochs, "2.25" otherwise.
public func formatEpoch(_ e: Double) -> String {
    e.rounded() == e && abs(e) < 1e15 ? String(Int(e)) : formatFixed(e, 2)
}

/// log2(e): nats -> bits.
public let bitsPerNat = 1.4426950408889634

