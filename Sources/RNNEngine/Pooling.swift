// Pooling heads of the classifier: the features fc reads from the last recurrent layer.
//
// Glossary: B batch, N packed rows, D directions, H hidden, W = D*H (one block of features),
// F = blocks * W (fc's input width).
//   last    [h_n forward | h_n backward] of the last layer (the classifier's original head)
//   max     per column, the largest output of the last layer over the sequence's real steps
//   mean    per column, the mean of those outputs
//   concat  [last | max | mean] (ULMFiT's concat pooling): F = 3W
// Real steps: every step of a packed sequence; in the padded view (pads are time steps) the
// caller names the steps of the real tokens, and max and mean leave the pads out exactly as
// PyTorch code masking the padded output with the lengths does (the last state still runs over
// the pads, as it always did in the padded view).
// Backward: max sends each column's gradient to the step that won it (the first one on ties),
// mean spreads it evenly over the real steps; both into dOut [N, W] of the last layer.

/// How the classifier reads its features from the recurrent stack.
public enum Pooling: String, CaseIterable, Sendable {
    /// The final state of every direction (h_n of the last layer): the default.
    case last
    /// Max over the real time steps of the last layer's output.
    case max
    /// Mean over the real time steps of the last layer's output.
    case mean
    /// [last | max | mean] side by side (three times as many features).
    case concat

    /// Blocks of D*H features.
    public var blocks: Int { self == .concat ? 3 : 1 }
    /// Block index of each part (nil: not part of this head).
    var lastBlock: Int? { self == .last || self == .concat ? 0 : nil }
    var maxBlock: Int? { self == .max ? 0 : self == .concat ? 1 : nil }
    var meanBlock: Int? { self == .mean ? 0 : self == .concat ? 2 : nil }
}

/// The steps sorted sequence i pools over: `realSteps` (original order) or all of its steps.
@inline(__always) func pooledSteps(_ layout: PackedLayout, _ i: Int, _ realSteps: [Range<Int>]?) -> Range<Int> {
    realSteps.map { $0[layout.order[i]] } ?? 0 ..< layout.lengths[i]
}

/// Checks `realSteps` against the layout (one non-empty range within each sequence's steps).
func checkRealSteps(_ realSteps: [Range<Int>]?, _ layout: PackedLayout) {
    guard let realSteps else { return }
    precondition(realSteps.count == layout.batch, "\(realSteps.count) step ranges for \(layout.batch) sequences")
    for i in 0 ..< layout.batch {
        let r = realSteps[layout.order[i]]
        precondition(!r.isEmpty && r.lowerBound >= 0 && r.upperBound <= layout.lengths[i], "real steps \(r) outside sequence of \(layout.lengths[i]) steps")
    }
}

/// Max and/or mean pooling of out [N, W] (packed rows) into the features f [B, F] at column
/// offsets maxAt / meanAt (nil: not computed), original batch order. argmax [B, W] receives the
/// packed row that won each max column (for the backward).
func poolForward(out: UnsafePointer<Float>, layout: PackedLayout, realSteps: [Range<Int>]?, W: Int,
                 f: FPtr, F: Int, maxAt: Int?, meanAt: Int?, argmax: UnsafeMutablePointer<Int32>) {
    for i in 0 ..< layout.batch {
        let o = layout.order[i]
        let steps = pooledSteps(layout, i, realSteps)
        let first = layout.offsets[steps.lowerBound] + i
        if let maxAt {
            let y = f + o * F + maxAt, arg = argmax + o * W
            y.update(from: out + first * W, count: W)
            arg.update(repeating: Int32(first), count: W)
            for t in steps.dropFirst() {
                let row = layout.offsets[t] + i, x = out + row * W
                for c in 0 ..< W where x[c] > y[c] { y[c] = x[c]; arg[c] = Int32(row) }
            }
        }
        if let meanAt {
            let y = f + o * F + meanAt
            y.update(from: out + first * W, count: W)
            for t in steps.dropFirst() {
                let x = out + (layout.offsets[t] + i) * W
                for c in 0 ..< W { y[c] += x[c] }
            }
            let n = Float(steps.count)
            for c in 0 ..< W { y[c] /= n }
        }
    }
}

/// The backward of poolForward: adds the gradients of the max / mean features df [B, F] into
/// dOut [N, W] (packed rows; the caller zeroes it).
func poolBackward(dOut: FPtr, df: UnsafePointer<Float>, layout: PackedLayout, realSteps: [Range<Int>]?, W: Int, F: Int,
                  maxAt: Int?, meanAt: Int?, argmax: UnsafePointer<Int32>) {
    for i in 0 ..< layout.batch {
        let o = layout.order[i]
        if let maxAt {
            let g = df + o * F + maxAt, arg = argmax + o * W
            for c in 0 ..< W { dOut[Int(arg[c]) * W + c] += g[c] }
        }
        if let meanAt {
            let steps = pooledSteps(layout, i, realSteps)
            let g = df + o * F + meanAt, n = Float(steps.count)
            for t in steps {
                let d = dOut + (layout.offsets[t] + i) * W
                for c in 0 ..< W { d[c] += g[c] / n }
            }
        }
    }
}
