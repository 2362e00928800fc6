// Line input for interactive filters (rnn-classify): unlike ``LineReader``, whose reads block
// until a 1 MB buffer is full, a pipe or terminal is read with plain read(2) calls that return
// whatever has arrived, and ``StreamingLineReader/wouldBlock`` tells (with a zero-timeout poll)
// whether the next line can be had without waiting. A consumer batches while input is
// plentiful and flushes as soon as reading would block: a line out soon after a line in.
//
// Regular files keep going through ``ByteSource`` (gzip-transparent, never "would block").
// gzip on a pipe is inflated incrementally with zlib's inflate (concatenated members allowed).
import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a file or stream into lines, reading a pipe or terminal without waiting for more data
/// than has arrived.
///
/// `next()` returns a view of the next line (without `\n` and a `\r` before it), valid until the
/// following call.
public final class StreamingLineReader {
    /// How the input is named in messages: the path, or `<stdin>`.
    public let name: String
    /// 1-based number of the line last returned.
    public var lineNumber: Int { lines.lineNumber }

    /// Regular files: blocking reads are fine (the data is all there).
    private let file: ByteSource?
    /// Pipes, terminals, sockets: the descriptor read with read(2).
    private let fd: Int32
    /// Lines; files are read 1 MB at a time (like ``LineReader``), streams as data arrives.
    private let lines: LineSplitter
    /// Bytes delivered so far (decompressed), for messages.
    private var offset = 0

    // gzip on a stream: compressed input buffer and zlib state.
    private var gzipChecked = false
    private var zstream: UnsafeMutablePointer<z_stream>? = nil
    private var zin: UnsafeMutableRawPointer? = nil
    private var zinEOF = false
    private var zinAfterEnd = false  // a member ended; more input means another member
    private static let zinSize = 1 << 16

    /// Opens `path` (`"-"`: standard input).
    public init(path: String) throws {
        var st = stat()
        if path == "-" {
            name = "<stdin>"
            if fstat(0, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
                file = try ByteSource(path: "-"); fd = -1
            } else {
                file = nil; fd = 0
            }
            lines = LineSplitter(capacity: file != nil ? 1 << 20 : 1 << 16)
        } else {
            name = path
            if stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG && (st.st_mode & S_IFMT) != S_IFDIR {
                // a named pipe or a device: stream it
                let f = open(path, O_RDONLY | O_CLOEXEC)
                if f < 0 { throw RNNError(path: path, "cannot open: \(String(cString: strerror(errno)))") }
                file = nil; fd = f
            } else {
                file = try ByteSource(path: path)
                fd = -1
            }
            lines = LineSplitter(capacity: file != nil ? 1 << 20 : 1 << 16)
        }
    }

    deinit {
        if let zstream { inflateEnd(zstream); zstream.deallocate() }
        zin?.deallocate()
        if fd > 0 { close(fd) }
    }

    /// True when the next call to ``next()`` would wait for data that has not arrived yet (never
    /// for regular files, nor when a complete line or the end of input is already buffered).
    public var wouldBlock: Bool {
        if file != nil || lines.hasLine { return false }
        if let zstream, zstream.pointee.avail_in > 0 { return false }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&p, 1, 0)
        return r == 0
    }

    /// The next line, or nil at the end of input.
    public func next() throws -> UnsafeRawBufferPointer? {
        try lines.next { p, n in
            let got = try fill(p, n)
            offset += got
            return got
        }
    }

    /// Reads at least one byte unless at the end of input; returns 0 only at the end.
    private func fill(_ p: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        if let file { return try file.read(into: p, count: count) }
        if !gzipChecked {
            gzipChecked = true
            // Peek at the first two bytes for the gzip magic; they stay in the output otherwise.
            var have = 0
            while have < 2 {
                let n = try rawRead(p + have, count - have)
                if n == 0 { break }
                have += n
            }
            if have >= 2 && p.load(as: UInt8.self) == 0x1F && p.load(fromByteOffset: 1, as: UInt8.self) == 0x8B {
                try startInflate(with: UnsafeRawBufferPointer(start: p, count: have))
            } else {
                return have
            }
        }
        if zstream != nil { return try inflateSome(p, count) }
        return try rawRead(p, count)
    }

    private func rawRead(_ p: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        while true {
            let n = read(fd, p, count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw RNNError(path: name, "read error at byte \(offset): \(String(cString: strerror(errno)))")
        }
    }

    private func startInflate(with first: UnsafeRawBufferPointer) throws {
        let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        z.initialize(to: z_stream())
        // 15 + 32: zlib or gzip header, detected
        guard inflateInit2_(z, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            z.deallocate()
            throw RNNError(path: name, "cannot start gzip decompression")
        }
        zstream = z
        let zi = UnsafeMutableRawPointer.allocate(byteCount: StreamingLineReader.zinSize, alignment: 16)
        zin = zi
        zi.copyMemory(from: first.baseAddress!, byteCount: first.count)
        z.pointee.next_in = zi.assumingMemoryBound(to: Bytef.self)
        z.pointee.avail_in = UInt32(first.count)
    }

    private func inflateSome(_ p: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        let z = zstream!
        while true {
            if z.pointee.avail_in == 0 && !zinEOF {
                let n = try rawRead(zin!, StreamingLineReader.zinSize)
                if n == 0 { zinEOF = true } else {
                    z.pointee.next_in = zin!.assumingMemoryBound(to: Bytef.self)
                    z.pointee.avail_in = UInt32(n)
                }
            }
            if z.pointee.avail_in == 0 && zinEOF {
                if zinAfterEnd { return 0 }
                throw RNNError(path: name, "truncated gzip stream (unexpected end of data after \(offset) bytes); the input is incomplete")
            }
            if zinAfterEnd {
                // another gzip member follows
                inflateReset(z)
                zinAfterEnd = false
            }
            z.pointee.next_out = p.assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_out = UInt32(min(count, Int(UInt32.max)))
            let rc = inflate(z, Z_NO_FLUSH)
            let produced = min(count, Int(UInt32.max)) - Int(z.pointee.avail_out)
            if rc == Z_STREAM_END {
                zinAfterEnd = true
            } else if rc != Z_OK && rc != Z_BUF_ERROR {
                let msg = z.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw RNNError(path: name, "corrupt gzip data near byte \(offset) (\(msg)); the input is damaged")
            }
            if produced > 0 { return produced }
        }
    }
}
