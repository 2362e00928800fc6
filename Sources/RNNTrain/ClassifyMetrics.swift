// Evaluation of predictions against the labels records carry (`rnn-classify --metrics`):
// accuracy, mean loss, per-class precision / recall / F1 and the confusion matrix, as text for
// stderr and as JSON (docs/FORMATS.md, "Classification output").
import RNNCore

/// Accumulates (gold labels, predicted labels, loss) over records.
///
/// Single-label models: one gold label per record, and one predicted label (none when
/// `--threshold` left a multi-class record without a label). Multi-label models: a set of gold
/// labels per record and the predicted set (every label whose probability reaches the
/// threshold). Per-label counts (true positives, false positives, false negatives) give
/// precision, recall and F1 per label and their macro and micro averages in both cases; the
/// accuracy is the share of records whose predicted set equals their gold set (exact match; with
/// one label each, the ordinary accuracy).
public struct ClassificationMetrics: Sendable {
    /// Label names.
    public let labels: [String]
    /// Multi-label model (no confusion matrix).
    public let multiLabel: Bool
    /// confusion[gold][predicted] counts, [L][L] (single-label models; records without a predicted
    /// label are counted in `unpredicted` instead).
    public private(set) var confusion: [[Int]]
    /// Single-label models: records of each gold label left without a prediction (`--threshold`).
    public private(set) var unpredicted: [Int]
    /// Per label: true positives, false positives, false negatives.
    public private(set) var truePositives: [Int]
    public private(set) var falsePositives: [Int]
    public private(set) var falseNegatives: [Int]
    /// Sum of the per-record losses (nats).
    public private(set) var lossSum = 0.0
    /// Records counted.
    public private(set) var count = 0
    /// Records whose predicted set equals their gold set.
    public private(set) var exact = 0
    /// The k of P@k and R@k.
    public let k: Int
    /// Sums over records of |top k ∩ gold| / k and |top k ∩ gold| / |gold|.
    private var precisionAtKSum = 0.0, recallAtKSum = 0.0

    /// Empty metrics over `labels`; P@k and R@k with `k`.
    public init(labels: [String], k: Int = 1, multiLabel: Bool = false) {
        self.labels = labels
        self.k = max(k, 1)
        self.multiLabel = multiLabel
        let L = labels.count
        confusion = Array(repeating: Array(repeating: 0, count: L), count: L)
        unpredicted = Array(repeating: 0, count: L)
        truePositives = Array(repeating: 0, count: L)
        falsePositives = truePositives
        falseNegatives = truePositives
    }

    /// Counts one single-label record; `rank` is the place of its label among the labels ordered
    /// by probability (0: the most probable).
    public mutating func add(gold: Int, predicted: Int, loss: Double, rank: Int) {
        var ranking = (0 ..< labels.count).filter { $0 != gold }
        ranking.insert(gold, at: min(max(rank, 0), ranking.count))
        add(gold: [gold], predicted: [predicted], loss: loss, ranking: ranking)
    }

    /// Counts one record: its gold labels (distinct, at least one), the predicted labels
    /// (distinct, possibly none), its loss and every label ordered by probability (most probable
    /// first; only the first k are used).
    public mutating func add(gold: [Int], predicted: [Int], loss: Double, ranking: [Int]) {
        let g = Set(gold), p = Set(predicted)
        for l in p { if g.contains(l) { truePositives[l] += 1 } else { falsePositives[l] += 1 } }
        for l in g where !p.contains(l) { falseNegatives[l] += 1 }
        if !multiLabel, let gl = gold.first {
            if let pl = predicted.first { confusion[gl][pl] += 1 } else { unpredicted[gl] += 1 }
        }
        if g == p { exact += 1 }
        lossSum += loss
        count += 1
        let hits = ranking.prefix(k).filter { g.contains($0) }.count
        precisionAtKSum += Double(hits) / Double(k)
        recallAtKSum += g.isEmpty ? 0 : Double(hits) / Double(g.count)
    }

    /// Precision at k: the share of the k most probable labels that are among the record's
    /// labels, averaged over records (one label per record: at most 1/k; P@1 is then the
    /// accuracy of the most probable label).
    public var precisionAtK: Double? { count == 0 ? nil : precisionAtKSum / Double(count) }

    /// Recall at k: the share of the record's labels among the k most probable, averaged over
    /// records (one label per record: the share of records whose label is in the top k).
    public var recallAtK: Double? { count == 0 ? nil : recallAtKSum / Double(count) }

    /// Fraction of records whose predicted labels are exactly their labels (nil when empty).
    public var accuracy: Double? { count == 0 ? nil : Double(exact) / Double(count) }

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
        let tp = truePositives[k], predicted = tp + falsePositives[k], support = tp + falseNegatives[k]
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
    /// accuracy). A part without any prediction (or label) is 0.
    public var micro: (precision: Double, recall: Double, f1: Double)? {
        guard count > 0 else { return nil }
        let tp = Double(truePositives.reduce(0, +))
        let predicted = tp + Double(falsePositives.reduce(0, +)), gold = tp + Double(falseNegatives.reduce(0, +))
        let p = predicted == 0 ? 0 : tp / predicted, r = gold == 0 ? 0 : tp / gold
        return (p, r, p + r == 0 ? 0 : 2 * p * r / (p + r))
    }

    /// The report printed on stderr: totals, a per-class table and the confusion matrix.
    public func report(records: Int) -> String {
        func f(_ x: Double?) -> String { x.map { formatFixed($0, 4) } ?? "-" }
        var s = "metrics: \(formatThousands(count)) labelled of \(formatThousands(records)) records: \(multiLabel ? "exact match" : "accuracy") \(f(accuracy)), loss \(f(loss))"
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
        let none = unpredicted.reduce(0, +)
        if multiLabel { return s }
        if none > 0 { s += "\(formatThousands(none)) record\(none == 1 ? "" : "s") without a predicted label (below --threshold)\n" }
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
            JSONMember("multi_label", .bool(multiLabel)),
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
            JSONMember("confusion", multiLabel ? .null : .array(confusion.map { .array($0.map { .number(Double($0)) }) })),
            JSONMember("unpredicted", multiLabel ? .null : .array(unpredicted.map { .number(Double($0)) })),
        ])
    }
}
