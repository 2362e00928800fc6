// Streaming drivers for rnn-clean and rnn-corpus: records in, records out, through an
// OutputSink that is either standard output or a file that appears only when complete.
import RNNCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a tool's data goes: standard output (a closed pipe throws ``BrokenPipe``), or a file
/// written atomically (it appears only after ``finish()``; an error leaves no partial file).
///
/// When standard output is a terminal, every write is flushed at once (interactive use).
public final class OutputSink {
    private let stdout: BufferedOutput?
    private let file: AtomicFile?
    private let flushEachWrite: Bool

    /// `path` nil or "-": standard output.
    public init(path: String?) throws {
        if let path, path != "-" {
            file = try AtomicFile(path: path); stdout = nil; flushEachWrite = false
        } else {
            stdout = BufferedOutput(capacity: 1 << 17); file = nil; flushEachWrite = isatty(1) != 0
        }
    }

    /// Appends bytes.
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let stdout {
            try stdout.write(bytes)
            if flushEachWrite { try stdout.flush() }
        } else {
            try file!.write(bytes)
        }
    }

    /// Appends bytes.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Writes what standard output has buffered (files are written when finished).
    public func flush() throws { try stdout?.flush() }

    /// Flushes standard output or commits the file.
    public func finish() throws {
        if let stdout { try stdout.flush() } else { try file!.commit() }
    }
}

/// Counts of one rnn-clean run.
public struct CleanStats: Sendable {
    public var recordsIn = 0
    public var recordsOut = 0
    /// Records whose cleaned text is empty (written empty, or dropped with `dropEmpty`).
    public var empty = 0
    public var bytesIn = 0
    /// Invalid UTF-8 sequences replaced by U+FFFD, and where the first one was.
    public var invalidSequences = 0
    public var firstInvalid: String?
    public init() {}
}

/// Cleans a record stream: plain text lines out for plain text in, JSON Lines out (only `text`
/// changed, every other member byte for byte) for JSON Lines in, one output record per input
/// record: a record whose cleaned text is empty becomes an empty line (plain text) or keeps its
/// members with `"text":""` (JSON Lines), so that outputs stay aligned with inputs. With
/// `dropEmpty` such records are dropped instead, as the reference's dataset code does.
public struct CleanStream {
    public var reader: RecordReader
    public var cleaner: TextCleaner
    /// Fail on the first invalid UTF-8 sequence instead of replacing it.
    public var strict: Bool
    /// Drop records whose cleaned text is empty (the reference's output) instead of keeping them.
    public var dropEmpty: Bool

    public init(reader: RecordReader, cleaner: TextCleaner, strict: Bool = false, dropEmpty: Bool = false) {
        self.reader = reader
        self.cleaner = cleaner
        self.strict = strict
        self.dropEmpty = dropEmpty
    }

    /// Runs the stream into `sink` (not finished: the caller calls `sink.finish()`).
    public func run(into sink: OutputSink) throws -> CleanStats {
        var stats = CleanStats()
        var text: [UInt8] = []
        var line: [UInt8] = []
        text.reserveCapacity(1 << 16)
        line.reserveCapacity(1 << 16)
        try reader.forEach(idle: { try sink.flush() }) { rec in
            stats.recordsIn += 1
            stats.bytesIn += rec.line.count + 1
            let cleaned: UnsafeRawBufferPointer?
            if rec.isJSON {
                text.removeAll(keepingCapacity: true)
                rec.appendText(to: &text)
                cleaned = text.withUnsafeBytes { cleaner.clean($0) }
            } else {
                cleaned = cleaner.clean(rec.line)
            }
            if cleaner.lastInvalidCount > 0 {
                if strict {
                    throw RNNError(path: rec.source, line: rec.lineNumber, "invalid UTF-8 (\(cleaner.lastInvalidCount) bad sequence(s) in this record); fix the encoding or drop --strict to replace them by U+FFFD")
                }
                stats.invalidSequences += cleaner.lastInvalidCount
                if stats.firstInvalid == nil { stats.firstInvalid = "\(rec.source):\(rec.lineNumber)" }
            }
            if cleaned == nil {
                stats.empty += 1
                if dropEmpty { return }
            }
            stats.recordsOut += 1
            let text = cleaned ?? UnsafeRawBufferPointer(start: nil, count: 0)
            line.removeAll(keepingCapacity: true)
            if rec.isJSON {
                rec.writeJSON(newText: text, into: &line)
            } else {
                line.append(contentsOf: text)
                line.append(0x0A)
            }
            try sink.write(line)
        }
        return stats
    }
}
