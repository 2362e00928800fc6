// Thin wrappers over cblas_sgemm (row-major) and small vector loops.
import COpenBLAS

/// C[M,N] = alpha * op(A) op(B) + beta * C, row-major; op = transpose when the flag is set.
@inline(__always)
func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
           _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
           _ b: UnsafePointer<Float>, _ ldb: Int,
           _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        if beta == 0 { for i in 0 ..< m { (c + i * ldc).update(repeating: 0, count: n) } }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// y[0..<n] += x[0..<n]
@inline(__always)
func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    var j = 0
    while j + 8 <= n { store8(load8(y + j) + load8(x + j), y + j); j += 8 }
    while j < n { y[j] += x[j]; j += 1 }
}

/// out[0..<n] += column sums of the rows x[r*ld ..< r*ld+n], r in 0..<rows (vector accumulators).
func addColumnSums(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols n: Int, ld: Int) {
    var j = 0
    while j + 32 <= n {
        var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
        var p = x + j
        for _ in 0 ..< rows {
            a0 += load8(p); a1 += load8(p + 8); a2 += load8(p + 16); a3 += load8(p + 24)
            p += ld
        }
        store8(load8(out + j) + a0, out + j); store8(load8(out + j + 8) + a1, out + j + 8)
        store8(load8(out + j + 16) + a2, out + j + 16); store8(load8(out + j + 24) + a3, out + j + 24)
        j += 32
    }
    while j < n {
        var s: Float = 0
        for r in 0 ..< rows { s += x[r * ld + j] }
        out[j] += s
        j += 1
    }
}

/// A growable, 64-byte aligned Float buffer (contents are not preserved when it grows).
final class FloatBuffer {
    private(set) var pointer: UnsafeMutablePointer<Float>
    private(set) var capacity: Int

    init(_ n: Int = 0) {
        capacity = max(n, 16)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64).bindMemory(to: Float.self, capacity: capacity)
    }
    deinit { pointer.deallocate() }

    /// Makes room for n floats; returns the (possibly new) base pointer.
    @discardableResult
    func ensure(_ n: Int) -> UnsafeMutablePointer<Float> {
        if n > capacity {
            pointer.deallocate()
            capacity = max(n, capacity + capacity / 2)
            pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64).bindMemory(to: Float.self, capacity: capacity)
        }
        return pointer
    }

    /// ensure(n) and zero the first n floats.
    @discardableResult
    func zeroed(_ n: Int) -> UnsafeMutablePointer<Float> {
        let p = ensure(n)
        p.update(repeating: 0, count: n)
        return p
    }
}
