// Lines of a file read by a second thread: decompression (zlib, ~230 MB/s, the larger cost for
// a gzip vectors file) overlaps with the parsing of the previous chunk. Used for GloVe files.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNCore

/// Splits a file (plain or gzip) into lines while a background thread reads ahead in chunks.
///
/// `next()` returns a view of the next line (no `\n`, no trailing `\r`), valid until the next
/// call. Read errors of the background thread are rethrown by `next()`.
final class ReadAheadLineReader: @unchecked Sendable {
    /// Input name for messages.
    let name: String
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0

    private let source: ByteSource
    private static let slotCount = 3
    private static let chunk = 4 << 20
    private let buffers: [UnsafeMutableRawPointer]
    private var filled: [Int]            // bytes in each slot; -1 = empty (guarded by mutex)
    private var failure: Error?          // guarded by mutex
    private var cancelled = false        // guarded by mutex
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread: pthread_t? = nil

    // Consumer state.
    private var slot = 0                 // slot being consumed
    private var current: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    private var pos = 0
    private var holding = false          // the consumer owns `slot` until it moves on
    private var carry = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 16)  // a line split across chunks
    private var carryCap = 1 << 16
    private var carryLen = 0
    private var eof = false

    init(path: String) throws {
        source = try ByteSource(path: path)
        name = source.name
        buffers = (0..<ReadAheadLineReader.slotCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: ReadAheadLineReader.chunk, alignment: 64) }
        filled = [Int](repeating: -1, count: ReadAheadLineReader.slotCount)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        let ctx = Unmanaged.passRetained(self).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { ctx in
            let me = Unmanaged<ReadAheadLineReader>.fromOpaque(ctx!).takeRetainedValue()
            me.produce()
            return nil
        }, ctx)
        if rc != 0 {
            Unmanaged<ReadAheadLineReader>.fromOpaque(ctx).release()
            throw RNNError(path: name, "cannot start a reader thread (error \(rc))")
        }
        thread = t
    }

    /// Stops the background thread (also when the consumer gave up early) and frees the buffers.
    func close() {
        guard let t = thread else { return }
        pthread_mutex_lock(mutex)
        cancelled = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
        pthread_join(t, nil)
        thread = nil
    }

    deinit {
        close()
        for b in buffers { b.deallocate() }
        carry.deallocate()
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    private func produce() {
        var s = 0
        while true {
            pthread_mutex_lock(mutex)
            while filled[s] >= 0 && !cancelled { pthread_cond_wait(cond, mutex) }
            let stop = cancelled
            pthread_mutex_unlock(mutex)
            if stop { return }
            var n = 0
            var err: Error? = nil
            do { n = try source.read(into: buffers[s], count: ReadAheadLineReader.chunk) } catch { err = error }
            pthread_mutex_lock(mutex)
            filled[s] = n
            if let err { failure = err; filled[s] = 0 }
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)
            if n == 0 || err != nil { return }
            s = (s + 1) % ReadAheadLineReader.slotCount
        }
    }

    /// Waits for the next chunk; false at the end of input.
    private func advance() throws -> Bool {
        pthread_mutex_lock(mutex)
        if holding {
            filled[slot] = -1
            slot = (slot + 1) % ReadAheadLineReader.slotCount
            holding = false
            pthread_cond_broadcast(cond)
        }
        while filled[slot] < 0 { pthread_cond_wait(cond, mutex) }
        let n = filled[slot]
        let err = failure
        pthread_mutex_unlock(mutex)
        if let err { throw err }
        if n == 0 { return false }
        holding = true
        current = UnsafeRawBufferPointer(start: buffers[slot], count: n)
        pos = 0
        return true
    }

    private func trimCR(_ p: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        if let last = p.last, last == 0x0D { return UnsafeRawBufferPointer(rebasing: p[0..<(p.count - 1)]) }
        return p
    }

    private func appendCarry(_ p: UnsafeRawBufferPointer) throws {
        if carryLen + p.count > InputLimits.maxLineBytes {
            throw LineTooLong(line: lineNumber + 1, limit: InputLimits.maxLineBytes).error(name)
        }
        if carryLen + p.count > carryCap {
            var cap = carryCap * 2
            while cap < carryLen + p.count { cap *= 2 }
            let n = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 16)
            n.copyMemory(from: carry, byteCount: carryLen)
            carry.deallocate()
            carry = n
            carryCap = cap
        }
        if p.count > 0 { (carry + carryLen).copyMemory(from: p.baseAddress!, byteCount: p.count) }
        carryLen += p.count
    }

    /// The next line, or nil at the end of input.
    func next() throws -> UnsafeRawBufferPointer? {
        var joined = false  // carry holds the start of the line
        carryLen = 0
        while true {
            if pos < current.count {
                let base = current.baseAddress!
                if let nl = memchr(base + pos, 0x0A, current.count - pos) {
                    let end = base.distance(to: UnsafeRawPointer(nl))
                    let piece = UnsafeRawBufferPointer(rebasing: current[pos..<end])
                    pos = end + 1
                    if !joined { lineNumber += 1; return trimCR(piece) }
                    try appendCarry(piece)
                    lineNumber += 1
                    return trimCR(UnsafeRawBufferPointer(start: carry, count: carryLen))
                }
                try appendCarry(UnsafeRawBufferPointer(rebasing: current[pos...]))
                joined = true
                pos = current.count
            }
            if !eof {
                let more = try advance()
                if more { continue }
                eof = true
            }
            do {
                if joined && carryLen > 0 {
                    lineNumber += 1
                    return trimCR(UnsafeRawBufferPointer(start: carry, count: carryLen))
                }
                return nil
            }
        }
    }
}
