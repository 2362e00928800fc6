// UTF-8 validation and repair. Invalid bytes become U+FFFD exactly as Python's
// `bytes.decode("utf-8", "replace")` does: one U+FFFD per maximal invalid subpart (a lead byte
// followed by the continuation bytes that were still acceptable), so that our output matches a
// Python reference byte for byte even on broken input.

/// Validation and repair of UTF-8 byte strings.
public enum UTF8Repair {
    /// Length of the valid sequence starting at `i`, or the negative length of the maximal
    /// invalid subpart there (-1 ... -3). `p[i]` must be >= 0x80.
    @inline(__always)
    static func sequenceLength(_ p: UnsafeRawBufferPointer, _ i: Int) -> Int {
        let n = p.count
        let b0 = p[i]
        var need: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return -1
        }
        var k = 1
        while k <= need {
            if i + k >= n { return -k }
            let b = p[i + k]
            if b < lo || b > hi { return -k }
            lo = 0x80; hi = 0xBF
            k += 1
        }
        return need + 1
    }

    /// Index of the first byte that is not part of valid UTF-8, or nil when `p` is valid.
    public static func firstInvalid(_ p: UnsafeRawBufferPointer) -> Int? { scan(p, all: false).first }

    /// The maximal invalid subparts of `p` (each becomes one U+FFFD when repaired or decoded) and
    /// the index of the first, nil when `p` is valid.
    public static func invalid(_ p: UnsafeRawBufferPointer) -> (count: Int, first: Int?) { scan(p, all: true) }

    private static func scan(_ p: UnsafeRawBufferPointer, all: Bool) -> (count: Int, first: Int?) {
        let n = p.count
        guard n > 0, let base = p.baseAddress else { return (0, nil) }
        var count = 0
        var first: Int?
        var i = 0
        while i < n {
            // Skip ASCII eight bytes at a time.
            while i + 8 <= n && (base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080) == 0 { i += 8 }
            if i >= n { break }
            if p[i] < 0x80 { i += 1; continue }
            let len = sequenceLength(p, i)
            if len > 0 { i += len; continue }
            if first == nil { first = i }
            count += 1
            if !all { break }
            i += -len
        }
        return (count, first)
    }

    /// Appends `p` to `out` with every maximal invalid subpart replaced by U+FFFD; returns how
    /// many replacements were made.
    @discardableResult
    public static func repair(_ p: UnsafeRawBufferPointer, into out: inout [UInt8]) -> Int {
        var count = 0
        var i = 0
        var runStart = 0
        let n = p.count
        while i < n {
            if p[i] < 0x80 { i += 1; continue }
            let len = sequenceLength(p, i)
            if len > 0 { i += len; continue }
            if i > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[runStart..<i])) }
            out.append(contentsOf: [0xEF, 0xBF, 0xBD] as [UInt8])
            count += 1
            i += -len
            runStart = i
        }
        if n > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[runStart..<n])) }
        return count
    }
}
