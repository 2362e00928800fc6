// The engine's kernel set, chosen once at start-up: every build holds the leaf kernels for baseline
// x86-64, x86-64-v3 (AVX2 + FMA) and x86-64-v4 (AVX-512) (RNNKernelABI/KernelTable.swift), and
// the fastest set the CPU and OS support runs, unless RNN_KERNELS=baseline|v3|v4 names another
// (refused when the CPU lacks it: KernelChoiceError). The rest of the engine is portable code that
// calls the chosen table per step or per block of rows.
//
// Sets that share their arithmetic give the same bits: baseline and v3 run the same 8-lane code
// (baseline with software FMA) and OpenBLAS for the big products; v4 has 16 lanes for the gate
// math (element-wise: same bits) and its own big-product kernel (other rounding than OpenBLAS).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CBFloat16
import COpenBLAS
import RNNCore
import RNNKernelABI
import RNNKernelsBaseline
import RNNKernelsV3
import RNNKernelsV4

/// RNN_KERNELS names an unknown kernel set or one this CPU lacks. The tools print
/// `rnn-x: error: DESCRIPTION` and exit with status 2 (a usage error).
public struct KernelChoiceError: UsageProblem, Sendable {
    /// The value of RNN_KERNELS.
    public let requested: String
    /// The sets this CPU supports.
    public let supported: [KernelSet]

    public var description: String {
        let have = "this CPU supports " + supported.map(\.rawValue).joined(separator: ", ")
        if let set = KernelSet(rawValue: requested) {
            return "RNN_KERNELS=\(set.rawValue) needs \(set.requirement); \(have) (unset RNN_KERNELS to use the fastest)"
        }
        return "RNN_KERNELS=\(requested) is not a kernel set: use " +
            KernelSet.allCases.map(\.rawValue).joined(separator: ", ") + " or leave it unset (\(have))"
    }
}

/// The engine's vector kernel set: named by `make bench`, rnn-bench-engine and `rnn-fit --log`.
public enum EngineKernels {
    /// The kernel sets this CPU and OS can run, slowest first (CPUID and XGETBV; COpenBLAS/shim.h).
    public static let supported: [KernelSet] = {
        var sets: [KernelSet] = [.baseline]
        if rnn_cpu_has_x86_64_v3() != 0 {
            sets.append(.v3)
            if rnn_cpu_has_avx512() != 0 { sets.append(.v4) }
        }
        return sets
    }()

    /// The set for an RNN_KERNELS value (nil or empty: the fastest supported set).
    public static func choose(_ requested: String?, supported: [KernelSet]) -> Result<KernelSet, KernelChoiceError> {
        guard let requested, !requested.isEmpty else { return .success(supported.max() ?? .baseline) }
        guard let set = KernelSet(rawValue: requested), supported.contains(set) else {
            return .failure(KernelChoiceError(requested: requested, supported: supported))
        }
        return .success(set)
    }

    /// What RNN_KERNELS asks for on this CPU (read once).
    static let choice = choose(getenv("RNN_KERNELS").map { String(cString: $0) }, supported: supported)

    /// The kernel set in use, or the refusal of RNN_KERNELS: tools call this before any work. (A
    /// program that does not ask runs the fastest supported set when RNN_KERNELS is refused.)
    @discardableResult
    public static func check() throws -> KernelSet {
        try choice.get()
    }

    /// The table the engine calls (tests switch it with `using`).
    nonisolated(unsafe) static var table: KernelTable = table(for: (try? choice.get()) ?? supported.max() ?? .baseline)

    /// The kernel set in use.
    public static var active: KernelSet { table.set }

    /// The kernel set in use: "baseline", "v3" or "v4" (RNN_KERNELS values, logs).
    public static var setName: String { active.rawValue }

    /// The CPU and OS run AVX512_BF16 and the v4 set is in use: what `Model.bf16` (rnn-fit --bf16)
    /// needs (CBFloat16/bf16.h).
    public static var bf16Available: Bool { active == .v4 && rnn_bf16_supported() != 0 }

    /// The kernel set in use, in words.
    public static var name: String { active.summary }

    /// The table of a set (call its entries only when `supported` holds the set).
    static func table(for set: KernelSet) -> KernelTable {
        switch set {
        case .baseline: return RNNKernelsBaseline.kernelTable
        case .v3: return RNNKernelsV3.kernelTable
        case .v4: return RNNKernelsV4.kernelTable
        }
    }

    /// Runs `body` with the engine on `set` (tests: every supported set), then restores the table.
    static func using<R>(_ set: KernelSet, _ body: () throws -> R) rethrows -> R {
        precondition(supported.contains(set), "this CPU cannot run the \(set) kernels")
        let saved = table
        table = table(for: set)
        defer { table = saved }
        return try body()
    }
}

// The kernels under the names and labels the engine uses (RNNKernels/*.swift documents them).

typealias FPtr = UnsafeMutablePointer<Float>

@inline(__always) func rnnForwardRows(rows: Int, H: Int, act: FPtr, gh: FPtr, bih: FPtr, bhh: FPtr, to: StepTargets, width: Int) {
    EngineKernels.table.rnnForwardRows(rows, H, act, gh, bih, bhh, to, width)
}
@inline(__always) func lstmForwardRows(rows: Int, H: Int, act: FPtr, gh: FPtr, bih: FPtr, bhh: FPtr, cprev: FPtr, tanhC: FPtr?,
                                       to: StepTargets, width: Int) {
    EngineKernels.table.lstmForwardRows(rows, H, act, gh, bih, bhh, cprev, tanhC, to, width)
}
@inline(__always) func gruForwardRows(rows: Int, H: Int, act: FPtr, gh: FPtr, bih: FPtr, bhh: FPtr, hprev: FPtr, hnOut: FPtr?,
                                      to: StepTargets, width: Int) {
    EngineKernels.table.gruForwardRows(rows, H, act, gh, bih, bhh, hprev, hnOut, to, width)
}
@inline(__always) func rnnBackwardRows(rows: Int, H: Int, act: FPtr, dOut: FPtr?, ldd: Int, carryH: FPtr, dG: FPtr) {
    EngineKernels.table.rnnBackwardRows(rows, H, act, dOut, ldd, carryH, dG)
}
@inline(__always) func lstmBackwardRows(rows: Int, H: Int, act: FPtr, tanhC: FPtr, cprev: FPtr, dOut: FPtr?, ldd: Int, carryH: FPtr,
                                        carryC: FPtr, dG: FPtr) {
    EngineKernels.table.lstmBackwardRows(rows, H, act, tanhC, cprev, dOut, ldd, carryH, carryC, dG)
}
@inline(__always) func gruBackwardRows(rows: Int, H: Int, act: FPtr, hnSaved: FPtr, hprev: FPtr, dOut: FPtr?, ldd: Int, carryH: FPtr,
                                       dG: FPtr, dGh: FPtr) {
    EngineKernels.table.gruBackwardRows(rows, H, act, hnSaved, hprev, dOut, ldd, carryH, dG, dGh)
}
/// C[M, N] = A B (or += when `accumulate`), B packed by packTransposed / packPlain.
@inline(__always) func gemmPacked(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packed: UnsafePointer<Float>,
                                  c: FPtr, ldc: Int, accumulate: Bool) {
    EngineKernels.table.gemmPacked(m, n, k, a, lda, packed, c, ldc, accumulate)
}
/// y[j] (+)= sum_k x[k] W[j, k] for j in rows (W [N, K] row-major, stride ldw).
@inline(__always) func gemvRows(y: FPtr, x: UnsafePointer<Float>, w: UnsafePointer<Float>, k: Int, ldw: Int, rows: Range<Int>,
                                accumulate: Bool) {
    EngineKernels.table.gemvRows(y, x, w, k, ldw, rows, accumulate)
}
/// y[0..<n] += x[0..<n]
@inline(__always) func addInPlace(_ y: FPtr, _ x: UnsafePointer<Float>, _ n: Int) {
    EngineKernels.table.addInPlace(y, x, n)
}
/// out[0..<n] += column sums of the rows x[r*ld ..< r*ld+n], r in 0..<rows.
@inline(__always) func addColumnSums(_ out: FPtr, _ x: UnsafePointer<Float>, rows: Int, cols n: Int, ld: Int) {
    EngineKernels.table.addColumnSums(out, x, rows, n, ld)
}
