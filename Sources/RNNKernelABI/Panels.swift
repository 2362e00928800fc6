// B operands of the packed products in column panels of 16 (Gemm.swift of the kernel sets):
// panel p is [K, 16] contiguous, element (k, j) = B[k, 16p + j] (columns past N are 0);
// ceil(N/16) panels. Packing only copies, so it is the same portable code for every kernel set.

/// Floats needed to pack a [K, N] operand into 16-column panels.
@inline(__always) public func packedCount(k: Int, n: Int) -> Int { (n + 15) / 16 * 16 * k }

/// Number of 16-column panels of an N-column operand.
@inline(__always) public func panelCount(_ n: Int) -> Int { (n + 15) / 16 }

/// Packs B = W^T where W is [N, K] row-major (row stride ldw): panel element (k, j) = W[16p + j, k]
/// (only the panels in `panels`, so threads can share the work; default all).
public func packTransposed(_ w: UnsafePointer<Float>, n: Int, k: Int, ldw: Int, into dst: FPtr, panels: Range<Int>? = nil) {
    for p in panels ?? 0 ..< panelCount(n) {
        let panel = dst + p * 16 * k
        let cols = min(16, n - 16 * p)
        if cols < 16 { panel.update(repeating: 0, count: 16 * k) }
        for j in 0 ..< cols {
            let row = w + (16 * p + j) * ldw
            for kk in 0 ..< k { panel[kk * 16 + j] = row[kk] }
        }
    }
}

/// Packs B = W where W is [K, N] row-major (row stride ldw): panel element (k, j) = W[k, 16p + j]
/// (only the panels in `panels`; default all).
public func packPlain(_ w: UnsafePointer<Float>, k: Int, n: Int, ldw: Int, into dst: FPtr, panels: Range<Int>? = nil) {
    for p in panels ?? 0 ..< panelCount(n) {
        let panel = dst + p * 16 * k
        let cols = min(16, n - 16 * p)
        for kk in 0 ..< k {
            let src = w + kk * ldw + 16 * p, d = panel + kk * 16
            d.update(from: src, count: cols)
            if cols < 16 { (d + cols).update(repeating: 0, count: 16 - cols) }
        }
    }
}
