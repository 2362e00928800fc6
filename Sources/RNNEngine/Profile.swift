// Optional timing of the engine's phases (EngineProfile), switched on with Model.profiling.
//
// Each thread adds to its own slot (slot = the part it runs), so timing needs no
// locks; the public profile is the sum of the slots in thread CPU seconds (CLOCK_THREAD_CPUTIME_ID:
// time lost to other processes on a loaded machine is not counted). When profiling is off each
// probe is one predictable branch.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the engine's time goes, in thread CPU seconds summed over all threads (see Model.profiling).
public struct EngineProfile: Sendable {
    /// OpenBLAS GEMMs over all rows of a batch: input projections, weight gradients, input gradients.
    public var bigGEMM: Double = 0
    /// The per-step recurrent products (the hand-written kernels of Gemm.swift).
    public var stepGEMM: Double = 0
    /// Element-wise gate math, forward and backward.
    public var gates: Double = 0
    /// Copies: embedding gathers, initial states, weight packing, dropout masks, bias sums.
    public var copies: Double = 0
    /// Everything else the model does (head, losses).
    public var other: Double = 0

    /// Creates an all-zero profile.
    public init() {}

    /// Sum of all phases.
    public var total: Double { bigGEMM + stepGEMM + gates + copies + other }
}

/// CPU time of the calling thread in seconds.
@inline(__always) func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Phases of EngineProfile, as indices into a profile slot.
enum Phase: Int { case bigGEMM = 0, stepGEMM, gates, copies, other }

/// Per-thread profile slots (8 doubles each, 5 used, indexed by Phase) and a switch.
final class Profiler {
    var enabled = false
    private var slots: UnsafeMutablePointer<Double>
    private var slotCount: Int

    init(threads: Int = 2) {
        slotCount = max(2, threads)
        slots = .allocate(capacity: 8 * slotCount)
        slots.initialize(repeating: 0, count: 8 * slotCount)
    }
    deinit { slots.deallocate() }

    /// Makes room for `threads` slots (keeps what was measured).
    func ensure(threads: Int) {
        guard threads > slotCount else { return }
        let p = UnsafeMutablePointer<Double>.allocate(capacity: 8 * threads)
        p.initialize(repeating: 0, count: 8 * threads)
        p.update(from: slots, count: 8 * slotCount)
        slots.deallocate()
        slots = p
        slotCount = threads
    }

    var sum: EngineProfile {
        var p = EngineProfile()
        func s(_ f: Phase) -> Double { (0 ..< slotCount).reduce(0) { $0 + slots[8 * $1 + f.rawValue] } }
        p.bigGEMM = s(.bigGEMM); p.stepGEMM = s(.stepGEMM); p.gates = s(.gates); p.copies = s(.copies); p.other = s(.other)
        return p
    }
    func reset() { slots.update(repeating: 0, count: 8 * slotCount) }

    /// A running probe for thread slot `slot` (the part a thread runs): `lap(.gates)` adds the
    /// time since the previous lap.
    @inline(__always) func probe(_ slot: Int) -> Probe { Probe(slot: enabled && slot < slotCount ? slots + 8 * slot : nil) }
}

/// Adds elapsed time to one slot's phases; does nothing when profiling is off.
struct Probe {
    let slot: UnsafeMutablePointer<Double>?
    var last: Double

    @inline(__always) init(slot: UnsafeMutablePointer<Double>?) {
        self.slot = slot
        last = slot == nil ? 0 : threadCPUSeconds()
    }

    @inline(__always) mutating func lap(_ phase: Phase) {
        guard let slot else { return }
        let now = threadCPUSeconds()
        slot[phase.rawValue] += now - last
        last = now
    }
}
