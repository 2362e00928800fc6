// Bytes of a ByteSource read by a second thread: decompression (zlib, ~230 MB/s, the larger cost
// for a gzip vectors file) overlaps with the parsing of the previous chunk. The feed behind
// LineReader's `.readAhead` (the lines themselves are split by the one LineSplitter).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A background thread reading `source` into a ring of chunks; `read(into:count:)` hands them out
/// in order. Read errors of the thread are rethrown by `read`.
final class ReadAhead: @unchecked Sendable {
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
    private var count = 0                // bytes in it
    private var pos = 0                  // bytes of it handed out
    private var holding = false          // the consumer owns `slot` until it moves on
    private var finished = false

    init(source: ByteSource) throws {
        self.source = source
        buffers = (0..<ReadAhead.slotCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: ReadAhead.chunk, alignment: 64) }
        filled = [Int](repeating: -1, count: ReadAhead.slotCount)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        let ctx = Unmanaged.passRetained(self).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { ctx in
            guard let ctx else { return nil }
            Unmanaged<ReadAhead>.fromOpaque(ctx).takeRetainedValue().produce()
            return nil
        }, ctx)
        if rc != 0 {
            Unmanaged<ReadAhead>.fromOpaque(ctx).release()
            throw RNNError(path: source.name, "cannot start a reader thread (error \(rc))")
        }
        thread = t
    }

    /// Stops the background thread (also when the consumer gave up early).
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
            do { n = try source.read(into: buffers[s], count: ReadAhead.chunk) } catch { err = error }
            pthread_mutex_lock(mutex)
            filled[s] = n
            if let err { failure = err; filled[s] = 0 }
            pthread_cond_broadcast(cond)
            pthread_mutex_unlock(mutex)
            if n == 0 || err != nil { return }
            s = (s + 1) % ReadAhead.slotCount
        }
    }

    /// Waits for the next chunk; false at the end of input.
    private func advance() throws -> Bool {
        pthread_mutex_lock(mutex)
        if holding {
            filled[slot] = -1
            slot = (slot + 1) % ReadAhead.slotCount
            holding = false
            pthread_cond_broadcast(cond)
        }
        while filled[slot] < 0 && !cancelled { pthread_cond_wait(cond, mutex) }
        let n = max(filled[slot], 0)
        let err = failure
        pthread_mutex_unlock(mutex)
        if let err { throw err }
        if n == 0 { return false }
        holding = true
        count = n
        pos = 0
        return true
    }

    /// Copies up to `max` bytes of the stream into `buffer`; 0 only at the end.
    func read(into buffer: UnsafeMutableRawPointer, count max: Int) throws -> Int {
        if max <= 0 || finished { return 0 }
        if pos == count {
            if try !advance() { finished = true; return 0 }
        }
        let n = min(max, count - pos)
        buffer.copyMemory(from: buffers[slot] + pos, byteCount: n)
        pos += n
        return n
    }
}
