// The gradient sum of data-parallel training (docs/SCALING.md), sending only the rows of a
// row-sparse tensor (the embedding, [V, E]) that some process's share of the step touched.
//
// A batch of 32 reviews touches a few thousand of the tens of thousands of embedding rows; every
// other row's gradient is 0 on every process. One step:
//   1. every process marks the rows whose gradient is not all +0.0 bits (one bit a row);
//   2. the marks are OR-ed over the processes (V/8 bytes): the rows touched by the whole batch;
//   3. when they are fewer than half the rows, the rest of the arena is summed in place and the
//      marked rows, packed, are summed in one more call; otherwise the whole arena is summed.
// Rows no process marked hold +0.0 on every process, which is also their sum: the result is that
// of the dense sum (on 2 processes bit for bit: a + b is the same either way). Marking by bits (not
// by `!= 0`) keeps a -0.0 out of the unmarked rows, so no process can differ from another there.
// RNN_MPI_EXCHANGE=dense sums the whole arena every step (to measure the difference).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNCore

/// Sums gradient arenas over the processes (see the file comment).
public final class GradientExchange {
    /// The row-sparse tensor: first float in the arena, rows, floats per row (nil: dense only).
    public let sparse: (offset: Int, rows: Int, width: Int)?
    /// Steps summed, bytes sent into the collectives (per process), and of them in packed rows.
    public private(set) var steps = 0, bytes = 0, rowBytes = 0
    private var marks: [UInt8] = [], packed: [Float] = [], picked: [Int] = []

    /// `sparse`: the row-sparse tensor of the arena (nil, or `dense`: every step sums the whole
    /// arena).
    public init(sparse: (offset: Int, rows: Int, width: Int)?, dense: Bool = false) {
        self.sparse = dense ? nil : sparse.flatMap { $0.rows > 0 && $0.width > 0 ? $0 : nil }
    }

    /// RNN_MPI_EXCHANGE: "sparse" (default) or "dense".
    public static func denseFromEnvironment() throws -> Bool {
        guard let v = getenv("RNN_MPI_EXCHANGE").map({ String(cString: $0) }), !v.isEmpty else { return false }
        switch v {
        case "sparse": return false
        case "dense": return true
        default: throw RNNError("RNN_MPI_EXCHANGE is '\(v.prefix(40))'; use sparse (the default: touched embedding rows only) or dense")
        }
    }

    /// Replaces `grads` by their sum over the processes of `comm` (collective).
    public func sum(_ grads: UnsafeMutableBufferPointer<Float>, over comm: any Communicator) throws {
        guard comm.size > 1, let g = grads.baseAddress else { return }
        steps += 1
        guard let s = sparse, s.offset >= 0, s.offset + s.rows * s.width <= grads.count else {
            try comm.sum(grads)
            bytes += grads.count * MemoryLayout<Float>.stride
            return
        }
        // 1-2: marks of the touched rows, OR-ed
        if marks.count != (s.rows + 7) / 8 { marks = [UInt8](repeating: 0, count: (s.rows + 7) / 8) }
        let table = g + s.offset
        marks.withUnsafeMutableBufferPointer { m in
            m.update(repeating: 0)
            table.withMemoryRebound(to: UInt32.self, capacity: s.rows * s.width) { bits in
                for r in 0 ..< s.rows {
                    let row = bits + r * s.width
                    var any: UInt32 = 0
                    for j in 0 ..< s.width { any |= row[j] }
                    if any != 0 { m[r >> 3] |= UInt8(1) << UInt8(r & 7) }
                }
            }
        }
        try marks.withUnsafeMutableBufferPointer { try comm.union($0) }
        bytes += marks.count
        picked.removeAll(keepingCapacity: true)
        for (i, byte) in marks.enumerated() where byte != 0 {
            for b in 0 ..< 8 where byte & (1 << b) != 0 { picked.append(i * 8 + b) }
        }
        // 3: the whole arena, or the rest in place and the picked rows packed
        guard 2 * picked.count < s.rows else {
            try comm.sum(grads)
            bytes += grads.count * MemoryLayout<Float>.stride
            return
        }
        let end = s.offset + s.rows * s.width
        for range in [0 ..< s.offset, end ..< grads.count] where !range.isEmpty {
            try comm.sum(UnsafeMutableBufferPointer(rebasing: grads[range]))
            bytes += range.count * MemoryLayout<Float>.stride
        }
        guard !picked.isEmpty else { return }
        let n = picked.count * s.width
        if packed.count < n { packed = [Float](repeating: 0, count: n) }
        try packed.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            for (k, r) in picked.enumerated() { (base + k * s.width).update(from: table + r * s.width, count: s.width) }
            try comm.sum(UnsafeMutableBufferPointer(start: base, count: n))
            for (k, r) in picked.enumerated() { (table + r * s.width).update(from: base + k * s.width, count: s.width) }
        }
        bytes += n * MemoryLayout<Float>.stride
        rowBytes += n * MemoryLayout<Float>.stride
    }
}
