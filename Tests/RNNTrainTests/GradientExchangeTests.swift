import Foundation
import RNNCore
import RNNMPI
import XCTest

/// K communicators in one process, one thread each: every collective waits for all K, then each
/// member combines the K buffers in rank order (what MPI_Allreduce computes, without MPI).
final class ThreadGroup: @unchecked Sendable {
    let size: Int
    private let lock = NSCondition()
    private var buffers: [UnsafeMutableRawBufferPointer?]
    private var arrived = 0, generation = 0
    /// Collective calls and bytes given to them, per rank.
    private(set) var calls: [Int], bytes: [Int]

    init(size: Int) { self.size = size; buffers = Array(repeating: nil, count: size); calls = Array(repeating: 0, count: size); bytes = calls }

    /// Every member deposits its buffer; once all did, each copies all K, and once all copied,
    /// `combine` runs on every member with the copies (in rank order).
    func collective(rank: Int, _ buffer: UnsafeMutableRawBufferPointer, _ combine: ([[UInt8]]) -> Void) {
        lock.lock(); buffers[rank] = buffer; calls[rank] += 1; bytes[rank] += buffer.count; lock.unlock()
        barrier()
        lock.lock()
        let copies = buffers.map { Array($0.map { UnsafeRawBufferPointer($0) } ?? UnsafeRawBufferPointer(start: nil, count: 0)) }
        lock.unlock()
        barrier()
        combine(copies)
    }

    private func barrier() {
        lock.lock()
        let g = generation
        arrived += 1
        if arrived == size { arrived = 0; generation += 1; lock.broadcast() } else { while generation == g { lock.wait() } }
        lock.unlock()
    }

    final class Member: Communicator, @unchecked Sendable {
        let group: ThreadGroup, rank: Int
        var size: Int { group.size }
        init(_ group: ThreadGroup, _ rank: Int) { self.group = group; self.rank = rank }

        func sum(_ values: UnsafeMutableBufferPointer<Float>) throws {
            group.collective(rank: rank, UnsafeMutableRawBufferPointer(values)) { all in
                for i in 0 ..< values.count {
                    var s: Float = 0
                    for b in all { s += b.withUnsafeBytes { $0.load(fromByteOffset: i * 4, as: Float.self) } }
                    values[i] = s
                }
            }
        }
        func reduce(_ values: inout [Double], _ op: ReduceOp) throws {}
        func union(_ bits: UnsafeMutableBufferPointer<UInt8>) throws {
            group.collective(rank: rank, UnsafeMutableRawBufferPointer(bits)) { all in
                for i in 0 ..< bits.count { bits[i] = all.reduce(0) { $0 | $1[i] } }
            }
        }
        func broadcast(_ bytes: inout [UInt8]) throws {}
        func finish() {}
    }

    /// Runs `body(member)` on `size` threads and waits for all.
    func run(_ body: @escaping @Sendable (Member) -> Void) {
        let done = DispatchGroup()
        for r in 0 ..< size {
            done.enter()
            let m = Member(self, r)
            Thread.detachNewThread { body(m); done.leave() }
        }
        done.wait()
    }
}

final class GradientExchangeTests: XCTestCase {
    /// An arena of a [rows, width] table at `offset` between other tensors: per rank, the rows
    /// `touched(rank)` hold values, every other table row is +0.0; the other tensors are dense.
    static func arena(rank: Int, count: Int, offset: Int, rows: Int, width: Int, touched: (Int) -> [Int]) -> [Float] {
        var x = UInt64(rank + 1) &* 0x9E37_79B9_7F4A_7C15
        func next() -> Float { x = x &* 6364136223846793005 &+ 1442695040888963407; return Float(Int64(x >> 40) - (1 << 23)) / Float(1 << 23) }
        var a = (0 ..< count).map { _ in next() }
        for i in offset ..< offset + rows * width { a[i] = 0 }
        for r in touched(rank) { for j in 0 ..< width { a[offset + r * width + j] = next() } }
        return a
    }

    /// Sums every rank's arena with a dense and a sparse exchange: returns both results of every
    /// rank and the bytes the sparse one sent per rank.
    func exchange(ranks: Int, count: Int, offset: Int, rows: Int, width: Int, touched: @escaping @Sendable (Int) -> [Int]) -> (dense: [[Float]], sparse: [[Float]], bytes: Int) {
        final class Box: @unchecked Sendable { var dense: [[Float]] = [], sparse: [[Float]] = []; var bytes = 0; let lock = NSLock() }
        let box = Box()
        box.dense = Array(repeating: [], count: ranks); box.sparse = box.dense
        let group = ThreadGroup(size: ranks)
        group.run { m in
            var a = GradientExchangeTests.arena(rank: m.rank, count: count, offset: offset, rows: rows, width: width, touched: touched)
            var b = a
            let dense = GradientExchange(sparse: (offset, rows, width), dense: true)
            let sparse = GradientExchange(sparse: (offset, rows, width))
            try? a.withUnsafeMutableBufferPointer { try dense.sum($0, over: m) }
            try? b.withUnsafeMutableBufferPointer { try sparse.sum($0, over: m) }
            box.lock.lock(); box.dense[m.rank] = a; box.sparse[m.rank] = b; box.bytes = sparse.bytes; box.lock.unlock()
        }
        return (box.dense, box.sparse, box.bytes)
    }

    func testSparseRowsGiveTheDenseSumBitForBit() {
        let (count, offset, rows, width) = (5 * 64 + 16 * 20 + 37, 5 * 64, 20, 16)
        // rank 0: rows 1 and 7; rank 1: rows 7 and 19; rank 2: none (an empty share); row 0 never
        let touched: @Sendable (Int) -> [Int] = { [[1, 7], [7, 19], []][$0] }
        let r = exchange(ranks: 3, count: count, offset: offset, rows: rows, width: width, touched: touched)
        for k in 0 ..< 3 {
            XCTAssertEqual(r.sparse[k].map(\.bitPattern), r.dense[k].map(\.bitPattern), "rank \(k)")
            XCTAssertEqual(r.sparse[k].map(\.bitPattern), r.sparse[0].map(\.bitPattern), "rank \(k) differs from rank 0")
        }
        // the sum is real: rows touched by one rank only carry that rank's values, row 7 both
        let a0 = GradientExchangeTests.arena(rank: 0, count: count, offset: offset, rows: rows, width: width, touched: touched)
        XCTAssertEqual(r.sparse[0][offset + width], a0[offset + width])
        XCTAssertNotEqual(r.sparse[0][offset + 7 * width], a0[offset + 7 * width])
        XCTAssertEqual(r.sparse[0][offset ..< offset + width].map(\.bitPattern), Array(repeating: 0, count: width))
        // sent: the marks (3 bytes), the dense tensors around the table, 3 rows of 16 floats
        XCTAssertEqual(r.bytes, 3 + (count - rows * width) * 4 + 3 * width * 4)
    }

    func testMostRowsTouchedSumsTheWholeArena() {
        let (count, rows, width) = (8 * 6 + 40, 8, 6)
        let r = exchange(ranks: 2, count: count, offset: 0, rows: rows, width: width, touched: { $0 == 0 ? [0, 1, 2] : [3] })
        XCTAssertEqual(r.sparse[0].map(\.bitPattern), r.dense[0].map(\.bitPattern))
        XCTAssertEqual(r.sparse[1].map(\.bitPattern), r.dense[1].map(\.bitPattern))
        XCTAssertEqual(r.bytes, 1 + count * 4)   // 4 of 8 rows: not fewer than half
    }

    func testANegativeZeroMarksItsRow() {
        // -0.0 on one rank only: summed like any value, so every rank ends with the same bits
        let (count, rows, width) = (10 * 4, 10, 4)
        let group = ThreadGroup(size: 2)
        final class Box: @unchecked Sendable { var out: [[UInt32]] = [[], []]; let lock = NSLock() }
        let box = Box()
        group.run { m in
            var a = [Float](repeating: 0, count: count)
            if m.rank == 0 { a[2 * width + 1] = -0.0 }
            let x = GradientExchange(sparse: (0, rows, width))
            try? a.withUnsafeMutableBufferPointer { try x.sum($0, over: m) }
            box.lock.lock(); box.out[m.rank] = a.map(\.bitPattern); box.lock.unlock()
        }
        XCTAssertEqual(box.out[0], box.out[1])
        XCTAssertEqual(box.out[0][2 * width + 1], (Float(-0.0) + Float(0)).bitPattern)
    }

    func testExchangeSettingFromTheEnvironment() throws {
        setenv("RNN_MPI_EXCHANGE", "dense", 1)
        XCTAssertTrue(try GradientExchange.denseFromEnvironment())
        setenv("RNN_MPI_EXCHANGE", "rows", 1)
        XCTAssertThrowsError(try GradientExchange.denseFromEnvironment()) { e in
            XCTAssertTrue("\(e)".contains("RNN_MPI_EXCHANGE is 'rows'; use sparse"), "\(e)")
        }
        unsetenv("RNN_MPI_EXCHANGE")
        XCTAssertFalse(try GradientExchange.denseFromEnvironment())
    }
}
