// Training products in bfloat16 (Model.bf16, rnn-fit --bf16): the kernel and packing of
// CBFloat16/bf16.h behind the engine's signatures. Operands are rounded to bfloat16 (nearest even)
// as they are packed, products are summed in fp32 by VDPBF16PS over pairs of k ascending (blocks of
// RNN_BF16_KC pairs), so every element depends only on its operands: the same bits in any row
// split or thread count. Call only when EngineKernels.bf16Available.
import CBFloat16
import RNNKernelABI

/// Floats (one per bfloat16 pair) of B [k, n] in bfloat16 panels.
func bf16PanelCount(k: Int, n: Int) -> Int { 16 * ((k + 1) / 2) * panelCount(n) }

/// The panels `panels` of B = W^T in bfloat16, W [n, k] row-major (stride ldw).
func bf16PackTransposed(_ w: UnsafePointer<Float>, n: Int, k: Int, ldw: Int, into dst: FPtr, panels: Range<Int>) {
    rnn_bf16_panels_t(w, ldw, n, k, panels.lowerBound, panels.upperBound, dst)
}

/// The panels `panels` of B [k, n] row-major (stride ldb) in bfloat16.
func bf16PackPlain(_ b: UnsafePointer<Float>, k: Int, n: Int, ldb: Int, into dst: FPtr, panels: Range<Int>) {
    let pstep = 16 * ((k + 1) / 2)
    let c0 = 16 * panels.lowerBound, c1 = min(n, 16 * panels.upperBound)
    if c0 >= c1 { return }
    rnn_bf16_pairs(b, ldb, k, c0, c1, dst + pstep * panels.lowerBound, pstep, 16, 1)
}

/// C[m, n] (+)= A[m, k] B, B packed by bf16PackTransposed / bf16PackPlain; A is converted into
/// `aBuffer` first.
func bf16PackedProduct(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>,
                       c: FPtr, ldc: Int, accumulate: Bool, aBuffer: FloatBuffer) {
    let kq = (k + 1) / 2
    let ap = aBuffer.ensure(m * kq)
    rnn_bf16_rows(a, lda, m, k, ap)
    rnn_bf16_gemm(m, n, k, ap, kq, 1, packed, c, ldc, accumulate ? 1 : 0)
}

/// C[rows, N] (+)= op(A) op(B) like sgemm with alpha 1 and beta 0 (or 1 when `accumulate`), for
/// the rows `rows` of C, on the bfloat16 kernel: op(A) is A [M, K] (lda) or A^T with A [K, M];
/// op(B) is B [K, N] (ldb) or B^T with B [N, K]. The operands are packed into the buffers
/// (A: the rows' pairs along k, or for A^T the pairs of rows of the stored matrix; B: all panels).
func bf16Product(transA: Bool, transB: Bool, rows: Range<Int>, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int, c: FPtr, ldc: Int, accumulate: Bool, aBuffer: FloatBuffer, bBuffer: FloatBuffer) {
    if rows.isEmpty || n == 0 { return }
    let kq = (k + 1) / 2, r0 = rows.lowerBound, count = rows.count
    let ap = aBuffer.ensure(count * kq), bp = bBuffer.ensure(bf16PanelCount(k: k, n: n))
    if transA { rnn_bf16_pairs(a, lda, k, r0, rows.upperBound, ap, 16, count, 0) } else { rnn_bf16_rows(a + r0 * lda, lda, count, k, ap) }
    if transB {
        bf16PackTransposed(b, n: n, k: k, ldw: ldb, into: bp, panels: 0 ..< panelCount(n))
    } else {
        bf16PackPlain(b, k: k, n: n, ldb: ldb, into: bp, panels: 0 ..< panelCount(n))
    }
    rnn_bf16_gemm(count, n, k, ap, transA ? 1 : kq, transA ? count : 1, bp, c + r0 * ldc, ldc, accumulate ? 1 : 0)
}
