// The parameter arena: every parameter in one flat Float buffer, gradients in a mirror buffer,
// described by one table of (name, shape, offset) in PyTorch state_dict order (STYLE.md ex. 3).
// The optimizer, gradient clipping and checkpoint I/O are flat loops over it.
//
// Glossary: V vocabulary, E embedding, H hidden, G gates, L layers, D directions, O outputs.
// Tensors (classifier / LM module of REFERENCE.md section 4):
//   embedding.weight [V, E]
//   rnn.weight_ih_l{k}{sfx} [G*H, in]   in = E for k = 0, D*H above
//   rnn.weight_hh_l{k}{sfx} [G*H, H]
//   rnn.bias_ih_l{k}{sfx}   [G*H]
//   rnn.bias_hh_l{k}{sfx}   [G*H]       sfx = "" or "_reverse"
//   fc.weight [O, D*H]; fc.bias [O]

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// All parameters in one arena; gradients mirror it (STYLE.md example 3). Names, shapes and
/// order are PyTorch's state_dict of the module of REFERENCE.md section 4:
/// embedding.weight [V,E]; rnn.weight_ih_l{k}{sfx} [G*H, in]; rnn.weight_hh_l{k}{sfx} [G*H, H];
/// rnn.bias_ih_l{k}{sfx} [G*H]; rnn.bias_hh_l{k}{sfx} [G*H]; fc.weight [O, D*H]; fc.bias [O].
public final class Parameters {
    /// One tensor of the arena.
    public struct Entry: Sendable {
        /// PyTorch state_dict key.
        public let name: String
        /// PyTorch shape.
        public let shape: [Int]
        /// First float of the tensor in `values` / `grads`.
        public let offset: Int
        /// Number of floats (product of the shape).
        public var count: Int
    }

    /// Tensors in state_dict order.
    public let entries: [Entry]
    /// Total floats.
    public let count: Int
    private let valueBase: UnsafeMutablePointer<Float>
    private let gradBase: UnsafeMutablePointer<Float>
    private let index: [String: Int]

    /// Builds a zeroed arena from (name, shape) pairs, in order. Tensors start on 16-float
    /// (64-byte) boundaries so every tensor is cache-line aligned.
    public init(_ spec: [(String, [Int])]) {
        var entries: [Entry] = []
        var offset = 0
        var index: [String: Int] = [:]
        for (name, shape) in spec {
            precondition(index[name] == nil, "duplicate parameter \(name)")
            let n = shape.reduce(1, *)
            index[name] = entries.count
            entries.append(Entry(name: name, shape: shape, offset: offset, count: n))
            offset += (n + 15) & ~15
        }
        self.entries = entries
        self.index = index
        self.count = offset
        bytes = max(offset, 16) * MemoryLayout<Float>.stride
        valueBase = Parameters.zeroedPages(bytes)
        gradBase = Parameters.zeroedPages(bytes)
    }

    /// Size in bytes of each of the two arenas.
    private let bytes: Int

    /// Zero-filled, page-aligned memory from an anonymous mapping: pages that are never written
    /// (the gradients of a model that only runs inference) cost no time and no memory.
    private static func zeroedPages(_ bytes: Int) -> UnsafeMutablePointer<Float> {
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("out of memory: cannot map \(bytes) bytes for parameters")
        }
        return p.bindMemory(to: Float.self, capacity: bytes / MemoryLayout<Float>.stride)
    }

    deinit {
        munmap(valueBase, bytes)
        munmap(gradBase, bytes)
    }

    /// Threads for the flat loops (Adam, clipping, zeroing) and, shared, for the model's kernels
    /// (Model.threads sets the count).
    let pool = Threads()

    /// The arena cut into `blocks` fixed pieces at 16-float boundaries. The cut does not depend on
    /// the thread count, so element-wise loops and per-block sums (added in block order) give the
    /// same bits with any number of threads.
    static let blocks = 64
    func block(_ i: Int) -> Range<Int> { chunk(count, parts: Parameters.blocks, i, align: 16) }

    /// Runs body(block range, block index) for every block, the blocks spread over the threads in
    /// contiguous runs.
    func forEachBlock(_ body: (Range<Int>, Int) -> Void) {
        let parts = min(pool.count, Parameters.blocks)
        pool.run(parts) { part in
            for b in chunk(Parameters.blocks, parts: parts, part) { body(block(b), b) }
        }
    }

    /// Bumped whenever the values may change: on every access to `mutableValues` or `value(_:)`
    /// and on every Adam step (reading `values` leaves it alone). Caches derived from the weights
    /// (Model's inference projections) are valid only for the version they were built from, so
    /// write through a pointer obtained after the last inference call, never one kept across it.
    private(set) var version: UInt64 = 0
    @inline(__always) func touch() { version &+= 1 }

    /// All parameter values, read-only (alignment gaps between tensors stay 0).
    public var values: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: valueBase, count: count) }

    /// All parameter values for writing; marks every cache derived from the weights stale.
    public var mutableValues: UnsafeMutableBufferPointer<Float> {
        touch()
        return UnsafeMutableBufferPointer(start: valueBase, count: count)
    }
    /// All gradients, mirroring `values`.
    public var grads: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: gradBase, count: count) }

    /// The entry named `name`, if any.
    public func entry(_ name: String) -> Entry? {
        index[name].map { entries[$0] }
    }

    /// Values of tensor `name` (precondition: it exists).
    public func value(_ name: String) -> UnsafeMutableBufferPointer<Float> {
        guard let e = entry(name) else { preconditionFailure("no parameter named \(name)") }
        touch()
        return UnsafeMutableBufferPointer(start: valueBase + e.offset, count: e.count)
    }

    /// Gradient of tensor `name` (precondition: it exists).
    public func grad(_ name: String) -> UnsafeMutableBufferPointer<Float> {
        guard let e = entry(name) else { preconditionFailure("no parameter named \(name)") }
        return UnsafeMutableBufferPointer(start: gradBase + e.offset, count: e.count)
    }

    /// Whether every value is finite (no NaN or infinity): one pass over the arena, 8 lanes at a
    /// time (x * 0 is 0 for a finite x and NaN otherwise).
    public func allFinite() -> Bool {
        let p = valueBase
        var acc = SIMD8<Float>(repeating: 0), i = 0
        while i + 8 <= count {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) * 0
            i += 8
        }
        var tail: Float = 0
        while i < count { tail += p[i] * 0; i += 1 }
        return acc.sum() + tail == 0
    }

    /// Sets every gradient to 0.
    public func zeroGrads() {
        let g = gradBase
        forEachBlock { r, _ in (g + r.lowerBound).update(repeating: 0, count: r.count) }
    }

    @inline(__always) func valuePointer(_ e: Entry) -> UnsafeMutablePointer<Float> { valueBase + e.offset }
    @inline(__always) func gradPointer(_ e: Entry) -> UnsafeMutablePointer<Float> { gradBase + e.offset }
}
