// Packed, time-major layout of a variable-length batch (what torch's PackedSequence does).
//
// Glossary: B batch, T = longest length, N = total real tokens.
// Sequences are sorted by length, descending (stable); sorted index i is original sequence order[i].
// batchSizes[t] = number of sequences longer than t; step t uses rows 0..<batchSizes[t];
// row (t, i) of a packed [N, *] buffer is offsets[t] + i.

/// Layout of one batch: the sort permutation and the packed row offsets.
struct PackedLayout {
    /// B
    var batch: Int
    /// T (longest sequence)
    var steps: Int
    /// N (sum of lengths)
    var tokens: Int
    /// sorted index -> original index  [B]
    var order: [Int]
    /// lengths in sorted order  [B]
    var lengths: [Int]
    /// [T + 1]; batchSizes[T] = 0
    var batchSizes: [Int]
    /// [T + 1]; offsets[T] = N
    var offsets: [Int]

    /// Packs sequences of the given lengths (each >= 1).
    init(lengths original: [Int]) {
        let b = original.count
        precondition(b > 0, "empty batch")
        for l in original { precondition(l >= 1, "every sequence needs at least one token") }
        // stable sort by length descending (counting would also do; B is small)
        let order = (0 ..< b).sorted { original[$0] > original[$1] || (original[$0] == original[$1] && $0 < $1) }
        let lengths = order.map { original[$0] }
        let steps = lengths[0]
        var bs = [Int](repeating: 0, count: steps + 1)
        var i = b
        for t in 0 ..< steps {
            while i > 0 && lengths[i - 1] <= t { i -= 1 }
            bs[t] = i
        }
        var off = [Int](repeating: 0, count: steps + 1)
        for t in 0 ..< steps { off[t + 1] = off[t] + bs[t] }
        self.batch = b; self.steps = steps; self.tokens = off[steps]
        self.order = order; self.lengths = lengths; self.batchSizes = bs; self.offsets = off
    }

    /// B streams of T steps each (language models): identity order.
    init(batch: Int, steps: Int) {
        self.batch = batch; self.steps = steps; self.tokens = batch * steps
        order = Array(0 ..< batch)
        lengths = [Int](repeating: steps, count: batch)
        batchSizes = [Int](repeating: batch, count: steps) + [0]
        offsets = (0 ... steps).map { $0 * batch }
    }
}
