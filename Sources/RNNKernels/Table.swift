// This kernel set's entry points (RNNKernelABI/KernelTable.swift). The same file is compiled into
// RNNKernelsBaseline, RNNKernelsV3 (RNN_KERNELS_V3) and RNNKernelsV4 (RNN_KERNELS_V4).
import RNNKernelABI

#if RNN_KERNELS_V4
private let thisSet = KernelSet.v4
#elseif RNN_KERNELS_V3
private let thisSet = KernelSet.v3
#else
private let thisSet = KernelSet.baseline
#endif

/// The kernel table of this module's set. Only call its entries on a CPU that supports the set.
public let kernelTable = KernelTable(
    set: thisSet, lanes: FV.scalarCount,
    rnnForwardRows: { rnnForwardRows(rows: $0, H: $1, act: $2, gh: $3, bih: $4, bhh: $5, to: $6, width: $7) },
    lstmForwardRows: { lstmForwardRows(rows: $0, H: $1, act: $2, gh: $3, bih: $4, bhh: $5, cprev: $6, tanhC: $7, to: $8, width: $9) },
    gruForwardRows: { gruForwardRows(rows: $0, H: $1, act: $2, gh: $3, bih: $4, bhh: $5, hprev: $6, hnOut: $7, to: $8, width: $9) },
    rnnBackwardRows: { rnnBackwardRows(rows: $0, H: $1, act: $2, dOut: $3, ldd: $4, carryH: $5, dG: $6) },
    lstmBackwardRows: { lstmBackwardRows(rows: $0, H: $1, act: $2, tanhC: $3, cprev: $4, dOut: $5, ldd: $6, carryH: $7, carryC: $8, dG: $9) },
    gruBackwardRows: { gruBackwardRows(rows: $0, H: $1, act: $2, hnSaved: $3, hprev: $4, dOut: $5, ldd: $6, carryH: $7, dG: $8, dGh: $9) },
    gemmPacked: { gemmPacked(m: $0, n: $1, k: $2, a: $3, lda: $4, packed: $5, c: $6, ldc: $7, accumulate: $8) },
    gemvRows: { gemvRows(y: $0, x: $1, w: $2, k: $3, ldw: $4, rows: $5, accumulate: $6) },
    bigProduct: bigProductEntry,
    adam: { adamRange($0, $1, $2, $3, $4, $5) },
    scale: { scaleRange($0, $1, $2) },
    sumOfSquares: { sumOfSquares($0, $1) },
    addInPlace: { addInPlace($0, $1, $2) },
    addColumnSums: { addColumnSums($0, $1, rows: $2, cols: $3, ld: $4) },
    vectorFunction: { vectorFunction($0, $1, $2, $3) })

#if RNN_KERNELS_V4
private let bigProductEntry: (@Sendable (Bool, Bool, Range<Int>, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int,
                                         FPtr, Int, Bool, FPtr, FPtr) -> Void)? = {
    product512(transA: $0, transB: $1, rows: $2, n: $3, k: $4, a: $5, lda: $6, b: $7, ldb: $8, c: $9, ldc: $10, accumulate: $11,
               pack: $12, scratch: $13)
}
#else
private let bigProductEntry: (@Sendable (Bool, Bool, Range<Int>, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int,
                                         FPtr, Int, Bool, FPtr, FPtr) -> Void)? = nil
#endif
