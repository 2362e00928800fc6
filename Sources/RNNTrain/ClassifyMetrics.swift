// Evaluation of predictions against the labels records carry (`rnn-classify --metrics`):
// accuracy, mean loss, per-class precision / recall / F1 and the confusion matrix, as text for
// stderr and as JSON (docs/FORMATS.md, "Classification output").
import RNNCore

/// Accumulates (gold, predicted, loss) over records.
public struct ClassificationMetrics: Sendable {
    /// Label names.
    public let labels: [String]
    /// confusion[gold][predicted] counts, [L][L].
    public private(set) var confusion: [[Int]]
    /// Sum of the per-record losses (nats).
    public private(set) var lossSum = 0.0
    /// Records counted.
    public private(set) var count = 0
    /// The k of P@k and R@k.
    public let k: Int
    /// Records whose label is among the k most probable.
    public private(set) var hitsAtK = 0

    /// Empty metrics over `labels`; P@k and R@k with `k`.
    public init(labels: [String], k: Int = 1) {
        self.labels = labels
        self.k = max(k, 1)
        confusion = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
    }

    /// Counts one record; `rank` is the place of its label among the labels ordered by
    /// probability (0: the most probable).
    public mutating func add(gold: Int, predicted: Int, loss: Double, rank: Int) {
        confusion[gold][predicted] += 1
        lossSum += loss
        count += 1
        if rank < k { hitsAtK += 1 }
    }

    /// Precision at k: the share of the k most probable labels that are the record's label,
    /// averaged over records (one label per record: at most 1/k). P@1 is the accuracy.
    public var precisionAtK: Double? { count == 0 ? nil : Double(hitsAtK) / Double(count * k) }

    /// Recall at k: the share of records whose label is among the k most probable.
    public var recallAtK: Double? { count == 0 ? nil : Double(hitsAtK) / Double(count) }

    /// Fraction of records predicted correctly (nil when empty).
    public var accuracy: Double? {
        count == 0 ? nil : Double((0 ..< labels.count).reduce(0) { $0 + confusion[$1][$1] }) / Double(count)
    }

    /// Mean loss (nil when empty).
    public var loss: Double? { count == 0 ? nil : lossSum / Double(count) }

    /// Per-class scores; precision (recall) is nil when nothing was predicted as (is labelled) the
    /// class, F1 nil when either is nil or both are 0.
    public struct ClassScores: Sendable {
        public var precision: Double?
        public var recall: Double?
        public var f1: Double?
        /// Records whose label is this class.
        public var support: Int
    }

    /// Scores of class `k`.
    public func scores(_ k: Int) -> ClassScores {
        let tp = confusion[k][k]
        let predicted = (0 ..< labels.count).reduce(0) { $0 + confusion[$1][k] }
        let support = confusion[k].reduce(0, +)
        let p = predicted == 0 ? nil : Double(tp) / Double(predicted)
        let r = support == 0 ? nil : Double(tp) / Double(support)
        var f: Double? = nil
        if let p, let r { f = p + r == 0 ? 0 : 2 * p * r / (p + r) }
        return ClassScores(precision: p, recall: r, f1: f, support: support)
    }

    /// Mean F1 over the classes that have an F1.
    public var macroF1: Double? { mean { scores($0).f1 } }
    /// Mean precision over the classes that have one.
    public var macroPrecision: Double? { mean { scores($0).precision } }
    /// Mean recall over the classes that have one.
    public var macroRecall: Double? { mean { scores($0).recall } }

    private func mean(_ f: (Int) -> Double?) -> Double? {
        let xs = (0 ..< labels.count).compactMap(f)
        return xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)
    }

    /// Micro-averaged precision, recall and F1 (true positives, predictions and labels summed
    /// over the classes; with one label and one prediction per record all three equal the
    /// accuracy).
    public var micro: (precision: Double, recall: Double, f1: Double)? {
        guard count > 0 else { return nil }
        let tp = Double((0 ..< labels.count).reduce(0) { $0 + confusion[$1][$1] })
        let p = tp / Double(count), r = tp / Double(count)
        return (p, r, p + r == 0 ? 0 : 2 * p * r / (p + r))
    }

    /// The report printed on stderr: totals, a per-class table and the confusion matrix.
    public func report(records: Int) -> String {
        func f(_ x: Double?) -> String { x.map { formatFixed($0, 4) } ?? "-" }
        var s = "metrics: \(formatThousands(count)) labelled of \(formatThousands(records)) records: accuracy \(f(accuracy)), loss \(f(loss))"
        if let m = macroF1 { s += ", macro F1 \(formatFixed(m, 4))" }
        s += "\nmetrics: macro precision \(f(macroPrecision)), recall \(f(macroRecall)); micro precision \(f(micro?.precision)), recall \(f(micro?.recall)), F1 \(f(micro?.f1)); P@\(k) \(f(precisionAtK)), R@\(k) \(f(recallAtK))\n"
        let w = max(5, labels.map(\.count).max() ?? 0)
        func pad(_ t: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - t.count))
            return left ? t + fill : fill + t
        }
        s += pad("label", w, left: true) + "  precision     recall         f1    support\n"
        for k in labels.indices {
            let sc = scores(k)
            s += pad(labels[k], w, left: true) + "  " + pad(f(sc.precision), 9) + "  " + pad(f(sc.recall), 9) + "  "
                + pad(f(sc.f1), 9) + "  " + pad(formatThousands(sc.support), 9) + "\n"
        }
        s += "confusion matrix (rows: label, columns: predicted)\n"
        let cw = max(w, confusion.flatMap { $0 }.map { formatThousands($0).count }.max() ?? 1)
        s += pad("", w, left: true) + labels.map { "  " + pad($0, cw) }.joined() + "\n"
        for g in labels.indices {
            s += pad(labels[g], w, left: true) + confusion[g].map { "  " + pad(formatThousands($0), cw) }.joined() + "\n"
        }
        return s
    }

    /// The metrics as one JSON object (docs/FORMATS.md).
    public func json(records: Int) -> JSONValue {
        func num(_ x: Double?) -> JSONValue { x.map { .number($0) } ?? .null }
        var perClass: [JSONMember] = []
        for k in labels.indices {
            let sc = scores(k)
            perClass.append(JSONMember(labels[k], .object([
                JSONMember("precision", num(sc.precision)), JSONMember("recall", num(sc.recall)),
                JSONMember("f1", num(sc.f1)), JSONMember("support", .number(Double(sc.support))),
            ])))
        }
        return .object([
            JSONMember("records", .number(Double(records))),
            JSONMember("labelled", .number(Double(count))),
            JSONMember("accuracy", num(accuracy)),
            JSONMember("loss", num(loss)),
            JSONMember("macro_f1", num(macroF1)),
            JSONMember("macro_precision", num(macroPrecision)),
            JSONMember("macro_recall", num(macroRecall)),
            JSONMember("micro_precision", num(micro?.precision)),
            JSONMember("micro_recall", num(micro?.recall)),
            JSONMember("micro_f1", num(micro?.f1)),
            JSONMember("k", .number(Double(k))),
            JSONMember("precision_at_k", num(precisionAtK)),
            JSONMember("recall_at_k", num(recallAtK)),
            JSONMember("labels", .array(labels.map { .string($0) })),
            JSONMember("per_class", .object(perClass)),
            JSONMember("confusion", .array(confusion.map { .array($0.map { .number(Double($0)) }) })),
        ])
    }
}
