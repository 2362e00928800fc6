// Reading input: files or stdin, plain or gzip (zlib detects gzip by its magic bytes, so a
// `.gz` file and a plain file go through the same code).
import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Documented limits of text input (README, "Hostile input, limits and outputs").
public enum InputLimits {
    /// Longest line (record) any tool reads: 64 MiB. Input without newlines (a binary file,
    /// /dev/zero) stops with an error here instead of growing a buffer forever.
    public static let maxLineBytes = 64 << 20
}

/// A sequential byte stream over a file or standard input, gunzipped on the fly when it starts
/// with the gzip magic bytes.
///
/// gzip is read like `zcat`: concatenated members are read in full; every member's trailer (CRC-32
/// and length) is checked; anything after the last member that is not another member, and a
/// stream that ends inside a member (or before its trailer), is an error naming the input and
/// the compressed byte offset. Errors never mean silently short data.
public final class ByteSource {
    /// How the input is named in messages: the path, or `<stdin>`.
    public let name: String
    /// The descriptor read (owned).
    public let fd: Int32
    /// Decompressed bytes delivered so far.
    public private(set) var offset: Int = 0
    /// Raw (compressed) bytes read from the descriptor so far.
    public private(set) var rawOffset: Int = 0
    /// True when the input is gzip.
    public private(set) var isGzip = false
    /// Size of the input when it is a regular file, for checking sizes against what remains.
    private var fileSize: Int?

    // Raw input buffer: bytes [inPos, inEnd) are read but not consumed yet.
    private var inBuf: UnsafeMutableRawPointer
    private static let inSize = 1 << 17
    private var inPos = 0
    private var inEnd = 0
    private var rawEOF = false
    private var started = false
    private var zs: UnsafeMutablePointer<z_stream>?
    private var memberStart = 0      // raw offset of the current gzip member
    private var betweenMembers = false
    private var done = false

    /// Opens `path`; `nil` or `"-"` means standard input.
    public init(path: String?) throws {
        var st = stat()
        if let path, path != "-" {
            name = path
            if stat(path, &st) != 0 {
                let e = errno
                if e == ENOENT { throw RNNError(path: path, "no such file", systemError: e) }
                throw RNNError(path: path, "cannot open: \(String(cString: strerror(e)))")
            }
            if (st.st_mode & S_IFMT) == S_IFDIR { throw RNNError(path: path, "is a directory, expected a file") }
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw RNNError(path: path, "cannot open: \(String(cString: strerror(errno)))") }
        } else {
            name = "<stdin>"
            fd = dup(0)
            if fd < 0 { throw RNNError(path: name, "cannot read standard input: \(String(cString: strerror(errno)))") }
        }
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { fileSize = Int(st.st_size) }
        inBuf = UnsafeMutableRawPointer.allocate(byteCount: ByteSource.inSize, alignment: 64)
    }

    deinit {
        if let zs { inflateEnd(zs); zs.deallocate() }
        inBuf.deallocate()
        close(fd)
    }

    /// For a plain (uncompressed) regular file, the bytes left to read; nil when unknown (gzip,
    /// pipes). Readers check sizes claimed by the data (a tar member) against it before reading.
    public var knownRemaining: Int? {
        guard started, !isGzip, let fileSize else { return nil }
        return max(fileSize - rawOffset + (inEnd - inPos), 0)
    }

    /// True when bytes are buffered (or the end is reached), so a read would not wait for input.
    public var hasBufferedInput: Bool { done || inEnd > inPos }

    /// Reads more raw bytes into the input buffer (compacting it); returns false at the end.
    private func refill() throws -> Bool {
        if rawEOF { return false }
        if inPos > 0 {
            if inEnd > inPos { memmove(inBuf, inBuf + inPos, inEnd - inPos) }
            inEnd -= inPos; inPos = 0
        }
        while true {
            let n = Glibc.read(fd, inBuf + inEnd, ByteSource.inSize - inEnd)
            if n > 0 { inEnd += n; rawOffset += n; return true }
            if n == 0 { rawEOF = true; return false }
            if errno == EINTR { continue }
            throw RNNError(path: name, "read error at byte \(rawOffset): \(String(cString: strerror(errno)))")
        }
    }

    private func start() throws {
        started = true
        while inEnd - inPos < 2, try refill() {}
        if inEnd - inPos >= 2 && inBuf.load(fromByteOffset: inPos, as: UInt8.self) == 0x1F
            && inBuf.load(fromByteOffset: inPos + 1, as: UInt8.self) == 0x8B {
            isGzip = true
            let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            z.initialize(to: z_stream())
            // 15 + 16: gzip wrapper only (header checked, trailer CRC-32 and length verified)
            guard inflateInit2_(z, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                z.deallocate()
                throw RNNError(path: name, "cannot start gzip decompression (out of memory)")
            }
            zs = z
            memberStart = 0
        }
    }

    /// The raw offset of the next unconsumed input byte.
    private var consumedOffset: Int { rawOffset - (inEnd - inPos) }

    /// Reads up to `count` bytes into `buffer`, returning as soon as some are available (at least
    /// one, unless at the end); returns 0 only at the clean end of the stream.
    public func readSome(into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        if count == 0 || done { return 0 }
        if !started { try start() }
        if !isGzip {
            if inEnd > inPos {
                let n = min(count, inEnd - inPos)
                buffer.copyMemory(from: inBuf + inPos, byteCount: n)
                inPos += n; offset += n
                return n
            }
            if rawEOF { done = true; return 0 }
            // Large reads go straight to the caller's buffer.
            while true {
                let n = Glibc.read(fd, buffer, count)
                if n > 0 { rawOffset += n; offset += n; return n }
                if n == 0 { rawEOF = true; done = true; return 0 }
                if errno == EINTR { continue }
                throw RNNError(path: name, "read error at byte \(rawOffset): \(String(cString: strerror(errno)))")
            }
        }
        let z = zs!
        while true {
            if betweenMembers {
                // After a member: the end, another member, or trailing garbage (an error).
                while inEnd - inPos < 2, try refill() {}
                let left = inEnd - inPos
                if left == 0 { done = true; return 0 }
                let b0 = inBuf.load(fromByteOffset: inPos, as: UInt8.self)
                let b1 = left >= 2 ? inBuf.load(fromByteOffset: inPos + 1, as: UInt8.self) : 0
                guard left >= 2, b0 == 0x1F, b1 == 0x8B else {
                    throw RNNError(path: name, "trailing data after the gzip stream at compressed byte \(consumedOffset) (after \(offset) decompressed bytes): the file is damaged or two files were joined; nothing after that point was read")
                }
                inflateReset(z)
                memberStart = consumedOffset
                betweenMembers = false
            }
            if inEnd == inPos {
                if !(try refill()) {
                    throw RNNError(path: name, "truncated gzip stream: the data ends inside the member starting at compressed byte \(memberStart) (after \(offset) decompressed bytes, before its CRC and length trailer); the file is incomplete, download or copy it again")
                }
            }
            z.pointee.next_in = (inBuf + inPos).assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_in = UInt32(inEnd - inPos)
            let want = min(count, 1 << 30)
            z.pointee.next_out = buffer.assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_out = UInt32(want)
            let rc = inflate(z, Z_NO_FLUSH)
            inPos = inEnd - Int(z.pointee.avail_in)
            let produced = want - Int(z.pointee.avail_out)
            offset += produced
            if rc == Z_STREAM_END {
                betweenMembers = true
            } else if rc != Z_OK && rc != Z_BUF_ERROR {
                let msg = z.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw RNNError(path: name, "corrupt gzip data (\(msg)) in the member starting at compressed byte \(memberStart), near compressed byte \(consumedOffset) (after \(offset) decompressed bytes); the file is damaged, download or copy it again")
            }
            if produced > 0 { return produced }
        }
    }

    /// Reads up to `count` bytes into `buffer`, fewer only at the end; returns 0 only at the clean
    /// end of the stream.
    public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        var total = 0
        while total < count {
            let n = try readSome(into: buffer + total, count: count - total)
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Reads the whole remaining stream; more than `limit` bytes is an error.
    public func readAll(limit: Int = Int.max) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: $0.count) }
            if n == 0 { break }
            if out.count + n > limit {
                throw RNNError(path: name, "input larger than the limit of \(limit) bytes")
            }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}

/// Splits a file or stream (plain or gzip, through ``ByteSource``) into lines without copying
/// each line: the one line reader of the suite.
///
/// `next()` returns a view of the next line (without its `\n`, and without a `\r` before it
/// unless `keepCR`); the view is valid until the following call. Lines may have any length up to
/// ``InputLimits/maxLineBytes``. How bytes arrive is the ``Feed``.
public final class LineReader {
    /// How the reader gets its bytes.
    public enum Feed: Sendable {
        /// Blocking reads of 1 MiB: batch tools.
        case whole
        /// A pipe or terminal is read with plain read(2) calls that return whatever has arrived,
        /// and ``LineReader/wouldBlock`` tells (with a zero-timeout poll) whether the next line can
        /// be had without waiting: a consumer batches while input is plentiful and flushes as soon
        /// as reading would block (rnn-classify: a line out soon after a line in). Regular files
        /// are read as with `.whole`.
        case streaming
        /// A second thread reads (and decompresses) ahead in 4 MiB chunks, overlapping zlib with
        /// the parsing of the previous lines (GloVe files).
        case readAhead
    }

    /// The underlying stream.
    public let source: ByteSource
    private let lines: LineSplitter
    private let feed: Feed
    private let isFile: Bool
    private let ahead: ReadAhead?

    /// Opens `path` (`nil` or `"-"`: stdin).
    public convenience init(path: String?, feed: Feed = .whole, keepCR: Bool = false) throws {
        try self.init(source: ByteSource(path: path), feed: feed, keepCR: keepCR)
    }

    /// Reads lines from an open source. Throws only when a read-ahead thread cannot start.
    public init(source: ByteSource, feed: Feed = .whole, keepCR: Bool = false) throws {
        self.source = source
        var st = stat()
        isFile = fstat(source.fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        self.feed = feed == .streaming && isFile ? .whole : feed
        lines = LineSplitter(capacity: self.feed == .streaming ? 1 << 16 : 1 << 20, keepCR: keepCR)
        ahead = feed == .readAhead ? try ReadAhead(source: source) : nil
    }

    deinit { ahead?.close() }

    /// The name of the input for messages.
    public var name: String { source.name }

    /// 1-based number of the line last returned.
    public var lineNumber: Int { lines.lineNumber }

    /// Whether the line last returned ended with a newline (false only for a last line without one).
    public var lastLineHadNewline: Bool { lines.lastHadNewline }

    /// True when the next call to ``next()`` would wait for data that has not arrived yet: only
    /// with the `.streaming` feed on a pipe or terminal, when no complete line (nor the end) is
    /// buffered and poll says nothing has arrived.
    public var wouldBlock: Bool {
        if feed != .streaming || lines.hasLine || source.hasBufferedInput { return false }
        var p = pollfd(fd: source.fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0
    }

    /// Stops a read-ahead thread early (a consumer that gives up before the end); also done when
    /// the reader is released.
    public func close() { ahead?.close() }

    /// The next line, or nil at the end of input.
    public func next() throws -> UnsafeRawBufferPointer? {
        do {
            switch feed {
            case .whole: return try lines.next { [source] in try source.read(into: $0, count: $1) }
            case .streaming: return try lines.next { [source] in try source.readSome(into: $0, count: $1) }
            case .readAhead:
                guard let ahead else { return nil }
                return try lines.next { try ahead.read(into: $0, count: $1) }
            }
        } catch let e as LineTooLong { throw e.error(name) }
    }
}

/// A line longer than ``InputLimits/maxLineBytes``; readers turn it into an ``RNNError`` naming
/// the input.
public struct LineTooLong: Error, Sendable {
    /// 1-based number of the long line.
    public var line: Int
    public var limit: Int
    public init(line: Int, limit: Int) { self.line = line; self.limit = limit }
    /// The message for input `name`.
    public func error(_ name: String) -> RNNError {
        RNNError(path: name, line: line, "line longer than \(limit >> 20) MiB (the limit for one record); is this a text file? Split the input into lines")
    }
}

/// The line splitting behind ``LineReader``: a growable buffer that hands out views of complete
/// lines (no `\n`; no `\r` before it unless `keepCR`) and asks `fill` for more bytes only when it
/// holds no complete line.
final class LineSplitter {
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0
    /// Whether the line last returned ended with `\n` (false for a last line without one).
    private(set) var lastHadNewline = true
    private let keepCR: Bool
    private var buf: UnsafeMutableRawPointer
    private var cap: Int
    private var start = 0
    private var end = 0
    /// `fill` returned 0: everything buffered is the rest of the input.
    private(set) var eof = false

    init(capacity: Int, keepCR: Bool = false) {
        cap = capacity
        self.keepCR = keepCR
        buf = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 64)
    }

    deinit { buf.deallocate() }

    /// True when ``next(_:)`` returns without calling `fill` (a complete line, or the end).
    var hasLine: Bool { eof || (end > start && memchr(buf + start, 0x0A, end - start) != nil) }

    /// The next line, or nil at the end of input. `fill(p, n)` writes up to n bytes at p and
    /// returns how many (0 only at the end of input).
    @inline(__always)
    func next(_ fill: (UnsafeMutableRawPointer, Int) throws -> Int) throws -> UnsafeRawBufferPointer? {
        var scanFrom = start
        while true {
            if scanFrom < end, let nl = memchr(buf + scanFrom, 0x0A, end - scanFrom) {
                let pos = buf.distance(to: nl)
                lastHadNewline = true
                return take(upTo: pos, next: pos + 1)
            }
            scanFrom = end
            if eof {
                if start == end { return nil }
                lastHadNewline = false
                return take(upTo: end, next: end)
            }
            // Compact, grow if one line fills the buffer, refill.
            if start > 0 {
                if end > start { memmove(buf, buf + start, end - start) }
                end -= start; scanFrom -= start; start = 0
            }
            if end == cap {
                if cap >= InputLimits.maxLineBytes {
                    throw LineTooLong(line: lineNumber + 1, limit: InputLimits.maxLineBytes)
                }
                let ncap = min(cap * 2, InputLimits.maxLineBytes)
                let nb = UnsafeMutableRawPointer.allocate(byteCount: ncap, alignment: 64)
                nb.copyMemory(from: buf, byteCount: end)
                buf.deallocate()
                buf = nb; cap = ncap
            }
            let n = try fill(buf + end, cap - end)
            if n == 0 { eof = true } else { end += n }
        }
    }

    private func take(upTo lineEnd: Int, next: Int) -> UnsafeRawBufferPointer {
        var e = lineEnd
        if !keepCR && e > start && buf.load(fromByteOffset: e - 1, as: UInt8.self) == 0x0D { e -= 1 }
        let line = UnsafeRawBufferPointer(start: buf + start, count: e - start)
        start = next
        lineNumber += 1
        return line
    }
}
