// Parallelism: one pool of persistent worker threads per model, which poll for the next run for a
// moment and then sleep on a condition variable (ThreadPool).
// `pool.run(parts) { part in ... }` runs part 0 on the caller and parts 1..<parts on the workers
// and returns when all are done. Each part owns its outputs, so results never depend on
// scheduling; how work is cut into parts depends only on the data and the thread count.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenBLAS
import RNNCore

/// `threads - 1` persistent workers plus the calling thread. Threads are created once (in init),
/// never per call. A run publishes its part count and a new generation in one atomic word; a
/// worker that finished a part polls that word for a moment (`spinSeconds`) before it sleeps on the
/// condition variable, so runs that follow each other closely (the layers of a sampling step, a
/// few microseconds of work each) start without a wake-up through the kernel; the caller waits for
/// the parts the same way. Nobody polls when there are more threads than CPUs (they would take the
/// CPU from the parts that work).
final class ThreadPool: @unchecked Sendable {
    /// Parts that can run at once (workers + the caller).
    let threads: Int
    /// How long a waiting thread polls before it sleeps.
    static let spinSeconds = 1e-4
    private let spin: Bool
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// The current run: generation << 16 | parts on workers + caller (written with release after
    /// `task`; a worker reads `task` only when its index is below those parts, and the caller
    /// keeps `task` until every such part is done).
    private let word = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    /// Worker parts of the current run still running.
    private let remaining = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private var task: ((Int) -> Void)?
    private var generation: UInt64 = 0
    private var quit = false
    private var workers: [pthread_t] = []

    /// Box handed to a new thread: the pool (retained while the thread runs) and the part index.
    private final class Start { let pool: ThreadPool; let index: Int; init(_ p: ThreadPool, _ i: Int) { pool = p; index = i } }

    init(threads: Int) {
        self.threads = max(1, threads)
        spin = self.threads <= CPUs.available
        word.initialize(to: 0)
        remaining.initialize(to: 0)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
        for i in 1 ..< self.threads {
            let arg = Unmanaged.passRetained(Start(self, i)).toOpaque()
            #if canImport(Glibc)
            var tid = pthread_t()
            #else
            var tid: pthread_t? = nil
            #endif
            let rc = pthread_create(&tid, nil, { arg in
                let start = Unmanaged<Start>.fromOpaque(arg!).takeRetainedValue()
                start.pool.loop(start.index)
                return nil
            }, arg)
            if rc != 0 {
                Unmanaged<Start>.fromOpaque(arg).release()
                break   // fewer workers: parts beyond them run on the caller (see run)
            }
            #if canImport(Glibc)
            workers.append(tid)
            #else
            workers.append(tid!)
            #endif
        }
    }

    deinit {
        mutex.deallocate(); wake.deallocate(); done.deallocate(); word.deallocate(); remaining.deallocate()
    }

    /// Polls until `ready()` or `spinSeconds` have passed (at once when the pool does not poll).
    @inline(__always) private func poll(_ ready: () -> Bool) -> Bool {
        if ready() { return true }
        if !spin { return false }
        let end = monotonicSeconds() + ThreadPool.spinSeconds
        while true {
            for _ in 0 ..< 32 {
                rnn_cpu_relax()
                if ready() { return true }
            }
            if monotonicSeconds() > end { return false }
        }
    }

    private func loop(_ index: Int) {
        var seen: UInt64 = 0
        while true {
            var w = rnn_atomic_load_acquire(word)
            if !poll({ w = rnn_atomic_load_acquire(word); return w >> 16 != seen }) {
                pthread_mutex_lock(mutex)
                while rnn_atomic_load_acquire(word) >> 16 == seen && !quit { pthread_cond_wait(wake, mutex) }
                pthread_mutex_unlock(mutex)
                w = rnn_atomic_load_acquire(word)
            }
            if quit { return }   // written before the word that announced it
            seen = w >> 16
            guard index < Int(w & 0xFFFF) else { continue }
            work(index)
            if rnn_atomic_decrement(remaining) == 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }

    /// Runs part `index` of the current task; its reference to the task ends with this call,
    /// before the part is counted as done (the caller's closure must not outlive its run).
    @inline(never) private func work(_ index: Int) {
        task?(index)
    }

    /// Runs body(0..<parts): part 0 here, the others on the workers; returns when all finished.
    /// Parts without a worker (thread creation failed) run here after part 0.
    func run(_ parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 || workers.isEmpty {
            for p in 0 ..< parts { body(p) }
            return
        }
        withoutActuallyEscaping(body) { esc in runEscaping(parts, esc) }
    }

    private func runEscaping(_ parts: Int, _ body: @escaping (Int) -> Void) {
        let onWorkers = min(parts, workers.count + 1)
        task = body
        remaining.pointee = UInt64(onWorkers - 1)
        publish(parts: onWorkers)
        body(0)
        for p in onWorkers ..< parts { body(p) }
        if !poll({ rnn_atomic_load_acquire(remaining) == 0 }) {
            pthread_mutex_lock(mutex)
            while rnn_atomic_load_acquire(remaining) > 0 { pthread_cond_wait(done, mutex) }
            pthread_mutex_unlock(mutex)
        }
        task = nil
    }

    /// Starts a new generation of `parts` parts and wakes the sleeping workers.
    private func publish(parts: Int) {
        generation &+= 1
        rnn_atomic_store_release(word, generation << 16 | UInt64(parts))
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// Stops and joins the workers (call before the pool is released).
    func stop() {
        quit = true
        publish(parts: 0)
        for t in workers { pthread_join(t, nil) }
        workers = []
    }
}

/// Owner of a model's pool: created on first use for `threads` >= 2, replaced when the count
/// changes, stopped with its owner.
final class Threads {
    /// Requested thread count (>= 1).
    private(set) var count = 1
    private var pool: ThreadPool?

    init() {}
    deinit { pool?.stop() }

    func set(_ n: Int) {
        let n = max(1, n)
        if n == count { return }
        count = n
        pool?.stop()
        pool = nil
    }

    /// Runs body(0..<parts) on up to `count` threads.
    func run(_ parts: Int, _ body: (Int) -> Void) {
        setBLASThreads(1)
        if parts <= 1 || count <= 1 {
            for p in 0 ..< parts { body(p) }
            return
        }
        if pool == nil { pool = ThreadPool(threads: count) }
        pool!.run(parts, body)
    }
}

/// Splits 0..<n into `parts` contiguous ranges (the first ones one longer), boundaries rounded
/// down to multiples of `align` where possible; range p of the result.
@inline(__always) func chunk(_ n: Int, parts: Int, _ p: Int, align: Int = 1) -> Range<Int> {
    func edge(_ i: Int) -> Int {
        if i >= parts { return n }
        let e = n * i / parts
        return min(n, e / align * align)
    }
    return edge(p) ..< max(edge(p), edge(p + 1))
}

/// OpenBLAS's thread count is process-global; set it only when it changes. The engine cuts every
/// product into per-thread parts itself, so OpenBLAS always runs on the calling thread.
nonisolated(unsafe) private var currentBLASThreads = -1

@inline(__always) func setBLASThreads(_ n: Int) {
    if currentBLASThreads != n {
        openblas_set_num_threads(Int32(n))
        currentBLASThreads = n
    }
}

/// The OpenBLAS kernel set in use (e.g. "SkylakeX", "Haswell"; "static" for a single-architecture
/// build). Reading it the first time selects the kernels: on a CPU with AVX-512 that OpenBLAS did
/// not recognise (0.3.21 and Zen 4/5) its AVX-512 kernels replace the AVX2 ones, unless the user
/// chose with OPENBLAS_CORETYPE (COpenBLAS/shim.h). Every model reads it before its first product.
public enum BLASKernels {
    public static let name: String = String(cString: rnn_blas_select_core())
}

/// The CPUs this process may use: the affinity mask (sched_getaffinity: taskset, cpusets) capped by
/// a cgroup v2 CPU quota (cpu.max "quota period", rounded up), at least 1. The default thread count
/// of every tool.
public enum CPUs {
    public static let available: Int = {
        var n = Int(rnn_affinity_cpus())
        if n < 1 { n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
        if let quota = cgroupQuota() { n = min(n, quota) }
        return max(1, n)
    }()

    /// CPUs allowed by the cgroup v2 quota of this process (nil: no quota or no cgroup v2).
    static func cgroupQuota() -> Int? {
        // /proc/self/cgroup "0::/path" names the cgroup; its cpu.max is "max 100000" or "200000 100000".
        guard let line = readSmallFile("/proc/self/cgroup")?.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        var path = String(line.dropFirst(3))
        while true {
            if let text = readSmallFile("/sys/fs/cgroup" + (path == "/" ? "" : path) + "/cpu.max") {
                let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
                if f.count >= 2, let q = Double(f[0]), let p = Double(f[1]), q > 0, p > 0 {
                    return max(1, Int((q / p).rounded(.up)))
                }
            }
            if path == "/" || path.isEmpty { return nil }
            // a parent's quota limits its children too
            if let slash = path.lastIndex(of: "/") { path = slash == path.startIndex ? "/" : String(path[..<slash]) } else { return nil }
        }
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        if fd < 0 { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
        return n > 0 ? String(decoding: buf[0 ..< n], as: UTF8.self) : nil
    }
}
