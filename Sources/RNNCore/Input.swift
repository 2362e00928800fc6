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
                if e == ENOENT { throw RNNError(path: path, "no such file") }
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
    /// 1-based number of the line last returned.
    public private(set) var lineNumber = 0
    private var buf: UnsafeMutableRawPointer
    private var cap: Int
    private var start = 0
    private var end = 0
    private var eof = false

    /// Opens `path` (`nil` or `"-"`: stdin).
    public convenience init(path: String?) throws { try self.init(source: ByteSource(path: path)) }

    /// Reads lines from an open source.
    public init(source: ByteSource) {
        self.source = source
        cap = 1 << 20
        buf = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 64)
    }

    deinit { buf.deallocate() }

    /// The name of the input for messages.
    public var name: String { source.name }

    /// The next line, or nil at the end of input.
    public func next() throws -> UnsafeRawBufferPointer? {
        var scanFrom = start
        while true {
            if scanFrom < end, let nl = memchr(buf + scanFrom, 0x0A, end - scanFrom) {
                let pos = buf.distance(to: nl)
                var lineEnd = pos
                if lineEnd > start && buf.load(fromByteOffset: lineEnd - 1, as: UInt8.self) == 0x0D { lineEnd -= 1 }
                let line = UnsafeRawBufferPointer(start: buf + start, count: lineEnd - start)
                start = pos + 1
                lineNumber += 1
                return line
            }
            scanFrom = end
            if eof {
                if start < end {
                    var lineEnd = end
                    if buf.load(fromByteOffset: lineEnd - 1, as: UInt8.self) == 0x0D { lineEnd -= 1 }
                    let line = UnsafeRawBufferPointer(start: buf + start, count: lineEnd - start)
                    start = end
                    lineNumber += 1
                    return line
                }
                return nil
            }
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
            let n = try source.read(into: buf + end, count: cap - end)
            if n == 0 { eof = true } else { end += n }
        }
    }
}
