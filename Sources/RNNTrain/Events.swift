// Training events and the sinks that show them (STYLE.md example 11).
//
// A trainer (classification or language model) reports what happens as `TrainingEvent`s to a
// `TrainingSink`; it never prints. The CLI decides how to show them: `ConsoleSink` (a progress
// bar with ETA redrawn on stderr when it is a terminal, one plain line per epoch otherwise),
// `JSONLinesLogSink` (`--log`), `SVGPlot` (`--plot`), or several at once with `SinkList`.
// Tests capture the events with `EventRecorder`.
//
// Units: losses are in nats (mean per item for classifiers, per predicted token for language
// models); `TrainingPlan.showBits` adds bits per character (nats x log2 e). Accuracy is a fraction
// in [0, 1] and optional. Epochs are Doubles so that a language model can report evaluations at
// fractional epochs (e.g. 0.25, 0.5, ...); a classifier reports whole epochs.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNCore

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

    /// Memberwise initialiser.
    public init(task: String, epochs: Int, firstEpoch: Int = 1, batchesPerEpoch: Int, itemsPerEpoch: Int,
                itemUnit: String, validItems: Int, hasAccuracy: Bool, showBits: Bool = false) {
        self.task = task; self.epochs = epochs; self.firstEpoch = firstEpoch; self.batchesPerEpoch = batchesPerEpoch
        self.itemsPerEpoch = itemsPerEpoch; self.itemUnit = itemUnit; self.validItems = validItems
        self.hasAccuracy = hasAccuracy; self.showBits = showBits
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

    /// Memberwise initialiser.
    public init(epoch: Int, done: Int, total: Int, loss: Double, rate: Double, epochElapsed: Double) {
        self.epoch = epoch; self.done = done; self.total = total; self.loss = loss; self.rate = rate
        self.epochElapsed = epochElapsed
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
    /// Ctrl-C: training stopped between batches. `kept`: the checkpoint left on disk, if any.
    case interrupted(kept: String?, epoch: Double?, validLoss: Double?)
    /// The run finished normally.
    case finished(best: String?, epoch: Double?, validLoss: Double?, elapsed: Double)
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

/// Seconds on a monotonic clock (for rates and elapsed times).
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Formats seconds as `m:ss` or `h:mm:ss`.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "--:--" }
    let s = Int(seconds.rounded())
    let h = s / 3600, m = (s / 60) % 60, sec = s % 60
    let ss = sec < 10 ? "0\(sec)" : "\(sec)"
    if h > 0 { return "\(h):\(m < 10 ? "0" : "")\(m):\(ss)" }
    return "\(m):\(ss)"
}

/// Formats an epoch position: "3" for whole epochs, "2.25" otherwise.
func formatEpoch(_ e: Double) -> String {
    e.rounded() == e ? String(Int(e)) : formatFixed(e, 2)
}

/// log2(e): nats -> bits.
let bitsPerNat = 1.4426950408889634

// MARK: console

/// Shows training on stderr: on a terminal, a progress bar with ETA redrawn in place (at most
/// ~8 times a second) plus one line per evaluation; otherwise only the lines.
public final class ConsoleSink: TrainingSink {
    private let tty: Bool
    private let write: (String) -> Void
    private var plan = TrainingPlan(task: "", epochs: 0, batchesPerEpoch: 0, itemsPerEpoch: 0, itemUnit: "items",
                                    validItems: 0, hasAccuracy: false)
    private var lastDraw = -1.0
    private var barShown = false

    /// `tty`: draw the progress bar (default: stderr is a terminal). `write`: where text goes
    /// (default: stderr, unbuffered).
    public init(tty: Bool = Diagnostics.stderrIsTTY, write: @escaping (String) -> Void = Diagnostics.write) {
        self.tty = tty
        self.write = write
    }

    private func clearBar() {
        if barShown { write("\r\u{1B}[K"); barShown = false }
    }

    private func loss(_ x: Double) -> String {
        plan.showBits ? "\(formatFixed(x, 4)) (\(formatFixed(x * bitsPerNat, 3)) bits)" : formatFixed(x, 4)
    }

    private func percent(_ x: Double?) -> String { x.map { formatFixed($0 * 100, 2) + "%" } ?? "-" }

    public func record(_ event: TrainingEvent) throws {
        switch event {
        case .started(let p):
            plan = p
        case .epochStarted:
            lastDraw = -1
        case .batch(let b):
            guard tty else { return }
            let now = monotonicSeconds()
            if b.done < b.total && now - lastDraw < 0.125 { return }
            lastDraw = now
            let width = 24
            let frac = b.total > 0 ? Double(b.done) / Double(b.total) : 1
            let filled = Int(frac * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let eta = b.done > 0 ? b.epochElapsed / Double(b.done) * Double(b.total - b.done) : .infinity
            write("\r\u{1B}[Kepoch \(b.epoch)/\(plan.epochs) [\(bar)] \(Int(frac * 100))% \(b.done)/\(b.total)"
                  + " loss \(formatFixed(b.loss, 4)) \(formatThousands(Int(b.rate))) \(plan.itemUnit)/s ETA \(formatDuration(eta))")
            barShown = true
        case .evaluating(let epoch, let items):
            guard tty else { return }
            write("\r\u{1B}[Kepoch \(formatEpoch(epoch))/\(plan.epochs) evaluating on \(formatThousands(items)) \(plan.itemUnit) ...")
            barShown = true
        case .evaluated(let s):
            clearBar()
            var line = "epoch \(formatEpoch(s.epoch))/\(plan.epochs)  train loss \(loss(s.trainLoss))"
            if plan.hasAccuracy, let a = s.trainAccuracy { line += " acc \(percent(a))" }
            if let v = s.validLoss {
                line += "  valid loss \(loss(v))"
                if plan.hasAccuracy { line += " acc \(percent(s.validAccuracy))" }
            }
            line += "  \(formatThousands(Int(s.rate.rounded()))) \(plan.itemUnit)/s  elapsed \(formatDuration(s.elapsed))"
            if s.isBest { line += "  *" }
            write(line + "\n")
        case .checkpointWritten:
            break   // the "*" of the evaluation line says it; the final line names the file
        case .stateWritten:
            break
        case .note(let text):
            clearBar()
            write(text + "\n")
        case .tested(let path, let epoch, let loss, let accuracy, let items):
            clearBar()
            var line = "test: loss \(formatFixed(loss, 4))"
            if let accuracy { line += " accuracy \(percent(accuracy))" }
            line += " on \(formatThousands(items)) \(plan.itemUnit) (\(path)"
            write(line + (epoch.map { ", weights of epoch \(formatEpoch($0)))\n" } ?? ")\n"))
        case .interrupted(let kept, let epoch, let vl):
            clearBar()
            if let kept {
                var what = "interrupted: kept \(kept)"
                if let epoch { what += " (epoch \(formatEpoch(epoch))" + (vl.map { ", valid loss \(formatFixed($0, 4)))" } ?? ")") }
                write(what + "\n")
            } else {
                write("interrupted: no checkpoint was written yet\n")
            }
        case .finished(let best, let epoch, let vl, let elapsed):
            clearBar()
            if let best {
                var what = "kept \(best)"
                if let epoch { what += " (epoch \(formatEpoch(epoch))" + (vl.map { ", valid loss \(formatFixed($0, 4))" } ?? "") + ")" }
                write(what + " in \(formatDuration(elapsed))\n")
            }
        }
    }
}

// MARK: JSON Lines log

/// `--log FILE`: one JSON object per evaluation point (and per start, checkpoint, interruption,
/// end), written and flushed line by line so the file can be followed with `tail -f`.
///
/// Lines: `{"event":"start",...}`, `{"event":"epoch","epoch":1,"train_loss":..,"train_acc":..,
/// "valid_loss":..,"valid_acc":..,"rate":..,"unit":"reviews","elapsed":..,"best":true}`
/// (`"event":"eval"` for intermediate points; bits fields `train_bits`/`valid_bits` when the plan
/// shows bits), `{"event":"checkpoint","path":..,"epoch":..,"valid_loss":..}`,
/// `{"event":"test","path":..,"loss":..,"accuracy":..,"items":..}`, `{"event":"interrupted",...}`,
/// `{"event":"end",...}`.
public final class JSONLinesLogSink: TrainingSink {
    /// Path of the log.
    public let path: String
    private let fd: Int32
    private let out: BufferedOutput
    private var plan: TrainingPlan?

    /// Creates (truncates) the log, or appends to it when `append` (resumed runs).
    public init(path: String, append: Bool = false) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
        if fd < 0 { throw RNNError(path: path, "cannot create log file: \(String(cString: strerror(errno)))") }
        out = BufferedOutput(fd: fd, name: path)
    }

    deinit { close(fd) }

    private func emit(_ members: [JSONMember]) throws {
        var bytes: [UInt8] = []
        JSONWriter.append(.object(members), into: &bytes)
        bytes.append(0x0A)
        try out.write(bytes)
        try out.flush()
    }

    private static func num(_ x: Double?) -> JSONValue { x.map { $0.isFinite ? .number($0) : .null } ?? .null }

    public func record(_ event: TrainingEvent) throws {
        let n = JSONLinesLogSink.num
        switch event {
        case .started(let p):
            plan = p
            try emit([JSONMember("event", .string("start")), JSONMember("task", .string(p.task)),
                      JSONMember("epochs", .number(Double(p.epochs))), JSONMember("first_epoch", .number(Double(p.firstEpoch))),
                      JSONMember("batches_per_epoch", .number(Double(p.batchesPerEpoch))),
                      JSONMember("items_per_epoch", .number(Double(p.itemsPerEpoch))), JSONMember("unit", .string(p.itemUnit)),
                      JSONMember("valid_items", .number(Double(p.validItems)))])
        case .evaluated(let s):
            var m = [JSONMember("event", .string(s.isEpochEnd ? "epoch" : "eval")), JSONMember("epoch", .number(s.epoch)),
                     JSONMember("train_loss", n(s.trainLoss))]
            if plan?.showBits == true { m.append(JSONMember("train_bits", n(s.trainLoss * bitsPerNat))) }
            if plan?.hasAccuracy ?? (s.trainAccuracy != nil) { m.append(JSONMember("train_acc", n(s.trainAccuracy))) }
            m.append(JSONMember("valid_loss", n(s.validLoss)))
            if plan?.showBits == true { m.append(JSONMember("valid_bits", n(s.validLoss.map { $0 * bitsPerNat }))) }
            if plan?.hasAccuracy ?? (s.validAccuracy != nil) { m.append(JSONMember("valid_acc", n(s.validAccuracy))) }
            m += [JSONMember("rate", n(s.rate)), JSONMember("unit", .string(plan?.itemUnit ?? "items")),
                  JSONMember("elapsed", n(s.elapsed)), JSONMember("best", .bool(s.isBest))]
            try emit(m)
        case .checkpointWritten(let path, let epoch, let vl, let best):
            try emit([JSONMember("event", .string("checkpoint")), JSONMember("path", .string(path)),
                      JSONMember("epoch", .number(epoch)), JSONMember("valid_loss", n(vl)), JSONMember("best", .bool(best))])
        case .tested(let path, let epoch, let loss, let accuracy, let items):
            try emit([JSONMember("event", .string("test")), JSONMember("path", .string(path)), JSONMember("epoch", n(epoch)),
                      JSONMember("loss", n(loss)), JSONMember("accuracy", n(accuracy)), JSONMember("items", .number(Double(items)))])
        case .interrupted(let kept, let epoch, let vl):
            try emit([JSONMember("event", .string("interrupted")), JSONMember("kept", kept.map { .string($0) } ?? .null),
                      JSONMember("epoch", n(epoch)), JSONMember("valid_loss", n(vl))])
        case .finished(let best, let epoch, let vl, let elapsed):
            try emit([JSONMember("event", .string("end")), JSONMember("best", best.map { .string($0) } ?? .null),
                      JSONMember("epoch", n(epoch)), JSONMember("valid_loss", n(vl)), JSONMember("elapsed", n(elapsed))])
        case .epochStarted, .batch, .evaluating, .stateWritten, .note:
            break
        }
    }
}

// MARK: SVG plot

/// `--plot FILE.svg`: training and validation loss (left panel) and accuracy (right panel, when
/// measured) against the epoch, redrawn and written atomically at every evaluation point so the
/// file is always complete. The best point (lowest validation loss) is circled.
public final class SVGPlot: TrainingSink {
    /// Path of the SVG.
    public let path: String
    /// Title drawn above the panels.
    public var title: String
    /// The evaluation points so far (a resumed run may seed it with the history).
    public var points: [EpochSummary]
    private var plan: TrainingPlan?

    /// Plots into `path`; `points`: earlier history (resume).
    public init(path: String, title: String = "training curves", points: [EpochSummary] = []) {
        self.path = path
        self.title = title
        self.points = points
    }

    public func record(_ event: TrainingEvent) throws {
        switch event {
        case .started(let p): plan = p
        case .evaluated(let s):
            points.append(s)
            try AtomicFile.write(Array(render().utf8), to: path)
        default: break
        }
    }

    /// The SVG document for the current points.
    public func render() -> String {
        let hasAcc = plan?.hasAccuracy ?? points.contains { $0.trainAccuracy != nil || $0.validAccuracy != nil }
        let panelW = 420.0, panelH = 300.0, margin = (l: 64.0, r: 16.0, t: 56.0, b: 72.0)
        let panels = hasAcc ? 2 : 1
        let width = Double(panels) * (margin.l + panelW + margin.r)
        let height = margin.t + panelH + margin.b
        var svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"white\"/>\n"
        svg += "<text x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(xmlEscape(title))</text>\n"
        let bestIndex = points.indices.filter { points[$0].validLoss != nil }.min { points[$0].validLoss! < points[$1].validLoss! }
        let lossLabel = plan?.showBits == true ? "loss (nats; bits = nats x 1.443)" : "loss (nats)"
        svg += panel(x0: margin.l, y0: margin.t, w: panelW, h: panelH, name: "loss", yLabel: lossLabel,
                     train: points.map { ($0.epoch, $0.trainLoss) }, valid: points.compactMap { p in p.validLoss.map { (p.epoch, $0) } },
                     best: bestIndex.map { (points[$0].epoch, points[$0].validLoss!) }, percent: false)
        if hasAcc {
            let x0 = margin.l + panelW + margin.r + margin.l
            svg += panel(x0: x0, y0: margin.t, w: panelW, h: panelH, name: "accuracy", yLabel: "accuracy (%)",
                         train: points.compactMap { p in p.trainAccuracy.map { (p.epoch, $0 * 100) } },
                         valid: points.compactMap { p in p.validAccuracy.map { (p.epoch, $0 * 100) } },
                         best: bestIndex.flatMap { i in points[i].validAccuracy.map { (points[i].epoch, $0 * 100) } }, percent: true)
        }
        // legend, centred under the panels
        let ly = height - 20
        let lx = width / 2 - 150
        svg += "<g class=\"legend\">\n"
        svg += "<line x1=\"\(f(lx))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 28))\" y2=\"\(f(ly))\" stroke=\"\(SVGPlot.trainColor)\" stroke-width=\"2.5\"/>"
        svg += "<text x=\"\(f(lx + 34))\" y=\"\(f(ly + 4))\">train</text>\n"
        svg += "<line x1=\"\(f(lx + 90))\" y1=\"\(f(ly))\" x2=\"\(f(lx + 118))\" y2=\"\(f(ly))\" stroke=\"\(SVGPlot.validColor)\" stroke-width=\"2.5\" stroke-dasharray=\"6 3\"/>"
        svg += "<text x=\"\(f(lx + 124))\" y=\"\(f(ly + 4))\">validation</text>\n"
        svg += "<circle cx=\"\(f(lx + 208))\" cy=\"\(f(ly))\" r=\"6\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>"
        svg += "<text x=\"\(f(lx + 220))\" y=\"\(f(ly + 4))\">best (kept)</text>\n"
        svg += "</g>\n</svg>\n"
        return svg
    }

    static let trainColor = "#1f77b4"
    static let validColor = "#d62728"

    private func f(_ x: Double) -> String { formatFixed(x, 1) }

    /// One panel: frame, grid, ticks, axis labels, the two series and the best marker.
    private func panel(x0: Double, y0: Double, w: Double, h: Double, name: String, yLabel: String,
                       train: [(Double, Double)], valid: [(Double, Double)], best: (Double, Double)?, percent: Bool) -> String {
        let all = (train + valid).filter { $0.1.isFinite }
        let maxEpoch = max(all.map { $0.0 }.max() ?? 1, Double(plan?.epochs ?? 1), 1)
        let minEpoch = min(all.map { $0.0 }.min() ?? 0, 0)
        var lo = all.map { $0.1 }.min() ?? 0, hi = all.map { $0.1 }.max() ?? 1
        if percent { hi = min(100, hi); lo = max(0, lo) }
        if hi - lo < 1e-9 { lo -= percent ? 1 : 0.05; hi += percent ? 1 : 0.05 }
        let pad = (hi - lo) * 0.08
        lo -= pad; hi += pad
        if !percent { lo = max(0, lo) } else { lo = max(0, lo); hi = min(100, hi) }
        let yt = niceTicks(lo, hi, count: 6)
        lo = min(lo, yt.first ?? lo); hi = max(hi, yt.last ?? hi)
        let xt = niceTicks(minEpoch, maxEpoch, count: min(10, max(2, Int(maxEpoch - minEpoch) + 1)))
            .filter { $0 >= minEpoch - 1e-9 && $0 <= maxEpoch + 1e-9 }
        func X(_ e: Double) -> Double { x0 + (e - minEpoch) / max(maxEpoch - minEpoch, 1e-9) * w }
        func Y(_ v: Double) -> Double { y0 + h - (v - lo) / max(hi - lo, 1e-12) * h }
        var s = "<g class=\"panel\" id=\"\(name)\">\n"
        s += "<text x=\"\(f(x0 + w / 2))\" y=\"\(f(y0 - 10))\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(name)</text>\n"
        for t in yt where t >= lo - 1e-9 && t <= hi + 1e-9 {
            let y = Y(t)
            s += "<line x1=\"\(f(x0))\" y1=\"\(f(y))\" x2=\"\(f(x0 + w))\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>"
            s += "<line x1=\"\(f(x0 - 5))\" y1=\"\(f(y))\" x2=\"\(f(x0))\" y2=\"\(f(y))\" stroke=\"black\"/>"
            s += "<text x=\"\(f(x0 - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(tickLabel(t, yt))</text>\n"
        }
        for t in xt {
            let x = X(t)
            s += "<line x1=\"\(f(x))\" y1=\"\(f(y0))\" x2=\"\(f(x))\" y2=\"\(f(y0 + h))\" stroke=\"#f0f0f0\"/>"
            s += "<line x1=\"\(f(x))\" y1=\"\(f(y0 + h))\" x2=\"\(f(x))\" y2=\"\(f(y0 + h + 5))\" stroke=\"black\"/>"
            s += "<text x=\"\(f(x))\" y=\"\(f(y0 + h + 19))\" text-anchor=\"middle\">\(tickLabel(t, xt))</text>\n"
        }
        s += "<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\(f(x0 + w / 2))\" y=\"\(f(y0 + h + 38))\" text-anchor=\"middle\">epoch</text>\n"
        s += "<text transform=\"translate(\(f(x0 - 48)) \(f(y0 + h / 2))) rotate(-90)\" text-anchor=\"middle\">\(xmlEscape(yLabel))</text>\n"
        func series(_ pts: [(Double, Double)], _ cls: String, _ color: String, _ dash: String) -> String {
            let p = pts.filter { $0.1.isFinite }
            guard !p.isEmpty else { return "" }
            var out = "<polyline class=\"\(cls)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.5\"\(dash) points=\""
            out += p.map { "\(f(X($0.0))),\(f(Y($0.1)))" }.joined(separator: " ") + "\"/>\n"
            for q in p {
                out += "<circle class=\"\(cls)-point\" cx=\"\(f(X(q.0)))\" cy=\"\(f(Y(q.1)))\" r=\"3\" fill=\"\(color)\"><title>\(cls) epoch \(formatEpoch(q.0)): \(formatFixed(q.1, 4))</title></circle>\n"
            }
            return out
        }
        s += series(train, "train", SVGPlot.trainColor, "")
        s += series(valid, "valid", SVGPlot.validColor, " stroke-dasharray=\"6 3\"")
        if let b = best, b.1.isFinite {
            s += "<circle class=\"best\" cx=\"\(f(X(b.0)))\" cy=\"\(f(Y(b.1)))\" r=\"7\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>\n"
        }
        s += "</g>\n"
        return s
    }
}

/// "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi] with about `count` ticks.
func niceTicks(_ lo: Double, _ hi: Double, count: Int) -> [Double] {
    guard lo.isFinite, hi.isFinite, hi > lo, count >= 2 else { return [lo] }
    let raw = (hi - lo) / Double(count - 1)
    let mag = pow(10, (log10(raw)).rounded(.down))
    let norm = raw / mag
    let step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag
    let k0 = (lo / step + 1e-9).rounded(.down)
    var out: [Double] = []
    for i in 0 ..< 50 {
        let t = (k0 + Double(i)) * step
        out.append(abs(t) < step * 1e-9 ? 0 : t)
        if t >= hi - step * 1e-9 { break }
    }
    return out
}

/// A tick label with just enough decimals for the tick step.
func tickLabel(_ v: Double, _ ticks: [Double]) -> String {
    let step = ticks.count > 1 ? abs(ticks[1] - ticks[0]) : 1
    var decimals = 0
    var s = step
    while s.rounded() != s && decimals < 6 { s *= 10; decimals += 1; if abs(s - s.rounded()) < 1e-6 { break } }
    return formatFixed(v, decimals)
}

/// Escapes text for XML content and attributes.
func xmlEscape(_ s: String) -> String {
    var out = ""
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}
