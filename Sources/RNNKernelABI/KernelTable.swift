// The interface between the engine and its kernel sets: the leaf kernels whose code depends on the
// vector width (gate math, packed and one-row products, the AVX-512 big product, Adam and the other
// vector loops over the parameter arena) are compiled once per x86-64 level, from the same sources
// (Sources/RNNKernels, linked into RNNKernelsBaseline, RNNKernelsV3 and RNNKernelsV4 with their own
// -march), and each set exports one `KernelTable`. The engine (portable code) picks a table once at
// start-up (EngineKernels) and calls its entries per step or per block of rows, never per element.
//
// Entries take raw pointers, integers and plain structs only: no SIMD value crosses a module
// boundary, so modules built for different vector widths agree on the calling convention.

/// A mutable Float pointer (every buffer of the engine).
public typealias FPtr = UnsafeMutablePointer<Float>

/// The kernel sets, slowest first: the x86-64 micro-architecture levels the kernels are built for.
public enum KernelSet: String, CaseIterable, Sendable, Comparable {
    /// Baseline x86-64 (SSE2): the same arithmetic as v3 (FMA in software), runs on any x86-64 CPU.
    case baseline
    /// x86-64-v3: AVX2 + FMA, 8-lane kernels; the big products on OpenBLAS.
    case v3
    /// x86-64-v4: AVX-512, 16-lane kernels for every product of the recurrence.
    case v4

    /// One line for benchmarks and logs.
    public var summary: String {
        switch self {
        case .baseline: return "baseline x86-64 (SSE2; big products on OpenBLAS)"
        case .v3: return "x86-64-v3 (AVX2 + FMA; big products on OpenBLAS)"
        case .v4: return "x86-64-v4 (AVX-512, 16-lane kernels for every product)"
        }
    }

    /// What the CPU needs for this set (error messages).
    public var requirement: String {
        switch self {
        case .baseline: return "an x86-64 CPU"
        case .v3: return "AVX2, FMA and BMI2 (x86-64-v3) enabled by the OS"
        case .v4: return "AVX-512 F, BW, CD, DQ and VL (x86-64-v4) enabled by the OS"
        }
    }

    public static func < (a: KernelSet, b: KernelSet) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Destinations of h_t and c_t for one recurrent step: rows < split go to nextH/nextC (the state of
/// the next step), the others (sequences ending here) to finalH/finalC. Rows of `out` are ldo apart.
public struct StepTargets {
    public var out: FPtr; public var ldo: Int
    public var split: Int
    public var nextH: FPtr; public var nextC: FPtr?
    public var finalH: FPtr; public var finalC: FPtr?

    public init(out: FPtr, ldo: Int, split: Int, nextH: FPtr, nextC: FPtr?, finalH: FPtr, finalC: FPtr?) {
        self.out = out; self.ldo = ldo; self.split = split
        self.nextH = nextH; self.nextC = nextC; self.finalH = finalH; self.finalC = finalC
    }
}

/// Adam's per-step constants (Optimizer.swift).
public struct AdamStep {
    public var b1: Float, b2: Float, wd: Float, eps: Float, stepSize: Float, bc2Sqrt: Float
    public init(b1: Float, b2: Float, wd: Float, eps: Float, stepSize: Float, bc2Sqrt: Float) {
        self.b1 = b1; self.b2 = b2; self.wd = wd; self.eps = eps; self.stepSize = stepSize; self.bc2Sqrt = bc2Sqrt
    }
}

/// Values of k per block of the v4 big products (Gemm512.swift): bigProduct's scratch holds
/// 16 * min(K, gemmKBlock) floats.
public let gemmKBlock = 256

/// Element-wise functions of the gate math (tests compare them with Double).
public enum VectorFunction: Sendable { case exp, sigmoid, tanh }

/// One kernel set's entry points (see the file header; the argument lists are documented where the
/// kernels are defined, Sources/RNNKernels).
public final class KernelTable: Sendable {
    public let set: KernelSet
    /// Hidden units per vector step of the gate math (8 or 16): the alignment of a step split
    /// over threads.
    public let lanes: Int

    // gate math of one step for a block of rows (Cells.swift)
    public let rnnForwardRows: @Sendable (_ rows: Int, _ H: Int, _ act: FPtr, _ gh: FPtr, _ bih: FPtr, _ bhh: FPtr,
                                          _ to: StepTargets, _ width: Int) -> Void
    public let lstmForwardRows: @Sendable (_ rows: Int, _ H: Int, _ act: FPtr, _ gh: FPtr, _ bih: FPtr, _ bhh: FPtr, _ cprev: FPtr,
                                           _ tanhC: FPtr?, _ to: StepTargets, _ width: Int) -> Void
    public let gruForwardRows: @Sendable (_ rows: Int, _ H: Int, _ act: FPtr, _ gh: FPtr, _ bih: FPtr, _ bhh: FPtr, _ hprev: FPtr,
                                          _ hnOut: FPtr?, _ to: StepTargets, _ width: Int) -> Void
    public let rnnBackwardRows: @Sendable (_ rows: Int, _ H: Int, _ act: FPtr, _ dOut: FPtr?, _ ldd: Int, _ carryH: FPtr,
                                           _ dG: FPtr) -> Void
    public let lstmBackwardRows: @Sendable (_ rows: Int, _ H: Int, _ act: FPtr, _ tanhC: FPtr, _ cprev: FPtr, _ dOut: FPtr?, _ ldd: Int,
                                            _ carryH: FPtr, _ carryC: FPtr, _ dG: FPtr) -> Void
    public let gruBackwardRows: @Sendable (_ rows: Int, _ H: Int, _ act: FPtr, _ hnSaved: FPtr, _ hprev: FPtr, _ dOut: FPtr?, _ ldd: Int,
                                           _ carryH: FPtr, _ dG: FPtr, _ dGh: FPtr) -> Void
    // products (Gemm.swift, Gemm512.swift)
    /// C[M, N] (+)= A[M, K] B, B in 16-column panels (Packing.swift).
    public let gemmPacked: @Sendable (_ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ packed: UnsafePointer<Float>,
                                      _ c: FPtr, _ ldc: Int, _ accumulate: Bool) -> Void
    /// y[j] (+)= sum_k x[k] W[j, k] for j in rows.
    public let gemvRows: @Sendable (_ y: FPtr, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ k: Int, _ ldw: Int,
                                    _ rows: Range<Int>, _ accumulate: Bool) -> Void
    /// The big products on the engine's own kernel (v4): C[rows, N] (+)= op(A) op(B) like sgemm
    /// with alpha 1, beta 0 or 1; `pack` holds packedCount(k, n) floats when transB, `scratch`
    /// 16 * min(K, 256). nil: the engine uses OpenBLAS.
    public let bigProduct: (@Sendable (_ transA: Bool, _ transB: Bool, _ rows: Range<Int>, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>,
                                       _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ c: FPtr, _ ldc: Int, _ accumulate: Bool,
                                       _ pack: FPtr, _ scratch: FPtr) -> Void)?
    // vector loops (Vectors.swift)
    /// One Adam update of n contiguous parameters: p, g, m, v.
    public let adam: @Sendable (_ p: FPtr, _ g: FPtr, _ m: FPtr, _ v: FPtr, _ n: Int, _ step: AdamStep) -> Void
    /// x[0..<n] *= s
    public let scale: @Sendable (_ x: FPtr, _ n: Int, _ s: Float) -> Void
    /// Sum of x^2 in Double.
    public let sumOfSquares: @Sendable (_ x: UnsafePointer<Float>, _ n: Int) -> Double
    /// y[0..<n] += x[0..<n]
    public let addInPlace: @Sendable (_ y: FPtr, _ x: UnsafePointer<Float>, _ n: Int) -> Void
    /// out[0..<cols] += column sums of `rows` rows of x (row stride ld).
    public let addColumnSums: @Sendable (_ out: FPtr, _ x: UnsafePointer<Float>, _ rows: Int, _ cols: Int, _ ld: Int) -> Void
    /// y[0..<n] = f(x[0..<n]) with the gate math's polynomials (FastMath.swift).
    public let vectorFunction: @Sendable (_ f: VectorFunction, _ x: UnsafePointer<Float>, _ y: FPtr, _ n: Int) -> Void

    public init(set: KernelSet, lanes: Int,
                rnnForwardRows: @escaping @Sendable (Int, Int, FPtr, FPtr, FPtr, FPtr, StepTargets, Int) -> Void,
                lstmForwardRows: @escaping @Sendable (Int, Int, FPtr, FPtr, FPtr, FPtr, FPtr, FPtr?, StepTargets, Int) -> Void,
                gruForwardRows: @escaping @Sendable (Int, Int, FPtr, FPtr, FPtr, FPtr, FPtr, FPtr?, StepTargets, Int) -> Void,
                rnnBackwardRows: @escaping @Sendable (Int, Int, FPtr, FPtr?, Int, FPtr, FPtr) -> Void,
                lstmBackwardRows: @escaping @Sendable (Int, Int, FPtr, FPtr, FPtr, FPtr?, Int, FPtr, FPtr, FPtr) -> Void,
                gruBackwardRows: @escaping @Sendable (Int, Int, FPtr, FPtr, FPtr, FPtr?, Int, FPtr, FPtr, FPtr) -> Void,
                gemmPacked: @escaping @Sendable (Int, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, FPtr, Int, Bool) -> Void,
                gemvRows: @escaping @Sendable (FPtr, UnsafePointer<Float>, UnsafePointer<Float>, Int, Int, Range<Int>, Bool) -> Void,
                bigProduct: (@Sendable (Bool, Bool, Range<Int>, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int,
                                        FPtr, Int, Bool, FPtr, FPtr) -> Void)?,
                adam: @escaping @Sendable (FPtr, FPtr, FPtr, FPtr, Int, AdamStep) -> Void,
                scale: @escaping @Sendable (FPtr, Int, Float) -> Void,
                sumOfSquares: @escaping @Sendable (UnsafePointer<Float>, Int) -> Double,
                addInPlace: @escaping @Sendable (FPtr, UnsafePointer<Float>, Int) -> Void,
                addColumnSums: @escaping @Sendable (FPtr, UnsafePointer<Float>, Int, Int, Int) -> Void,
                vectorFunction: @escaping @Sendable (VectorFunction, UnsafePointer<Float>, FPtr, Int) -> Void) {
        self.set = set; self.lanes = lanes
        self.rnnForwardRows = rnnForwardRows; self.lstmForwardRows = lstmForwardRows; self.gruForwardRows = gruForwardRows
        self.rnnBackwardRows = rnnBackwardRows; self.lstmBackwardRows = lstmBackwardRows; self.gruBackwardRows = gruBackwardRows
        self.gemmPacked = gemmPacked; self.gemvRows = gemvRows; self.bigProduct = bigProduct
        self.adam = adam; self.scale = scale; self.sumOfSquares = sumOfSquares
        self.addInPlace = addInPlace; self.addColumnSums = addColumnSums; self.vectorFunction = vectorFunction
    }
}
