// A trained classifier ready for inference: the model, its label names, the vocabulary it was
// trained with (hash always; tokens only when text has to be encoded), and the decision rule.
//
// Glossary: B batch, O outputs of fc (1 = binary with one logit, else one logit per label),
// L labels, V vocabulary size.
import RNNCore
import RNNEngine
import RNNText
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One record's prediction.
public struct Prediction: Sendable {
    /// Index of the most probable label (binary: the decision at the threshold).
    public var label: Int
    /// Probability of `label`.
    public var prob: Double
    /// Probability of every label, [L].
    public var probs: [Double]
    /// The predicted labels, most probable first: `[label]` (binary; multi-class unless its
    /// probability is below the threshold, then none), or every label whose probability reaches
    /// the threshold (multi-label; possibly none).
    public var labels: [Int]
}

/// Inference with a classifier model: token encoding, packed batches, probabilities and loss.
///
/// Binary models (one logit, two labels) give p(labels[1]) = sigmoid(logit); multi-class models
/// (one logit per label) the softmax; multi-label models (`head` multi_label: one logit per label)
/// an independent sigmoid per label. Binary: the prediction is labels[1] when its probability is
/// above the threshold (default 0.5: the reference's `sigmoid(logit) > 0.5`), else labels[0].
/// Multi-class: the most probable label; with a threshold, only when its probability reaches
/// it (else no label). Multi-label: every label whose probability reaches the threshold
/// (default 0.5), most probable first.
public final class Classifier {
    /// The model (a classifier task).
    public let model: Model
    /// Label names, index = label id.
    public let labels: [String]
    /// Content hash of the training vocabulary (16 hex digits).
    public let vocabHash: String
    /// Token kind of the training vocabulary.
    public let vocabKind: Vocabulary.Kind
    /// Keep at most this many tokens per record (the training data's fixed length), or all.
    public let maxLength: Int?
    /// With `maxLength`, keep the last tokens instead of the first ones (training `truncate_first`).
    public let truncateFirst: Bool
    /// Feed the padded view instead of packed sequences: every record runs over exactly
    /// `maxLength` steps, its real tokens plus `<pad>` (1) steps, as a checkpoint trained with
    /// `rnn-fit --padded` (metadata `padded` = `true`) saw its training data. Needs `maxLength`.
    public let padded: Bool
    /// In the padded view, the pads come before the real tokens (training `pad_first`).
    public let padFirst: Bool
    /// Decision threshold (nil: 0.5 for binary and multi-label models, none for multi-class).
    public var threshold: Double? = nil
    /// The checkpoint file it was loaded from (named in errors about an ensemble; empty when the
    /// classifier was built in memory).
    public private(set) var path = ""
    private let loadTokens: () throws -> [String]
    private var table: TokenTable?

    /// Creates a classifier. `tokens` is called at most once, the first time text needs encoding
    /// (encoded input never parses the vocabulary).
    public init(model: Model, labels: [String], vocabHash: String, vocabKind: Vocabulary.Kind = .words,
                maxLength: Int? = nil, truncateFirst: Bool = false, padded: Bool = false, padFirst: Bool = false,
                tokens: @escaping () throws -> [String]) throws {
        let c = model.config
        guard c.task == .classifier else { throw RNNError("the model is a language model, not a classifier") }
        if c.outputs == 1 && !c.multiLabel {
            guard labels.count == 2 else {
                throw RNNError("the model has one output (binary) but \(labels.count) label names (\(labels.joined(separator: ", "))); a binary model needs exactly two")
            }
        } else if labels.count != c.outputs {
            throw RNNError("the model has \(c.outputs) outputs but \(labels.count) label names (\(labels.joined(separator: ", ")))")
        }
        self.model = model
        self.labels = labels
        self.vocabHash = vocabHash
        self.vocabKind = vocabKind
        self.maxLength = maxLength.flatMap { $0 > 0 ? $0 : nil }
        self.truncateFirst = truncateFirst
        self.padded = padded && self.maxLength != nil
        self.padFirst = padFirst
        self.loadTokens = tokens
    }

    /// Loads a classifier checkpoint (``Checkpoint/load(path:expect:)``: a language model or an
    /// inconsistent file is refused with a message naming it). Records are cut to `maxLength`
    /// tokens when given (0: keep all), else to the training data's `fix_length` recorded in the
    /// checkpoint (first tokens, or last ones when it records `truncate_first`). A checkpoint
    /// trained on the padded view (`padded` = `true`) is fed the padded view of that length
    /// (`pad_first` as recorded); with `maxLength` 0 it is fed packed sequences.
    public convenience init(checkpoint path: String, maxLength: Int? = nil) throws {
        let (model, info) = try Checkpoint.load(path: path, expect: .classifier)
        let fix = maxLength ?? info.extra["fix_length"].flatMap { Int($0) }
        let x = info.extra
        do {
            try self.init(model: model, labels: info.labels, vocabHash: info.vocabHash, vocabKind: info.vocabKind,
                          maxLength: fix, truncateFirst: x["truncate_first"] == "true",
                          padded: x["padded"] == "true", padFirst: x["pad_first"] == "true", tokens: { info.tokens })
        } catch let e as RNNError {
            throw RNNError(path: path, e.message)
        }
        self.path = path
    }

    /// Loads the checkpoints of an ensemble (each as ``init(checkpoint:maxLength:)``), whose
    /// probabilities rnn-classify averages: every model must have the labels of the first (same
    /// names in the same order) and its head (binary, multi-class or multi-label); vocabularies,
    /// cells, sizes and pooling heads may differ (each model encodes text with its own vocabulary).
    public static func ensemble(checkpoints paths: [String], maxLength: Int? = nil) throws -> [Classifier] {
        var members: [Classifier] = []
        for p in paths {
            let c = try Classifier(checkpoint: p, maxLength: maxLength)
            if let first = members.first {
                guard c.labels == first.labels else {
                    throw RNNError(path: p, "its labels (\(c.labels.joined(separator: ", "))) differ from those of \(first.path) (\(first.labels.joined(separator: ", "))); an ensemble averages the probabilities of models with the same labels in the same order")
                }
                let head = Checkpoint.headName(c.model.config), firstHead = Checkpoint.headName(first.model.config)
                guard head == firstHead else {
                    throw RNNError(path: p, "its head is \(head) but \(first.path) has a \(firstHead) head; an ensemble averages the probabilities of models of one head kind")
                }
            }
            members.append(c)
        }
        return members
    }

    /// V: ids must be below it.
    public var vocabSize: Int { model.config.vocabSize }
    /// True for a single-logit (sigmoid) model.
    public var isBinary: Bool { model.config.outputs == 1 && !model.config.multiLabel }
    /// True for a model with one independent sigmoid per label.
    public var isMultiLabel: Bool { model.config.multiLabel }

    /// The token table, built on first use.
    private func tokenTable() throws -> TokenTable {
        if let table { return table }
        let tokens = try loadTokens()
        guard tokens.count == vocabSize else {
            throw RNNError("the embedded vocabulary holds \(tokens.count) tokens but the embedding has \(vocabSize) rows")
        }
        var t = TokenTable(capacity: tokens.count)
        for s in tokens { t.insert(s) }
        table = t
        return t
    }

    /// Appends the ids of the tokens of cleaned `text` (unknown tokens: `<unk>` = 0), truncated to
    /// `maxLength` (and padded to it when `padded`); returns the steps of its real tokens among
    /// the ids appended (``prepare(_:from:)``; empty: the text has no token, nothing appended).
    @discardableResult
    public func encode(text: UnsafeRawBufferPointer, into ids: inout [Int32]) throws -> Range<Int> {
        let t = try tokenTable()
        let start = ids.count
        let body: (UnsafeRawBufferPointer) -> Void = { tok in
            ids.append(t.find(tok).map { Int32(truncatingIfNeeded: $0) } ?? Vocabulary.unkID)
        }
        switch vocabKind {
        case .words: Tokenizer.forEachWord(in: text, body)
        case .chars: Tokenizer.forEachScalar(in: text, body)
        }
        return prepare(&ids, from: start)
    }

    /// Brings the real ids appended after `start` to what the model is fed: cut to `maxLength`
    /// (first or last tokens kept) and, when `padded`, padded to it with `<pad>` (1) before or
    /// after them. A record without ids stays empty. Returns the steps of the real tokens among
    /// the record's ids (what max and mean pooling read: the pads of the padded view are left out).
    @discardableResult
    public func prepare(_ ids: inout [Int32], from start: Int) -> Range<Int> {
        guard let n = maxLength else { return 0 ..< ids.count - start }
        Encoder.truncate(&ids, from: start, to: n, truncateFirst: truncateFirst)
        let real = ids.count - start
        guard padded && real > 0 else { return 0 ..< real }
        Encoder.pad(&ids, from: start, to: n, padFirst: padFirst)
        return padFirst ? n - real ..< n : 0 ..< real
    }

    /// Logits [B*O] of B sequences given back to back (each length >= 1). `realSteps`: the steps
    /// of each sequence's real tokens (``prepare(_:from:)``; nil: all of them), which a pooling
    /// head reads in the padded view.
    public func logits(tokens: UnsafeBufferPointer<Int32>, lengths: [Int], realSteps: [Range<Int>]? = nil) -> [Float] {
        model.classify(tokens: tokens, lengths: lengths, realSteps: realSteps)
    }

    /// The probability of every label from one row of logits (O values): binary [1 - p, p],
    /// multi-label one sigmoid per label, multi-class the softmax.
    public func probabilities(_ row: UnsafeBufferPointer<Float>) -> [Double] {
        if isBinary {
            let x = Double(row[0])
            return [Classifier.sigmoid(-x), Classifier.sigmoid(x)]
        }
        if isMultiLabel { return row.map { Classifier.sigmoid(Double($0)) } }
        return Classifier.softmax(row)
    }

    /// The prediction from one row of logits (O values).
    public func predict(_ row: UnsafeBufferPointer<Float>) -> Prediction {
        predict(probabilities: probabilities(row))
    }

    /// The prediction from the probability of every label (``probabilities(_:)``, or their mean
    /// over the models of an ensemble).
    public func predict(probabilities probs: [Double]) -> Prediction {
        if isBinary {
            let best = probs[1] > (threshold ?? 0.5) ? 1 : 0
            return Prediction(label: best, prob: probs[best], probs: probs, labels: [best])
        }
        if isMultiLabel {
            let t = threshold ?? 0.5
            let chosen = Classifier.ranking(probs).filter { probs[$0] >= t }
            let best = Classifier.ranking(probs)[0]
            return Prediction(label: best, prob: probs[best], probs: probs, labels: chosen)
        }
        var best = 0
        for j in 1 ..< probs.count where probs[j] > probs[best] { best = j }
        let reached = threshold.map { probs[best] >= $0 } ?? true
        return Prediction(label: best, prob: probs[best], probs: probs, labels: reached ? [best] : [])
    }

    /// Label indices by probability, most probable first (ties: label order).
    public static func ranking(_ probs: [Double]) -> [Int] {
        probs.indices.sorted { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
    }

    /// The loss of one row of logits against the labels `gold` (indices): binary cross-entropy
    /// per label, averaged over the labels, for multi-label models (the training loss); for the
    /// others, ``loss(_:gold:)`` of the one label.
    public func loss(_ row: UnsafeBufferPointer<Float>, golds: [Int]) -> Double {
        guard isMultiLabel else { return loss(row, gold: golds.first ?? 0) }
        var total = 0.0
        for (j, v) in row.enumerated() {
            let x = Double(v), y: Double = golds.contains(j) ? 1 : 0
            total += max(x, 0) - x * y + log1p(exp(-abs(x)))
        }
        return total / Double(max(row.count, 1))
    }

    /// The loss of one row of logits against label `gold`: binary cross-entropy with logits for
    /// binary models, softmax cross-entropy otherwise (nats; the training losses).
    public func loss(_ row: UnsafeBufferPointer<Float>, gold: Int) -> Double {
        if isBinary {
            let x = Double(row[0]), y = Double(gold)
            return max(x, 0) - x * y + log1p(exp(-abs(x)))
        }
        var mx = Double(row[0])
        for v in row { mx = max(mx, Double(v)) }
        var s = 0.0
        for v in row { s += exp(Double(v) - mx) }
        return log(s) + mx - Double(row[gold])
    }

    /// The loss of the probabilities of every label (an ensemble's mean) against the labels
    /// `gold`: -log p(gold) for binary and multi-class models, the mean binary cross-entropy
    /// over the labels for multi-label ones (nats; a probability of 0 costs -log of the least
    /// positive Double instead of infinity).
    public func loss(probabilities probs: [Double], golds: [Int]) -> Double {
        func nll(_ p: Double) -> Double { -log(max(p, Double.leastNonzeroMagnitude)) }
        guard isMultiLabel else { return nll(probs[golds.first ?? 0]) }
        var total = 0.0
        for (j, p) in probs.enumerated() { total += golds.contains(j) ? nll(p) : nll(1 - p) }
        return total / Double(max(probs.count, 1))
    }

    /// 1 / (1 + e^-x), accurate for large |x|.
    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }

    /// Softmax in Double.
    static func softmax(_ row: UnsafeBufferPointer<Float>) -> [Double] {
        var mx = Double(row[0])
        for v in row { mx = max(mx, Double(v)) }
        var out = row.map { exp(Double($0) - mx) }
        let s = out.reduce(0, +)
        for j in out.indices { out[j] /= s }
        return out
    }
}
