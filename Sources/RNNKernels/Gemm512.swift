// AVX-512 products: every matrix product of the recurrence on the engine's own 16-lane kernel
// (the v4 kernel set only: RNNKernelsV4 is built with -march=x86-64-v4 and RNN_KERNELS_V4).
//
// Why not OpenBLAS: Debian's OpenBLAS 0.3.21 does not know AMD Zen 4/5 and runs its AVX2 kernels
// there, and the environment may pin its kernels (OPENBLAS_CORETYPE), which we respect. The
// engine's products are few and regular (K <= a few thousand, one thread per direction), so one
// register-tiled kernel with cache blocking covers them all.
//
// Glossary (as in Gemm.swift): C [M, N] row-major (stride ldc), inner dimension K.
//   A       element (i, k) at a[i * ars + k * acs]: a row-major matrix (ars = lda, acs = 1) or the
//           transpose of one (ars = 1, acs = lda; e.g. dG^T for a weight gradient)
//   B       [K, N] read in column panels of 16: panel p, row k starts at base + p * pstep + k * kstep.
//           Packed panels (Gemm.swift: pstep = 16 K, kstep = 16) or a row-major matrix read in place
//           (pstep = 16, kstep = ldb); a partial last panel of a row-major B is copied into a
//           zero-padded scratch panel, so nothing is read past the matrix.
//   tile    R x 32 of C (R <= 8): 16 zmm accumulators, two panel loads and R broadcasts per k
//           (the two panels may come from different sources: in place, and a copied partial one).
//   kc      K is cut into blocks of kc = 256 so that one block of A and of B stays in the 2 MB L2
//           while the tiles sweep it (weight gradients have K = all tokens of the batch).
// Every element of C is accumulated over k ascending, block by block, in a fixed order: results
// do not depend on threads or on M.

#if RNN_KERNELS_V4
import RNNKernelABI

/// Stores one 32-wide accumulator pair into a C row (only the first `cols` columns).
@inline(__always)
private func storeRow32(_ v0: FV, _ v1: FV, _ c: FPtr, cols: Int, accumulate: Bool) {
    if cols == 32 {
        if accumulate {
            storeV(loadV(c) + v0, c); storeV(loadV(c + 16) + v1, c + 16)
        } else {
            storeV(v0, c); storeV(v1, c + 16)
        }
    } else {
        for j in 0 ..< cols {
            let x = j < 16 ? v0[j] : v1[j - 16]
            if accumulate { c[j] += x } else { c[j] = x }
        }
    }
}

enum TileRows7: TileRows { static var rows: Int { 7 } }
enum TileRows8: TileRows { static var rows: Int { 8 } }

/// One R x 32 tile over kb values of k: C[0..<R, 0..<cols] (+)= A[0..<R, 0..<kb] [b0 | b1].
@inline(__always)
private func tile32<R: TileRows>(_: R.Type, kb: Int, a: UnsafePointer<Float>, ars: Int, acs: Int,
                                 b0: UnsafePointer<Float>, b1: UnsafePointer<Float>, kstep0: Int, kstep1: Int,
                                 c: FPtr, ldc: Int, cols: Int, accumulate: Bool) {
    var c00 = FV(), c01 = FV(), c10 = FV(), c11 = FV(), c20 = FV(), c21 = FV(), c30 = FV(), c31 = FV()
    var c40 = FV(), c41 = FV(), c50 = FV(), c51 = FV(), c60 = FV(), c61 = FV(), c70 = FV(), c71 = FV()
    let a0 = a, a1 = a + (R.rows > 1 ? ars : 0), a2 = a + (R.rows > 2 ? 2 * ars : 0), a3 = a + (R.rows > 3 ? 3 * ars : 0)
    let a4 = a + (R.rows > 4 ? 4 * ars : 0), a5 = a + (R.rows > 5 ? 5 * ars : 0)
    let a6 = a + (R.rows > 6 ? 6 * ars : 0), a7 = a + (R.rows > 7 ? 7 * ars : 0)
    var o = 0, pb0 = 0, pb1 = 0
    for _ in 0 ..< kb {
        let x0 = loadV(b0 + pb0), x1 = loadV(b1 + pb1)
        let s0 = FV(repeating: a0[o]); c00 = c00.addingProduct(s0, x0); c01 = c01.addingProduct(s0, x1)
        if R.rows > 1 { let s = FV(repeating: a1[o]); c10 = c10.addingProduct(s, x0); c11 = c11.addingProduct(s, x1) }
        if R.rows > 2 { let s = FV(repeating: a2[o]); c20 = c20.addingProduct(s, x0); c21 = c21.addingProduct(s, x1) }
        if R.rows > 3 { let s = FV(repeating: a3[o]); c30 = c30.addingProduct(s, x0); c31 = c31.addingProduct(s, x1) }
        if R.rows > 4 { let s = FV(repeating: a4[o]); c40 = c40.addingProduct(s, x0); c41 = c41.addingProduct(s, x1) }
        if R.rows > 5 { let s = FV(repeating: a5[o]); c50 = c50.addingProduct(s, x0); c51 = c51.addingProduct(s, x1) }
        if R.rows > 6 { let s = FV(repeating: a6[o]); c60 = c60.addingProduct(s, x0); c61 = c61.addingProduct(s, x1) }
        if R.rows > 7 { let s = FV(repeating: a7[o]); c70 = c70.addingProduct(s, x0); c71 = c71.addingProduct(s, x1) }
        o &+= acs; pb0 &+= kstep0; pb1 &+= kstep1
    }
    storeRow32(c00, c01, c, cols: cols, accumulate: accumulate)
    if R.rows > 1 { storeRow32(c10, c11, c + ldc, cols: cols, accumulate: accumulate) }
    if R.rows > 2 { storeRow32(c20, c21, c + 2 * ldc, cols: cols, accumulate: accumulate) }
    if R.rows > 3 { storeRow32(c30, c31, c + 3 * ldc, cols: cols, accumulate: accumulate) }
    if R.rows > 4 { storeRow32(c40, c41, c + 4 * ldc, cols: cols, accumulate: accumulate) }
    if R.rows > 5 { storeRow32(c50, c51, c + 5 * ldc, cols: cols, accumulate: accumulate) }
    if R.rows > 6 { storeRow32(c60, c61, c + 6 * ldc, cols: cols, accumulate: accumulate) }
    if R.rows > 7 { storeRow32(c70, c71, c + 7 * ldc, cols: cols, accumulate: accumulate) }
}

/// The B operand of `gemm512`: panel p, row k at base + p * pstep + k * kstep.
struct PanelSource {
    var base: UnsafePointer<Float>
    var pstep: Int, kstep: Int
    /// Columns of B (N); a row-major B with N % 16 != 0 has its last panel copied.
    var n: Int
    /// A row-major matrix read in place (else packed panels).
    var rowMajor: Bool
    /// Packed panels (packTransposed / packPlain over K rows).
    static func packed(_ p: UnsafePointer<Float>, k: Int, n: Int) -> PanelSource {
        PanelSource(base: p, pstep: 16 * k, kstep: 16, n: n, rowMajor: false)
    }
    /// A row-major [K, N] matrix with row stride ldb, read in place.
    static func rowMajor(_ p: UnsafePointer<Float>, ldb: Int, n: Int) -> PanelSource {
        PanelSource(base: p, pstep: 16, kstep: ldb, n: n, rowMajor: true)
    }
}

/// C[rows, N] (+)= A[rows, K] B for the rows `rows` of C and A (A and C pointers are of row 0).
/// `scratch` (16 * min(K, gemmKBlock) floats) receives a partial last panel of a row-major B
/// (required then; packed B needs none).
func gemm512(rows: Range<Int>, n: Int, k K: Int, a: UnsafePointer<Float>, ars: Int, acs: Int, b: PanelSource,
             c: FPtr, ldc: Int, accumulate: Bool, scratch: FPtr?) {
    if rows.isEmpty || n == 0 { return }
    if K == 0 {
        if !accumulate { for i in rows { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    let panels = (n + 15) / 16
    let rowMajor = b.rowMajor
    let partial = rowMajor && n % 16 != 0 ? panels - 1 : -1
    // Packed B is contiguous per panel and small (the per-step products): no K blocks.
    let kc = rowMajor ? gemmKBlock : K
    var k0 = 0
    while k0 < K {
        let kb = min(kc, K - k0)
        let acc = accumulate || k0 > 0
        var tail = UnsafePointer<Float>(b.base)
        if partial >= 0 {
            let s = scratch!
            let cols = n - 16 * partial
            for kk in 0 ..< kb {
                let src = b.base + partial * 16 + (k0 + kk) * b.kstep, d = s + kk * 16
                for j in 0 ..< 16 { d[j] = j < cols ? src[j] : 0 }
            }
            tail = UnsafePointer(s)
        }
        @inline(__always) func panel(_ p: Int) -> (UnsafePointer<Float>, Int) {
            p == partial ? (tail, 16) : (b.base + p * b.pstep + k0 * b.kstep, b.kstep)
        }
        var i = rows.lowerBound
        while i < rows.upperBound {
            let r = min(8, rows.upperBound - i)
            let ai = a + i * ars + k0 * acs
            var p = 0
            while p < panels {
                let (p0, s0) = panel(p)
                // the second panel of the pair (the first again when it is the last one: its
                // columns are not stored)
                let (p1, s1) = p + 1 < panels ? panel(p + 1) : (p0, s0)
                let cols = min(32, n - 16 * p)
                let cp = c + i * ldc + 16 * p
                switch r {
                case 8: tile32(TileRows8.self, kb: kb, a: ai, ars: ars, acs: acs, b0: p0, b1: p1, kstep0: s0, kstep1: s1, c: cp, ldc: ldc, cols: cols, accumulate: acc)
                case 7: tile32(TileRows7.self, kb: kb, a: ai, ars: ars, acs: acs, b0: p0, b1: p1, kstep0: s0, kstep1: s1, c: cp, ldc: ldc, cols: cols, accumulate: acc)
                case 6: tile32(TileRows6.self, kb: kb, a: ai, ars: ars, acs: acs, b0: p0, b1: p1, kstep0: s0, kstep1: s1, c: cp, ldc: ldc, cols: cols, accumulate: acc)
                case 5: tile32(TileRows5.self, kb: kb, a: ai, ars: ars, acs: acs, b0: p0, b1: p1, kstep0: s0, kstep1: s1, c: cp, ldc: ldc, cols: cols, accumulate: acc)
                case 4: tile32(TileRows4.self, kb: kb, a: ai, ars: ars, acs: acs, b0: p0, b1: p1, kstep0: s0, kstep1: s1, c: cp, ldc: ldc, cols: cols, accumulate: acc)
                case 3: tile32(TileRows3.self, kb: kb, a: ai, ars: ars, acs: acs, b0: p0, b1: p1, kstep0: s0, kstep1: s1, c: cp, ldc: ldc, cols: cols, accumulate: acc)
                case 2: tile32(TileRows2.self, kb: kb, a: ai, ars: ars, acs: acs, b0: p0, b1: p1, kstep0: s0, kstep1: s1, c: cp, ldc: ldc, cols: cols, accumulate: acc)
                default: tile32(TileRows1.self, kb: kb, a: ai, ars: ars, acs: acs, b0: p0, b1: p1, kstep0: s0, kstep1: s1, c: cp, ldc: ldc, cols: cols, accumulate: acc)
                }
                p += 2
            }
            i += r
        }
        k0 += kb
    }
}

/// The B operand of op(B): B [K, N] read in place (ldb), or B^T with B [N, K] packed into `pack`
/// (packedCount(k, n) floats).
func panelSource(transB: Bool, b: UnsafePointer<Float>, ldb: Int, n: Int, k: Int, pack: FPtr) -> PanelSource {
    guard transB else { return .rowMajor(b, ldb: ldb, n: n) }
    let p = pack
    packTransposed(b, n: n, k: k, ldw: ldb, into: p)
    return .packed(p, k: k, n: n)
}

/// C[M, N] (+)= op(A) op(B) like sgemm with alpha 1 and beta 0 (or 1 when `accumulate`), for the
/// rows `rows` of C: op(A) is A [M, K] (lda) or A^T with A [K, M]; op(B) as in panelSource.
/// (KernelTable.bigProduct of the v4 set.)
func product512(transA: Bool, transB: Bool, rows: Range<Int>, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                b: UnsafePointer<Float>, ldb: Int, c: FPtr, ldc: Int, accumulate: Bool,
                pack: FPtr, scratch: FPtr) {
    if rows.isEmpty { return }
    gemm512(rows: rows, n: n, k: k, a: a, ars: transA ? 1 : lda, acs: transA ? lda : 1,
            b: panelSource(transB: transB, b: b, ldb: ldb, n: n, k: k, pack: pack),
            c: c, ldc: ldc, accumulate: accumulate, scratch: scratch)
}
#endif
