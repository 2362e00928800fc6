// Pretrained word vectors in the GloVe text format (`word v1 v2 ... vE`, one line per word,
// plain or gzip) or the word2vec/fastText `.vec` text format (same lines after a first line
// `count dim`). Only vocabulary words are parsed: every other line costs a newline search, a
// space search, a hash lookup and a field count.
//
// Dimensions: V vocabulary size, E vector dimension (read from the file).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNCore

/// Result of reading a vectors file for a vocabulary.
public struct PretrainedVectors: Sendable {
    /// Row-major [V, E] matrix: the file's vector for tokens found, zeros for the others and for
    /// the specials.
    public var matrix: [Float]
    /// Vector dimension E.
    public var dim: Int
    /// Vocabulary tokens (specials excluded) that got a vector.
    public var found: Int
    /// Word lines in the file.
    public var fileWords: Int

    /// Reads `path` and picks the vectors of `vocab`'s tokens. The first occurrence of a word
    /// wins. Errors name the file and the line: a line whose number of values differs from the
    /// first line's, a value that is not a number, an empty file.
    public static func load(path: String, for vocab: Vocabulary) throws -> PretrainedVectors {
        let reader = try LineReader(path: path, feed: .readAhead)
        defer { reader.close() }
        var dim = 0
        var matrix: [Float] = []
        var filled = [Bool](repeating: false, count: vocab.count)
        for i in 0..<Vocabulary.specials.count where i < vocab.count { filled[i] = true }  // specials stay zero
        var found = 0
        var words = 0
        while let raw = try reader.next() {
            var n = raw.count
            while n > 0 && (raw[n - 1] == 0x20 || raw[n - 1] == 0x09) { n -= 1 }  // fastText: trailing space
            if n == 0 { continue }
            let line = UnsafeRawBufferPointer(rebasing: raw[0..<n])
            let base = line.baseAddress!
            if dim == 0 {
                let fields = countSpaces(line) + 1
                if fields == 2, parseInt(line, 0, line.firstIndex(of: 0x20)!) != nil,
                   let b = parseInt(line, line.firstIndex(of: 0x20)! + 1, n), b > 0 {
                    dim = b  // word2vec / fastText header "count dim"
                    try checkDim(dim, vocab: vocab, reader.name, reader.lineNumber)
                    matrix = [Float](repeating: 0, count: vocab.count * dim)
                    continue
                }
                guard fields >= 2 else {
                    throw RNNError(path: reader.name, line: reader.lineNumber, "not a vectors file: expected 'word v1 v2 ...' (GloVe text) or a 'count dim' header")
                }
                dim = fields - 1
                try checkDim(dim, vocab: vocab, reader.name, reader.lineNumber)
                matrix = [Float](repeating: 0, count: vocab.count * dim)
            }
            words += 1
            guard let sp = memchr(base, 0x20, n) else {
                throw RNNError(path: reader.name, line: reader.lineNumber, "expected a word and \(dim) values, found no values")
            }
            let wlen = base.distance(to: UnsafeRawPointer(sp))
            let values = countSpaces(UnsafeRawBufferPointer(rebasing: line[wlen..<n]))
            if values != dim {
                throw RNNError(path: reader.name, line: reader.lineNumber, "expected \(dim) values after the word (as on the first line), found \(values); the file is damaged or not GloVe text")
            }
            guard let id = vocab.id(of: UnsafeRawBufferPointer(start: base, count: wlen)), !filled[Int(id)] else { continue }
            filled[Int(id)] = true
            found += 1
            var pos = wlen + 1
            let row = Int(id) * dim
            for j in 0..<dim {
                var end = pos
                while end < n && line[end] != 0x20 { end += 1 }
                let parsed = FloatParser.parse(UnsafeRawBufferPointer(rebasing: line[pos..<end]))
                guard let v = parsed, v.isFinite else {
                    let bad = String(decoding: line[pos..<end].prefix(40), as: UTF8.self)
                    throw RNNError(path: reader.name, line: reader.lineNumber, parsed == nil ? "value \(j + 1) '\(bad)' is not a number"
                        : "value \(j + 1) '\(bad)' is not a finite number (NaN, infinity and values beyond Float32 are refused); fix or drop that line")
                }
                matrix[row + j] = v
                pos = end + 1
            }
        }
        if dim == 0 || words == 0 { throw RNNError(path: reader.name, "no vectors found (empty file?)") }
        return PretrainedVectors(matrix: matrix, dim: dim, found: found, fileWords: words)
    }

    /// Largest vector dimension read (README, "Hostile input, limits and outputs"); the embedding size limit too.
    public static let maxDim = 16_384

    static func checkDim(_ dim: Int, vocab: Vocabulary, _ name: String, _ line: Int) throws {
        guard dim <= maxDim else {
            throw RNNError(path: name, line: line, "vectors of dimension \(dim) exceed the limit of \(maxDim); is this a vectors file (GloVe text: 'word v1 v2 ...')?")
        }
    }

    /// Number of 0x20 bytes (8 bytes at a time, exact SWAR zero-byte count).
    static func countSpaces(_ p: UnsafeRawBufferPointer) -> Int {
        let n = p.count
        guard let b = p.baseAddress else { return 0 }
        var total = 0
        var i = 0
        let lo7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        while i + 8 <= n {
            let x = b.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ 0x2020_2020_2020_2020
            let t = ~(((x & lo7) &+ lo7) | x | lo7)
            total += t.nonzeroBitCount
            i += 8
        }
        while i < n { if b.load(fromByteOffset: i, as: UInt8.self) == 0x20 { total += 1 }; i += 1 }
        return total
    }

    static func parseInt(_ p: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Int? {
        guard a < b, b - a <= 12 else { return nil }
        var v = 0
        for i in a..<b {
            let d = Int(p[i]) - 48
            guard d >= 0 && d <= 9 else { return nil }
            v = v * 10 + d
        }
        return v
    }
}

/// Parses decimal floating-point text to Float, correctly rounded (equal to `Float(String)`).
///
/// Fast path (Clinger): up to 19 significant digits and a decimal exponent within +-22 give an
/// exactly rounded Double from one multiplication or division by an exact power of ten; that
/// Double rounds to the correct Float unless it lies exactly halfway between two Floats, in
/// which case (and for every other form) the standard library parser decides.
public enum FloatParser {
    @usableFromInline static let powers: [Double] = (0...22).map { e in var x = 1.0; for _ in 0..<e { x *= 10 }; return x }

    /// The value of `text`, or nil when it is not a number.
    @inlinable
    public static func parse(_ text: UnsafeRawBufferPointer) -> Float? {
        let n = text.count
        guard n > 0 else { return nil }
        var i = 0
        var neg = false
        if text[0] == UInt8(ascii: "-") { neg = true; i = 1 } else if text[0] == UInt8(ascii: "+") { i = 1 }
        var mant: UInt64 = 0
        var digits = 0
        var exp10 = 0
        var sawDigit = false
        while i < n, text[i] &- 48 < 10 {
            sawDigit = true
            if mant != 0 || text[i] != 48 { digits += 1 }
            if digits <= 19 { mant = mant &* 10 &+ UInt64(text[i] &- 48) } else { exp10 += 1 }
            i += 1
        }
        if i < n && text[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, text[i] &- 48 < 10 {
                sawDigit = true
                if mant != 0 || text[i] != 48 { digits += 1 }
                if digits <= 19 { mant = mant &* 10 &+ UInt64(text[i] &- 48); exp10 -= 1 }
                i += 1
            }
        }
        guard sawDigit else { return slow(text) }
        if i < n && (text[i] == UInt8(ascii: "e") || text[i] == UInt8(ascii: "E")) {
            i += 1
            var eneg = false
            if i < n && (text[i] == UInt8(ascii: "-") || text[i] == UInt8(ascii: "+")) { eneg = text[i] == UInt8(ascii: "-"); i += 1 }
            var e = 0
            var any = false
            while i < n, text[i] &- 48 < 10 { any = true; if e < 100_000 { e = e * 10 + Int(text[i] &- 48) }; i += 1 }
            guard any else { return nil }
            exp10 += eneg ? -e : e
        }
        guard i == n else { return slow(text) }
        if digits > 19 || mant >= (1 << 53) || exp10 < -22 || exp10 > 22 { return slow(text) }
        var d = Double(mant)
        if exp10 < 0 { d /= powers[-exp10] } else if exp10 > 0 { d *= powers[exp10] }
        // A Double exactly halfway between two Floats: its low 29 mantissa bits are 1 followed by zeros.
        if d.bitPattern & 0x1FFF_FFFF == 0x1000_0000 { return slow(text) }
        let f = Float(d)
        return neg ? -f : f
    }

    @usableFromInline static func slow(_ text: UnsafeRawBufferPointer) -> Float? {
        Float(String(decoding: text, as: UTF8.self))
    }
}
