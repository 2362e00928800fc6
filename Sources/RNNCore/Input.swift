// Reading input: files or stdin, plain or gzip (zlib detects gzip by its magic bytes, so a
// `.gz` file and a plain file go through the same code).
import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sequential byte stream over a file or standard input, gunzipped on the fly when it is gzip.
///
/// Errors name the input and the byte offset in the decompressed stream; a truncated or corrupt
/// gzip stream is an error, never silently short data.
public final class ByteSource {
    /// How the input is named in messages: the path, or `<stdin>`.
    public let name: String
    private var gz: gzFile?
    /// Decompressed bytes delivered so far.
    public private(set) var offset: Int = 0

    /// Opens `path`; `nil` or `"-"` means standard input.
    public init(path: String?) throws {
        if let path, path != "-" {
            name = path
            var st = stat()
            if stat(path, &st) != 0 {
                let e = errno
                if e == ENOENT { throw RNNError(path: path, "no such file", systemError: e) }
                throw RNNError(path: path, "cannot open: \(String(cString: strerror(e)))")
            }
            if (st.st_mode & S_IFMT) == S_IFDIR { throw RNNError(path: path, "is a directory, expected a file") }
            let fd = open(path, O_RDONLY)
            if fd < 0 { throw RNNError(path: path, "cannot open: \(String(cString: strerror(errno)))") }
            gz = gzdopen(fd, "rb")
        } else {
            name = "<stdin>"
            gz = gzdopen(dup(0), "rb")
        }
        guard gz != nil else { throw RNNError(path: name, "cannot open (out of memory)") }
        gzbuffer(gz, 1 << 17)
    }

    deinit { if let gz { gzclose_r(gz) } }

    /// Reads up to `count` bytes into `buffer`; returns 0 only at the clean end of the stream.
    public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        guard let gz else { return 0 }
        var total = 0
        while total < count {
            let want = UInt32(min(count - total, 1 << 30))
            let n = gzread(gz, buffer + total, want)
            if n < 0 { throw streamError() }
            if n == 0 {
                var errnum: Int32 = 0
                _ = gzerror(gz, &errnum)
                if errnum == Z_BUF_ERROR {
                    throw RNNError(path: name, "truncated gzip stream (unexpected end of data after \(offset + total) bytes); the file is incomplete, download or copy it again")
                }
                if errnum != Z_OK { throw streamError() }
                break
            }
            total += Int(n)
        }
        offset += total
        return total
    }

    private func streamError() -> RNNError {
        var errnum: Int32 = 0
        let msg = gzerror(gz, &errnum).map { String(cString: $0) } ?? "unknown error"
        if errnum == Z_ERRNO {
            return RNNError(path: name, "read error at byte \(offset): \(String(cString: strerror(errno)))")
        }
        if errnum == Z_BUF_ERROR {
            return RNNError(path: name, "truncated gzip stream (unexpected end of data after \(offset) bytes); the file is incomplete, download or copy it again")
        }
        return RNNError(path: name, "corrupt gzip data near byte \(offset) (\(msg)); the file is damaged, download or copy it again")
    }

    /// Reads the whole remaining stream.
    public func readAll() throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: $0.count) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}

/// Splits a ``ByteSource`` into lines without copying each line.
///
/// `next()` returns a view of the next line (without its `\n`, and without a `\r` before it);
/// the view is valid until the following call. Lines may have any length.
public final class LineReader {
    /// The underlying stream.
    public let source: ByteSource
    private let lines = LineSplitter(capacity: 1 << 20)

    /// Opens `path` (`nil` or `"-"`: stdin).
    public convenience init(path: String?) throws { try self.init(source: ByteSource(path: path)) }

    /// Reads lines from an open source.
    public init(source: ByteSource) {
        self.source = source
    }

    /// The name of the input for messages.
    public var name: String { source.name }

    /// 1-based number of the line last returned.
    public var lineNumber: Int { lines.lineNumber }

    /// The next line, or nil at the end of input.
    public func next() throws -> UnsafeRawBufferPointer? {
        try lines.next { [source] in try source.read(into: $0, count: $1) }
    }
}

/// The line splitting behind ``LineReader`` and ``StreamingLineReader``: a growable buffer that
/// hands out views of complete lines (no `\n`, no `\r` before it) and asks `fill` for more bytes
/// only when it holds no complete line.
final class LineSplitter {
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0
    private var buf: UnsafeMutableRawPointer
    private var cap: Int
    private var start = 0
    private var end = 0
    /// `fill` returned 0: everything buffered is the rest of the input.
    private(set) var eof = false

    init(capacity: Int) {
        cap = capacity
        buf = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 64)
    }

    deinit { buf.deallocate() }

    /// True when ``next(_:)`` returns without calling `fill` (a complete line, or the end).
    var hasLine: Bool { eof || (end > start && memchr(buf + start, 0x0A, end - start) != nil) }

    /// The next line, or nil at the end of input. `fill(p, n)` writes up to n bytes at p and
    /// returns how many (0 only at the end of input).
    @inline(__always)
    func next(_ fill: (UnsafeMutableRawPointer, Int) throws -> Int) rethrows -> UnsafeRawBufferPointer? {
        var scanFrom = start
        while true {
            if scanFrom < end, let nl = memchr(buf + scanFrom, 0x0A, end - scanFrom) {
                let pos = buf.distance(to: nl)
                return take(upTo: pos, next: pos + 1)
            }
            scanFrom = end
            if eof { return start < end ? take(upTo: end, next: end) : nil }
            // Compact, grow if one line fills the buffer, refill.
            if start > 0 {
                if end > start { memmove(buf, buf + start, end - start) }
                end -= start; scanFrom -= start; start = 0
            }
            if end == cap {
                let ncap = cap * 2
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
        if e > start && buf.load(fromByteOffset: e - 1, as: UInt8.self) == 0x0D { e -= 1 }
        let line = UnsafeRawBufferPointer(start: buf + start, count: e - start)
        start = next
        lineNumber += 1
        return line
    }
}
