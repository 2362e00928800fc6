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

/// Classifies record streams with a ``Classifier``.
public final class ClassifyJob {
    /// The classifier.
    public let classifier: Classifier
    /// Settings.
    public let options: ClassifyOptions

    // The current batch: line bytes back to back, one entry per record, token ids back to back.
    private var arena: [UInt8] = []
    private var pending: [Pending] = []
    private var ids: [Int32] = []
    private var lengths: [Int] = []
    private var outLine: [UInt8] = []
    private var text: [UInt8] = []
    private var recordNumber = 0
    private var summary = ClassifySummary()
    private let hashJSON: [UInt8]
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
        /// Tokens of the record in `ids` (0: nothing to classify).
        var tokens: Int
    }

    /// A job writing predictions made by `classifier`.
    public init(classifier: Classifier, options: ClassifyOptions) throws {
        if let k = options.topK, k < 1 { throw RNNError("the number of most probable labels to list must be at least 1") }
        self.classifier = classifier
        self.options = options
        hashJSON = Array("\"\(classifier.vocabHash)\"".utf8)
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
                if pending.count >= options.batchSize || ids.count >= options.batchTokens { try classifyBatch(out: out) }
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
        let idStart = ids.count
        do {
            try addRecord(record)
        } catch {
            ids.removeSubrange(idStart...)  // the batch stays consistent for the records before
            throw error
        }
    }

    private func addRecord(_ record: Record) throws {
        let line = record.line, source = record.source, lineNumber = record.lineNumber
        let start = arena.count
        let idStart = ids.count
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
            } else if record.textIndex != nil {
                text.removeAll(keepingCapacity: true)
                record.appendText(to: &text)
                try text.withUnsafeBytes { _ = try classifier.encode(text: $0, into: &ids) }
            } else {
                throw RNNError(path: source, line: lineNumber, "record has neither \"text\" (cleaned text) nor \"ids\" (rnn-encode output)")
            }
            if let labelAt { try readLabel(value(labelAt), into: &p, source: source, line: lineNumber) }
            p.members = spans.members
        } else {
            _ = try classifier.encode(text: line, into: &ids)
        }
        recordNumber += 1
        summary.records += 1
        arena.append(contentsOf: line)
        p.line = start ..< arena.count
        p.tokens = ids.count - idStart
        if p.tokens > 0 { lengths.append(p.tokens) } else { summary.empty += 1 }
        pending.append(p)
    }

    /// Appends the real ids of an encoded record (rnn-encode JSON output) after checking them.
    private func readEncoded(ids raw: UnsafeRawBufferPointer, length: UnsafeRawBufferPointer?, vocab: UnsafeRawBufferPointer?,
                             source: String, line: Int) throws {
        if let vocab, !classifier.vocabHash.isEmpty, !vocab.elementsEqual(hashJSON) {
            let theirs = vocab.count > 2 && vocab[0] == UInt8(ascii: "\"") ? String(decoding: vocab[1 ..< (vocab.count - 1)], as: UTF8.self) : String(decoding: vocab, as: UTF8.self)
            throw RNNError(path: source, line: line, "the record was encoded with vocabulary \(theirs) but the model was trained with vocabulary \(classifier.vocabHash); encode with the model's vocabulary, or give rnn-classify the cleaned text (it encodes with the vocabulary embedded in the checkpoint)")
        }
        let start = ids.count
        guard ClassifyJob.parseIDs(raw, into: &ids) else {
            throw RNNError(path: source, line: line, "\"ids\" is not an array of non-negative integers")
        }
        let n = ids.count - start
        let V = classifier.vocabSize
        for i in start ..< ids.count where Int(ids[i]) >= V {
            throw RNNError(path: source, line: line, "token id \(ids[i]) is outside the model's vocabulary (\(formatThousands(V)) ids); the ids were made with another vocabulary")
        }
        if let length {
            guard let len = ClassifyJob.parseInt(length), len >= 0, len <= n else {
                throw RNNError(path: source, line: line, "\"length\" must be an integer between 0 and the number of ids (\(n))")
            }
            if len < n {
                // The padded view: pads (1) after the real ids, or before them (--pad-first).
                let pad = Vocabulary.padID
                if ids[(start + len)...].allSatisfy({ $0 == pad }) {
                    ids.removeLast(n - len)
                } else if ids[start ..< (start + n - len)].allSatisfy({ $0 == pad }) {
                    ids.removeSubrange(start ..< (start + n - len))
                } else {
                    throw RNNError(path: source, line: line, "\"ids\" holds \(n) ids for length \(len) but the other \(n - len) are not <pad> (1) at either end")
                }
            }
        }
        classifier.prepare(&ids, from: start)
    }

    /// Reads the record's own `label`: a name, a label id (rnn-encode output), or a list of
    /// either (a multi-label record: at least one, each once).
    private func readLabel(_ v: UnsafeRawBufferPointer, into p: inout Pending, source: String, line: Int) throws {
        let c = v[0]
        if c == UInt8(ascii: "n") { return }  // null
        if c == UInt8(ascii: "[") {
            guard let list = (try? JSONScanner.parse(v))?.arrayValue else {
                throw RNNError(path: source, line: line, "the \"label\" list is not valid JSON")
            }
            guard !list.isEmpty else {
                throw RNNError(path: source, line: line, "the record has an empty list of labels; give at least one label, or no \"label\" member (null) for an unlabelled record")
            }
            var names: [String] = [], ids: [Int?] = []
            for e in list {
                if let s = e.stringValue {
                    names.append(s)
                    ids.append(classifier.labels.firstIndex(of: s))
                } else if let i = e.intValue, i >= 0, i < classifier.labels.count {
                    names.append(classifier.labels[i])
                    ids.append(i)
                } else {
                    throw RNNError(path: source, line: line, "every label in a \"label\" list must be a label name or a label id of the model (0..<\(classifier.labels.count)), not \(JSONWriter.string(e).prefix(40))")
                }
                if names.dropLast().contains(names[names.count - 1]) {
                    throw RNNError(path: source, line: line, "label \"\(names[names.count - 1].prefix(80))\" is given twice in the record's labels; list each label once")
                }
            }
            p.goldJSON = Array(v)
            if options.metrics {
                if let k = ids.firstIndex(where: { $0 == nil }) {
                    throw RNNError(path: source, line: line, "label \"\(names[k])\" is not one of the model's labels (\(classifier.labels.joined(separator: ", "))); metrics need labels the model knows")
                }
                if list.count > 1 && !classifier.isMultiLabel {
                    throw RNNError(path: source, line: line, "the record has \(list.count) labels but the model predicts one label per record; metrics need one label per record (or a multi-label model: rnn-fit --multi-label)")
                }
            }
            p.gold = ids.allSatisfy({ $0 != nil }) ? ids.compactMap { $0 } : nil
            return
        }
        if c == UInt8(ascii: "\"") {
            let name = String(decoding: JSONScanner.decodeString(v, 1 ..< (v.count - 1)), as: UTF8.self)
            p.goldJSON = Array(v)
            p.gold = classifier.labels.firstIndex(of: name).map { [$0] }
            if p.gold == nil && options.metrics {
                throw RNNError(path: source, line: line, "label \"\(name)\" is not one of the model's labels (\(classifier.labels.joined(separator: ", "))); metrics need labels the model knows")
            }
            return
        }
        guard let id = ClassifyJob.parseInt(v) else {
            throw RNNError(path: source, line: line, "\"label\" must be a label name, a label id or a list of them")
        }
        guard id >= 0 && id < classifier.labels.count else {
            throw RNNError(path: source, line: line, "label id \(id) is outside the model's labels (0..<\(classifier.labels.count): \(classifier.labels.joined(separator: ", ")))")
        }
        p.gold = [id]
        p.goldJSON = labelJSON[id]
    }

    // MARK: classifying and writing

    private func classifyBatch(out: BufferedOutput) throws {
        let O = classifier.model.config.outputs
        let logits: [Float] = lengths.isEmpty ? [] : ids.withUnsafeBufferPointer { classifier.logits(tokens: $0, lengths: lengths) }
        var row = 0
        try logits.withUnsafeBufferPointer { lp in
            try arena.withUnsafeBytes { ab in
                for p in pending {
                    var prediction: Prediction? = nil
                    if p.tokens > 0 {
                        let r = UnsafeBufferPointer(rebasing: lp[(row * O) ..< ((row + 1) * O)])
                        row += 1
                        let pr = classifier.predict(r)
                        prediction = pr
                        if let g = p.gold, summary.metrics != nil {
                            summary.metrics?.add(gold: g, predicted: pr.labels, loss: classifier.loss(r, golds: g),
                                                 ranking: Classifier.ranking(pr.probs))
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
        }
        arena.removeAll(keepingCapacity: true)
        pending.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
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
