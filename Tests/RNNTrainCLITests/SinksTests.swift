import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import RNNCore
@testable import RNNTrain
@testable import RNNTrainCLI

final class SinksTests: XCTestCase {
    private func tempPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("rnn-events-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)").path
    }

    private let plan = TrainingPlan(task: "classifier", epochs: 3, batchesPerEpoch: 10, itemsPerEpoch: 320,
                                    itemUnit: "reviews", validItems: 80, hasAccuracy: true)

    private func summaries() -> [EpochSummary] {
        [EpochSummary(epoch: 1, trainLoss: 0.61, trainAccuracy: 0.66, validLoss: 0.45, validAccuracy: 0.79, rate: 300, elapsed: 10, isBest: true),
         EpochSummary(epoch: 2, trainLoss: 0.38, trainAccuracy: 0.84, validLoss: 0.33, validAccuracy: 0.861, rate: 310, elapsed: 20, isBest: true),
         EpochSummary(epoch: 3, trainLoss: 0.25, trainAccuracy: 0.90, validLoss: 0.36, validAccuracy: 0.855, rate: 305, elapsed: 30, isBest: false)]
    }

    func testJSONLinesParseAndCarryTheNumbers() throws {
        let path = tempPath("log.jsonl")
        defer { unlink(path) }
        let sink = try JSONLinesLogSink(path: path)
        try sink.record(.started(plan))
        for s in summaries() {
            try sink.record(.batch(BatchProgress(epoch: Int(s.epoch), done: 1, total: 10, loss: 0.5, rate: 1, epochElapsed: 1)))
            try sink.record(.evaluated(s))
            if s.isBest { try sink.record(.checkpointWritten(path: "best.ckpt", epoch: s.epoch, validLoss: s.validLoss, best: true)) }
        }
        try sink.record(.finished(best: "best.ckpt", epoch: 2, validLoss: 0.33, elapsed: 30))
        // flushed per line: readable before the sink is closed
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 3 + 2 + 1)
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(objects.map { $0["event"] as! String }, ["start", "epoch", "checkpoint", "epoch", "checkpoint", "epoch", "end"])
        let epochs = objects.filter { $0["event"] as? String == "epoch" }
        XCTAssertEqual(epochs.map { $0["valid_loss"] as! Double }, summaries().map { $0.validLoss! })
        XCTAssertEqual(epochs.map { $0["train_acc"] as! Double }, summaries().map { $0.trainAccuracy! })
        XCTAssertEqual(epochs.map { $0["best"] as! Bool }, [true, true, false])
        XCTAssertEqual(epochs[0]["unit"] as? String, "reviews")
    }

    func testJSONLinesBitsAndMissingAccuracyForLanguageModels() throws {
        let path = tempPath("lm.jsonl")
        defer { unlink(path) }
        let sink = try JSONLinesLogSink(path: path)
        try sink.record(.started(TrainingPlan(task: "lm", epochs: 1, batchesPerEpoch: 4, itemsPerEpoch: 1000, itemUnit: "chars",
                                              validItems: 100, hasAccuracy: false, showBits: true)))
        try sink.record(.evaluated(EpochSummary(epoch: 0.5, isEpochEnd: false, trainLoss: 2.0, validLoss: 1.5, rate: 1000, elapsed: 1)))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let o = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as! [String: Any]
        XCTAssertEqual(o["event"] as? String, "eval")
        XCTAssertEqual(o["epoch"] as? Double, 0.5)
        XCTAssertEqual(o["valid_bits"] as! Double, 1.5 * 1.4426950408889634, accuracy: 1e-9)
        XCTAssertNil(o["valid_acc"])
    }

    /// Parses the SVG with an XML parser (well-formed) and collects the polylines per class.
    private func parseSVG(_ text: String) throws -> [String: [[(Double, Double)]]] {
        final class Collector: NSObject, XMLParserDelegate {
            var lines: [String: [[(Double, Double)]]] = [:]
            var root: String?
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if root == nil { root = name }
                if name == "polyline", let cls = attributes["class"], let pts = attributes["points"] {
                    let xy = pts.split(separator: " ").map { p -> (Double, Double) in
                        let c = p.split(separator: ","); return (Double(c[0])!, Double(c[1])!)
                    }
                    lines[cls, default: []].append(xy)
                }
            }
        }
        let parser = XMLParser(data: Data(text.utf8))
        let c = Collector()
        parser.delegate = c
        XCTAssertTrue(parser.parse(), "SVG is not well-formed XML: \(String(describing: parser.parserError))")
        XCTAssertEqual(c.root, "svg")
        return c.lines
    }

    func testSVGIsWellFormedAndHoldsBothSeriesInTwoPanels() throws {
        let path = tempPath("curves.svg")
        defer { unlink(path) }
        let plot = SVGPlot(path: path, title: "bi-GRU <IMDB> & co")
        try plot.record(.started(plan))
        var sizes: [Int] = []
        for s in summaries() {
            try plot.record(.evaluated(s))
            // rewritten at every evaluation point
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let lines = try parseSVG(text)
            sizes.append(lines["train"]?.first?.count ?? 0)
        }
        XCTAssertEqual(sizes, [1, 2, 3])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = try parseSVG(text)
        XCTAssertEqual(lines["train"]?.count, 2, "loss and accuracy panels")
        XCTAssertEqual(lines["valid"]?.count, 2)
        // loss panel: y grows downwards, so the falling train loss has rising y
        let trainLoss = lines["train"]![0]
        XCTAssertTrue(trainLoss[0].1 < trainLoss[1].1 && trainLoss[1].1 < trainLoss[2].1)
        XCTAssertTrue(trainLoss[0].0 < trainLoss[1].0 && trainLoss[1].0 < trainLoss[2].0)
        // validation loss is lowest at epoch 2: its point is lowest on screen (largest y)
        let validLoss = lines["valid"]![0]
        XCTAssertEqual(validLoss.map { $0.1 }.max(), validLoss[1].1)
        XCTAssertTrue(text.contains("&lt;IMDB&gt; &amp; co"))
        XCTAssertTrue(text.contains("class=\"best\""))
        XCTAssertTrue(text.contains(">validation<") && text.contains(">epoch<"))
    }

    func testSVGWithoutAccuracyHasOnePanel() throws {
        let plot = SVGPlot(path: "/nonexistent/never-written.svg")
        try plot.record(.started(TrainingPlan(task: "lm", epochs: 2, batchesPerEpoch: 4, itemsPerEpoch: 100, itemUnit: "chars",
                                              validItems: 10, hasAccuracy: false, showBits: true)))
        plot.points = [EpochSummary(epoch: 0.5, isEpochEnd: false, trainLoss: 3, validLoss: 2.8, rate: 1, elapsed: 1),
                       EpochSummary(epoch: 1, trainLoss: 2.5, validLoss: 2.4, rate: 1, elapsed: 2)]
        let lines = try parseSVG(plot.render())
        XCTAssertEqual(lines["train"]?.count, 1)
        XCTAssertEqual(lines["valid"]?.count, 1)
    }

    func testConsolePlainLinesWhenNotATerminal() throws {
        var out = ""
        let sink = ConsoleSink(tty: false, write: { out += $0 })
        try sink.record(.started(plan))
        try sink.record(.batch(BatchProgress(epoch: 1, done: 5, total: 10, loss: 0.6, rate: 300, epochElapsed: 1)))
        try sink.record(.evaluated(summaries()[0]))
        try sink.record(.interrupted(kept: "best.ckpt", epoch: 1, validLoss: 0.45))
        let lines = out.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, out)
        XCTAssertFalse(out.contains("\r"))
        XCTAssertTrue(lines[0].hasPrefix("epoch 1/3  train loss 0.6100 acc 66.00%  valid loss 0.4500 acc 79.00%  300 reviews/s"), String(lines[0]))
        XCTAssertEqual(String(lines[1]), "interrupted: kept best.ckpt (epoch 1, valid loss 0.4500)")
    }

    func testConsoleProgressBarOnATerminal() throws {
        var out = ""
        let sink = ConsoleSink(tty: true, columns: { 80 }, write: { out += $0 })
        try sink.record(.started(plan))
        try sink.record(.batch(BatchProgress(epoch: 1, done: 5, total: 10, loss: 0.6, rate: 300, epochElapsed: 2)))
        XCTAssertTrue(out.contains("\r"))
        XCTAssertTrue(out.contains("50% 5/10"), out)
        XCTAssertTrue(out.contains("ETA 0:02"), out)
        try sink.record(.evaluated(summaries()[0]))
        XCTAssertTrue(out.hasSuffix("*\n"))
    }

    func testProgressLineFitsTheWidthAndDropsTheLeastUsefulPartsFirst() {
        let b = BatchProgress(epoch: 12, done: 1234, total: 5678, loss: 0.6931, rate: 123_456, epochElapsed: 100, timeLeft: 30)
        var previous = Int.max
        for width in [200, 80, 60, 40, 30, 20, 10, 2] {
            let line = progressLine(b, epochs: 100, unit: "reviews", width: width)
            XCTAssertLessThanOrEqual(line.count, width - 1, "\(width): \(line)")
            XCTAssertLessThanOrEqual(line.count, previous)
            XCTAssertFalse(line.contains("\r") || line.contains("\n"))
            previous = line.count
        }
        let wide = progressLine(b, epochs: 100, unit: "reviews", width: 200)
        XCTAssertTrue(wide.contains("123,456 reviews/s") && wide.contains("1234/5678") && wide.contains("ETA 0:30"), wide)
        let narrow = progressLine(b, epochs: 100, unit: "reviews", width: 60)
        XCTAssertTrue(narrow.hasPrefix("epoch 12/100 [") && narrow.contains("loss 0.6931"), narrow)
        // the ETA is the earlier of the epoch's end and the time budget
        XCTAssertEqual(b.eta, 30)
        XCTAssertEqual(BatchProgress(epoch: 1, done: 1, total: 3, loss: 1, rate: 1, epochElapsed: 2).eta, 4)
    }

    func testConsoleRedrawsInPlaceWithinTheTerminalWidth() throws {
        var out = ""
        var width = 60
        let sink = ConsoleSink(tty: true, columns: { width }, write: { out += $0 })
        try sink.record(.started(plan))
        try sink.record(.batch(BatchProgress(epoch: 1, done: 10, total: 10, loss: 0.6, rate: 1e6, epochElapsed: 2)))
        try sink.record(.evaluating(epoch: 1, items: 123_456_789))
        width = 30
        try sink.record(.batch(BatchProgress(epoch: 2, done: 10, total: 10, loss: 0.6, rate: 1e6, epochElapsed: 2)))
        let draws = out.components(separatedBy: "\r\u{1B}[K").dropFirst()
        XCTAssertEqual(draws.count, 3, out)
        for (d, w) in zip(draws, [60, 60, 30]) { XCTAssertLessThan(d.count, w, d) }
        XCTAssertFalse(out.contains("\n"))
    }

    func testNiceTicksAndDurations() {
        XCTAssertEqual(niceTicks(1, 3, count: 3), [1, 2, 3])
        let t = niceTicks(0.23, 0.71, count: 6)
        XCTAssertLessThanOrEqual(t.first!, 0.23)
        XCTAssertGreaterThanOrEqual(t.last!, 0.71)
        XCTAssertEqual(t[1] - t[0], 0.1, accuracy: 1e-12)
        XCTAssertEqual(tickLabel(0.25, [0, 0.05]), "0.25")
        XCTAssertEqual(tickLabel(3, [2, 3]), "3")
        XCTAssertEqual(formatDuration(3725), "1:02:05")
        XCTAssertEqual(formatDuration(65), "1:05")
        XCTAssertEqual(formatDuration(1e300), "--:--")
    }
}
