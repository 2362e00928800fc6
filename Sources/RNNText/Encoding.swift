// Numericalisation (REFERENCE.md section 3): tokens -> ids with a vocabulary, truncation to a
// fixed length and the padded view.
//
// Dimensions: T fixed length (`fixLength`), n real tokens of one record (n <= T when fixed).

/// Turns cleaned text into token ids.
public struct Encoder: Sendable {
    /// The vocabulary (its kind decides words or characters).
    public let vocabulary: Vocabulary
    /// Maximum number of real tokens kept (nil: all); shorter records are padded to it in the
    /// padded view.
    public var fixLength: Int?
    /// Largest fixed length (README, "Hostile input, limits and outputs"): a padded batch holds B x T ids and B x T x E
    /// embedded values.
    public static let maxFixLength = 1 << 20
    /// With `fixLength`, keep the LAST tokens of a longer record instead of the first ones.
    public var truncateFirst: Bool
    /// In the padded view, put the pads before the real tokens (torchtext `pad_first`).
    public var padFirst: Bool

    /// An encoder; `fixLength` nil keeps every token.
    public init(vocabulary: Vocabulary, fixLength: Int? = nil, truncateFirst: Bool = false, padFirst: Bool = false) {
        self.vocabulary = vocabulary
        self.fixLength = fixLength
        self.truncateFirst = truncateFirst
        self.padFirst = padFirst
    }

    /// What ``encode(_:into:)`` did with one record.
    public struct Stats: Sendable {
        /// Tokens in the text.
        public var tokens = 0
        /// Tokens kept (the true length; equals `tokens` without `fixLength`).
        public var kept = 0
        /// Tokens of the text that are not in the vocabulary (encoded as `<unk>`).
        public var unknown = 0
    }

    /// Appends the ids of the kept real tokens of `text` (no padding) to `ids`.
    public func encode(_ text: UnsafeRawBufferPointer, into ids: inout [Int32]) -> Stats {
        let start = ids.count
        var s = Stats()
        let body: (UnsafeRawBufferPointer) -> Void = { tok in
            if let id = vocabulary.id(of: tok) { ids.append(id) } else { ids.append(Vocabulary.unkID); s.unknown += 1 }
        }
        switch vocabulary.kind {
        case .words: Tokenizer.forEachWord(in: text, body)
        case .chars: Tokenizer.forEachScalar(in: text, body)
        }
        s.tokens = ids.count - start
        if let n = fixLength { Encoder.truncate(&ids, from: start, to: n, truncateFirst: truncateFirst) }
        s.kept = ids.count - start
        return s
    }

    /// The ids of `text` (kept real tokens, no padding).
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        var t = text
        t.withUTF8 { _ = encode(UnsafeRawBufferPointer($0), into: &ids) }
        return ids
    }

    /// Appends the padded view of `real` (at most `fixLength` ids) to `out`: `fixLength` ids with
    /// `<pad>` (1) after the real ones, or before them when `padFirst`. Without `fixLength` the
    /// real ids are appended unchanged.
    public static func appendPadded<C: Collection>(_ real: C, fixLength: Int?, padFirst: Bool, into out: inout [Int32]) where C.Element == Int32 {
        let start = out.count
        out.append(contentsOf: real)
        if let n = fixLength { pad(&out, from: start, to: n, padFirst: padFirst) }
    }

    // The one truncate and the one pad of the suite (rnn-encode, rnn-fit's datasets and
    // rnn-classify all go through these two).

    /// Keeps at most `n` of the ids after `start`: the first `n`, or the last `n` when
    /// `truncateFirst` (torchtext's truncate_first).
    @inline(__always)
    public static func truncate(_ ids: inout [Int32], from start: Int, to n: Int, truncateFirst: Bool) {
        let count = ids.count - start
        guard count > n else { return }
        if truncateFirst { ids.removeSubrange(start ..< (ids.count - n)) } else { ids.removeLast(count - n) }
    }

    /// Pads the ids after `start` to `n` with `<pad>` (1): after them, or before them when
    /// `padFirst` (torchtext's pad_first). Nothing happens when there are `n` or more.
    @inline(__always)
    public static func pad(_ ids: inout [Int32], from start: Int, to n: Int, padFirst: Bool) {
        let count = ids.count - start
        guard count < n else { return }
        let pads = repeatElement(Vocabulary.padID, count: n - count)
        if padFirst { ids.insert(contentsOf: pads, at: start) } else { ids.append(contentsOf: pads) }
    }
}
