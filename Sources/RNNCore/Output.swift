// Writing output: buffered data to stdout (EPIPE is a quiet stop) and files that appear only
// when complete (temporary file + rename).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered writer over a file descriptor. A closed pipe throws ``BrokenPipe``.
public final class BufferedOutput {
    private let fd: Int32
    private var buf: [UInt8] = []
    private let limit: Int
    /// Name used in error messages.
    public let name: String

    /// Writes to `fd` (1 = standard output), flushing every `capacity` bytes.
    public init(fd: Int32 = 1, name: String = "<stdout>", capacity: Int = 1 << 16) {
        self.fd = fd
        self.name = name
        self.limit = capacity
        buf.reserveCapacity(capacity + 4096)
    }

    /// Appends bytes.
    @inlinable public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try _append(bytes)
    }

    /// Appends bytes.
    public func _append(_ bytes: UnsafeRawBufferPointer) throws {
        buf.append(contentsOf: bytes)
        if buf.count >= limit { try flush() }
    }

    /// Appends bytes.
    public func write(_ bytes: [UInt8]) throws {
        buf.append(contentsOf: bytes)
        if buf.count >= limit { try flush() }
    }

    /// Appends one byte.
    public func write(byte: UInt8) throws {
        buf.append(byte)
        if buf.count >= limit { try flush() }
    }

    /// Appends UTF-8 text.
    public func write(_ text: String) throws {
        var s = text
        try s.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Writes everything buffered to the descriptor.
    public func flush() throws {
        var off = 0
        let count = buf.count
        try buf.withUnsafeBytes { p in
            while off < count {
                let n = systemWrite(fd, p.baseAddress! + off, count - off)
                if n < 0 {
                    let e = errno
                    if e == EINTR { continue }
                    if e == EPIPE { throw BrokenPipe() }
                    throw RNNError(path: name, "write failed: \(String(cString: strerror(e)))")
                }
                off += n
            }
        }
        buf.removeAll(keepingCapacity: true)
    }
}

/// A file that appears at its path only when complete: data goes to a temporary file in the same
/// folder, which ``commit()`` renames over the destination. If the writer is dropped without
/// commit (an error, an interruption), the temporary file is removed and the destination is left
/// as it was. A destination that is a device or a pipe (`-o /dev/null`) is written in place.
public final class AtomicFile {
    /// Destination path.
    public let path: String
    /// Temporary path that receives the data.
    public let tempPath: String
    private var fd: Int32
    private var committed = false
    private var buf: [UInt8] = []
    /// Registration of `tempPath` for removal by a stop signal (TempFiles).
    private var tempSlot: Int?
    /// The output lock taken by this writer (nil when the process already held it).
    private var lockToken: Int32?
    /// The destination is a device or a pipe (`/dev/null`, `/dev/stdout`, a FIFO): it is written
    /// in place, since renaming a file over it would replace the device node itself.
    private let direct: Bool

    /// Creates the temporary file next to `path` (or opens `path` itself when it is a device or
    /// a pipe).
    public init(path: String) throws {
        self.path = path
        var st = stat()
        if stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG, (st.st_mode & S_IFMT) != S_IFDIR {
            direct = true
            tempPath = path
            fd = open(path, O_WRONLY | O_CLOEXEC)
            if fd < 0 { throw RNNError(path: path, "cannot open for writing: \(String(cString: strerror(errno)))") }
            return
        }
        direct = false
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        if base.isEmpty { throw RNNError(path: path, "output path names a folder, expected a file name") }
        let folder = dir.isEmpty ? "/" : dir + "/"
        lockToken = try OutputGuard.lock(path, untilExit: false)
        OutputGuard.removeStaleTemporaries(folder: folder, base: base)
        tempPath = folder + ".\(base).tmp-\(getpid())"
        tempSlot = TempFiles.register(tempPath)
        fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            TempFiles.unregister(tempSlot)
            throw RNNError(path: path, "cannot create output file: \(String(cString: strerror(errno)))")
        }
        buf.reserveCapacity(1 << 20)
    }

    deinit {
        if !committed {
            if fd >= 0 { close(fd) }
            if !direct { unlink(tempPath) }
        }
        TempFiles.unregister(tempSlot)
        OutputGuard.unlock(lockToken)
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count >= 1 << 20 {
            try flushBuffer()
            try rawWrite(bytes)
            return
        }
        buf.append(contentsOf: bytes)
        if buf.count >= 1 << 20 { try flushBuffer() }
    }

    /// Appends bytes.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Appends UTF-8 text.
    public func write(_ text: String) throws {
        var s = text
        try s.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    private func flushBuffer() throws {
        let b = buf
        buf.removeAll(keepingCapacity: true)
        try b.withUnsafeBytes { try rawWrite($0) }
    }

    private func rawWrite(_ p: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < p.count {
            let n = systemWrite(fd, p.baseAddress! + off, p.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw RNNError(path: path, "write failed: \(String(cString: strerror(errno)))")
            }
            off += n
        }
    }

    /// Flushes, closes and renames the temporary file over the destination.
    public func commit() throws {
        try flushBuffer()
        if direct {
            close(fd)
            fd = -1
            committed = true
            return
        }
        if fsync(fd) != 0 && errno != EINVAL {
            throw RNNError(path: path, "cannot flush output file: \(String(cString: strerror(errno)))")
        }
        close(fd)
        fd = -1
        let renamed = rename(tempPath, path) == 0
        let e = errno
        TempFiles.unregister(tempSlot)
        tempSlot = nil
        if !renamed {
            unlink(tempPath)
            committed = true
            throw RNNError(path: path, "cannot write output file: \(String(cString: strerror(e)))")
        }
        committed = true
        OutputGuard.unlock(lockToken)
        lockToken = nil
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let f = try AtomicFile(path: path)
        try f.write(bytes)
        try f.commit()
    }
}

/// Outputs are never inputs, and one output has one writer (issue 11 item 4).
///
/// - ``refuseInputs(output:inputs:)``: an output that is the same file as an input (compared by
///   device and inode, so `./v.bin`, `v.bin` and a hard link are the same) is refused before any
///   work is done.
/// - ``lock(_:untilExit:)``: a writer takes an exclusive `flock` on `.NAME.lock` next to the
///   output (the tools up front, until they exit): a second process writing the same output is
///   refused at once instead of interleaving its files with the first one's. The lock file is
///   removed when the lock is released.
/// - ``removeStaleTemporaries(folder:base:)``: `.NAME.tmp-PID` files left by a writer that was
///   killed (kill -9, power loss) are removed when the next writer of NAME starts.
public enum OutputGuard {
    nonisolated(unsafe) private static var held: [String: (fd: Int32, slot: Int?)] = [:]
    nonisolated(unsafe) private static var exitHandlerInstalled = false

    /// Throws when `output` exists and is the same file as one of `inputs` ("-" and nil skipped).
    public static func refuseInputs(output: String?, inputs: [String?]) throws {
        guard let output, output != "-" else { return }
        var so = stat()
        guard stat(output, &so) == 0, (so.st_mode & S_IFMT) == S_IFREG else { return }
        for case let input? in inputs where input != "-" {
            var si = stat()
            if stat(input, &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino {
                throw RNNError(path: output, "this output is also an input (\(input)); writing it would destroy that input: choose another output file")
            }
        }
    }

    /// Takes the exclusive lock of the output `path`; throws when another process holds it.
    /// `untilExit`: held until the process ends (the tools lock every output up front);
    /// otherwise a lock that this process does not hold yet is returned as a token that
    /// ``unlock(_:)`` releases (an ``AtomicFile`` of a library caller). The lock file is removed
    /// when released, at exit and by a stop signal. Devices and pipes are not locked; a lock file
    /// that cannot be created (read-only folder) is skipped: creating the output itself then
    /// fails with a clear error.
    @discardableResult
    public static func lock(_ path: String, untilExit: Bool = true) throws -> Int32? {
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG { return nil }
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let lockPath = (dir.isEmpty ? "/" : dir + "/") + ".\(base).lock"
        if held[lockPath] != nil { return nil }
        while true {
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            if fd < 0 { return nil }
            var ls = stat()
            guard fstat(fd, &ls) == 0 else { close(fd); return nil }
            // The same lock file under another spelling of the path: already ours.
            for (_, other) in held {
                var os = stat()
                if fstat(other.fd, &os) == 0 && os.st_dev == ls.st_dev && os.st_ino == ls.st_ino { close(fd); return nil }
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let e = errno
                close(fd)
                if e == EWOULDBLOCK {
                    throw RNNError(path: path, "another process is writing this file (it holds \(lockPath)); wait for it to finish or choose another output")
                }
                return nil
            }
            // The holder before us may have removed the file between our open and our lock:
            // then the lock is on an orphan; take the one at the path.
            var now = stat()
            if stat(lockPath, &now) != 0 || now.st_ino != ls.st_ino || now.st_dev != ls.st_dev { close(fd); continue }
            let slot = TempFiles.register(lockPath)
            held[lockPath] = (fd, slot)
            if untilExit {
                if !exitHandlerInstalled { exitHandlerInstalled = true; atexit { OutputGuard.releaseAll() } }
                return nil
            }
            return fd
        }
    }

    /// Releases a lock returned by ``lock(_:untilExit:)`` and removes its file.
    public static func unlock(_ token: Int32?) {
        guard let token, let (path, h) = held.first(where: { $0.value.fd == token }) else { return }
        unlink(path)
        close(h.fd)
        TempFiles.unregister(h.slot)
        held[path] = nil
    }

    /// Releases every lock (at exit).
    static func releaseAll() {
        for (path, h) in held { unlink(path); close(h.fd); TempFiles.unregister(h.slot) }
        held.removeAll()
    }

    /// Removes `.BASE.tmp-PID` files in `folder` (ending in "/") whose process no longer runs.
    public static func removeStaleTemporaries(folder: String, base: String) {
        guard let d = opendir(folder) else { return }
        defer { closedir(d) }
        let prefix = Array(".\(base).tmp-".utf8)
        let me = getpid()
        while let ent = readdir(d) {
            let name: [UInt8] = withUnsafeBytes(of: ent.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            guard name.count > prefix.count, name.starts(with: prefix) else { continue }
            let digits = name[prefix.count...]
            guard digits.count <= 9, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let pid = Int32(String(decoding: digits, as: UTF8.self)), pid > 0, pid != me else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink(folder + String(decoding: name, as: UTF8.self))
            }
        }
    }
}
