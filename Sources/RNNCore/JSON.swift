// A small, strict JSON reader and writer (RFC 8259), without Foundation: used for JSON Lines
// records (where speed matters and untouched fields must pass through byte for byte) and for the
// headers of binary files.
//
// One rule for every tool: an object with the same key twice (after decoding escapes) is an
// error, in JSON Lines records as in file headers.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parsed JSON value. Objects keep their member order.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// The member named `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first(where: { $0.key == key })?.value }
        return nil
    }

    /// The string, if this is a string.
    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    /// The number, if this is a number.
    public var doubleValue: Double? { if case .number(let d) = self { return d }; return nil }
    /// The number as an exact integer, if it is one.
    public var intValue: Int? {
        if case .number(let d) = self, d.rounded() == d, abs(d) < 9.0e15 { return Int(d) }
        return nil
    }
    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    /// The members, if this is an object.
    public var objectValue: [JSONMember]? { if case .object(let o) = self { return o }; return nil }
}

/// One `"key": value` member of a JSON object.
public struct JSONMember: Equatable, Sendable {
    public var key: String
    public var value: JSONValue
    public init(_ key: String, _ value: JSONValue) { self.key = key; self.value = value }
}

/// A JSON syntax error at a byte offset.
public struct JSONSyntaxError: Error, CustomStringConvertible, Sendable {
    /// 0-based byte offset of the problem.
    public var offset: Int
    /// What was wrong.
    public var reason: String
    public var description: String { "\(reason) at byte \(offset + 1)" }
}

/// Byte-level JSON scanning over a buffer.
public struct JSONScanner {
    @usableFromInline let p: UnsafeRawBufferPointer
    /// Current position.
    public var pos: Int = 0

    /// Scans `bytes` (which must outlive the scanner).
    public init(_ bytes: UnsafeRawBufferPointer) { p = bytes }

    @inline(__always) func byte(_ i: Int) -> UInt8 { p.load(fromByteOffset: i, as: UInt8.self) }

    mutating func skipSpace() {
        while pos < p.count {
            let c = byte(pos)
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { break }
        }
    }

    func fail(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: pos, reason: reason) }

    /// Parses one complete document (trailing whitespace allowed).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var s = JSONScanner(bytes)
        s.skipSpace()
        let v = try s.parseValue(depth: 0)
        s.skipSpace()
        if s.pos != bytes.count { throw s.fail("unexpected data after the JSON value") }
        return v
    }

    /// Parses a document from a byte array.
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0) }
    }

    /// Parses a document from a string.
    public static func parse(_ text: String) throws -> JSONValue { try parse(Array(text.utf8)) }

    mutating func parseValue(depth: Int) throws -> JSONValue {
        if depth > 512 { throw fail("nesting too deep") }
        guard pos < p.count else { throw fail("unexpected end of input") }
        switch byte(pos) {
        case UInt8(ascii: "{"):
            pos += 1
            var members: [JSONMember] = []
            var keys = Set<String>()
            skipSpace()
            if pos < p.count && byte(pos) == UInt8(ascii: "}") { pos += 1; return .object(members) }
            while true {
                skipSpace()
                guard pos < p.count, byte(pos) == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let r = try scanString()
                let key = String(decoding: JSONScanner.decodeString(p, r), as: UTF8.self)
                skipSpace()
                guard pos < p.count, byte(pos) == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                skipSpace()
                let keyPos = pos
                let v = try parseValue(depth: depth + 1)
                if members.count < 16 ? members.contains(where: { $0.key == key }) : false {
                    pos = keyPos
                    throw fail("duplicate key \"\(key)\"")
                }
                members.append(JSONMember(key, v))
                if members.count == 16 {
                    var seen = Set<String>()
                    for m in members where !seen.insert(m.key).inserted { throw fail("duplicate key \"\(m.key)\"") }
                    keys = seen
                } else if members.count > 16 {
                    if !keys.insert(key).inserted { pos = keyPos; throw fail("duplicate key \"\(key)\"") }
                }
                skipSpace()
                guard pos < p.count else { throw fail("unexpected end of input in an object") }
                if byte(pos) == UInt8(ascii: ",") { pos += 1; continue }
                if byte(pos) == UInt8(ascii: "}") { pos += 1; return .object(members) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            pos += 1
            var items: [JSONValue] = []
            skipSpace()
            if pos < p.count && byte(pos) == UInt8(ascii: "]") { pos += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try parseValue(depth: depth + 1))
                skipSpace()
                guard pos < p.count else { throw fail("unexpected end of input in an array") }
                if byte(pos) == UInt8(ascii: ",") { pos += 1; continue }
                if byte(pos) == UInt8(ascii: "]") { pos += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            let r = try scanString()
            return .string(String(decoding: JSONScanner.decodeString(p, r), as: UTF8.self))
        default:
            let start = pos
            try skipScalar()
            let c = byte(start)
            if c == UInt8(ascii: "t") { return .bool(true) }
            if c == UInt8(ascii: "f") { return .bool(false) }
            if c == UInt8(ascii: "n") { return .null }
            return .number(JSONScanner.parseNumber(p, start..<pos))
        }
    }

    /// Skips one value of any kind, validating it.
    public mutating func skipValue(depth: Int = 0) throws {
        if depth > 512 { throw fail("nesting too deep") }
        guard pos < p.count else { throw fail("unexpected end of input") }
        switch byte(pos) {
        case UInt8(ascii: "{"):
            pos += 1
            skipSpace()
            if pos < p.count && byte(pos) == UInt8(ascii: "}") { pos += 1; return }
            while true {
                skipSpace()
                guard pos < p.count, byte(pos) == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                _ = try scanString()
                skipSpace()
                guard pos < p.count, byte(pos) == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                guard pos < p.count else { throw fail("unexpected end of input in an object") }
                if byte(pos) == UInt8(ascii: ",") { pos += 1; continue }
                if byte(pos) == UInt8(ascii: "}") { pos += 1; return }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            pos += 1
            skipSpace()
            if pos < p.count && byte(pos) == UInt8(ascii: "]") { pos += 1; return }
            while true {
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                guard pos < p.count else { throw fail("unexpected end of input in an array") }
                if byte(pos) == UInt8(ascii: ",") { pos += 1; continue }
                if byte(pos) == UInt8(ascii: "]") { pos += 1; return }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            _ = try scanString()
        default:
            try skipScalar()
        }
    }

    mutating func skipScalar() throws {
        let start = pos
        let c = byte(pos)
        func lit(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard start + n <= p.count else { return false }
            for i in 0..<n where byte(start + i) != s.utf8Start[i] { return false }
            return true
        }
        if c == UInt8(ascii: "t") { guard lit("true") else { throw fail("invalid literal") }; pos += 4; return }
        if c == UInt8(ascii: "f") { guard lit("false") else { throw fail("invalid literal") }; pos += 5; return }
        if c == UInt8(ascii: "n") { guard lit("null") else { throw fail("invalid literal") }; pos += 4; return }
        // number: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
        if c == UInt8(ascii: "-") { pos += 1 }
        func digit(_ i: Int) -> Bool { i < p.count && byte(i) >= 0x30 && byte(i) <= 0x39 }
        guard digit(pos) else { throw fail(c == UInt8(ascii: "-") ? "invalid number" : "unexpected character '\(printable(c))'") }
        if byte(pos) == 0x30 { pos += 1 } else { while digit(pos) { pos += 1 } }
        if pos < p.count && byte(pos) == UInt8(ascii: ".") {
            pos += 1
            guard digit(pos) else { throw fail("invalid number") }
            while digit(pos) { pos += 1 }
        }
        if pos < p.count && (byte(pos) == UInt8(ascii: "e") || byte(pos) == UInt8(ascii: "E")) {
            pos += 1
            if pos < p.count && (byte(pos) == UInt8(ascii: "+") || byte(pos) == UInt8(ascii: "-")) { pos += 1 }
            guard digit(pos) else { throw fail("invalid number") }
            while digit(pos) { pos += 1 }
        }
    }

    func printable(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
    }

    /// Scans a string starting at its opening quote; returns the range of its raw contents
    /// (between the quotes, escapes not decoded) and moves past the closing quote.
    public mutating func scanString() throws -> Range<Int> {
        pos += 1
        let start = pos
        while pos < p.count {
            let c = byte(pos)
            if c == UInt8(ascii: "\"") { let r = start..<pos; pos += 1; return r }
            if c == UInt8(ascii: "\\") {
                pos += 1
                guard pos < p.count else { break }
                let e = byte(pos)
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    pos += 1
                case UInt8(ascii: "u"):
                    guard pos + 4 < p.count else { throw fail("invalid \\u escape") }
                    for i in 1...4 where JSONScanner.hex(byte(pos + i)) < 0 { throw fail("invalid \\u escape") }
                    pos += 5
                default:
                    throw fail("invalid escape '\\\(printable(e))'")
                }
                continue
            }
            if c < 0x20 { throw fail("control character in a string") }
            pos += 1
        }
        throw fail("unterminated string")
    }

    @inline(__always) static func hex(_ c: UInt8) -> Int {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return -1
        }
    }

    /// Decodes the raw contents of a string (as returned by ``scanString()``) to UTF-8 bytes.
    /// Lone surrogates become U+FFFD.
    public static func decodeString(_ p: UnsafeRawBufferPointer, _ r: Range<Int>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        decodeString(p, r, into: &out)
        return out
    }

    /// Decodes the raw contents of a string, appending UTF-8 bytes to `out`.
    public static func decodeString(_ p: UnsafeRawBufferPointer, _ r: Range<Int>, into out: inout [UInt8]) {
        var i = r.lowerBound
        let end = r.upperBound
        // Fast path: copy runs without backslashes.
        while i < end {
            var j = i
            while j < end && p[j] != UInt8(ascii: "\\") { j += 1 }
            if j > i { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[i..<j])) }
            if j >= end { break }
            let e = p[j + 1]
            i = j + 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var u = UInt32(hex4(p, i)); i += 4
                if u >= 0xD800 && u < 0xDC00 {
                    if i + 6 <= end && p[i] == UInt8(ascii: "\\") && p[i + 1] == UInt8(ascii: "u") {
                        let lo = UInt32(hex4(p, i + 2))
                        if lo >= 0xDC00 && lo < 0xE000 {
                            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                            i += 6
                        } else { u = 0xFFFD }
                    } else { u = 0xFFFD }
                } else if u >= 0xDC00 && u < 0xE000 { u = 0xFFFD }
                appendUTF8(u, into: &out)
            default: out.append(e)
            }
        }
    }

    static func hex4(_ p: UnsafeRawBufferPointer, _ i: Int) -> Int {
        (hex(p[i]) << 12) | (hex(p[i + 1]) << 8) | (hex(p[i + 2]) << 4) | hex(p[i + 3])
    }

    static func parseNumber(_ p: UnsafeRawBufferPointer, _ r: Range<Int>) -> Double {
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: p[r]), as: UTF8.self)
        return Double(s) ?? .nan
    }
}

/// Appends the UTF-8 encoding of scalar `u`.
@inline(__always) public func appendUTF8(_ u: UInt32, into out: inout [UInt8]) {
    if u < 0x80 { out.append(UInt8(u)) }
    else if u < 0x800 { out.append(UInt8(0xC0 | (u >> 6))); out.append(UInt8(0x80 | (u & 0x3F))) }
    else if u < 0x10000 {
        out.append(UInt8(0xE0 | (u >> 12))); out.append(UInt8(0x80 | ((u >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (u & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (u >> 18))); out.append(UInt8(0x80 | ((u >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((u >> 6) & 0x3F))); out.append(UInt8(0x80 | (u & 0x3F)))
    }
}

/// JSON output helpers.
public enum JSONWriter {
    /// Appends `bytes` (UTF-8) as a quoted JSON string. Non-ASCII stays raw UTF-8.
    public static func appendString(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        let n = bytes.count
        var i = 0
        while i < n {
            let c = bytes[i]
            if c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") { i += 1; continue }
            if i > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<i])) }
            switch c {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            default:
                let hexd: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hexd[Int(c >> 4)], hexd[Int(c & 15)]])
            }
            i += 1
            runStart = i
        }
        if n > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<n])) }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends a string as a quoted JSON string.
    public static func appendString(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendString(UnsafeRawBufferPointer($0), into: &out) }
    }

    /// Appends a number: integers without a fraction, others with up to 17 significant digits.
    public static func appendNumber(_ x: Double, into out: inout [UInt8]) {
        if x.isNaN || x.isInfinite { out.append(contentsOf: Array("null".utf8)); return }
        if x.rounded() == x && abs(x) < 1e15 { out.append(contentsOf: Array(String(Int(x)).utf8)); return }
        out.append(contentsOf: Array(String(x).utf8))
    }

    /// Serializes a value compactly.
    public static func append(_ v: JSONValue, into out: inout [UInt8]) {
        switch v {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .number(let d): appendNumber(d, into: &out)
        case .string(let s): appendString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, x) in a.enumerated() { if i > 0 { out.append(UInt8(ascii: ",")) }; append(x, into: &out) }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, m) in o.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendString(m.key, into: &out)
                out.append(UInt8(ascii: ":"))
                append(m.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Serializes a value compactly to a string.
    public static func string(_ v: JSONValue) -> String {
        var out: [UInt8] = []
        append(v, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// The top-level members of one JSON Lines record, as byte ranges into the line, so that tools can
/// read a few fields and pass every other field through byte for byte.
public struct JSONRecordSpans {
    /// For each member: the raw key contents (between quotes) and the full value range.
    public var members: [(key: Range<Int>, value: Range<Int>)] = []

    /// Scans `line`, which must hold exactly one JSON object (surrounding whitespace allowed).
    public init(_ line: UnsafeRawBufferPointer) throws {
        var s = JSONScanner(line)
        s.skipSpace()
        guard s.pos < line.count, line[s.pos] == UInt8(ascii: "{") else {
            throw s.fail("expected a JSON object")
        }
        s.pos += 1
        s.skipSpace()
        if s.pos < line.count && line[s.pos] == UInt8(ascii: "}") {
            s.pos += 1
        } else {
            while true {
                s.skipSpace()
                guard s.pos < line.count, line[s.pos] == UInt8(ascii: "\"") else { throw s.fail("expected a string key") }
                let k = try s.scanString()
                s.skipSpace()
                guard s.pos < line.count, line[s.pos] == UInt8(ascii: ":") else { throw s.fail("expected ':'") }
                s.pos += 1
                s.skipSpace()
                let vs = s.pos
                try s.skipValue()
                members.append((k, vs..<s.pos))
                s.skipSpace()
                guard s.pos < line.count else { throw s.fail("unexpected end of line in an object") }
                if line[s.pos] == UInt8(ascii: ",") { s.pos += 1; continue }
                if line[s.pos] == UInt8(ascii: "}") { s.pos += 1; break }
                throw s.fail("expected ',' or '}'")
            }
        }
        s.skipSpace()
        if s.pos != line.count { throw s.fail("unexpected data after the JSON object") }
        try JSONRecordSpans.checkUniqueKeys(members, line)
    }

    /// Duplicate keys are an error in every JSON the suite reads (RFC 8259 leaves their meaning
    /// open, and tools that picked the first or the last would disagree). Keys are compared
    /// after decoding escapes.
    static func checkUniqueKeys(_ members: [(key: Range<Int>, value: Range<Int>)], _ line: UnsafeRawBufferPointer) throws {
        let n = members.count
        guard n > 1 else { return }
        func decoded(_ r: Range<Int>) -> [UInt8] {
            let raw = UnsafeRawBufferPointer(rebasing: line[r])
            return raw.contains(UInt8(ascii: "\\")) ? JSONScanner.decodeString(line, r) : Array(raw)
        }
        func fail(_ i: Int) -> JSONSyntaxError {
            JSONSyntaxError(offset: members[i].key.lowerBound - 1, reason: "duplicate key \"\(String(decoding: decoded(members[i].key), as: UTF8.self))\"")
        }
        let escaped = members.contains { UnsafeRawBufferPointer(rebasing: line[$0.key]).contains(UInt8(ascii: "\\")) }
        if n <= 16 && !escaped {
            for i in 1..<n {
                let ki = members[i].key
                for j in 0..<i {
                    let kj = members[j].key
                    if ki.count == kj.count && (ki.count == 0 || memcmp(line.baseAddress! + ki.lowerBound, line.baseAddress! + kj.lowerBound, ki.count) == 0) {
                        throw fail(i)
                    }
                }
            }
            return
        }
        var seen = Set<[UInt8]>()
        for i in 0..<n where !seen.insert(decoded(members[i].key)).inserted { throw fail(i) }
    }

    /// Index of the member whose key is `name` (keys compared after decoding escapes).
    public func index(of name: StaticString, in line: UnsafeRawBufferPointer) -> Int? {
        let n = name.utf8CodeUnitCount
        outer: for (i, m) in members.enumerated() {
            let k = m.key
            if k.count == n {
                for j in 0..<n where line[k.lowerBound + j] != name.utf8Start[j] { continue outer }
                return i
            }
            if k.count > n && UnsafeRawBufferPointer(rebasing: line[k]).contains(UInt8(ascii: "\\")) {
                let dec = JSONScanner.decodeString(line, k)
                if dec.count == n && (0..<n).allSatisfy({ dec[$0] == name.utf8Start[$0] }) { return i }
            }
        }
        return nil
    }
}
