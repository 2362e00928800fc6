// Thin wrapper over cblas_sgemm (row-major) and the engine's aligned buffers.
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
