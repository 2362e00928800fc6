// The record loops behind rnn-vocab and rnn-encode, kept here so the executables stay thin and
// the loops are unit-tested.
import RNNCore

extension VocabularyBuilder {
    /// Counts every record of `reader` (tokens of `text`, and the `label` field when present: a
    /// string, or each label of a list).
    ///
    /// Character vocabularies read from plain text also count one `"\n"` per line, so that a
    /// language model sees line breaks. Throws when the input holds no record or no token.
    public static func count(_ reader: RecordReader, kind: Vocabulary.Kind) throws -> VocabularyBuilder {
        var b = VocabularyBuilder(kind: kind)
        var text: [UInt8] = []
        try reader.forEach { r in
            text.removeAll(keepingCapacity: true)
            r.appendText(to: &text)
            if kind == .chars && !r.isJSON { text.append(0x0A) }
            let labels = r.isJSON ? try r.labels() ?? [] : []
            text.withUnsafeBytes { b.addRecord(text: $0, labels: labels) }
        }
        let inputs = reader.paths.map { $0 == "-" ? "<stdin>" : $0 }.joined(separator: ", ")
        if b.records == 0 && b.emptyRecords == 0 { throw RNNError(path: inputs, "no records in the input (empty input?)") }
        if b.records == 0 { throw RNNError(path: inputs, "the \(b.emptyRecords) records hold no token") }
        return b
    }
}

/// Totals of an encoding run.
public struct EncodeSummary: Sendable {
    /// Records with at least one token (encoded).
    public var records = 0
    /// Records whose text has no token (skipped, or written with no ids).
    public var empty = 0
    /// Real tokens kept, over all records.
    public var kept = 0
    /// Tokens read (before truncation).
    public var tokens = 0
    /// Tokens encoded as `<unk>` (before truncation).
    public var unknown = 0
    /// Records longer than the fixed length (truncated).
    public var truncated = 0
    /// All zero.
    public init() {}
}

extension Encoder {
    /// The label ids of a record (``Record/labels()``): empty when it has no `label` (or it is
    /// null); an error naming the input line when a label is not in the vocabulary's labels.
    public func labelIDs(of record: Record) throws -> [Int32] {
        guard record.isJSON, let labels = try record.labels() else { return [] }
        return try labels.map { label in
            guard let id = vocabulary.labelID(label) else {
                let known = vocabulary.labels.isEmpty ? "the vocabulary has no labels (it was built from records without a \"label\" field)"
                    : "known labels: " + vocabulary.labels.joined(separator: ", ")
                throw RNNError(path: record.source, line: record.lineNumber, "label \"\(label)\" is not in the vocabulary (\(known))")
            }
            return Int32(id)
        }
    }

    /// Encodes every record of `reader`; calls `body` with the record, its kept real ids and its
    /// label ids (empty: no label; several: a multi-label record). Records without any token are counted in ``EncodeSummary/empty`` and skipped
    /// (training data), or, with `keepEmpty`, given to `body` with no ids (a filter's output
    /// stays aligned with its input). `idle` is called when the input would block
    /// (``RecordReader/forEach(idle:_:)``).
    public func encodeAll(_ reader: RecordReader, keepEmpty: Bool = false, idle: (() throws -> Void)? = nil,
                          _ body: (Record, UnsafeBufferPointer<Int32>, [Int32]) throws -> Void) throws -> EncodeSummary {
        var sum = EncodeSummary()
        var text: [UInt8] = []
        var ids: [Int32] = []
        try reader.forEach(idle: idle) { r in
            text.removeAll(keepingCapacity: true)
            ids.removeAll(keepingCapacity: true)
            r.appendText(to: &text)
            let label = try labelIDs(of: r)
            let s = text.withUnsafeBytes { encode($0, into: &ids) }
            if s.kept == 0 {
                sum.empty += 1
                if !keepEmpty { return }
            } else {
                sum.records += 1
            }
            sum.kept += s.kept
            sum.tokens += s.tokens
            sum.unknown += s.unknown
            if s.kept < s.tokens { sum.truncated += 1 }
            try ids.withUnsafeBufferPointer { try body(r, $0, label) }
        }
        return sum
    }
}

extension Encoder {
    /// Appends `[id,id,...]` (JSON array of decimal integers) to `out`, without creating strings.
    public static func appendJSONArray<C: Collection>(_ ids: C, into out: inout [UInt8]) where C.Element == Int32 {
        out.append(UInt8(ascii: "["))
        var first = true
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        for id in ids {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            if id < 0 { out.append(UInt8(ascii: "-")) }
            var v = id.magnitude
            if v < 10 { out.append(48 + UInt8(v)); continue }
            withUnsafeMutableBytes(of: &digits) { d in
                var n = 0
                while v > 0 { d[n] = 48 + UInt8(v % 10); v /= 10; n += 1 }
                while n > 0 { n -= 1; out.append(d[n]) }
            }
        }
        out.append(UInt8(ascii: "]"))
    }
}
