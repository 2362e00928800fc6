// Fully connected layer y = x W^T + b and inverted dropout.
//
// Glossary: R rows (B for the classifier head, N = B*T positions for the LM), I in, O out.
//   x [R, I]; W [O, I]; b [O]; y [R, O]

/// y[R, O] = x W^T + b. `rowwise` (the classifier head) computes every row with one-row products,
/// so a row's result does not depend on R (OpenBLAS's rounding may).
func linearForward(y: FPtr, x: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>, R: Int, I: Int, O: Int,
                   rowwise: Bool = false) {
    if R <= 2 || rowwise {
        // one-row products (sampling): no BLAS call overhead
        for r in 0 ..< R {
            gemvRows(y: y + r * O, x: x + r * I, w: w, k: I, ldw: I, rows: 0 ..< O, accumulate: false)
            addInPlace(y + r * O, b, O)
        }
        return
    }
    for r in 0 ..< R { (y + r * O).update(from: b, count: O) }
    sgemm(false, true, R, O, I, 1, x, I, w, I, 1, y, O)
}

/// dW += dy^T x; db += sum_r dy; dx = dy W (if dx is non-nil; overwritten).
func linearBackward(dx: FPtr?, dw: FPtr, db: FPtr, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                    R: Int, I: Int, O: Int) {
    sgemm(true, false, O, I, R, 1, dy, O, x, I, 1, dw, I)
    addColumnSums(db, dy, rows: R, cols: O, ld: O)
    if let dx { sgemm(false, false, R, I, O, 1, dy, O, w, I, 0, dx, I) }
}

/// Inverted dropout of packed rows (`width` values per row, layout.tokens rows): a fresh mask per
/// element (dropoutForward), or with `locked` one mask per sequence shared by all its time steps
/// (variational dropout, Gal and Ghahramani; AWD-LSTM's locked dropout): sequence i's mask is drawn
/// once, in sorted order as the rows of step 0, and copied to its row at every later step.
func dropoutForward(y: FPtr, mask: FPtr, x: UnsafePointer<Float>, layout: PackedLayout, width: Int, p: Float, locked: Bool,
                    rng: inout RNG) {
    guard locked else {
        dropoutForward(y: y, mask: mask, x: x, count: layout.tokens * width, p: p, rng: &rng)
        return
    }
    let scale = 1 / (1 - p)
    for i in 0 ..< layout.batch * width { mask[i] = rng.uniform() >= p ? scale : 0 }   // step 0: rows 0..<B
    for t in 1 ..< layout.steps {
        (mask + layout.offsets[t] * width).update(from: mask, count: layout.batchSizes[t] * width)
    }
    for i in 0 ..< layout.tokens * width { y[i] = x[i] * mask[i] }
}

/// Inverted dropout (torch.nn.Dropout): mask = 0 with probability p, else 1/(1-p); y = x * mask.
func dropoutForward(y: FPtr, mask: FPtr, x: UnsafePointer<Float>, count: Int, p: Float, rng: inout RNG) {
    let scale = 1 / (1 - p)
    for i in 0 ..< count {
        mask[i] = rng.uniform() >= p ? scale : 0
        y[i] = x[i] * mask[i]
    }
}
