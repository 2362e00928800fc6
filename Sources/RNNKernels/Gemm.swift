// Small GEMMs of the per-step recurrence and one-row products, hand-written for AVX2 + FMA (the
// v3 kernel set; baseline runs the same code with software FMA, v4 the tile of Gemm512.swift).
//
// At batch <= 32 the recurrent product of one step (32 x 128 @ 128 x 512 for an LSTM) takes a few
// microseconds, and OpenBLAS's per-call overhead and thread synchronisation dominate it
// (PLATFORM.md). The big input projections and weight gradients stay on OpenBLAS (BLAS.swift) in
// the baseline and v3 sets; v4 runs them on Gemm512.swift (RecurrentStack.bigProduct).
//
// Glossary: M rows of A and C (sequences active at a step), N columns of C, K inner dimension.
//   A       [M, K]   row-major, row stride lda
//   panels  B [K, N] packed in column panels of 16 (RNNKernelABI/Panels.swift): panel p is
//           [K, 16] contiguous, element (k, j) = B[k, 16p + j] (columns past N are 0)
//   C       [M, N]   row-major, row stride ldc
//   W       [N, K]   row-major weights of a one-row product y = x W^T (gemv)
//
// gemmPacked computes C = A B (or C += A B) with a 6 x 16 register tile: 12 ymm accumulators, two
// panel loads and six broadcasts per k, all FMA. Each element is one FMA chain over k ascending,
// so the result does not depend on M, on the tile or on threads (bit-identical across runs).
// The v4 set (RNN_KERNELS_V4) runs gemmPacked on the 8 x 32 tile of Gemm512.swift instead (same
// packed panels, same single chain over k per element, so the same bits).

import RNNKernelABI

/// Number of rows of a register tile, a compile-time constant after specialisation.
protocol TileRows { static var rows: Int { get } }
enum TileRows1: TileRows { static var rows: Int { 1 } }
enum TileRows2: TileRows { static var rows: Int { 2 } }
enum TileRows3: TileRows { static var rows: Int { 3 } }
enum TileRows4: TileRows { static var rows: Int { 4 } }
enum TileRows5: TileRows { static var rows: Int { 5 } }
enum TileRows6: TileRows { static var rows: Int { 6 } }

/// Stores one 16-wide accumulator pair into a C row (only the first `cols` columns).
@inline(__always)
private func storeRow(_ v0: F8, _ v1: F8, _ c: FPtr, cols: Int, accumulate: Bool) {
    if cols == 16 {
        if accumulate {
            store8(load8(c) + v0, c); store8(load8(c + 8) + v1, c + 8)
        } else {
            store8(v0, c); store8(v1, c + 8)
        }
    } else {
        for j in 0 ..< cols {
            let x = j < 8 ? v0[j] : v1[j - 8]
            if accumulate { c[j] += x } else { c[j] = x }
        }
    }
}

/// One R x 16 tile: C[0..<R, 0..<cols] (+)= A[0..<R, 0..<K] panel.
@inline(__always)
private func tile<R: TileRows>(_: R.Type, k K: Int, a: UnsafePointer<Float>, lda: Int, panel: UnsafePointer<Float>,
                               c: FPtr, ldc: Int, cols: Int, accumulate: Bool) {
    var c00 = F8(), c01 = F8(), c10 = F8(), c11 = F8(), c20 = F8(), c21 = F8()
    var c30 = F8(), c31 = F8(), c40 = F8(), c41 = F8(), c50 = F8(), c51 = F8()
    let a0 = a, a1 = a + (R.rows > 1 ? lda : 0), a2 = a + (R.rows > 2 ? 2 * lda : 0)
    let a3 = a + (R.rows > 3 ? 3 * lda : 0), a4 = a + (R.rows > 4 ? 4 * lda : 0), a5 = a + (R.rows > 5 ? 5 * lda : 0)
    var pb = panel
    for kk in 0 ..< K {
        let b0 = UnsafeRawPointer(pb).load(as: F8.self), b1 = UnsafeRawPointer(pb + 8).load(as: F8.self)
        let x0 = F8(repeating: a0[kk])
        c00 = c00.addingProduct(x0, b0); c01 = c01.addingProduct(x0, b1)
        if R.rows > 1 { let x = F8(repeating: a1[kk]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1) }
        if R.rows > 2 { let x = F8(repeating: a2[kk]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1) }
        if R.rows > 3 { let x = F8(repeating: a3[kk]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1) }
        if R.rows > 4 { let x = F8(repeating: a4[kk]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1) }
        if R.rows > 5 { let x = F8(repeating: a5[kk]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1) }
        pb += 16
    }
    storeRow(c00, c01, c, cols: cols, accumulate: accumulate)
    if R.rows > 1 { storeRow(c10, c11, c + ldc, cols: cols, accumulate: accumulate) }
    if R.rows > 2 { storeRow(c20, c21, c + 2 * ldc, cols: cols, accumulate: accumulate) }
    if R.rows > 3 { storeRow(c30, c31, c + 3 * ldc, cols: cols, accumulate: accumulate) }
    if R.rows > 4 { storeRow(c40, c41, c + 4 * ldc, cols: cols, accumulate: accumulate) }
    if R.rows > 5 { storeRow(c50, c51, c + 5 * ldc, cols: cols, accumulate: accumulate) }
}

/// C[M, N] = A[M, K] B (or += when `accumulate`), B packed by packTransposed / packPlain.
func gemmPacked(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>,
                c: FPtr, ldc: Int, accumulate: Bool) {
    if m == 0 || n == 0 { return }
    #if RNN_KERNELS_V4
    gemm512(rows: 0 ..< m, n: n, k: k, a: a, ars: lda, acs: 1, b: .packed(packed, k: k, n: n), c: c, ldc: ldc,
            accumulate: accumulate, scratch: nil)
    #else
    if k == 0 {
        if !accumulate { for i in 0 ..< m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    for p in 0 ..< (n + 15) / 16 {
        let cols = min(16, n - 16 * p)
        let panel = packed + p * 16 * k
        let cp = c + 16 * p
        var i = 0
        while i + 6 <= m {
            tile(TileRows6.self, k: k, a: a + i * lda, lda: lda, panel: panel, c: cp + i * ldc, ldc: ldc, cols: cols, accumulate: accumulate)
            i += 6
        }
        let ai = a + i * lda, ci = cp + i * ldc
        switch m - i {
        case 1: tile(TileRows1.self, k: k, a: ai, lda: lda, panel: panel, c: ci, ldc: ldc, cols: cols, accumulate: accumulate)
        case 2: tile(TileRows2.self, k: k, a: ai, lda: lda, panel: panel, c: ci, ldc: ldc, cols: cols, accumulate: accumulate)
        case 3: tile(TileRows3.self, k: k, a: ai, lda: lda, panel: panel, c: ci, ldc: ldc, cols: cols, accumulate: accumulate)
        case 4: tile(TileRows4.self, k: k, a: ai, lda: lda, panel: panel, c: ci, ldc: ldc, cols: cols, accumulate: accumulate)
        case 5: tile(TileRows5.self, k: k, a: ai, lda: lda, panel: panel, c: ci, ldc: ldc, cols: cols, accumulate: accumulate)
        default: break
        }
    }
    #endif
}

/// Horizontal sum of 8 lanes (pairwise; fixed order).
@inline(__always) func hsum8(_ v: F8) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    return b[0] + b[1]
}

/// One-row product y[j] (+)= sum_k x[k] W[j, k] for j in rows (W [N, K] row-major, stride ldw):
/// four rows of W at a time with 8-lane accumulators, so each weight is read once and the loop
/// runs at memory speed (sampling, batch 1).
func gemvRows(y: FPtr, x: UnsafePointer<Float>, w: UnsafePointer<Float>, k K: Int, ldw: Int, rows: Range<Int>, accumulate: Bool) {
    var j = rows.lowerBound
    let k8 = K & ~7
    while j + 4 <= rows.upperBound {
        let w0 = w + j * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw
        var s0 = F8(), s1 = F8(), s2 = F8(), s3 = F8()
        var kk = 0
        while kk < k8 {
            let xv = load8(x + kk)
            s0 = s0.addingProduct(load8(w0 + kk), xv); s1 = s1.addingProduct(load8(w1 + kk), xv)
            s2 = s2.addingProduct(load8(w2 + kk), xv); s3 = s3.addingProduct(load8(w3 + kk), xv)
            kk += 8
        }
        var r0 = hsum8(s0), r1 = hsum8(s1), r2 = hsum8(s2), r3 = hsum8(s3)
        while kk < K {
            r0 += w0[kk] * x[kk]; r1 += w1[kk] * x[kk]; r2 += w2[kk] * x[kk]; r3 += w3[kk] * x[kk]
            kk += 1
        }
        if accumulate { y[j] += r0; y[j + 1] += r1; y[j + 2] += r2; y[j + 3] += r3 }
        else { y[j] = r0; y[j + 1] = r1; y[j + 2] = r2; y[j + 3] = r3 }
        j += 4
    }
    while j < rows.upperBound {
        let w0 = w + j * ldw
        var s0 = F8()
        var kk = 0
        while kk < k8 { s0 = s0.addingProduct(load8(w0 + kk), load8(x + kk)); kk += 8 }
        var r0 = hsum8(s0)
        while kk < K { r0 += w0[kk] * x[kk]; kk += 1 }
        if accumulate { y[j] += r0 } else { y[j] = r0 }
        j += 1
    }
}
