// A streaming tar reader over a ByteSource (plain or gzip): headers are read one 512-byte block
// at a time and member data is handed out or skipped without ever extracting to disk, so memory
// stays flat whatever the archive size.
//
// Supported: POSIX ustar (name + prefix), GNU long names ('L') and long link names ('K'),
// pax extended headers ('x': `path` and `size`; 'g' global headers are skipped), base-256 sizes.
// The end is the first zero block (or a clean end of data at a header boundary). A stream that
// ends inside a header or a member is an error naming the archive, the member and the offset.
import RNNCore

/// One member of a tar archive.
public struct TarEntry: Sendable {
    /// What the member is.
    public enum Kind: Sendable { case file, directory, other }
    /// Full path inside the archive (long names and pax `path` applied).
    public var path: String
    public var kind: Kind
    /// Size of the member data in bytes.
    public var size: Int
    /// Byte offset of the member's header in the (uncompressed) tar stream.
    public var headerOffset: Int
}

/// Reads a tar stream member by member.
public final class TarReader {
    /// The underlying stream.
    public let source: ByteSource
    /// Bytes of the tar stream consumed so far.
    public private(set) var offset = 0
    private var header = [UInt8](repeating: 0, count: 512)
    private var scratch = [UInt8](repeating: 0, count: 1 << 16)
    private var current: TarEntry?
    private var remaining = 0      // unread data bytes of `current`
    private var padding = 0        // padding after the data of `current`
    private var finished = false

    /// Reads the tar stream in `source`.
    public init(source: ByteSource) { self.source = source }

    private func truncated(_ inside: String) -> RNNError {
        RNNError("\(source.name):\(offset): truncated tar archive: the data ends inside \(inside) (byte offset \(offset) of the tar stream); the file is incomplete, download or copy it again")
    }

    /// Reads exactly `count` bytes; returns how many were available before the end of data.
    private func readFully(_ p: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        let n: Int
        do {
            n = try source.read(into: p, count: count)
        } catch let e as RNNError {
            // A gzip error: say which member was being read.
            guard let c = current else { throw e }
            throw RNNError(e.message + " (while reading tar member '\(c.path)')")
        }
        offset += n
        return n
    }

    private func skip(_ count: Int, inside: String) throws {
        var left = count
        while left > 0 {
            let want = min(left, scratch.count)
            let n = try scratch.withUnsafeMutableBytes { try readFully($0.baseAddress!, want) }
            if n < want { throw truncated(inside) }
            left -= n
        }
    }

    private func memberName(_ e: TarEntry) -> String { "member '\(e.path)'" }

    /// The next member (the unread data of the previous one is skipped), or nil at the end.
    public func next() throws -> TarEntry? {
        if let c = current {
            try skip(remaining + padding, inside: memberName(c))
            current = nil; remaining = 0; padding = 0
        }
        if finished { return nil }
        var longName: String?
        var paxPath: String?
        var paxSize: Int?
        var first = offset == 0
        while true {
            let start = offset
            let n = try header.withUnsafeMutableBytes { try readFully($0.baseAddress!, 512) }
            if n == 0 { finished = true; return nil }
            if n < 512 {
                if start == 0 { throw RNNError("\(source.name):0: not a tar archive (only \(n) bytes); expected a .tar, .tar.gz or a folder") }
                throw truncated("a member header")
            }
            if header.allSatisfy({ $0 == 0 }) { finished = true; return nil }
            guard checksumOK() else {
                if first {
                    var kind = "bad header checksum at byte \(start)"
                    if header.starts(with: [0x42, 0x5A, 0x68]) { kind = "it is bzip2-compressed; decompress it first (bunzip2)" }
                    if header.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A]) { kind = "it is xz-compressed; decompress it first (xz -d)" }
                    if header.starts(with: [0x50, 0x4B, 0x03, 0x04]) { kind = "it is a zip file; unzip it and pass the folder" }
                    throw RNNError("\(source.name):\(start): not a tar archive (\(kind)); expected a .tar, .tar.gz or a folder")
                }
                throw RNNError("\(source.name):\(start): corrupt tar archive: bad header checksum at byte offset \(start); the file is damaged, download or copy it again")
            }
            first = false
            var size = parseNumber(124, 12)
            guard size >= 0, size <= TarReader.maxMemberSize else {
                throw RNNError("\(source.name):\(start): corrupt tar archive: bad size field in the header at byte offset \(start)")
            }
            let type = header[156]
            var name = field(0, 100)
            if header[257..<262].elementsEqual("ustar".utf8) {
                let prefix = field(345, 155)
                if !prefix.isEmpty { name = prefix + "/" + name }
            }
            let pad = (512 - size % 512) % 512
            switch type {
            case UInt8(ascii: "L"), UInt8(ascii: "x"), UInt8(ascii: "K"), UInt8(ascii: "g"):
                let what = "the extended header at byte offset \(start)"
                try checkRemaining(size, what)
                if type == UInt8(ascii: "K") || type == UInt8(ascii: "g") || size > 1 << 24 {
                    try skip(size + pad, inside: what)
                    continue
                }
                var data: [UInt8] = []
                try readChunked(size, into: &data, inside: what)
                try skip(pad, inside: what)
                if type == UInt8(ascii: "L") {
                    longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
                } else {
                    guard parsePax(data, path: &paxPath, size: &paxSize) else {
                        throw RNNError("\(source.name):\(start): corrupt tar archive: bad pax extended header at byte offset \(start) (a size that is not a count from 0 to \(TarReader.maxMemberSize), or a malformed record); the file is damaged")
                    }
                }
                continue
            default:
                break
            }
            if let longName { name = longName }
            if let paxPath { name = paxPath }
            if let paxSize { size = paxSize }
            let kind: TarEntry.Kind
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = name.hasSuffix("/") ? .directory : .file
            case UInt8(ascii: "5"): kind = .directory
            default: kind = .other
            }
            // Hard links, symlinks, devices, fifos carry no data whatever their size field says.
            let carriesData = kind == .file || type > UInt8(ascii: "7") || type == UInt8(ascii: "5")
            let dataSize = carriesData ? size : 0
            try checkRemaining(dataSize + (512 - dataSize % 512) % 512, memberName(TarEntry(path: name, kind: kind, size: dataSize, headerOffset: start)))
            let e = TarEntry(path: name, kind: kind, size: dataSize, headerOffset: start)
            current = e
            remaining = dataSize
            padding = (512 - dataSize % 512) % 512
            return e
        }
    }

    /// Largest member size accepted (1 TiB): sizes are checked against it, and against the bytes
    /// left in a plain file, before anything is read or allocated.
    public static let maxMemberSize = 1 << 40
    /// Largest member whose data ``readData(into:)`` hands out (a record of a corpus): 1 GiB.
    public static let maxDataSize = 1 << 30

    /// A header that claims more bytes than a plain file has left is a truncated archive, said
    /// at once (not after reading to the end).
    private func checkRemaining(_ count: Int, _ inside: String) throws {
        if let left = source.knownRemaining, count > left {
            throw RNNError("\(source.name):\(offset + left): truncated tar archive: the data ends inside \(inside) (byte offset \(offset + left) of the tar stream; the header claims \(count) bytes, \(left) remain); the file is incomplete, download or copy it again")
        }
    }

    /// Reads `size` bytes into `out` in chunks: memory grows with the data that actually
    /// arrives, never with what a header claims.
    private func readChunked(_ size: Int, into out: inout [UInt8], inside: String) throws {
        out.removeAll(keepingCapacity: true)
        var left = size
        while left > 0 {
            let want = min(left, 1 << 20)
            let old = out.count
            out.append(contentsOf: repeatElement(0, count: want))
            let got = try out.withUnsafeMutableBytes { try readFully($0.baseAddress! + old, want) }
            if got < want { throw truncated(inside) }
            left -= want
        }
    }

    /// Reads the data of the current member into `out` (replacing its contents).
    public func readData(into out: inout [UInt8]) throws {
        guard let c = current else { out.removeAll(keepingCapacity: true); return }
        let size = remaining
        if size > TarReader.maxDataSize {
            throw RNNError("\(source.name):\(c.headerOffset): tar member '\(c.path)' holds \(size) bytes, more than the limit of \(TarReader.maxDataSize) for one record")
        }
        try readChunked(size, into: &out, inside: memberName(c))
        remaining = 0
        try skip(padding, inside: memberName(c))
        padding = 0
    }

    private func field(_ at: Int, _ len: Int) -> String {
        let slice = header[at..<(at + len)]
        let end = slice.firstIndex(of: 0) ?? (at + len)
        return String(decoding: header[at..<end], as: UTF8.self)
    }

    /// Octal (NUL/space terminated) or GNU base-256 number; -1 when malformed.
    private func parseNumber(_ at: Int, _ len: Int) -> Int {
        if header[at] & 0x80 != 0 {
            var v = Int(header[at] & 0x7F)
            for k in 1..<len {
                if v > Int.max >> 9 { return -1 }
                v = (v << 8) | Int(header[at + k])
            }
            return v
        }
        var v = 0
        var k = at
        let end = at + len
        while k < end && header[k] == 0x20 { k += 1 }
        while k < end, header[k] >= 0x30 && header[k] <= 0x37 {
            if v > Int.max >> 4 { return -1 }
            v = v * 8 + Int(header[k] - 0x30); k += 1
        }
        if k < end && header[k] != 0 && header[k] != 0x20 { return -1 }
        return v
    }

    private func checksumOK() -> Bool {
        let stored = parseNumber(148, 8)
        var unsignedSum = 0, signedSum = 0
        for k in 0..<512 {
            let b = (k >= 148 && k < 156) ? UInt8(0x20) : header[k]
            unsignedSum += Int(b)
            signedSum += Int(Int8(bitPattern: b))
        }
        return stored == unsignedSum || stored == signedSum
    }

    /// Pax records: "<len> <key>=<value>\n". False when a record is malformed or a size is not
    /// a count within ``maxMemberSize`` (negative, huge, not a number).
    private func parsePax(_ data: [UInt8], path: inout String?, size: inout Int?) -> Bool {
        var i = 0
        while i < data.count {
            if data[i] == 0 { return true }  // NUL padding after the records
            var len = 0
            var j = i
            while j < data.count, data[j] >= 0x30 && data[j] <= 0x39, j - i < 18 { len = len * 10 + Int(data[j] - 0x30); j += 1 }
            // The length counts the digits, the space and the newline.
            guard len > j - i + 1, j < data.count, data[j] == 0x20, len <= data.count - i else { return false }
            let rec = data[(j + 1)..<(i + len - 1)]   // without the trailing newline
            if let eq = rec.firstIndex(of: UInt8(ascii: "=")) {
                let key = String(decoding: rec[rec.startIndex..<eq], as: UTF8.self)
                let value = rec[(eq + 1)...]
                if key == "path" { path = String(decoding: value, as: UTF8.self) }
                if key == "size" {
                    guard value.count <= 18, !value.isEmpty, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                          let v = Int(String(decoding: value, as: UTF8.self)), v <= TarReader.maxMemberSize else { return false }
                    size = v
                }
            }
            i += len
        }
        return true
    }
}
