// Tokenization of cleaned text: a whitespace split exactly like Python's `str.split()` (no
// argument), and the character split used by character vocabularies (one Unicode scalar each).
// Both work on UTF-8 bytes and hand out views into the input, without copying.

/// Splits UTF-8 text into tokens.
public enum Tokenizer {
    /// Calls `body` with every whitespace-separated token of `text`, in order.
    ///
    /// Separators are the characters for which Python's `str.isspace()` is true: ASCII
    /// `\t \n \v \f \r`, `\x1c`-`\x1f`, space, and U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
    /// U+2029, U+202F, U+205F, U+3000. Runs of separators and leading/trailing ones yield no empty
    /// token. Invalid UTF-8 bytes are token bytes.
    @inlinable
    public static func forEachWord(in text: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let n = text.count
        guard n > 0, let base = text.baseAddress else { return }
        let p = base.assumingMemoryBound(to: UInt8.self)
        var i = 0
        var start = -1
        while i < n {
            let b = p[i]
            var sepLen = 0
            if b < 0x80 {
                // 0x09-0x0D, 0x1C-0x1F, 0x20
                if b == 0x20 || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F) { sepLen = 1 }
            } else {
                sepLen = multiByteSpaceLength(p, i, n)
            }
            if sepLen > 0 {
                if start >= 0 {
                    try body(UnsafeRawBufferPointer(start: base + start, count: i - start))
                    start = -1
                }
                i += sepLen
            } else {
                if start < 0 { start = i }
                i += 1
            }
        }
        if start >= 0 { try body(UnsafeRawBufferPointer(start: base + start, count: n - start)) }
    }

    /// Length in bytes of the non-ASCII whitespace character starting at `p[i]`, or 0.
    @inlinable
    static func multiByteSpaceLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        let b = p[i]
        if b == 0xC2, i + 1 < n {
            let c = p[i + 1]
            return (c == 0x85 || c == 0xA0) ? 2 : 0
        }
        guard i + 2 < n else { return 0 }
        let c = p[i + 1], d = p[i + 2]
        switch b {
        case 0xE1: return (c == 0x9A && d == 0x80) ? 3 : 0  // U+1680
        case 0xE2:
            if c == 0x80 { return (d <= 0x8A && d >= 0x80) || d == 0xA8 || d == 0xA9 || d == 0xAF ? 3 : 0 }  // U+2000-200A, 2028, 2029, 202F
            return (c == 0x81 && d == 0x9F) ? 3 : 0  // U+205F
        case 0xE3: return (c == 0x80 && d == 0x80) ? 3 : 0  // U+3000
        default: return 0
        }
    }

    /// The whitespace tokens of `text` as strings (convenience for tests and small inputs).
    public static func words(_ text: String) -> [String] {
        var out: [String] = []
        var s = text
        s.withUTF8 { forEachWord(in: UnsafeRawBufferPointer($0)) { out.append(String(decoding: $0, as: UTF8.self)) } }
        return out
    }

    /// Calls `body` with the UTF-8 bytes of every Unicode scalar of `text`, in order. An invalid
    /// UTF-8 sequence is reported as U+FFFD (`EF BF BD`), one per invalid byte.
    @inlinable
    public static func forEachScalar(in text: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let n = text.count
        guard n > 0, let base = text.baseAddress else { return }
        let p = base.assumingMemoryBound(to: UInt8.self)
        var i = 0
        while i < n {
            let len = scalarLength(p, i, n)
            if len > 0 {
                try body(UnsafeRawBufferPointer(start: base + i, count: len))
                i += len
            } else {
                try withUnsafeBytes(of: (UInt8(0xEF), UInt8(0xBF), UInt8(0xBD))) { try body($0) }
                i += 1
            }
        }
    }

    /// Length of the valid UTF-8 sequence at `p[i]`, or 0 when it is invalid.
    @inlinable
    static func scalarLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        let b = p[i]
        if b < 0x80 { return 1 }
        @inline(__always) func cont(_ k: Int) -> Bool { i + k < n && p[i + k] & 0xC0 == 0x80 }
        if b >= 0xC2 && b <= 0xDF { return cont(1) ? 2 : 0 }
        if b >= 0xE0 && b <= 0xEF {
            guard cont(1) && cont(2) else { return 0 }
            let c = p[i + 1]
            if b == 0xE0 && c < 0xA0 { return 0 }  // overlong
            if b == 0xED && c >= 0xA0 { return 0 }  // surrogates
            return 3
        }
        if b >= 0xF0 && b <= 0xF4 {
            guard cont(1) && cont(2) && cont(3) else { return 0 }
            let c = p[i + 1]
            if b == 0xF0 && c < 0x90 { return 0 }
            if b == 0xF4 && c >= 0x90 { return 0 }
            return 4
        }
        return 0
    }
}
