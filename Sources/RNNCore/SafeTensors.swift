// The safetensors container (https://huggingface.co/docs/safetensors): every binary artifact of
// the suite (vocabularies, encoded datasets, checkpoints) is one of these.
//
// Layout: 8-byte little-endian header length N; N bytes of JSON header
// `{"__metadata__": {string: string}, "<name>": {"dtype": "F32", "shape": [..],
// "data_offsets": [begin, end]}, ...}` padded with spaces to a multiple of 8; then the raw
// little-endian tensor data, offsets relative to the end of the header. Readers memory-map.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element types used by the suite (safetensors names).
public enum DType: String, Sendable {
    case f32 = "F32", f64 = "F64", i32 = "I32", i64 = "I64", u8 = "U8", i8 = "I8", u16 = "U16", i16 = "I16", u32 = "U32", u64 = "U64", f16 = "F16", bf16 = "BF16", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .u8, .i8, .bool: return 1
        }
    }
}

/// Builds a safetensors file in memory and writes it atomically.
public struct SafeTensorsWriter {
    struct Entry { var name: String; var dtype: DType; var shape: [Int]; var data: [UInt8] }
    var entries: [Entry] = []
    /// String metadata stored under `__metadata__`.
    public var metadata: [(String, String)] = []

    public init() {}

    /// Adds a tensor from raw little-endian bytes.
    public mutating func add(_ name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.reduce(1, *) * dtype.size == bytes.count, "tensor \(name): shape and byte count disagree")
        entries.append(Entry(name: name, dtype: dtype, shape: shape, data: bytes))
    }

    /// Adds a Float32 tensor.
    public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) {
        add(name, dtype: .f32, shape: shape, bytes: Array(UnsafeRawBufferPointer(floats)))
    }

    /// Adds a Float32 tensor.
    public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        floats.withUnsafeBufferPointer { add(name, shape: shape, floats: $0) }
    }

    /// Adds an Int32 tensor.
    public mutating func add(_ name: String, shape: [Int], int32s: [Int32]) {
        int32s.withUnsafeBytes { add(name, dtype: .i32, shape: shape, bytes: Array($0)) }
    }

    /// Adds an Int64 tensor.
    public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) {
        int64s.withUnsafeBytes { add(name, dtype: .i64, shape: shape, bytes: Array($0)) }
    }

    /// Adds a UInt8 tensor.
    public mutating func add(_ name: String, shape: [Int], uint8s: [UInt8]) {
        add(name, dtype: .u8, shape: shape, bytes: uint8s)
    }

    /// Sets (or replaces) a metadata entry.
    public mutating func setMetadata(_ key: String, _ value: String) {
        if let i = metadata.firstIndex(where: { $0.0 == key }) { metadata[i].1 = value } else { metadata.append((key, value)) }
    }

    /// The complete file. Tensors are stored by decreasing element size (keeps every tensor
    /// aligned to its element size), then in insertion order.
    public func serialize() -> [UInt8] {
        let order = entries.indices.sorted { a, b in
            let sa = entries[a].dtype.size, sb = entries[b].dtype.size
            return sa != sb ? sa > sb : a < b
        }
        var header: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        if !metadata.isEmpty {
            JSONWriter.appendString("__metadata__", into: &header)
            header.append(UInt8(ascii: ":"))
            JSONWriter.append(.object(metadata.map { JSONMember($0.0, .string($0.1)) }), into: &header)
            first = false
        }
        var offset = 0
        for i in order {
            let e = entries[i]
            if !first { header.append(UInt8(ascii: ",")) }
            first = false
            JSONWriter.appendString(e.name, into: &header)
            header.append(contentsOf: Array(":{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + e.data.count)]}".utf8))
            offset += e.data.count
        }
        header.append(UInt8(ascii: "}"))
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for i in order { out.append(contentsOf: entries[i].data) }
        return out
    }

    /// Writes the file atomically (temporary file + rename).
    public func write(to path: String) throws {
        try AtomicFile.write(serialize(), to: path)
    }
}

/// A memory-mapped, validated safetensors file.
public final class SafeTensorsFile: @unchecked Sendable {
    /// One tensor's description.
    public struct Info: Sendable {
        public var dtype: DType
        public var shape: [Int]
        /// Byte range inside the data section.
        public var range: Range<Int>
        /// Number of elements (checked against the byte range when the file was opened).
        public var count: Int { range.count / dtype.size }
    }

    /// Path of the file.
    public let path: String
    /// String metadata (`__metadata__`).
    public let metadata: [String: String]
    /// Tensors by name.
    public let tensors: [String: Info]
    /// Tensor names in file order.
    public let names: [String]
    private let base: UnsafeRawPointer
    private let mappedLength: Int
    private let dataStart: Int

    /// Maps and validates `path`. `what` names the kind of file in messages ("vocabulary").
    public init(path: String, what: String = "safetensors file") throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT { throw RNNError(path: path, "no such file", systemError: e) }
            throw RNNError(path: path, "cannot open: \(String(cString: strerror(e)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw RNNError(path: path, "cannot read: \(String(cString: strerror(errno)))") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw RNNError(path: path, "is a directory, expected a \(what)") }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw RNNError(path: path, "not a regular file, expected a \(what) (binary files are memory-mapped: save it to a file first)")
        }
        let size = Int(st.st_size)
        guard size >= 8 else { throw RNNError(path: path, "not a \(what): file too short (\(size) bytes)") }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw RNNError(path: path, "cannot map file: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(m)
        mappedLength = size
        var ok = false
        defer { if !ok { munmap(m, size) } }
        let (v, dataStart) = try SafeTensorsFile.validate(UnsafeRawBufferPointer(start: base, count: size), path: path, what: what)
        self.dataStart = dataStart
        let (meta, infos, order) = v
        metadata = meta
        tensors = infos
        names = order
        ok = true
    }

    /// Largest header accepted (the IMDB checkpoint's, with its 52k-token vocabulary, is ~1 MB).
    public static let maxHeaderBytes = 100_000_000
    /// Most dimensions a tensor may have.
    public static let maxRank = 8

    /// Validates a whole safetensors image (header length, JSON, dtypes, shapes, element counts
    /// and byte sizes without overflow, offsets inside the data section, no two tensors sharing
    /// bytes, string metadata) and returns its metadata, tensors, names in data order and the
    /// start of the data section. Nothing is allocated by size before it is checked against the
    /// image. Errors name `path`.
    public static func validate(_ image: UnsafeRawBufferPointer, path: String, what: String = "safetensors file") throws
        -> ((metadata: [String: String], tensors: [String: Info], names: [String]), dataStart: Int) {
        let size = image.count
        guard size >= 8 else { throw RNNError(path: path, "not a \(what): file too short (\(size) bytes)") }
        let raw = UInt64(littleEndian: image.loadUnaligned(as: UInt64.self))
        // Compared as UInt64: a length >= 2^63 must not become a negative Int.
        guard raw > 1, raw <= UInt64(size - 8), raw <= UInt64(maxHeaderBytes) else {
            throw RNNError(path: path, "not a \(what): bad header length \(raw) (file of \(size) bytes); it may be truncated or of another kind")
        }
        let hlen = Int(raw)
        let dataStart = 8 + hlen
        let header: JSONValue
        do {
            header = try JSONScanner.parse(UnsafeRawBufferPointer(rebasing: image[8..<dataStart]))
        } catch let e as JSONSyntaxError {
            throw RNNError(path: path, "not a \(what): corrupt header (\(e.description))")
        }
        guard let members = header.objectValue else { throw RNNError(path: path, "not a \(what): header is not a JSON object") }
        var meta: [String: String] = [:]
        var infos: [String: Info] = [:]
        var order: [(String, Int, Int)] = []
        let dataLen = size - dataStart
        for mem in members {
            if mem.key == "__metadata__" {
                guard let o = mem.value.objectValue else { throw RNNError(path: path, "corrupt header: __metadata__ is not an object") }
                for x in o {
                    guard let s = x.value.stringValue else { throw RNNError(path: path, "corrupt header: metadata \(x.key) is not a string") }
                    meta[x.key] = s
                }
                continue
            }
            guard let ds = mem.value["dtype"]?.stringValue, let dt = DType(rawValue: ds),
                  let sh = mem.value["shape"]?.arrayValue, let offs = mem.value["data_offsets"]?.arrayValue,
                  offs.count == 2, let b = offs[0].intValue, let e = offs[1].intValue else {
                throw RNNError(path: path, "corrupt header: bad entry for tensor \(mem.key)")
            }
            guard sh.count <= maxRank else { throw RNNError(path: path, "corrupt header: tensor \(mem.key) has \(sh.count) dimensions") }
            var shape: [Int] = []
            var count = 1
            var overflow = false
            for d in sh {
                guard let v = d.intValue, v >= 0 else { throw RNNError(path: path, "corrupt header: bad shape for tensor \(mem.key)") }
                shape.append(v)
                let (c, o) = count.multipliedReportingOverflow(by: v)
                count = c; overflow = overflow || o
            }
            let (bytes, o2) = count.multipliedReportingOverflow(by: dt.size)
            guard !overflow, !o2, b >= 0, e >= b, e <= dataLen, e - b == bytes else {
                throw RNNError(path: path, "corrupt or truncated: tensor \(mem.key) (\(dt.rawValue) \(shape)) has data offsets [\(b), \(e)] but the data section holds \(dataLen) bytes")
            }
            infos[mem.key] = Info(dtype: dt, shape: shape, range: b..<e)
            order.append((mem.key, b, e))
        }
        order.sort { $0.1 != $1.1 ? $0.1 < $1.1 : $0.2 < $1.2 }
        // No two tensors may share bytes (aliased or overlapping offsets); empty tensors occupy none.
        var end = 0
        var last = ""
        for (name, b, e) in order where e > b {
            if b < end {
                throw RNNError(path: path, "corrupt header: tensors \(last) and \(name) overlap in the data section (offsets \(b) < \(end))")
            }
            end = e; last = name
        }
        return ((meta, infos, order.map { $0.0 }), dataStart)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedLength) }

    /// Raw bytes of a tensor (valid while the file object lives).
    public func bytes(_ name: String) -> UnsafeRawBufferPointer? {
        guard let i = tensors[name] else { return nil }
        return UnsafeRawBufferPointer(start: base + dataStart + i.range.lowerBound, count: i.range.count)
    }

    /// Looks up a tensor, checking dtype and (optionally) shape; errors name the file.
    public func info(_ name: String, dtype: DType, shape: [Int]? = nil) throws -> Info {
        guard let i = tensors[name] else { throw RNNError(path: path, "missing tensor '\(name)'") }
        guard i.dtype == dtype else { throw RNNError(path: path, "tensor '\(name)' has dtype \(i.dtype.rawValue), expected \(dtype.rawValue)") }
        if let shape, shape != i.shape {
            throw RNNError(path: path, "tensor '\(name)' has shape \(i.shape), expected \(shape)")
        }
        return i
    }

    /// A Float32 tensor's values (copied; unaligned-safe).
    public func floats(_ name: String, shape: [Int]? = nil) throws -> [Float] {
        let i = try info(name, dtype: .f32, shape: shape)
        let b = bytes(name)!
        return (0..<i.count).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
    }

    /// A Float32 tensor's values without copying when aligned (the common case).
    public func withFloats<R>(_ name: String, shape: [Int]? = nil, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        let i = try info(name, dtype: .f32, shape: shape)
        let b = bytes(name)!
        if Int(bitPattern: b.baseAddress) % 4 == 0 {
            return try body(UnsafeBufferPointer(start: b.baseAddress?.assumingMemoryBound(to: Float.self), count: i.count))
        }
        let copy = try floats(name)
        return try copy.withUnsafeBufferPointer(body)
    }

    /// An Int32 tensor's values (copied).
    public func int32s(_ name: String, shape: [Int]? = nil) throws -> [Int32] {
        let i = try info(name, dtype: .i32, shape: shape)
        let b = bytes(name)!
        return (0..<i.count).map { Int32(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
    }

    /// An Int32 tensor's values without copying when aligned.
    public func withInt32s<R>(_ name: String, shape: [Int]? = nil, _ body: (UnsafeBufferPointer<Int32>) throws -> R) throws -> R {
        let i = try info(name, dtype: .i32, shape: shape)
        let b = bytes(name)!
        if Int(bitPattern: b.baseAddress) % 4 == 0 {
            return try body(UnsafeBufferPointer(start: b.baseAddress?.assumingMemoryBound(to: Int32.self), count: i.count))
        }
        let copy = try int32s(name)
        return try copy.withUnsafeBufferPointer(body)
    }

    /// An Int64 tensor's values (copied).
    public func int64s(_ name: String, shape: [Int]? = nil) throws -> [Int64] {
        let i = try info(name, dtype: .i64, shape: shape)
        let b = bytes(name)!
        return (0..<i.count).map { Int64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
    }

    /// A UInt8 tensor's bytes (copied).
    public func uint8s(_ name: String) throws -> [UInt8] {
        _ = try info(name, dtype: .u8)
        return Array(bytes(name)!)
    }
}

/// FNV-1a 64-bit hash, used as the content hash of vocabularies (fast, stable, no dependency).
public struct FNV1a64 {
    /// Current state.
    public private(set) var value: UInt64 = 0xcbf29ce484222325
    public init() {}
    /// Mixes in bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        value = h
    }
    /// Mixes in bytes.
    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
    /// Mixes in a string and a separator byte 0 (so ["ab","c"] != ["a","bc"]).
    public mutating func update(_ s: String) { update(Array(s.utf8)); update([0]) }
    /// The hash as 16 lowercase hex digits.
    public var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
