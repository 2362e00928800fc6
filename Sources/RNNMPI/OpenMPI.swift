// Open MPI's MPI_COMM_WORLD as a ``Communicator``, loaded at run time with dlopen.
//
// The tools do not link libmpi: a run without mpirun starts as before and needs no MPI installed.
// ``Processes/fromEnvironment()`` loads the library only when the process was launched by an MPI
// launcher: `mpirun`/`mpiexec` of Open MPI set OMPI_COMM_WORLD_SIZE (size 1 is a plain run), and
// `srun --mpi=pmix` sets PMIX_RANK. Open MPI's predefined handles (MPI_COMM_WORLD, MPI_FLOAT,
// MPI_SUM, ...) are the addresses of global symbols (ompi_mpi_comm_world, ...), found with dlsym;
// MPI_IN_PLACE is (void *) 1 (mpi.h). RNN_MPI_LIBRARY names another library file (default
// libmpi.so.40, the soname of Open MPI 3, 4 and 5).
//
// Errors: MPI's default handler (errors are fatal) ends every process when a collective fails or
// a process dies; mpirun then reports which one. A library that cannot be loaded is one RNNError.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNCore

/// Launch detection (see the file comment).
public enum Processes {
    /// The communicator of this process: ``SingleProcess`` unless launched by an MPI launcher with
    /// more than one process, else Open MPI's world (initialised here). Throws when the
    /// launcher's variables are malformed or libmpi cannot be loaded.
    public static func fromEnvironment() throws -> any Communicator {
        let env = { (name: String) -> String? in getenv(name).map { String(cString: $0) } }
        if let text = env("OMPI_COMM_WORLD_SIZE") {
            guard let n = Int(text), n >= 1 else {
                throw RNNError("OMPI_COMM_WORLD_SIZE is '\(text.prefix(40))', not a process count; launch with mpirun -np K, or unset it for one process")
            }
            if n == 1 { return SingleProcess() }
        } else if env("PMIX_RANK") == nil {
            return SingleProcess()
        }
        do {
            return try OpenMPI(library: env("RNN_MPI_LIBRARY").flatMap { $0.isEmpty ? nil : $0 })
        } catch let e as RNNError {
            // the launcher's rank, so that K processes failing alike say who they are
            let rank = (env("OMPI_COMM_WORLD_RANK") ?? env("PMIX_RANK")).flatMap { Int($0) }
            throw rank.map { RNNError("rank \($0): \(e.message)") } ?? e
        }
    }
}

/// Open MPI's world communicator (see the file comment).
public final class OpenMPI: Communicator {
    public let rank: Int
    public let size: Int
    /// Collective calls, bytes reduced (per process) and seconds spent in ``sum(_:)`` so far.
    public private(set) var gradientCalls = 0, gradientBytes = 0
    public private(set) var gradientSeconds = 0.0

    private typealias InitThreadFn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32, UnsafeMutablePointer<Int32>?) -> Int32
    private typealias CommIntFn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> Int32
    private typealias AllreduceFn = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, UnsafeMutableRawPointer?,
                                                    UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32
    private typealias BcastFn = @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafeMutableRawPointer?, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias FinalizeFn = @convention(c) () -> Int32

    private let allreduceFn: AllreduceFn, bcastFn: BcastFn, finalizeFn: FinalizeFn
    private let world: UnsafeMutableRawPointer, float: UnsafeMutableRawPointer, double: UnsafeMutableRawPointer
    private let byte: UnsafeMutableRawPointer, opSum: UnsafeMutableRawPointer, opMax: UnsafeMutableRawPointer, opOr: UnsafeMutableRawPointer
    private var finished = false
    /// Floats per MPI_Allreduce call (MPI counts are 32-bit; a bigger arena is reduced in buckets).
    static let bucket = 1 << 26

    /// Loads `library` (default libmpi.so.40) and initialises MPI (threads: funneled, only the
    /// main thread calls MPI).
    public init(library: String? = nil) throws {
        let name = library ?? "libmpi.so.40"
        let launchHint = "install Open MPI on every machine (Debian: openmpi-bin libopenmpi-dev, or libopenmpi3), or run without mpirun for one process"
        guard let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) else {
            let why = dlerror().map { String(cString: $0) } ?? "not found"
            throw RNNError("launched by an MPI launcher, but Open MPI's library cannot be loaded (\(why)); \(launchHint)")
        }
        func symbol(_ s: String) throws -> UnsafeMutableRawPointer {
            guard let p = dlsym(handle, s) else {
                throw RNNError("\(name) has no symbol \(s): not an Open MPI library (RNN_MPI_LIBRARY names another MPI?); \(launchHint)")
            }
            return p
        }
        let initThread = unsafeBitCast(try symbol("MPI_Init_thread"), to: InitThreadFn.self)
        let commRank = unsafeBitCast(try symbol("MPI_Comm_rank"), to: CommIntFn.self)
        let commSize = unsafeBitCast(try symbol("MPI_Comm_size"), to: CommIntFn.self)
        allreduceFn = unsafeBitCast(try symbol("MPI_Allreduce"), to: AllreduceFn.self)
        bcastFn = unsafeBitCast(try symbol("MPI_Bcast"), to: BcastFn.self)
        finalizeFn = unsafeBitCast(try symbol("MPI_Finalize"), to: FinalizeFn.self)
        world = try symbol("ompi_mpi_comm_world")
        float = try symbol("ompi_mpi_float")
        double = try symbol("ompi_mpi_double")
        byte = try symbol("ompi_mpi_byte")
        opSum = try symbol("ompi_mpi_op_sum")
        opMax = try symbol("ompi_mpi_op_max")
        opOr = try symbol("ompi_mpi_op_bor")
        var provided: Int32 = 0
        let funneled: Int32 = 1   // MPI_THREAD_FUNNELED
        try OpenMPI.check(initThread(nil, nil, funneled, &provided), "MPI_Init_thread")
        var r: Int32 = 0, n: Int32 = 0
        try OpenMPI.check(commRank(world, &r), "MPI_Comm_rank")
        try OpenMPI.check(commSize(world, &n), "MPI_Comm_size")
        guard n >= 1, r >= 0, r < n else { throw RNNError("MPI reported rank \(r) of \(n) processes") }
        rank = Int(r); size = Int(n)
    }

    private static func check(_ code: Int32, _ call: String) throws {
        guard code == 0 else { throw RNNError("\(call) failed with MPI error \(code)") }
    }

    private static var inPlace: UnsafeRawPointer? { UnsafeRawPointer(bitPattern: 1) }

    public func sum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = values.baseAddress, size > 1 else { return }
        let t = monotonicSeconds()
        var i = 0
        while i < values.count {
            let n = min(OpenMPI.bucket, values.count - i)
            try OpenMPI.check(allreduceFn(OpenMPI.inPlace, base + i, Int32(n), float, opSum, world), "MPI_Allreduce")
            i += n
            gradientCalls += 1
        }
        gradientBytes += values.count * MemoryLayout<Float>.stride
        gradientSeconds += monotonicSeconds() - t
    }

    public func reduce(_ values: inout [Double], _ op: ReduceOp) throws {
        guard size > 1, !values.isEmpty else { return }
        guard values.count <= OpenMPI.bucket else { throw RNNError("MPI_Allreduce: \(values.count) values in one call") }
        let o = op == .sum ? opSum : opMax
        let code = values.withUnsafeMutableBufferPointer { allreduceFn(OpenMPI.inPlace, $0.baseAddress, Int32($0.count), double, o, world) }
        try OpenMPI.check(code, "MPI_Allreduce")
    }

    public func union(_ bits: UnsafeMutableBufferPointer<UInt8>) throws {
        guard let base = bits.baseAddress, size > 1 else { return }
        var i = 0
        while i < bits.count {
            let n = min(OpenMPI.bucket, bits.count - i)
            try OpenMPI.check(allreduceFn(OpenMPI.inPlace, base + i, Int32(n), byte, opOr, world), "MPI_Allreduce")
            i += n
        }
    }

    public func broadcast(_ bytes: inout [UInt8]) throws {
        guard size > 1 else { return }
        // the length first, so that every process holds a buffer of rank 0's size
        var n = [Double(bytes.count)]
        let lengthCode = n.withUnsafeMutableBufferPointer { bcastFn($0.baseAddress, 1, double, 0, world) }
        try OpenMPI.check(lengthCode, "MPI_Bcast")
        guard n[0] >= 0, n[0] <= Double(OpenMPI.bucket) else { throw RNNError("MPI_Bcast: rank 0 sent a length of \(n[0]) bytes") }
        let count = Int(n[0])
        if bytes.count != count { bytes = [UInt8](repeating: 0, count: count) }
        let code = bytes.withUnsafeMutableBufferPointer { bcastFn($0.baseAddress, Int32(count), byte, 0, world) }
        try OpenMPI.check(code, "MPI_Bcast")
    }

    public func finish() {
        guard !finished else { return }
        finished = true
        _ = finalizeFn()
    }
}
