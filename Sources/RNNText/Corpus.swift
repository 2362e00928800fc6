// Labelled records out of a dataset laid out as <root>/<split>/<label>/<file> (the IMDB layout),
// from a .tar, a .tar.gz or a folder, streamed one file at a time.
//
// Order: archive order for archives; for folders, splits, then labels, then files, each sorted by
// the bytes of their names. A tar made from a folder with sorted member names (the IMDB copy in
// ../shared/data is one) therefore gives the same records in the same order from the archive
// and from the extracted folder.
import RNNCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which records to take from a corpus.
public struct CorpusOptions: Sendable {
    /// Splits to read (e.g. `train`); empty: every split.
    public var splits: [String] = []
    /// Labels to read; empty: every label.
    public var labels: [String] = []
    /// Also read the unlabeled folders (``unlabeledNames``); their records have no label.
    public var includeUnlabeled = false
    /// At most this many records per (split, label) pair.
    public var limitPerLabel: Int? = nil
    /// Path of the dataset root inside the archive or folder; nil: detect (see ``CorpusReader``).
    public var root: String? = nil
    /// Label folder names that hold unlabeled records.
    public var unlabeledNames: Set<String> = ["unsup"]

    public init() {}
}

/// One record of a corpus, valid only during the callback.
public struct CorpusItem {
    public var split: String
    /// nil for unlabeled records.
    public var label: String?
    /// The file name (e.g. `0_9.txt`).
    public var fileName: String
    /// The file content, valid UTF-8 (invalid sequences already replaced by U+FFFD).
    public var text: UnsafeRawBufferPointer

    /// `split/label/stem`, the file name without a final `.txt`.
    public var id: String {
        let stem = fileName.hasSuffix(".txt") ? String(fileName.dropLast(4)) : fileName
        return "\(split)/\(label ?? "unsup")/\(stem)"
    }

    /// The rating encoded in an IMDB file name `<id>_<rating>.txt`, or nil.
    public var rating: Int? {
        guard label != nil else { return nil }
        let stem = fileName.hasSuffix(".txt") ? fileName.dropLast(4) : Substring(fileName)
        guard let us = stem.lastIndex(of: "_") else { return nil }
        let digits = stem[stem.index(after: us)...]
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// Appends `{"id":...,"label":...,"rating":...,"text":...}\n` (label and rating omitted when
    /// unknown).
    public func appendJSON(into out: inout [UInt8]) {
        out.append(contentsOf: "{\"id\":".utf8)
        JSONWriter.appendString(id, into: &out)
        if let label {
            out.append(contentsOf: ",\"label\":".utf8)
            JSONWriter.appendString(label, into: &out)
        }
        if let rating {
            out.append(contentsOf: ",\"rating\":".utf8)
            out.append(contentsOf: String(rating).utf8)
        }
        out.append(contentsOf: ",\"text\":".utf8)
        JSONWriter.appendString(text, into: &out)
        out.append(contentsOf: "}\n".utf8)
    }
}

/// What a corpus pass read.
public struct CorpusStats: Sendable {
    /// Records per "split/label" key, in first-seen order.
    public var counts: [(key: String, count: Int)] = []
    /// Invalid UTF-8 sequences replaced, and the files that had them.
    public var invalidSequences = 0
    public var invalidFiles = 0
    public var firstInvalidFile: String?
    /// Every split folder seen (before filtering), for messages.
    public var splitsSeen: [String] = []
    /// The root that was used ("" = the top).
    public var root = ""

    public var total: Int { counts.reduce(0) { $0 + $1.count } }
}

/// Streams the records of a corpus archive or folder.
///
/// Root detection (when ``CorpusOptions/root`` is nil): an archive whose first member lies in a
/// top folder that is not a split name (`train`, `test`, `dev`, `val`, `valid`, `validation` or
/// a requested split) has that folder as root (`aclImdb/`); a folder holding exactly one visible
/// entry, a folder with such a name, is descended into. Files at any other depth, hidden files
/// and non-regular members are skipped.
public struct CorpusReader {
    public var path: String
    public var options: CorpusOptions

    public init(path: String, options: CorpusOptions) {
        self.path = path
        self.options = options
    }

    static let splitNames: Set<String> = ["train", "test", "dev", "val", "valid", "validation", "unsup"]

    private func looksLikeSplit(_ name: String) -> Bool {
        CorpusReader.splitNames.contains(name) || options.splits.contains(name)
    }

    /// Calls `body` for every selected record; returns the counts. Zero records is an error that
    /// says what was found.
    @discardableResult
    public func forEach(_ body: (CorpusItem) throws -> Void) throws -> CorpusStats {
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            var stats = CorpusStats()
            try walkFolder(&stats, body)
            try finish(stats)
            return stats
        }
        let source = try ByteSource(path: path)
        let tar = TarReader(source: source)
        var stats = CorpusStats()
        var state = State(options: options)
        var rootParts: [Substring]? = options.root.map { $0.split(separator: "/") }
        var data: [UInt8] = []
        var fixed: [UInt8] = []
        while let e = try tar.next() {
            var parts = e.path.split(separator: "/", omittingEmptySubsequences: true)
            while parts.first == "." { parts.removeFirst() }
            if parts.isEmpty { continue }   // "./"
            if rootParts == nil {
                if let top = parts.first, (parts.count > 1 || e.kind == .directory), !looksLikeSplit(String(top)) {
                    rootParts = [top]
                } else {
                    rootParts = []
                }
                stats.root = rootParts!.joined(separator: "/")
            }
            guard e.kind == .file, parts.count == rootParts!.count + 3,
                  parts.starts(with: rootParts!) else {
                if e.kind == .directory, parts.count == rootParts!.count + 1, parts.starts(with: rootParts!) {
                    state.sawSplit(String(parts.last!), &stats)
                }
                continue
            }
            let rel = parts.suffix(3).map(String.init)
            state.sawSplit(rel[0], &stats)
            guard let label = state.accept(split: rel[0], label: rel[1], file: rel[2]) else { continue }
            try tar.readData(into: &data)
            try state.emit(split: rel[0], label: label, file: rel[2], data: data, fixed: &fixed, stats: &stats, body)
        }
        try finish(stats)
        return stats
    }

    private func finish(_ stats: CorpusStats) throws {
        if stats.total > 0 || options.limitPerLabel == 0 { return }
        let root = stats.root.isEmpty ? "" : stats.root + "/"
        if stats.splitsSeen.isEmpty {
            throw RNNError(path: path, "no records found: expected files laid out as \(root)<split>/<label>/<file> (use --root to name the folder that holds the splits)")
        }
        var what = "no records found for the selected splits/labels"
        if !options.splits.isEmpty { what += " (--split \(options.splits.joined(separator: ",")))" }
        if !options.labels.isEmpty { what += " (--labels \(options.labels.joined(separator: ",")))" }
        throw RNNError(path: path, "\(what); splits present under '\(root.isEmpty ? "." : root)': \(stats.splitsSeen.joined(separator: ", "))")
    }

    /// Selection and counting shared by archives and folders.
    struct State {
        let options: CorpusOptions
        var perKey: [String: Int] = [:]
        init(options: CorpusOptions) { self.options = options }

        mutating func sawSplit(_ s: String, _ stats: inout CorpusStats) {
            if !stats.splitsSeen.contains(s) { stats.splitsSeen.append(s) }
        }

        /// The label to use (nil inside: unlabeled) or nil when the file is not selected.
        func accept(split: String, label: String, file: String) -> String?? {
            if file.hasPrefix(".") || label.hasPrefix(".") || split.hasPrefix(".") { return nil }
            if !options.splits.isEmpty && !options.splits.contains(split) { return nil }
            let unlabeled = options.unlabeledNames.contains(label)
            if unlabeled && !options.includeUnlabeled { return nil }
            if !options.labels.isEmpty && !unlabeled && !options.labels.contains(label) { return nil }
            if let lim = options.limitPerLabel, perKey[split + "/" + label, default: 0] >= lim { return nil }
            return .some(unlabeled ? nil : label)
        }

        mutating func emit(split: String, label: String?, file: String, data: [UInt8], fixed: inout [UInt8],
                           stats: inout CorpusStats, _ body: (CorpusItem) throws -> Void) throws {
            let key = split + "/" + (label ?? options.unlabeledNames.first ?? "unsup")
            let n = perKey[key, default: 0]
            perKey[key] = n + 1
            if let i = stats.counts.firstIndex(where: { $0.key == key }) { stats.counts[i].count += 1 } else { stats.counts.append((key, 1)) }
            try data.withUnsafeBytes { raw in
                if UTF8Repair.firstInvalid(raw) == nil {
                    try body(CorpusItem(split: split, label: label, fileName: file, text: raw))
                    return
                }
                fixed.removeAll(keepingCapacity: true)
                let bad = UTF8Repair.repair(raw, into: &fixed)
                stats.invalidSequences += bad
                stats.invalidFiles += 1
                if stats.firstInvalidFile == nil { stats.firstInvalidFile = "\(split)/\(label ?? "unsup")/\(file)" }
                try fixed.withUnsafeBytes { try body(CorpusItem(split: split, label: label, fileName: file, text: $0)) }
            }
        }
    }

    // MARK: folders

    private func walkFolder(_ stats: inout CorpusStats, _ body: (CorpusItem) throws -> Void) throws {
        var root = path
        if let r = options.root, !r.isEmpty {
            root = path + "/" + r
        } else if options.root == nil {
            // Descend through a lone top folder that is not a split (e.g. data/ -> data/aclImdb/).
            let entries = try listFolder(root).filter { !$0.hasPrefix(".") }
            if entries.count == 1, isDirectory(root + "/" + entries[0]), !looksLikeSplit(entries[0]) {
                root += "/" + entries[0]
                stats.root = entries[0]
            }
        }
        if !isDirectory(root) { throw RNNError(path: root, "no such folder (check --root)") }
        var state = State(options: options)
        var data: [UInt8] = []
        var fixed: [UInt8] = []
        for split in try listFolder(root) where !split.hasPrefix(".") && isDirectory(root + "/" + split) {
            state.sawSplit(split, &stats)
            for label in try listFolder(root + "/" + split) where isDirectory(root + "/" + split + "/" + label) {
                let dir = root + "/" + split + "/" + label
                for file in try listFolder(dir) {
                    guard let l = state.accept(split: split, label: label, file: file) else { continue }
                    let fp = dir + "/" + file
                    guard isRegularFile(fp) else { continue }
                    try readFile(fp, into: &data)
                    try state.emit(split: split, label: l, file: file, data: data, fixed: &fixed, stats: &stats, body)
                }
            }
        }
    }

    private func isDirectory(_ p: String) -> Bool {
        var st = stat()
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    private func isRegularFile(_ p: String) -> Bool {
        var st = stat()
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Names in a folder, sorted by their bytes.
    private func listFolder(_ p: String) throws -> [String] {
        guard let d = opendir(p) else {
            throw RNNError(path: p, "cannot read folder: \(String(cString: strerror(errno)))")
        }
        defer { closedir(d) }
        var names: [[UInt8]] = []
        while let ent = readdir(d) {
            let name: [UInt8] = withUnsafeBytes(of: ent.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        return names.map { String(decoding: $0, as: UTF8.self) }
    }

    private func readFile(_ p: String, into out: inout [UInt8]) throws {
        let fd = open(p, O_RDONLY)
        if fd < 0 { throw RNNError(path: p, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        out.removeAll(keepingCapacity: true)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RNNError(path: p, "read error: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}
