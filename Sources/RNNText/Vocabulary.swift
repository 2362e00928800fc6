// The vocabulary (REFERENCE.md section 2): token <-> id, label <-> id, optional pretrained
// vectors, and a content hash that encoded datasets and checkpoints record.
//
// Dimensions: V vocabulary size (specials included), E vector dimension (`dim`), L labels.
// File format (docs/FORMATS.md, "Vocabulary"): a safetensors file with
//   tokens         U8  [total token bytes]   UTF-8 of every token, back to back, id order
//   token_offsets  I64 [V + 1]               token i = tokens[token_offsets[i] ..< token_offsets[i+1]]
//   counts         I64 [V]                   training count of every token (0 for the specials)
//   labels         U8  [total label bytes]   same layout for the label vocabulary
//   label_offsets  I64 [L + 1]
//   label_counts   I64 [L]
//   vectors        F32 [V, E]                only when vectors were attached
// and metadata format = "rnn-vocab", version = "1", kind, hash, size, dim, ...
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNCore

/// A token vocabulary with its label vocabulary and optional pretrained vectors.
///
/// Ids: `<unk>` = 0, `<pad>` = 1, then tokens by count descending, ties in code-point order.
/// Immutable once built; safe to share between threads.
public final class Vocabulary: @unchecked Sendable {
    /// What a token is.
    public enum Kind: String, Sendable {
        /// Whitespace-separated words of cleaned text (``Tokenizer/forEachWord(in:_:)``).
        case words
        /// Unicode scalars (character language models).
        case chars
    }

    /// File format name stored in the metadata.
    public static let formatName = "rnn-vocab"
    /// Version of the file layout written by this code.
    public static let formatVersion = 1
    /// Id of `<unk>`: every token absent from the vocabulary encodes to it.
    public static let unkID: Int32 = 0
    /// Id of `<pad>`, the padding token.
    public static let padID: Int32 = 1
    /// The special tokens, in id order.
    public static let specials = ["<unk>", "<pad>"]

    /// Token kind.
    public let kind: Kind
    /// The tokens: index = id.
    public let tokens: TokenTable
    /// Training count of each token, [V] (0 for the specials).
    public let counts: [Int64]
    /// Label names: index = label id.
    public let labels: [String]
    /// Training count of each label, [L].
    public let labelCounts: [Int64]
    /// Vector dimension E, 0 when no vectors are attached.
    public let dim: Int
    /// Pretrained vectors, row-major [V, E] (empty when `dim` is 0).
    public let vectors: [Float]
    /// Content hash over kind, tokens, labels and vectors: 16 hex digits.
    public let hash: String
    /// Descriptive metadata (min_freq, records, vectors source, ...), stored in the file.
    public let info: [String: String]
    private let labelTable: TokenTable

    /// Number of ids V (specials included).
    public var count: Int { tokens.count }

    /// Creates a vocabulary from tokens in id order (specials must already be first).
    public init(kind: Kind, tokens: TokenTable, counts: [Int64], labels: [String], labelCounts: [Int64],
                dim: Int = 0, vectors: [Float] = [], info: [String: String] = [:]) {
        precondition(counts.count == tokens.count && labelCounts.count == labels.count && vectors.count == tokens.count * dim)
        self.kind = kind
        self.tokens = tokens
        self.counts = counts
        self.labels = labels
        self.labelCounts = labelCounts
        self.dim = dim
        self.vectors = vectors
        self.info = info
        var lt = TokenTable(capacity: labels.count)
        for l in labels { lt.insert(l) }
        labelTable = lt
        hash = Vocabulary.contentHash(kind: kind, tokens: tokens, labels: labels, dim: dim, vectors: vectors)
    }

    /// The same vocabulary with vectors attached ([V, dim], row-major).
    public func withVectors(_ vectors: [Float], dim: Int, info extra: [String: String] = [:]) -> Vocabulary {
        Vocabulary(kind: kind, tokens: tokens, counts: counts, labels: labels, labelCounts: labelCounts,
                   dim: dim, vectors: vectors, info: info.merging(extra) { $1 })
    }

    /// The hash recorded by encoded datasets and checkpoints: FNV-1a 64 over
    /// `"rnn-vocab\0"`, the kind and `\0`, then for every token and then every label its byte
    /// length (UInt32 little-endian) and bytes, then the dimension (UInt32 LE) and the raw
    /// little-endian Float32 vector data.
    public static func contentHash(kind: Kind, tokens: TokenTable, labels: [String], dim: Int, vectors: [Float]) -> String {
        var h = FNV1a64()
        h.update("rnn-vocab")
        h.update(kind.rawValue)
        func len(_ n: Int) { var v = UInt32(n).littleEndian; withUnsafeBytes(of: &v) { h.update($0) } }
        len(tokens.count)
        for i in 0..<tokens.count { tokens.withKey(i) { len($0.count); h.update($0) } }
        len(labels.count)
        for l in labels { len(l.utf8.count); h.update(Array(l.utf8)) }
        len(dim)
        vectors.withUnsafeBytes { h.update($0) }
        return h.hex
    }

    /// The id of a token given as UTF-8 bytes, or nil when it is not in the vocabulary.
    @inlinable public func id(of token: UnsafeRawBufferPointer) -> Int32? {
        tokens.find(token).map { Int32(truncatingIfNeeded: $0) }
    }

    /// The id of a token, `<unk>` (0) when unknown.
    public func id(_ token: String) -> Int32 { tokens.find(token).map { Int32($0) } ?? Vocabulary.unkID }

    /// The token of an id.
    public func token(_ id: Int) -> String { tokens.string(id) }

    /// The id of a label, or nil.
    public func labelID(_ label: String) -> Int? { labelTable.find(label) }

    /// The vector row of `id` (requires `dim > 0`).
    public func vector(_ id: Int) -> ArraySlice<Float> { vectors[(id * dim)..<((id + 1) * dim)] }

    // MARK: Files

    /// Writes the vocabulary as a safetensors file, atomically.
    public func save(to path: String) throws {
        var w = SafeTensorsWriter()
        var tokenBytes: [UInt8] = []
        var offsets: [Int64] = [0]
        for i in 0..<count { tokenBytes.append(contentsOf: tokens.key(i)); offsets.append(Int64(tokenBytes.count)) }
        w.add("tokens", shape: [tokenBytes.count], uint8s: tokenBytes)
        w.add("token_offsets", shape: [offsets.count], int64s: offsets)
        w.add("counts", shape: [counts.count], int64s: counts)
        var labelBytes: [UInt8] = []
        var loffsets: [Int64] = [0]
        for l in labels { labelBytes.append(contentsOf: l.utf8); loffsets.append(Int64(labelBytes.count)) }
        w.add("labels", shape: [labelBytes.count], uint8s: labelBytes)
        w.add("label_offsets", shape: [loffsets.count], int64s: loffsets)
        w.add("label_counts", shape: [labelCounts.count], int64s: labelCounts)
        if dim > 0 { w.add("vectors", shape: [count, dim], floats: vectors) }
        w.setMetadata("format", Vocabulary.formatName)
        w.setMetadata("version", String(Vocabulary.formatVersion))
        w.setMetadata("kind", kind.rawValue)
        w.setMetadata("hash", hash)
        w.setMetadata("size", String(count))
        w.setMetadata("dim", String(dim))
        w.setMetadata("unk_id", String(Vocabulary.unkID))
        w.setMetadata("pad_id", String(Vocabulary.padID))
        for (k, v) in info.sorted(by: { $0.key < $1.key }) where w.metadata.firstIndex(where: { $0.0 == k }) == nil {
            w.setMetadata(k, v)
        }
        try w.write(to: path)
    }

    /// The command that regenerates a vocabulary file, for error messages.
    static let regenerate = "rebuild it with 'rnn-vocab ... -o FILE'"

    /// Loads a vocabulary written by ``save(to:)``. Refuses, with a message naming the file and the
    /// command that regenerates it, files of another kind or version and files whose content does
    /// not match their hash (corruption).
    public static func load(path: String) throws -> Vocabulary {
        let f = try SafeTensorsFile(path: path, what: "vocabulary (rnn-vocab output)")
        let format = f.metadata["format"]
        guard format == formatName else {
            if format == EncodedDataset.formatName {
                throw RNNError(path: path, "this is an encoded dataset (rnn-encode output), not a vocabulary; pass the file written by 'rnn-vocab -o'")
            }
            let what = format.map { "a '\($0)' file" } ?? "a safetensors file without rnn metadata"
            throw RNNError(path: path, "not a vocabulary: \(what); pass the file written by 'rnn-vocab -o'")
        }
        guard f.metadata["version"] == String(formatVersion) else {
            throw RNNError(path: path, "vocabulary format version \(f.metadata["version"] ?? "?") is not supported (this build reads version \(formatVersion)); \(regenerate)")
        }
        do {
            guard let kind = Kind(rawValue: f.metadata["kind"] ?? "") else { throw RNNError("unknown kind '\(f.metadata["kind"] ?? "")'") }
            let tb = try f.uint8s("tokens")
            let to = try f.int64s("token_offsets")
            let counts = try f.int64s("counts", shape: [max(to.count - 1, 0)])
            let lb = try f.uint8s("labels")
            let lo = try f.int64s("label_offsets")
            let lcounts = try f.int64s("label_counts", shape: [max(lo.count - 1, 0)])
            func check(_ o: [Int64], _ total: Int, _ what: String) throws {
                guard let first = o.first, first == 0, o.last == Int64(total) else { throw RNNError("bad \(what) offsets") }
                for i in 1..<o.count where o[i] < o[i - 1] { throw RNNError("bad \(what) offsets") }
            }
            try check(to, tb.count, "token")
            try check(lo, lb.count, "label")
            let v = to.count - 1
            guard v >= 2 else { throw RNNError("fewer than 2 tokens") }
            var table = TokenTable(capacity: v)
            tb.withUnsafeBytes { p in
                for i in 0..<v { table.insert(UnsafeRawBufferPointer(rebasing: p[Int(to[i])..<Int(to[i + 1])])) }
            }
            guard table.count == v else { throw RNNError("duplicate tokens (\(v - table.count) token\(v - table.count == 1 ? "" : "s") appear twice)") }
            var labels: [String] = []
            var labelSet = Set<String>()
            for i in 0..<(lo.count - 1) {
                let l = String(decoding: lb[Int(lo[i])..<Int(lo[i + 1])], as: UTF8.self)
                guard labelSet.insert(l).inserted else { throw RNNError("duplicate label '\(l)'") }
                labels.append(l)
            }
            var dim = 0
            var vectors: [Float] = []
            if let vi = f.tensors["vectors"] {
                guard vi.shape.count == 2, vi.shape[0] == v, vi.shape[1] >= 1, vi.shape[1] <= PretrainedVectors.maxDim else {
                    throw RNNError("vectors have shape \(vi.shape), expected [\(v), E] with 1 <= E <= \(PretrainedVectors.maxDim)")
                }
                dim = vi.shape[1]
                vectors = try f.withFloats("vectors") { Array($0) }
                if let i = vectors.firstIndex(where: { !$0.isFinite }) {
                    throw RNNError("vector of token \(i / dim) holds \(vectors[i]) (only finite values are allowed)")
                }
            }
            var info: [String: String] = [:]
            for (k, val) in f.metadata where !["format", "version", "kind", "hash", "size", "dim", "unk_id", "pad_id"].contains(k) { info[k] = val }
            let vocab = Vocabulary(kind: kind, tokens: table, counts: counts, labels: labels, labelCounts: lcounts,
                                   dim: dim, vectors: vectors, info: info)
            guard vocab.hash == f.metadata["hash"] else {
                throw RNNError("content does not match its hash \(f.metadata["hash"] ?? "?") (computed \(vocab.hash))")
            }
            return vocab
        } catch let e as RNNError {
            var m = e.message
            if m.hasPrefix(path + ": ") { m.removeFirst(path.count + 2) }
            throw RNNError(path: path, "corrupt vocabulary: \(m); \(regenerate)")
        }
    }
}

/// Counts tokens and labels of training records, then orders them into a ``Vocabulary``.
public struct VocabularyBuilder {
    /// Token kind being counted.
    public let kind: Kind
    /// Token kind (``Vocabulary/Kind``).
    public typealias Kind = Vocabulary.Kind
    /// Distinct tokens seen, in first-seen order.
    public private(set) var table = TokenTable(capacity: 1 << 16)
    /// Count of each token of `table`.
    public private(set) var counts: [Int64] = []
    /// Distinct labels seen.
    public private(set) var labelTable = TokenTable(capacity: 16)
    /// Count of each label.
    public private(set) var labelCounts: [Int64] = []
    /// Records added.
    public private(set) var records = 0
    /// Records skipped because they hold no token.
    public private(set) var emptyRecords = 0
    /// Tokens added.
    public private(set) var tokenCount = 0

    /// Starts counting tokens of `kind`.
    public init(kind: Kind = .words) { self.kind = kind }

    /// Counts one token.
    public mutating func addToken(_ token: UnsafeRawBufferPointer) {
        let (i, new) = table.insert(token)
        if new { counts.append(1) } else { counts[i] += 1 }
        tokenCount += 1
    }

    /// Counts the tokens of one record's text (words or characters according to `kind`).
    ///
    /// A record without any token is not counted (nor is its label): it is added to
    /// ``emptyRecords`` instead, as training skips it.
    public mutating func addRecord(text: UnsafeRawBufferPointer, label: String? = nil) {
        addRecord(text: text, labels: label.map { [$0] } ?? [])
    }

    /// Counts the tokens of one record's text and each of its labels (a multi-label record counts
    /// once for each of its labels).
    public mutating func addRecord(text: UnsafeRawBufferPointer, labels: [String]) {
        let before = tokenCount
        switch kind {
        case .words: Tokenizer.forEachWord(in: text) { addToken($0) }
        case .chars: Tokenizer.forEachScalar(in: text) { addToken($0) }
        }
        if tokenCount == before { emptyRecords += 1; return }
        records += 1
        for l in labels { addLabel(l) }
    }

    /// Counts one label.
    public mutating func addLabel(_ label: String) {
        let (i, new) = labelTable.insert(label)
        if new { labelCounts.append(1) } else { labelCounts[i] += 1 }
    }

    /// Indices of `table` ordered by count descending, then by bytes (= code points) ascending.
    static func order(_ table: TokenTable, _ counts: [Int64], keep: (Int) -> Bool) -> [Int] {
        var idx = (0..<table.count).filter(keep)
        table.storage.withUnsafeBytes { s in
            table.starts.withUnsafeBufferPointer { st in
                idx.sort { a, b in
                    if counts[a] != counts[b] { return counts[a] > counts[b] }
                    let la = st[a + 1] - st[a], lb = st[b + 1] - st[b]
                    let c = memcmp(s.baseAddress! + st[a], s.baseAddress! + st[b], min(la, lb))
                    return c != 0 ? c < 0 : la < lb
                }
            }
        }
        return idx
    }

    /// Builds the vocabulary: specials, then tokens with count >= `minFreq` by count descending
    /// and code point, at most `maxSize` of them (specials not counted). Labels: same order, all
    /// of them, no specials.
    public func build(minFreq: Int = 1, maxSize: Int? = nil, info: [String: String] = [:]) -> Vocabulary {
        var specials = Set<Int>()
        for s in Vocabulary.specials { if let i = table.find(s) { specials.insert(i) } }
        var order = VocabularyBuilder.order(table, counts) { counts[$0] >= Int64(minFreq) && !specials.contains($0) }
        if let maxSize, order.count > maxSize { order.removeLast(order.count - maxSize) }
        var t = TokenTable(capacity: order.count + 2)
        var c: [Int64] = []
        for s in Vocabulary.specials { t.insert(s); c.append(0) }
        for i in order { table.withKey(i) { _ = t.insert($0) }; c.append(counts[i]) }
        let lorder = VocabularyBuilder.order(labelTable, labelCounts) { _ in true }
        return Vocabulary(kind: kind, tokens: t, counts: c, labels: lorder.map { labelTable.string($0) },
                          labelCounts: lorder.map { labelCounts[$0] }, info: info)
    }
}
