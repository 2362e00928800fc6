// The encoded dataset file (docs/FORMATS.md, "Encoded dataset"): the real token ids of every
// record back to back (ragged, no padding stored), their offsets, label ids, and metadata that
// lets a reader rebuild the padded view and check the vocabulary.
//
// Dimensions: R records, N total real tokens, T fixed length.
//   ids      I32 [N]      token ids of record r = ids[offsets[r] ..< offsets[r+1]]
//   offsets  I64 [R + 1]  offsets[0] = 0, offsets[R] = N; length of r = offsets[r+1] - offsets[r] >= 1
//   labels   I32 [R]      label id, -1 when the record had no label, -2 when it has several
// Only when some record has several labels (multi-label data; metadata multi_label = "true"):
//   label_sets         I32 [M]      label ids of every record back to back (none, one or several)
//   label_set_offsets  I64 [R + 1]  labels of record r = label_sets[label_set_offsets[r] ..< [r+1]]
// metadata: format = "rnn-encoded", version = "1", vocab_hash, vocab_size, vocab_kind, count,
// tokens, fix_length ("0" = none), pad_first, truncate_first, pad_id, unk_id, labels (JSON array),
// multi_label (when the label sets are there).
import RNNCore

/// Accumulates encoded records and writes them as an encoded dataset file.
public struct EncodedDatasetWriter {
    /// Token ids, [N].
    public private(set) var ids: [Int32] = []
    /// Record offsets into `ids`, [R + 1].
    public private(set) var offsets: [Int64] = [0]
    /// Label ids, [R] (-1: none, -2: several).
    public private(set) var labels: [Int32] = []
    /// Label ids of every record back to back, [M], and their offsets, [R + 1].
    public private(set) var labelSets: [Int32] = []
    public private(set) var labelSetOffsets: [Int64] = [0]
    /// Some record has several labels (the label sets are written).
    public private(set) var multiLabel = false
    let vocabulary: Vocabulary
    let fixLength: Int?
    let padFirst: Bool
    let truncateFirst: Bool

    /// Starts an empty dataset for records encoded with `encoder`.
    public init(encoder: Encoder) {
        vocabulary = encoder.vocabulary
        fixLength = encoder.fixLength
        padFirst = encoder.padFirst
        truncateFirst = encoder.truncateFirst
    }

    /// Number of records so far.
    public var count: Int { labels.count }

    /// Appends one record: its real ids (at least one) and label id (-1: none).
    public mutating func append<C: Collection>(ids real: C, label: Int32) where C.Element == Int32 {
        append(ids: real, labels: label >= 0 ? [label] : [])
    }

    /// Appends one record: its real ids (at least one) and its label ids (distinct; empty: none).
    public mutating func append<C: Collection>(ids real: C, labels set: [Int32]) where C.Element == Int32 {
        precondition(!real.isEmpty, "a record needs at least one token")
        ids.append(contentsOf: real)
        offsets.append(Int64(ids.count))
        addLabels(set)
    }

    private mutating func addLabels(_ set: [Int32]) {
        labels.append(set.count == 1 ? set[0] : set.isEmpty ? -1 : -2)
        if set.count > 1 { multiLabel = true }
        labelSets.append(contentsOf: set)
        labelSetOffsets.append(Int64(labelSets.count))
    }

    /// Encodes `text` with `encoder` and appends it with its label ids; returns nil (and appends
    /// nothing) when the text has no token.
    public mutating func append(text: UnsafeRawBufferPointer, labels set: [Int32], encoder: Encoder) -> Encoder.Stats? {
        let s = encoder.encode(text, into: &ids)
        if s.kept == 0 { return nil }
        offsets.append(Int64(ids.count))
        addLabels(set)
        return s
    }

    /// Writes the file atomically.
    public func write(to path: String) throws {
        var w = SafeTensorsWriter()
        w.add("ids", shape: [ids.count], int32s: ids)
        w.add("offsets", shape: [offsets.count], int64s: offsets)
        w.add("labels", shape: [labels.count], int32s: labels)
        if multiLabel {
            w.add("label_sets", shape: [labelSets.count], int32s: labelSets)
            w.add("label_set_offsets", shape: [labelSetOffsets.count], int64s: labelSetOffsets)
            w.setMetadata("multi_label", "true")
        }
        w.setMetadata("format", EncodedDataset.formatName)
        w.setMetadata("version", String(EncodedDataset.formatVersion))
        w.setMetadata("vocab_hash", vocabulary.hash)
        w.setMetadata("vocab_size", String(vocabulary.count))
        w.setMetadata("vocab_kind", vocabulary.kind.rawValue)
        w.setMetadata("count", String(count))
        w.setMetadata("tokens", String(ids.count))
        w.setMetadata("fix_length", String(fixLength ?? 0))
        w.setMetadata("pad_first", padFirst ? "true" : "false")
        w.setMetadata("truncate_first", truncateFirst ? "true" : "false")
        w.setMetadata("pad_id", String(Vocabulary.padID))
        w.setMetadata("unk_id", String(Vocabulary.unkID))
        w.setMetadata("labels", JSONWriter.string(.array(vocabulary.labels.map { .string($0) })))
        try w.write(to: path)
    }
}

/// A memory-mapped encoded dataset (written by `rnn-encode -o`). Read-only; the buffers stay
/// valid while the object lives.
public final class EncodedDataset: @unchecked Sendable {
    /// File format name stored in the metadata.
    public static let formatName = "rnn-encoded"
    /// Version of the layout written by this code.
    public static let formatVersion = 1

    /// Path of the file.
    public let path: String
    /// Number of records R.
    public let count: Int
    /// Token ids of every record back to back, [N].
    public let ids: UnsafeBufferPointer<Int32>
    /// Record offsets into `ids`, [R + 1].
    public let offsets: UnsafeBufferPointer<Int64>
    /// Label ids, [R] (-1: no label, -2: several, see ``labelSet(_:)``).
    public let labels: UnsafeBufferPointer<Int32>
    /// Multi-label data: the label ids of every record back to back and their offsets [R + 1]
    /// (empty otherwise).
    private let labelSets: UnsafeBufferPointer<Int32>
    private let labelSetOffsets: UnsafeBufferPointer<Int64>
    /// Some record has several labels (the file holds label sets).
    public let multiLabel: Bool
    /// Hash of the vocabulary that produced the ids (``Vocabulary/hash``).
    public let vocabHash: String
    /// Number of ids of that vocabulary (every id is below it).
    public let vocabSize: Int
    /// Fixed length T the records were encoded for, nil when none.
    public let fixLength: Int?
    /// Pads go before the real tokens in the padded view.
    public let padFirst: Bool
    /// Longer records kept their last tokens.
    public let truncateFirst: Bool
    /// Label names by id, as in the vocabulary.
    public let labelNames: [String]
    private let file: SafeTensorsFile
    private var copies: [UnsafeMutableRawPointer] = []

    /// Maps and validates `path`.
    public init(path: String) throws {
        let regenerate = "regenerate it with 'rnn-encode --vocab VOCAB ... -o FILE'"
        let f = try SafeTensorsFile(path: path, what: "encoded dataset (rnn-encode output)")
        let m = f.metadata
        guard m["format"] == EncodedDataset.formatName else {
            if m["format"] == Vocabulary.formatName {
                throw RNNError(path: path, "this is a vocabulary (rnn-vocab output), not an encoded dataset; pass the file written by 'rnn-encode -o'")
            }
            throw RNNError(path: path, "not an encoded dataset (format '\(m["format"] ?? "none")'); pass the file written by 'rnn-encode -o'")
        }
        guard m["version"] == String(EncodedDataset.formatVersion) else {
            throw RNNError(path: path, "encoded dataset format version \(m["version"] ?? "?") is not supported (this build reads version \(EncodedDataset.formatVersion)); \(regenerate)")
        }
        self.path = path
        file = f
        func bad(_ why: String) -> RNNError { RNNError(path: path, "corrupt encoded dataset: \(why); \(regenerate)") }
        guard let hash = m["vocab_hash"], let vs = m["vocab_size"].flatMap({ Int($0) }),
              let fl = m["fix_length"].flatMap({ Int($0) }), fl >= 0 else { throw bad("missing metadata") }
        vocabHash = hash
        vocabSize = vs
        fixLength = fl > 0 ? fl : nil
        padFirst = m["pad_first"] == "true"
        truncateFirst = m["truncate_first"] == "true"
        guard vs >= 2, vs <= Int(Int32.max) else { throw bad("vocab_size = \(vs) is out of range") }
        guard fl <= Encoder.maxFixLength else { throw bad("fix_length = \(fl) exceeds the limit of \(Encoder.maxFixLength)") }
        guard let labelArray = (try? JSONScanner.parse(m["labels"] ?? "[]"))?.arrayValue else { throw bad("labels is not a JSON array") }
        var names: [String] = []
        for l in labelArray {
            guard let s = l.stringValue, !names.contains(s) else { throw bad("labels must be distinct strings") }
            names.append(s)
        }
        labelNames = names
        let oi: SafeTensorsFile.Info, ii: SafeTensorsFile.Info, li: SafeTensorsFile.Info
        do {
            ii = try f.info("ids", dtype: .i32)
            oi = try f.info("offsets", dtype: .i64)
            li = try f.info("labels", dtype: .i32)
        } catch let e as RNNError { throw bad(e.message) }
        guard oi.shape.count == 1, oi.count >= 1, ii.shape.count == 1, li.shape == [oi.count - 1] else { throw bad("tensor shapes disagree") }
        count = li.count
        var copies: [UnsafeMutableRawPointer] = []
        func aligned<T>(_ name: String, _ n: Int, _ t: T.Type) -> UnsafeBufferPointer<T> {
            let raw = f.bytes(name)!
            if n == 0 { return UnsafeBufferPointer(start: nil, count: 0) }
            if Int(bitPattern: raw.baseAddress) % MemoryLayout<T>.alignment == 0 {
                return UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: T.self), count: n)
            }
            let c = UnsafeMutableRawPointer.allocate(byteCount: raw.count, alignment: 16)
            c.copyMemory(from: raw.baseAddress!, byteCount: raw.count)
            copies.append(c)
            return UnsafeBufferPointer(start: c.assumingMemoryBound(to: T.self), count: n)
        }
        ids = aligned("ids", ii.count, Int32.self)
        offsets = aligned("offsets", oi.count, Int64.self)
        labels = aligned("labels", li.count, Int32.self)
        multiLabel = f.tensors["label_sets"] != nil
        if multiLabel {
            let si: SafeTensorsFile.Info, so: SafeTensorsFile.Info
            do {
                si = try f.info("label_sets", dtype: .i32)
                so = try f.info("label_set_offsets", dtype: .i64)
            } catch let e as RNNError { throw bad(e.message) }
            guard si.shape.count == 1, so.shape == [li.count + 1] else { throw bad("label set shapes disagree") }
            labelSets = aligned("label_sets", si.count, Int32.self)
            labelSetOffsets = aligned("label_set_offsets", so.count, Int64.self)
        } else {
            labelSets = UnsafeBufferPointer(start: nil, count: 0)
            labelSetOffsets = UnsafeBufferPointer(start: nil, count: 0)
        }
        self.copies = copies
        guard offsets[0] == 0, offsets[count] == Int64(ids.count) else { throw bad("offsets do not cover the ids") }
        for r in 0..<count where offsets[r + 1] <= offsets[r] { throw bad("record \(r) has no tokens") }
        if fl > 0 {   // the padded view (--padded) has room for fix_length steps per record
            for r in 0..<count where offsets[r + 1] - offsets[r] > Int64(fl) {
                throw bad("record \(r) has \(offsets[r + 1] - offsets[r]) tokens, more than its fix_length \(fl)")
            }
        }
        for id in ids where id < 0 || Int(id) >= vs { throw bad("token id \(id) outside the vocabulary (size \(vs))") }
        let L = labelNames.count
        for l in labels where l < (multiLabel ? -2 : -1) || (l >= 0 && Int(l) >= max(L, 1)) { throw bad("label id \(l) outside the labels") }
        if multiLabel {
            guard labelSetOffsets[0] == 0, labelSetOffsets[count] == Int64(labelSets.count) else { throw bad("label_set_offsets do not cover the label sets") }
            for r in 0 ..< count {
                let a = labelSetOffsets[r], b = labelSetOffsets[r + 1]
                guard a <= b, b - a <= Int64(L) else { throw bad("record \(r) has an invalid label set") }
                let set = labelSets[Int(a) ..< Int(b)]
                for (k, l) in zip(set.indices, set) where l < 0 || Int(l) >= L || set[set.startIndex ..< k].contains(l) {
                    throw bad("record \(r): label id \(l) outside the labels or given twice")
                }
                let expect: Int32 = set.count == 1 ? set[set.startIndex] : set.isEmpty ? -1 : -2
                guard labels[r] == expect else { throw bad("record \(r): labels and label_sets disagree") }
            }
        }
    }

    deinit { for c in copies { c.deallocate() } }

    /// Loads `path` (same as ``init(path:)``).
    public static func load(path: String) throws -> EncodedDataset { try EncodedDataset(path: path) }

    /// True length (real tokens kept) of record `r`.
    @inlinable public func length(_ r: Int) -> Int { Int(offsets[r + 1] - offsets[r]) }

    /// The real ids of record `r`.
    @inlinable public func sequence(_ r: Int) -> UnsafeBufferPointer<Int32> {
        UnsafeBufferPointer(rebasing: ids[Int(offsets[r])..<Int(offsets[r + 1])])
    }

    /// The label ids of record `r`: none, its one label, or (multi-label data) several.
    public func labelSet(_ r: Int) -> UnsafeBufferPointer<Int32> {
        if multiLabel { return UnsafeBufferPointer(rebasing: labelSets[Int(labelSetOffsets[r]) ..< Int(labelSetOffsets[r + 1])]) }
        return labels[r] >= 0 ? UnsafeBufferPointer(rebasing: labels[r ..< r + 1]) : UnsafeBufferPointer(start: nil, count: 0)
    }

    /// Appends record `r` in its padded view (``Encoder/appendPadded(_:fixLength:padFirst:into:)``).
    public func appendPadded(_ r: Int, into out: inout [Int32]) {
        Encoder.appendPadded(sequence(r), fixLength: fixLength, padFirst: padFirst, into: &out)
    }

    /// Throws unless the dataset was encoded with `vocabulary` (same content hash).
    public func check(vocabulary: Vocabulary, vocabularyPath: String) throws {
        guard vocabulary.hash == vocabHash else {
            throw RNNError(path: path, "was encoded with vocabulary \(vocabHash), but \(vocabularyPath) has hash \(vocabulary.hash); encode again with this vocabulary (rnn-encode --vocab \(vocabularyPath))")
        }
    }
}
