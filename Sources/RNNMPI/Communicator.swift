// The processes of one training run and the few collective operations data-parallel training
// needs (docs/SCALING.md). One process (the default) is a communicator of size 1 whose operations
// do nothing; under `mpirun` (or `srun --mpi=pmix`) it is Open MPI's MPI_COMM_WORLD, loaded at
// run time (OpenMPI.swift): the tools do not link libmpi, and a run without mpirun never loads it.
//
// Every operation is collective: every process calls it, in the same order, with the same count.
// The trainer keeps that promise by taking the same steps in the same order on every process
// (same data, seed and batch shape; checked once at the start with ``Communicator/agree``).
import RNNCore

/// How values are combined by ``Communicator/reduce(_:_:)``.
public enum ReduceOp: Sendable {
    case sum, max
}

/// The processes of one run (see the file comment).
public protocol Communicator: AnyObject {
    /// This process, 0 ..< size. Rank 0 evaluates, writes and reports.
    var rank: Int { get }
    /// Number of processes.
    var size: Int { get }
    /// Replaces `values` by their element-wise sum over all processes (in place).
    func sum(_ values: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `values` by their element-wise sum or maximum over all processes.
    func reduce(_ values: inout [Double], _ op: ReduceOp) throws
    /// Replaces `bits` by their bitwise OR over all processes (in place).
    func union(_ bits: UnsafeMutableBufferPointer<UInt8>) throws
    /// Replaces `bytes` by rank 0's.
    func broadcast(_ bytes: inout [UInt8]) throws
    /// Ends the use of the communicator (every process calls it, after its last collective).
    func finish()
}

extension Communicator {
    /// True on the process that evaluates, writes files and reports (rank 0).
    public var isRoot: Bool { rank == 0 }

    /// Checks that every process holds the same `fingerprint` (bytes describing data, model and
    /// position); returns the ranks whose fingerprint differs from rank 0's (empty: all agree).
    /// Collective: every process learns the same answer.
    public func disagreeing(_ fingerprint: [UInt8]) throws -> [Int] {
        guard size > 1 else { return [] }
        var root = fingerprint
        try broadcast(&root)
        var flags = [Double](repeating: 0, count: size)
        if root != fingerprint { flags[rank] = 1 }
        try reduce(&flags, .sum)
        return flags.indices.filter { flags[$0] != 0 }
    }

    /// The maximum of `flag` over all processes (e.g. 1 when any process failed).
    public func anyRank(_ flag: Double) throws -> Double {
        guard size > 1 else { return flag }
        var v = [flag]
        try reduce(&v, .max)
        return v[0]
    }
}

/// The communicator of a run in one process: every operation leaves its values as they are.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func sum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    public func reduce(_ values: inout [Double], _ op: ReduceOp) throws {}
    public func union(_ bits: UnsafeMutableBufferPointer<UInt8>) throws {}
    public func broadcast(_ bytes: inout [UInt8]) throws {}
    public func finish() {}
}

/// The part `index` of `count` items cut into `parts` contiguous shares whose sizes differ by at
/// most one (the first `count % parts` shares have one more): how a global batch is split over
/// the processes. Empty when there are fewer items than parts.
public func share(of count: Int, parts: Int, index: Int) -> Range<Int> {
    guard parts > 1, count > 0 else { return 0 ..< max(0, count) }
    let base = count / parts, extra = count % parts
    let lo = index * base + min(index, extra)
    return lo ..< lo + base + (index < extra ? 1 : 0)
}

/// 64-bit FNV-1a of some bytes, appended to a fingerprint as 8 bytes.
public struct Fingerprint {
    public private(set) var bytes: [UInt8] = []
    public init() {}

    /// Adds a value's description (sizes, names, settings).
    public mutating func add(_ text: String) { bytes.append(contentsOf: text.utf8); bytes.append(0) }

    /// Adds the hash of `count` floats (parameters: compared bit for bit).
    public mutating func add(floats p: UnsafeBufferPointer<Float>) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in p { h = (h ^ UInt64(x.bitPattern)) &* 0x100_0000_01b3 }
        withUnsafeBytes(of: h.littleEndian) { bytes.append(contentsOf: $0) }
    }
}
