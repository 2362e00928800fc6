// How `rnn-fit` shows training: the sinks of the trainer's event stream (RNNTrain/Events.swift).
//
// `ConsoleSink`: on a terminal, a progress bar with ETA redrawn in place (carriage return, clear to
// end of line), never wider than the terminal; one line per evaluation; plain lines only when
// stderr is not a terminal. `JSONLinesLogSink` (`--log`), `SVGPlot` (`--plot`); several at once
// with `SinkList`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNCore
import RNNTrain

/// Columns of the terminal on file descriptor `fd` (nil when it is not a terminal or says 0).
public func terminalColumns(_ fd: Int32 = 2) -> Int? {
    var ws = winsize()
    #if canImport(Glibc)
    let request = UInt(TIOCGWINSZ)
    #else
    let request = TIOCGWINSZ
    #endif
    guard ioctl(fd, request, &ws) == 0, ws.ws_col > 0 else { return nil }
    return Int(ws.ws_col)
}

/// The progress line of a batch, at most `width - 1` characters (the last column is left free:
/// writing it makes some terminals wrap). Parts are dropped, least useful first, until it fits.
public func progressLine(_ b: BatchProgress, epochs: Int, unit: String, width: Int) -> String {
    let frac = b.total > 0 ? Double(b.done) / Double(b.total) : 1
    let head = "epoch \(b.epoch)/\(epochs)"
    let percent = "\(Int(frac * 100))%"
    let count = "\(b.done)/\(b.total)"
    let loss = "loss \(formatFixed(b.loss, 4))"
    let rate = "\(formatThousands(Int(b.rate.isFinite ? min(b.rate, 1e15) : 0))) \(unit)/s"
    let eta = "ETA \(formatDuration(b.eta))"
    let limit = max(1, width - 1)
    // Most useful first; parts are removed from the end of `optional` while the line is too long.
    var optional = [percent, loss, eta, count, rate]
    let order = [percent, count, loss, rate, eta]   // display order
    while true {
        let parts = order.filter { optional.contains($0) }
        let text = parts.joined(separator: " ")
        let fixed = head.count + 2 + (text.isEmpty ? 0 : text.count + 1)   // "head " + "[" + "] " + text
        let barWidth = min(24, limit - fixed - 1)
        if barWidth >= 5 || optional.isEmpty {
            var line = head
            if barWidth >= 5 {
                let filled = Int(frac * Double(barWidth))
                line += " [" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]"
            }
            if !text.isEmpty { line += " " + text }
            return String(line.prefix(limit))
        }
        optional.removeLast()
    }
}

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
    private let columns: () -> Int

    /// `tty`: draw the progress bar (default: stderr is a terminal). `columns`: the terminal's
    /// width, asked at every redraw (default: stderr's, else $COLUMNS, else 80). `write`: where
    /// text goes (default: stderr, unbuffered).
    public init(tty: Bool = Diagnostics.stderrIsTTY,
                columns: @escaping () -> Int = { terminalColumns(2) ?? getenv("COLUMNS").flatMap { Int(String(cString: $0)) } ?? 80 },
                write: @escaping (String) -> Void = Diagnostics.write) {
        self.tty = tty
        self.columns = columns
        self.write = write
    }

    /// Draws `text` over the current line, cut to the terminal's width.
    private func redraw(_ text: String) {
        write("\r\u{1B}[K" + String(text.prefix(max(1, columns() - 1))))
        barShown = true
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
            redraw(progressLine(b, epochs: plan.epochs, unit: plan.itemUnit, width: columns()))
        case .evaluating(let epoch, let items):
            guard tty else { return }
            redraw("epoch \(formatEpoch(epoch))/\(plan.epochs) evaluating on \(formatThousands(items)) \(plan.itemUnit) ...")
        case .stopping(let reason):
            clearBar()
            switch reason {
            case .signal(let sig):
                write("\(signalName(sig)): stopping after this step; evaluating and keeping the best checkpoint (again to stop at once)\n")
            case .timeBudget(let seconds, let step):
                write("time budget of \(formatDuration(seconds)) reached at step \(formatThousands(step)); evaluating\n")
            }
        case .evaluated(let s):
            clearBar()
            var line = "epoch \(formatEpoch(s.epoch))/\(plan.epochs)  train loss \(loss(s.trainLoss))"
            if plan.hasAccuracy, let a = s.trainAccuracy { line += " acc \(percent(a))" }
            if let v = s.validLoss {
                line += "  valid loss \(loss(v))"
                if plan.hasAccuracy { line += " acc \(percent(s.validAccuracy))" }
            }
            line += "  \(formatThousands(Int(s.rate.isFinite ? min(max(s.rate, 0), 1e15).rounded() : 0))) \(plan.itemUnit)/s  elapsed \(formatDuration(s.elapsed))"
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
/// Lines: `{"event":"start",...,"kernels":"v3","blas_kernels":"Zen"}` (the engine's kernel set and
/// OpenBLAS's), `{"event":"epoch","epoch":1,"train_loss":..,"train_acc":..,
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
                      JSONMember("valid_items", .number(Double(p.validItems))), JSONMember("kernels", .string(p.kernels)),
                      JSONMember("blas_kernels", .string(p.blasKernels))])
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
        case .epochStarted, .batch, .evaluating, .stateWritten, .note, .stopping:
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
        // The points so far (not the planned epochs: a run stopped early fills the panel too).
        let maxEpoch = max(all.map { $0.0 }.max() ?? 1, 1)
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
        let xEnd = maxEpoch + (maxEpoch - minEpoch) * 0.03   // room for the last point's marker
        func X(_ e: Double) -> Double { x0 + (e - minEpoch) / max(xEnd - minEpoch, 1e-9) * w }
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

/// "Ctrl-C" for SIGINT, else the signal's name.
func signalName(_ sig: Int32) -> String {
    switch sig {
    case SIGINT: return "Ctrl-C"
    case SIGTERM: return "SIGTERM"
    case SIGHUP: return "SIGHUP"
    case SIGUSR1: return "SIGUSR1"
    default: return "signal \(sig)"
    }
}
