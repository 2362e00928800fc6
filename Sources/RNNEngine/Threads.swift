// Two-way parallelism: one persistent worker thread per model, woken by a condition variable.
// `run2 { part in ... }` runs part 0 on the caller and part 1 on the worker and returns when both
// are done. Each part owns its outputs, so results never depend on scheduling.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenBLAS

final class Worker: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var task: ((Int) -> Void)?
    private var pending = false
    private var quit = false
    private var thread: pthread_t? = nil

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        let me = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Glibc)
        var tid = pthread_t()
        #else
        var tid: pthread_t? = nil
        #endif
        let rc = pthread_create(&tid, nil, { arg in
            let worker = Unmanaged<Worker>.fromOpaque(arg!).takeUnretainedValue()
            worker.loop()
            return nil
        }, me)
        precondition(rc == 0, "cannot start a worker thread")
        thread = tid
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while true {
            while !pending && !quit { pthread_cond_wait(cond, mutex) }
            if quit { break }
            let t = task!
            pthread_mutex_unlock(mutex)
            t(1)
            pthread_mutex_lock(mutex)
            pending = false
            pthread_cond_broadcast(cond)
        }
        pthread_mutex_unlock(mutex)
        Unmanaged.passUnretained(self).release()
    }

    /// Runs body(0) here and body(1) on the worker; returns when both finished.
    func run2(_ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { esc in run2Escaping(esc) }
    }

    /// run2 for a closure that is already escaping: no conversion, so no allocation per call
    /// (withoutActuallyEscaping allocates a context to check the closure did not escape; per-step
    /// callers form their closure once and call this).
    func run2Escaping(_ body: @escaping (Int) -> Void) {
        pthread_mutex_lock(mutex)
        task = body
        pending = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
        body(0)
        pthread_mutex_lock(mutex)
        while pending { pthread_cond_wait(cond, mutex) }
        task = nil
        pthread_mutex_unlock(mutex)
    }

    /// Stops the thread (it releases its own reference when it exits).
    func stop() {
        pthread_mutex_lock(mutex)
        quit = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
        if let t = thread { pthread_join(t, nil) }
        thread = nil
    }
}

/// OpenBLAS's thread count is process-global; set it only when it changes.
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
