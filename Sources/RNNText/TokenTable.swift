// A hash map from byte strings (UTF-8 tokens) to dense indices 0, 1, 2, ... in insertion order.
// It backs both counting (rnn-vocab) and lookup (rnn-encode, GloVe loading): lookups hash the
// bytes of a view into the input and compare with memcmp, so no String is ever created.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An insertion-ordered set of byte strings with O(1) lookup by bytes.
///
/// Keys are stored back to back in one buffer; index `i` is the `i`-th distinct key inserted.
public struct TokenTable: @unchecked Sendable {
    /// Concatenated key bytes.
    @usableFromInline var storage: [UInt8] = []
    /// Start of key `i` in `storage` is `starts[i]`, its end `starts[i + 1]`.
    @usableFromInline var starts: [Int] = [0]
    /// Open-addressing slots: key index + 1, or 0 when empty. Count is a power of two.
    @usableFromInline var slots: [Int32]
    /// Hash of each key (speeds up rehashing and rejects most mismatches without memcmp).
    @usableFromInline var hashes: [UInt64] = []

    /// Creates an empty table sized for about `capacity` keys.
    public init(capacity: Int = 1024) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [Int32](repeating: 0, count: n)
    }

    /// Number of keys.
    @inlinable public var count: Int { hashes.count }

    /// The bytes of key `i`.
    public func key(_ i: Int) -> ArraySlice<UInt8> { storage[starts[i]..<starts[i + 1]] }

    /// Key `i` decoded as UTF-8 (invalid bytes become U+FFFD).
    public func string(_ i: Int) -> String { String(decoding: key(i), as: UTF8.self) }

    /// Calls `body` with a view of the bytes of key `i`.
    @inlinable
    public func withKey<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[starts[i]..<starts[i + 1]])) }
    }

    /// A fast 64-bit hash of bytes (8 bytes per step, multiply-xorshift mixing).
    @inlinable
    public static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(key.count)
        guard let p = key.baseAddress else { return h }
        var i = 0
        let n = key.count
        while i + 8 <= n {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var s: UInt64 = 0
            while i < n { w |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << s; s += 8; i += 1 }
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
        }
        h ^= h >> 29
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 32
        return h
    }

    /// The index of `key`, or nil.
    @inlinable
    public func find(_ key: UnsafeRawBufferPointer) -> Int? {
        let h = TokenTable.hash(key)
        return slots.withUnsafeBufferPointer { sl in
            hashes.withUnsafeBufferPointer { hs in
                starts.withUnsafeBufferPointer { st in
                    storage.withUnsafeBytes { sto -> Int? in
                        let mask = sl.count - 1
                        var s = Int(truncatingIfNeeded: h) & mask
                        while true {
                            let v = Int(sl[s])
                            if v == 0 { return nil }
                            let k = v - 1
                            if hs[k] == h {
                                let a = st[k], len = st[k + 1] - a
                                if len == key.count && (len == 0 || memcmp(sto.baseAddress! + a, key.baseAddress!, len) == 0) { return k }
                            }
                            s = (s + 1) & mask
                        }
                    }
                }
            }
        }
    }

    /// Inserts `key` if absent; returns its index and whether it was new.
    @discardableResult
    public mutating func insert(_ key: UnsafeRawBufferPointer) -> (index: Int, inserted: Bool) {
        if let k = find(key) { return (k, false) }
        let h = TokenTable.hash(key)
        if (count + 1) * 2 > slots.count { grow() }
        let k = count
        storage.append(contentsOf: key)
        starts.append(storage.count)
        hashes.append(h)
        place(k, h)
        return (k, true)
    }

    /// Inserts a key given as a string.
    @discardableResult
    public mutating func insert(_ s: String) -> (index: Int, inserted: Bool) {
        var s = s
        return s.withUTF8 { insert(UnsafeRawBufferPointer($0)) }
    }

    /// The index of a key given as a string, or nil.
    public func find(_ s: String) -> Int? {
        var s = s
        return s.withUTF8 { find(UnsafeRawBufferPointer($0)) }
    }

    @usableFromInline mutating func place(_ k: Int, _ h: UInt64) {
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while slots[s] != 0 { s = (s + 1) & mask }
        slots[s] = Int32(k + 1)
    }

    @usableFromInline mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        for k in 0..<count { place(k, hashes[k]) }
    }
}
