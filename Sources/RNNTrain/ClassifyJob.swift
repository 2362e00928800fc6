// rnn-classify's record loop: records in (cleaned text or encoded ids), one prediction line out per
// record, in input order. Lines are batched while input is plentiful (a file, a fast pipe) and a
// partial batch is classified and flushed as soon as reading would block, so an interactive pipe
// gets its answer at once (LineReader.wouldBlock).
//
// Output (docs/FORMATS.md, "Classification output"):
//   jsonl: every input member except ids, length, vocab and label (and text with keepText false)
//          in its original order, then "gold" (the record's own label, or list of labels, when
//          it had one), "label" (predicted name), "prob" (its probability) and, for more than two
//          labels, "probs" {name: p} (all labels in label order, or the top k by probability).
//          Multi-label models: "label" is the list of every label whose probability reaches the
//          threshold (most probable first; possibly empty) and "prob" the list of their
//          probabilities. A multi-class model given a threshold that its most probable label
//          does not reach: "label": null, "prob": null, "reason": "below threshold".
//   tsv:   label TAB prob TAB id (the record's "id" member, else empty); multi-label models:
//          the predicted labels joined by commas TAB their probabilities joined by commas.
// A record without any token (a blank line, a text that cleaned to nothing) has no prediction:
// "label": null, "prob": null (and "probs": null) and "reason": "no tokens"; tsv: empty label and
// prob fields. Every input record gets exactly one output line, so outputs stay aligned.
// Ensembles (several checkpoints with the same labels and head): every model encodes the record
// with its own vocabulary and settings, and the prediction comes from the mean of their
// probabilities (summed in the order the models were given); the output format is unchanged. A
// record gets a prediction when every model has a token of it.
import RNNCore
import RNNEngine
import RNNText
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Output layout of rnn-classify.
public enum ClassifyOutputFormat: String, CaseIterable, Sendable {
    /// One JSON object per record.
    case jsonl
    /// label, prob, id separated by tabs.
    case tsv
}

/// Settings of a classification run.
public struct ClassifyOptions: Sendable {
    /// How input lines are read (auto: JSON Lines when the first non-blank line starts with `{`).
    public var inputFormat: RecordFormat = .auto
    /// Names of the text and label fields, fastText's label prefix.
    public var fields = RecordFields()
    /// Output layout.
    public var format: ClassifyOutputFormat = .jsonl
    /// Keep the `text` member in JSON output.
    public var keepText = true
    /// List the k most probable labels, most probable first (JSON `probs`, TSV label/prob pairs;
    /// nil: every label in label order with more than two labels, none with two unless `probs`).
    public var topK: Int? = nil
    /// Print the probability of every label, also for two-label models.
    public var probs = false
    /// Largest batch (records) given to the model at once.
    public var batchSize = 128
    /// Largest batch in tokens (a batch holds at least one record).
    public var batchTokens = 1 << 16
    /// Collect metrics over records that carry a label.
    public var metrics = false
    public init() {}
}

/// Totals of a classification run.
public struct ClassifySummary: Sendable {
    /// Records read.
    public var records = 0
    /// Records without any token (written with null label and prob).
    public var empty = 0
    /// Metrics over the labelled records (when requested).
    public var metrics: ClassificationMetrics?
    public init() {}

    /// One line for stderr: records, time, speed.
    public func describe(seconds: Double) -> String {
        var s = "\(formatThousands(records)) record\(records == 1 ? "" : "s")"
        if empty > 0 { s += " (\(formatThousands(empty)) without tokens: label null)" }
        s += " in \(formatFixed(seconds, 2)) s"
        if seconds > 0 && records > 0 { s += ", \(formatThousands(Int((Double(records) / seconds).rounded()))) records/s" }
        return s
    }
}

/// Classifies record streams with a ``Classifier`` or an ensemble of them.
public final class ClassifyJob {
    /// The models whose probabilities are averaged (one: a single classifier).
    public let members: [Classifier]
    /// The first model: labels, head and decision threshold of the job.
    public var classifier: Classifier { members[0] }
    /// Settings.
    public let options: ClassifyOptions

    /// One model's share of the current batch: token ids back to back, the length of every
    /// record with tokens and the steps of its real tokens (the padded view's pads left out).
    struct MemberBatch {
        var ids: [Int32] = []
        var lengths: [Int] = []
        var realSteps: [Range<Int>] = []
    }

    // The current batch: line bytes back to back, one entry per record, each model's token ids.
    private var arena: [UInt8] = []
    private var pending: [Pending] = []
    private var batches: [MemberBatch]
    private var scratch: [Int32] = []
    private var outLine: [UInt8] = []
    private var text: [UInt8] = []
    private var recordNumber = 0
    private var summary = ClassifySummary()
    private let hashJSON: [[UInt8]]
    private let labelJSON: [[UInt8]]

    struct Pending {
        /// Line bytes in `arena`.
        var line: Range<Int>
        /// Top-level members (ranges relative to the line), nil for plain text.
        var members: [(key: Range<Int>, value: Range<Int>)]?
        /// 1-based record number over all inputs.
        var number: Int
        /// Label indices of the record's own labels, when they name labels of the model.
        var gold: [Int]?
        /// The record's own label (or list of labels) as JSON, when it has one.
        var goldJSON: [UInt8]?
        /// Tokens of the record in the first model's ids (0: nothing to classify).
        var tokens: Int
    }

    /// A job writing predictions made by `classifier`.
    public convenience init(classifier: Classifier, options: ClassifyOptions) throws {
        try self.init(ensemble: [classifier], options: options)
    }

    /// A job writing predictions from the mean probabilities of `ensemble` (at least one model;
    /// ``Classifier/ensemble(checkpoints:maxLength:)`` checks that they share labels and head).
    public init(ensemble: [Classifier], options: ClassifyOptions) throws {
        if let k = options.topK, k < 1 { throw RNNError("the number of most probable labels to list must be at least 1") }
        guard let classifier = ensemble.first else { throw RNNError("an ensemble needs at least one model") }
        members = ensemble
        batches = ensemble.map { _ in MemberBatch() }
        self.options = options
        hashJSON = ensemble.map { Array("\"\($0.vocabHash)\"".utf8) }
        labelJSON = classifier.labels.map { var o: [UInt8] = []; JSONWriter.appendString($0, into: &o); return o }
        if options.metrics { summary.metrics = ClassificationMetrics(labels: classifier.labels, k: options.topK ?? 1, multiLabel: classifier.isMultiLabel) }
    }

    /// Reads every input in order, writes one line per record to `out` (flushed after every
    /// batch) and returns the totals.
    public func run(paths: [String], out: BufferedOutput) throws -> ClassifySummary {
        var reader = RecordReader(paths: paths, format: options.inputFormat, requireText: false, fields: options.fields)
        reader.repairUTF8 = true
        do {
            try reader.forEach(idle: { [self] in
                // the next line has not arrived: answer what we have now (interactive pipes)
                if !pending.isEmpty { try classifyBatch(out: out); try out.flush() }
            }) { [self] record in
                try add(record)
                if pending.count >= options.batchSize || batches.contains(where: { $0.ids.count >= options.batchTokens }) {
                    try classifyBatch(out: out)
                }
            }
        } catch {
            // Like any filter: everything before the bad line (or file) is written first.
            if !pending.isEmpty { try classifyBatch(out: out) }
            try out.flush()
            throw error
        }
        if !pending.isEmpty { try classifyBatch(out: out) }
        try out.flush()
        return summary
    }

    // MARK: reading records

    private func add(_ record: Record) throws {
        let idStarts = batches.map(\.ids.count)
        do {
            try addRecord(record)
        } catch {
            // the batch stays consistent for the records before
            for m in batches.indices { batches[m].ids.removeSubrange(idStarts[m]...) }
            throw error
        }
    }

    private func addRecord(_ record: Record) throws {
        let line = record.line, source = record.source, lineNumber = record.lineNumber
        let start = arena.count
        let idStarts = batches.map(\.ids.count)
        var steps = [Range<Int>](repeating: 0 ..< 0, count: members.count)
        var p = Pending(line: start ..< start, members: nil, number: recordNumber + 1, gold: nil, goldJSON: nil, tokens: 0)
        if let spans = record.spans {
            var idsAt: Int? = nil, lengthAt: Int? = nil, vocabAt: Int? = nil, labelAt: Int? = nil
            for (i, m) in spans.members.enumerated() {
                switch ClassifyJob.key(line, m.key) {
                case "ids": idsAt = i
                case "length": lengthAt = i
                case "vocab": vocabAt = i
                case "label": labelAt = i
                default: break
                }
            }
            func value(_ i: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: line[spans.members[i].value]) }
            if let idsAt {
                try readEncoded(ids: value(idsAt), length: lengthAt.map(value), vocab: vocabAt.map(value), source: source, line: lineNumber)
                for m in members.indices { steps[m] = prepareEncoded(member: m) }
            } else if record.textIndex != nil {
                text.removeAll(keepingCapacity: true)
                record.appendText(to: &text)
                try text.withUnsafeBytes { t in
                    for (m, c) in members.enumerated() { steps[m] = try c.encode(text: t, into: &batches[m].ids) }
                }
            } else {
                throw RNNError(path: source, line: lineNumber, "record has neither \"text\" (cleaned text) nor \"ids\" (rnn-encode output)")
            }
            if let labelAt { try readLabel(value(labelAt), into: &p, source: source, line: lineNumber) }
            p.members = spans.members
        } else {
            for (m, c) in members.enumerated() { steps[m] = try c.encode(text: line, into: &batches[m].ids) }
        }
        recordNumber += 1
        summary.records += 1
        arena.append(contentsOf: line)
        p.line = start ..< arena.count
        if steps.allSatisfy({ !$0.isEmpty }) {
            p.tokens = batches[0].ids.count - idStarts[0]
            for m in batches.indices {
                batches[m].lengths.append(batches[m].ids.count - idStarts[m])
                batches[m].realSteps.append(steps[m])
            }
        } else {
            // no token for some model (ensembles of word and character models): no prediction
            for m in batches.indices { batches[m].ids.removeSubrange(idStarts[m]...) }
            summary.empty += 1
        }
        pending.append(p)
    }

    /// Reads the real ids of an encoded record (rnn-encode JSON output) into `scratch` after
    /// checking them against every model (vocabulary hash and size).
    private func readEncoded(ids raw: UnsafeRawBufferPointer, length: UnsafeRawBufferPointer?, vocab: UnsafeRawBufferPointer?,
                             source: String, line: Int) throws {
        let model = { (c: Classifier) in self.members.count > 1 ? "the model \(c.path)" : "the model" }
        for (c, hash) in zip(members, hashJSON) where !c.vocabHash.isEmpty {
            if let vocab, !vocab.elementsEqual(hash) {
                let theirs = vocab.count > 2 && vocab[0] == UInt8(ascii: "\"") ? String(decoding: vocab[1 ..< (vocab.count - 1)], as: UTF8.self) : String(decoding: vocab, as: UTF8.self)
                throw RNNError(path: source, line: line, "the record was encoded with vocabulary \(theirs) but \(model(c)) was trained with vocabulary \(c.vocabHash); encode with the model's vocabulary, or give rnn-classify the cleaned text (it encodes with the vocabulary embedded in the checkpoint)")
            }
        }
        scratch.removeAll(keepingCapacity: true)
        guard ClassifyJob.parseIDs(raw, into: &scratch) else {
            throw RNNError(path: source, line: line, "\"ids\" is not an array of non-negative integers")
        }
        let n = scratch.count
        for c in members {
            let V = c.vocabSize
            for id in scratch where Int(id) >= V {
                throw RNNError(path: source, line: line, "token id \(id) is outside \(model(c))'s vocabulary (\(formatThousands(V)) ids); the ids were made with another vocabulary")
            }
        }
        if let length {
            guard let len = ClassifyJob.parseInt(length), len >= 0, len <= n else {
                throw RNNError(path: source, line: line, "\"length\" must be an integer between 0 and the number of ids (\(n))")
            }
            if len < n {
                // The padded view: pads (1) after the real ids, or before them (--pad-first).
                let pad = Vocabulary.padID
                if scratch[len...].allSatisfy({ $0 == pad }) {
                    scratch.removeLast(n - len)
                } else if scratch[..<(n - len)].allSatisfy({ $0 == pad }) {
                    scratch.removeSubrange(..<(n - len))
                } else {
                    throw RNNError(path: source, line: line, "\"ids\" holds \(n) ids for length \(len) but the other \(n - len) are not <pad> (1) at either end")
                }
            }
        }
    }

    /// Appends the real ids read by readEncoded to model m's batch, prepared for it (cut to its
    /// fixed length, its padded view); returns the steps of the real tokens.
    private func prepareEncoded(member m: Int) -> Range<Int> {
        let start = batches[m].ids.count
        batches[m].ids.append(contentsOf: scratch)
        return members[m].prepare(&batches[m].ids, from: start)
    }

    /// Reads the record's own `label` (``Record/parseLabels(_:source:line:)``): a name, a label
    /// id (rnn-encode output), or a list of either (a multi-label record).
    private func readLabel(_ v: UnsafeRawBufferPointer, into p: inout Pending, source: String, line: Int) throws {
        guard let entries = try Record.parseLabels(v, source: source, line: line) else { return }
        let known = classifier.labels.joined(separator: ", ")
        let ids: [Int?] = try entries.map { e in
            switch e {
            case .name(let name):
                let id = classifier.labels.firstIndex(of: name)
                if id == nil && options.metrics {
                    throw RNNError(path: source, line: line, "label \"\(name)\" is not one of the model's labels (\(known)); metrics need labels the model knows")
                }
                return id
            case .number(let text):
                guard let id = Int(text), id >= 0, id < classifier.labels.count else {
                    throw RNNError(path: source, line: line, "label id \(text) is outside the model's labels (0..<\(classifier.labels.count): \(known))")
                }
                return id
            }
        }
        if entries.count > 1 && !classifier.isMultiLabel && options.metrics {
            throw RNNError(path: source, line: line, "the record has \(entries.count) labels but the model predicts one label per record; metrics need one label per record (or a multi-label model: rnn-fit --multi-label)")
        }
        let resolved = ids.compactMap { $0 }
        p.gold = resolved.count == ids.count ? resolved : nil
        // the gold labels by name (ids translated), as given when some name is unknown
        guard let gold = p.gold else { p.goldJSON = Array(v); return }
        if v.first != UInt8(ascii: "[") { p.goldJSON = labelJSON[gold[0]]; return }
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, id) in gold.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: labelJSON[id])
        }
        out.append(UInt8(ascii: "]"))
        p.goldJSON = out
    }

    // MARK: classifying and writing

    /// The logits [records with tokens * O] of the current batch by every model.
    private func batchLogits() -> [[Float]] {
        zip(members, batches).map { c, b in
            b.lengths.isEmpty ? [] : b.ids.withUnsafeBufferPointer {
                c.logits(tokens: $0, lengths: b.lengths, realSteps: c.padded ? b.realSteps : nil)
            }
        }
    }

    private func classifyBatch(out: BufferedOutput) throws {
        let O = classifier.model.config.outputs
        let logits = batchLogits()
        var row = 0
        try arena.withUnsafeBytes { ab in
            for p in pending {
                var prediction: Prediction? = nil
                if p.tokens > 0 {
                    let at = row * O
                    row += 1
                    let pr: Prediction
                    var loss: Double? = nil
                    let metrics = summary.metrics != nil
                    if members.count == 1 {
                        (pr, loss) = logits[0].withUnsafeBufferPointer { lp in
                            let r = UnsafeBufferPointer(rebasing: lp[at ..< at + O])
                            return (classifier.predict(r), p.gold.flatMap { metrics ? classifier.loss(r, golds: $0) : nil })
                        }
                    } else {
                        // the mean of the models' probabilities, summed in the order of the models
                        var mean = [Double](repeating: 0, count: classifier.labels.count)
                        for (c, l) in zip(members, logits) {
                            let q = l.withUnsafeBufferPointer { c.probabilities(UnsafeBufferPointer(rebasing: $0[at ..< at + O])) }
                            for j in mean.indices { mean[j] += q[j] }
                        }
                        for j in mean.indices { mean[j] /= Double(members.count) }
                        pr = classifier.predict(probabilities: mean)
                        if let g = p.gold, summary.metrics != nil { loss = classifier.loss(probabilities: mean, golds: g) }
                    }
                    prediction = pr
                    if let g = p.gold, let loss {
                        summary.metrics?.add(gold: g, predicted: pr.labels, loss: loss, ranking: Classifier.ranking(pr.probs))
                    }
                }
                outLine.removeAll(keepingCapacity: true)
                let line = UnsafeRawBufferPointer(rebasing: ab[p.line])
                switch options.format {
                case .jsonl: writeJSON(p, line: line, prediction)
                case .tsv: writeTSV(p, line: line, prediction)
                }
                try out.write(outLine)
            }
        }
        arena.removeAll(keepingCapacity: true)
        pending.removeAll(keepingCapacity: true)
        for m in batches.indices {
            batches[m].ids.removeAll(keepingCapacity: true)
            batches[m].lengths.removeAll(keepingCapacity: true)
            batches[m].realSteps.removeAll(keepingCapacity: true)
        }
    }

    /// Members never passed through: the encoded input and the members the output sets.
    private static let replaced: Set<String> = ["ids", "length", "vocab", "label", "gold", "prob", "probs", "reason"]

    private func writeJSON(_ p: Pending, line: UnsafeRawBufferPointer, _ pr: Prediction?) {
        outLine.append(UInt8(ascii: "{"))
        if let members = p.members {
            for m in members {
                let k = ClassifyJob.key(line, m.key)
                if ClassifyJob.replaced.contains(k) || (k == "text" && !options.keepText) { continue }
                if outLine.count > 1 { outLine.append(UInt8(ascii: ",")) }
                outLine.append(UInt8(ascii: "\""))
                outLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[m.key]))
                outLine.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
                outLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[m.value]))
            }
        } else if options.keepText {
            outLine.append(contentsOf: "\"text\":".utf8)
            JSONWriter.appendString(line, into: &outLine)
        }
        func member(_ name: String) {
            if outLine.count > 1 { outLine.append(UInt8(ascii: ",")) }
            outLine.append(UInt8(ascii: "\""))
            outLine.append(contentsOf: name.utf8)
            outLine.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        if let g = p.goldJSON { member("gold"); outLine.append(contentsOf: g) }
        let multi = classifier.isMultiLabel
        // a multi-class prediction below --threshold: no label
        let answer = pr.flatMap { multi || !$0.labels.isEmpty ? $0 : nil }
        member("label")
        if let pr = answer, multi {
            outLine.append(UInt8(ascii: "["))
            for (i, j) in pr.labels.enumerated() {
                if i > 0 { outLine.append(UInt8(ascii: ",")) }
                outLine.append(contentsOf: labelJSON[j])
            }
            outLine.append(UInt8(ascii: "]"))
        } else if let pr = answer {
            outLine.append(contentsOf: labelJSON[pr.label])
        } else {
            outLine.append(contentsOf: "null".utf8)
        }
        member("prob")
        if let pr = answer, multi {
            outLine.append(UInt8(ascii: "["))
            for (i, j) in pr.labels.enumerated() {
                if i > 0 { outLine.append(UInt8(ascii: ",")) }
                ClassifyJob.appendProb(pr.probs[j], into: &outLine)
            }
            outLine.append(UInt8(ascii: "]"))
        } else if let pr = answer {
            ClassifyJob.appendProb(pr.prob, into: &outLine)
        } else {
            outLine.append(contentsOf: "null".utf8)
        }
        if classifier.labels.count > 2 || multi || options.probs || options.topK != nil {
            member("probs")
            if let pr {
                var order = Array(pr.probs.indices)
                if let k = options.topK {
                    order = ClassifyJob.order(pr.probs)
                    order.removeLast(max(0, order.count - k))
                }
                outLine.append(UInt8(ascii: "{"))
                for (i, j) in order.enumerated() {
                    if i > 0 { outLine.append(UInt8(ascii: ",")) }
                    outLine.append(contentsOf: labelJSON[j])
                    outLine.append(UInt8(ascii: ":"))
                    ClassifyJob.appendProb(pr.probs[j], into: &outLine)
                }
                outLine.append(UInt8(ascii: "}"))
            } else {
                outLine.append(contentsOf: "null".utf8)
            }
        }
        if pr == nil { member("reason"); outLine.append(contentsOf: "\"no tokens\"".utf8) } else if answer == nil {
            member("reason"); outLine.append(contentsOf: "\"below threshold\"".utf8)
        }
        outLine.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
    }

    private func writeTSV(_ p: Pending, line: UnsafeRawBufferPointer, _ pr: Prediction?) {
        if let pr, classifier.isMultiLabel {
            for (i, j) in pr.labels.enumerated() {
                if i > 0 { outLine.append(UInt8(ascii: ",")) }
                ClassifyJob.appendPlain(Array(classifier.labels[j].utf8), into: &outLine)
            }
            outLine.append(0x09)
            for (i, j) in pr.labels.enumerated() {
                if i > 0 { outLine.append(UInt8(ascii: ",")) }
                ClassifyJob.appendProb(pr.probs[j], into: &outLine)
            }
        } else if let pr, !pr.labels.isEmpty {
            ClassifyJob.appendPlain(Array(classifier.labels[pr.label].utf8), into: &outLine)
            outLine.append(0x09)
            ClassifyJob.appendProb(pr.prob, into: &outLine)
        } else {
            outLine.append(0x09)
        }
        outLine.append(0x09)
        // --top-k / --probs: label TAB prob pairs, most probable first, before the id
        let k = options.topK ?? (options.probs ? classifier.labels.count : 0)
        if k > 0 {
            let order = pr.map { ClassifyJob.order($0.probs) } ?? []
            for j in 0 ..< min(k, classifier.labels.count) {
                if j < order.count, let pr {
                    ClassifyJob.appendPlain(Array(classifier.labels[order[j]].utf8), into: &outLine)
                    outLine.append(0x09)
                    ClassifyJob.appendProb(pr.probs[order[j]], into: &outLine)
                } else {
                    outLine.append(0x09)
                }
                outLine.append(0x09)
            }
        }
        var id: [UInt8]? = nil
        if let members = p.members, let m = members.first(where: { ClassifyJob.key(line, $0.key) == "id" }) {
            let v = UnsafeRawBufferPointer(rebasing: line[m.value])
            id = v[0] == UInt8(ascii: "\"") ? JSONScanner.decodeString(v, 1 ..< (v.count - 1)) : Array(v)
        }
        // no id: an empty field (a record number would restart in every chunk of a split input)
        if let id { ClassifyJob.appendPlain(id, into: &outLine) }
        outLine.append(0x0A)
    }

    // MARK: helpers

    /// Label indices by probability, most probable first (ties: label order).
    static func order(_ probs: [Double]) -> [Int] { Classifier.ranking(probs) }

    /// A member's key as a String (escapes decoded).
    static func key(_ line: UnsafeRawBufferPointer, _ r: Range<Int>) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: line[r])
        if !raw.contains(UInt8(ascii: "\\")) { return String(decoding: raw, as: UTF8.self) }
        return String(decoding: JSONScanner.decodeString(line, r), as: UTF8.self)
    }

    /// A probability as the shortest decimal that reads back as the same Float.
    /// A probability that is not a finite number (weights so large that the output overflows)
    /// is written as null: the output stays valid JSON.
    static func appendProb(_ p: Double, into out: inout [UInt8]) {
        let f = Float(p)
        out.append(contentsOf: (f.isFinite ? f.description : "null").utf8)
    }

    /// Bytes for a tsv field: tabs, newlines and carriage returns become spaces.
    static func appendPlain(_ b: [UInt8], into out: inout [UInt8]) {
        for c in b { out.append(c == 0x09 || c == 0x0A || c == 0x0D ? 0x20 : c) }
    }

    /// An integer JSON value (no fraction or exponent), or nil.
    static func parseInt(_ v: UnsafeRawBufferPointer) -> Int? {
        var i = 0, neg = false, x = 0
        if i < v.count && v[i] == UInt8(ascii: "-") { neg = true; i += 1 }
        guard i < v.count else { return nil }
        while i < v.count {
            let c = v[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            x = x &* 10 &+ Int(c - 0x30)
            if x > Int(Int32.max) { return nil }
            i += 1
        }
        return neg ? -x : x
    }

    /// Parses a JSON array of non-negative integers (< 2^31), appending them; false when it is
    /// anything else.
    static func parseIDs(_ v: UnsafeRawBufferPointer, into ids: inout [Int32]) -> Bool {
        let n = v.count
        var i = 0
        @inline(__always) func space() { while i < n && (v[i] == 0x20 || v[i] == 0x09 || v[i] == 0x0A || v[i] == 0x0D) { i += 1 } }
        guard n >= 2, v[0] == UInt8(ascii: "[") else { return false }
        i = 1
        space()
        if i < n && v[i] == UInt8(ascii: "]") { return i == n - 1 }
        while true {
            space()
            var x = 0, digits = 0
            while i < n, v[i] >= 0x30, v[i] <= 0x39 {
                x = x * 10 + Int(v[i] - 0x30)
                digits += 1
                if x > Int(Int32.max) { return false }
                i += 1
            }
            guard digits > 0 else { return false }
            ids.append(Int32(x))
            space()
            guard i < n else { return false }
            if v[i] == UInt8(ascii: ",") { i += 1; continue }
            if v[i] == UInt8(ascii: "]") { return i == n - 1 }
            return false
        }
    }
}
