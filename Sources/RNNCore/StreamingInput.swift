// Line input for interactive filters (rnn-classify): unlike ``LineReader``, whose reads block
// until a 1 MB buffer is full, a pipe or terminal is read with plain read(2) calls that return
// whatever has arrived, and ``StreamingLineReader/wouldBlock`` tells (with a zero-timeout poll)
// whether the next line can be had without waiting. A consumer batches while input is
// plentiful and flushes as soon as reading would block: a line out soon after a line in.
//
// Files and streams, plain or gzip, go through the one ``ByteSource``.
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
    public var name: String { source.name }
    /// 1-based number of the line last returned.
    public var lineNumber: Int { lines.lineNumber }

    /// The input (plain or gzip, like every other reader).
    private let source: ByteSource
    /// Regular files: blocking reads of 1 MB are fine (the data is all there).
    private let isFile: Bool
    /// Lines; files are read 1 MB at a time (like ``LineReader``), streams as data arrives.
    private let lines: LineSplitter

    /// Opens `path` (`"-"`: standard input).
    public init(path: String) throws {
        source = try ByteSource(path: path)
        var st = stat()
        isFile = fstat(source.fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        lines = LineSplitter(capacity: isFile ? 1 << 20 : 1 << 16)
    }

    /// True when the next call to ``next()`` would wait for data that has not arrived yet (never
    /// for regular files, nor when a complete line or the end of input is already buffered).
    public var wouldBlock: Bool {
        if isFile || lines.hasLine || source.hasBufferedInput { return false }
        var p = pollfd(fd: source.fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&p, 1, 0)
        return r == 0
    }

    /// The next line, or nil at the end of input.
    public func next() throws -> UnsafeRawBufferPointer? {
        do {
            if isFile { return try lines.next { [source] in try source.read(into: $0, count: $1) } }
            return try lines.next { [source] in try source.readSome(into: $0, count: $1) }
        } catch let e as LineTooLong { throw e.error(name) }
    }
}
