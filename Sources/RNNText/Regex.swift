// A small PCRE2 wrapper: compile once with JIT (UTF + UCP, invalid UTF tolerated), then replace
// every match by one byte with a hand-written pcre2_jit_match loop (faster than
// pcre2_substitute, PLATFORM.md).
import CPCRE2
import RNNCore

/// A compiled PCRE2 pattern (UTF-8, Unicode properties), JIT-compiled when possible.
public final class PCRE2Regex {
    /// The pattern as given.
    public let pattern: String
    private let code: OpaquePointer
    private let matchData: OpaquePointer
    private let jit: Bool

    /// Compiles `pattern`; a syntax error is an ``RNNError`` naming the offset.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        var err: Int32 = 0
        var errOff = 0
        let bytes = Array(pattern.utf8)
        let c = bytes.withUnsafeBufferPointer {
            pcre2_compile_8($0.baseAddress, $0.count, UInt32(PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF), &err, &errOff, nil)
        }
        guard let c else {
            var buf = [UInt8](repeating: 0, count: 256)
            _ = pcre2_get_error_message_8(err, &buf, 256)
            let msg = String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
            throw RNNError("invalid regular expression '\(pattern)' at offset \(errOff): \(msg)")
        }
        code = c
        jit = pcre2_jit_compile_8(c, UInt32(PCRE2_JIT_COMPLETE)) == 0
        matchData = pcre2_match_data_create_from_pattern_8(c, nil)
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_code_free_8(code)
    }

    /// The byte range of the first match at or after `start`, or nil.
    public func firstMatch(in subject: UnsafeRawBufferPointer, from start: Int) -> Range<Int>? {
        let base = subject.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer<UInt8>(bitPattern: 1)!
        let rc = jit ? pcre2_jit_match_8(code, base, subject.count, start, 0, matchData, nil)
                     : pcre2_match_8(code, base, subject.count, start, 0, matchData, nil)
        if rc < 0 { return nil }
        let ov = pcre2_get_ovector_pointer_8(matchData)!
        return Int(ov[0])..<Int(ov[1])
    }

    /// Appends `subject` to `out` with every non-overlapping match replaced by `byte`.
    public func replaceAll(in subject: [UInt8], with byte: UInt8, into out: inout [UInt8]) {
        subject.withUnsafeBytes { p in
            var pos = 0
            var copied = 0
            while pos <= p.count, let m = firstMatch(in: p, from: pos) {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[copied..<m.lowerBound]))
                out.append(byte)
                copied = m.upperBound
                if m.isEmpty {
                    // Empty match: step over one character (keep it) to make progress.
                    if m.upperBound >= p.count { break }
                    var next = m.upperBound + 1
                    while next < p.count && (p[next] & 0xC0) == 0x80 { next += 1 }
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[m.upperBound..<next]))
                    copied = next
                    pos = next
                } else {
                    pos = m.upperBound
                }
            }
            if copied < p.count { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[copied..<p.count])) }
        }
    }

    /// Appends `subject` to `out` with every non-empty match surrounded by `byte` (e.g. a space
    /// on each side, to make a punctuation character its own token).
    public func surroundAll(in subject: [UInt8], with byte: UInt8, into out: inout [UInt8]) {
        subject.withUnsafeBytes { p in
            var pos = 0
            while pos < p.count, let m = firstMatch(in: p, from: pos), !m.isEmpty {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[pos..<m.lowerBound]))
                out.append(byte)
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[m]))
                out.append(byte)
                pos = m.upperBound
            }
            if pos < p.count { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[pos..<p.count])) }
        }
    }
}
