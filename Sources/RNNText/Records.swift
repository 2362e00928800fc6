// The record stream: JSON Lines objects with a `text` field (every other field passes through
// untouched), or plain text with one record per line.
import RNNCore

/// How input lines are interpreted.
public enum RecordFormat: String, CaseIterable, Sendable {
    /// Decided per input from its first non-blank line: `{` means JSON Lines, else plain text.
    case auto
    /// Every non-blank line must be a JSON object.
    case jsonl
    /// Every line is one record's text.
    case text
    /// Tab-separated values with a header row (RFC 4180 quoting); auto for a `.tsv` file.
    case tsv
    /// Comma-separated values with a header row (RFC 4180 quoting); auto for a `.csv` file.
    case csv
    /// fastText lines: `__label__x` tokens are labels, the rest is the text.
    case fasttext

    /// The format `auto` means for a file with this name: tsv or csv by the name's ending (also
    /// under `.gz`), else decided by the content.
    static func byName(_ path: String) -> RecordFormat {
        let p = path.hasSuffix(".gz") ? String(path.dropLast(3)) : path
        if p.hasSuffix(".tsv") { return .tsv }
        if p.hasSuffix(".csv") { return .csv }
        return .auto
    }
}

/// One label of a record's `label` member (``Record/parseLabels(_:source:line:)``).
public enum LabelEntry: Equatable, Sendable {
    /// A JSON string.
    case name(String)
    /// A JSON number, as its text: a label name to the tools that read labels as names, a label
    /// id in rnn-encode's output (read so by rnn-classify).
    case number(String)

    /// The label as text.
    public var text: String {
        switch self {
        case .name(let s), .number(let s): return s
        }
    }
}

/// One record, as a view into the line it came from (valid only inside the reader's callback).
public struct Record {
    /// The raw line (no newline).
    public let line: UnsafeRawBufferPointer
    /// Top-level members of a JSON record; nil for plain text.
    public let spans: JSONRecordSpans?
    /// Index of the `text` member in `spans`.
    public let textIndex: Int?
    /// Input name and 1-based line number, for messages.
    public let source: String
    public let lineNumber: Int

    /// True when the record came from a JSON Lines input.
    public var isJSON: Bool { spans != nil }

    /// The text as UTF-8 bytes (JSON escapes decoded).
    public func text() -> [UInt8] {
        guard let spans, let ti = textIndex else { return Array(line) }
        let v = spans.members[ti].value
        return JSONScanner.decodeString(line, (v.lowerBound + 1)..<(v.upperBound - 1))
    }

    /// Appends the text's UTF-8 bytes to `out`.
    public func appendText(to out: inout [UInt8]) {
        guard let spans, let ti = textIndex else { out.append(contentsOf: line); return }
        let v = spans.members[ti].value
        JSONScanner.decodeString(line, (v.lowerBound + 1)..<(v.upperBound - 1), into: &out)
    }

    /// The raw JSON value of member `name` (e.g. `"pos"` with quotes, or `7`), or nil.
    public func rawField(_ name: StaticString) -> UnsafeRawBufferPointer? {
        guard let spans, let i = spans.index(of: name, in: line) else { return nil }
        return UnsafeRawBufferPointer(rebasing: line[spans.members[i].value])
    }

    /// The value of member `name` when it is a string (a number is given as its JSON text).
    public func stringField(_ name: StaticString) -> String? {
        guard let raw = rawField(name), raw.count > 0 else { return nil }
        if raw[0] == UInt8(ascii: "\"") {
            return String(decoding: JSONScanner.decodeString(raw, 1..<(raw.count - 1)), as: UTF8.self)
        }
        if raw[0] == UInt8(ascii: "n") { return nil }  // null
        return String(decoding: raw, as: UTF8.self)
    }

    /// The record's labels: nil when it has no `label` member or it is null; one label for a
    /// string (a number is given as its JSON text); every label of a list (a multi-label record:
    /// a JSON `"label": ["a","b"]`, a fastText line with several `__label__` tokens), in their
    /// order. See ``parseLabels(_:source:line:)`` for what is an error.
    public func labels() throws -> [String]? {
        guard let raw = rawField("label"), raw.count > 0 else { return nil }
        return try Record.parseLabels(raw, source: source, line: lineNumber)?.map(\.text)
    }

    /// The one reader of a `label` value (the raw JSON of the member): nil for null; one entry
    /// for a string or a number; the entries of a list of strings and numbers, in their order.
    /// An empty list, a label given twice, an empty name, or any other value (an object, a
    /// boolean, a list inside the list) is an error naming `source` and `line`.
    public static func parseLabels(_ raw: UnsafeRawBufferPointer, source: String, line: Int) throws -> [LabelEntry]? {
        func fail(_ why: String) -> RNNError { RNNError(path: source, line: line, why) }
        guard let first = raw.first else { return nil }
        switch first {
        case UInt8(ascii: "n"):
            return nil
        case UInt8(ascii: "\""):
            let name = String(decoding: JSONScanner.decodeString(raw, 1 ..< (raw.count - 1)), as: UTF8.self)
            return [.name(name)]
        case UInt8(ascii: "["):
            guard let list = (try? JSONScanner.parse(raw))?.arrayValue else { throw fail("the \"label\" list is not valid JSON") }
            guard !list.isEmpty else {
                throw fail("the record has an empty list of labels; give at least one label, or no \"label\" member (null) for an unlabelled record")
            }
            var out: [LabelEntry] = []
            for v in list {
                let e: LabelEntry
                switch v {
                case .string(let s): e = .name(s)
                case .number: e = .number(JSONWriter.string(v))
                default: throw fail("every label in a \"label\" list must be a string (or a label id), not \(JSONWriter.string(v).prefix(40))")
                }
                guard !e.text.isEmpty else { throw fail("the \"label\" list holds an empty label name") }
                guard !out.contains(where: { $0.text == e.text }) else {
                    throw fail("label \"\(e.text.prefix(80))\" is given twice in the record's labels; list each label once")
                }
                out.append(e)
            }
            return out
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"):
            return [.number(String(decoding: raw, as: UTF8.self))]
        default:
            throw fail("the \"label\" member must be a string, a list of strings or null, not \(String(decoding: raw.prefix(40), as: UTF8.self))")
        }
    }

    /// Writes the record as one JSON object line: every member except those named in `drop` is
    /// copied byte for byte in its original order, `text` (when `newText` is given) is replaced
    /// in place, then `extra` members (key, raw JSON value) are appended. Plain-text records
    /// become `{"text": ...}` followed by `extra`. Ends with `\n`.
    public func writeJSON(newText: UnsafeRawBufferPointer?, drop: [String] = [], extra: [(String, [UInt8])] = [],
                          into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var first = true
        func sep() { if !first { out.append(UInt8(ascii: ",")) }; first = false }
        if let spans {
            for (i, m) in spans.members.enumerated() {
                let keyBytes = UnsafeRawBufferPointer(rebasing: line[m.key])
                if !drop.isEmpty || !extra.isEmpty {
                    let key = String(decoding: JSONScanner.decodeString(line, m.key), as: UTF8.self)
                    if drop.contains(key) || extra.contains(where: { $0.0 == key }) { continue }
                }
                sep()
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: keyBytes)
                out.append(UInt8(ascii: "\""))
                out.append(UInt8(ascii: ":"))
                if i == textIndex, let newText {
                    JSONWriter.appendString(newText, into: &out)
                } else {
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[m.value]))
                }
            }
        } else if !drop.contains("text") {
            sep()
            out.append(contentsOf: Array("\"text\":".utf8))
            JSONWriter.appendString(newText ?? line, into: &out)
        }
        for (k, v) in extra {
            sep()
            JSONWriter.appendString(k, into: &out)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: v)
        }
        out.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
    }
}

/// Reads records from files or stdin (plain or gzip), one callback per record.
///
/// Blank lines are skipped in JSON Lines inputs. A line that is not a JSON object, or an object
/// without a string `text`, is an error naming the input and the line; `requireText: false`
/// accepts objects without `text` (tools that read other fields).
public struct RecordReader {
    public var paths: [String]
    public var format: RecordFormat
    public var requireText: Bool
    /// Names of the text and label members or columns, and the fastText label prefix.
    public var fields: RecordFields
    /// Replace invalid UTF-8 by U+FFFD (as Python's "replace" does) before a record is parsed,
    /// counting what was replaced in ``InvalidUTF8`` for the tool's warning.
    public var repairUTF8 = false
    /// Auto mode: leading blank lines held before deciding the format (see ``forEach(idle:_:)``).
    static let maxHeldBlank = 4096

    /// Reads `paths` in order (`["-"]` or empty: stdin).
    public init(paths: [String], format: RecordFormat = .auto, requireText: Bool = true, fields: RecordFields = RecordFields()) {
        self.paths = paths.isEmpty ? ["-"] : paths
        self.format = format
        self.requireText = requireText
        self.fields = fields
    }

    /// Calls `body` with every record of every input, in order. `idle`, when given, is called
    /// whenever the next line has not arrived yet (a pipe or terminal that would block), so that
    /// a streaming tool can flush what it wrote: a line out soon after a line in.
    public func forEach(idle: (() throws -> Void)? = nil, _ body: (Record) throws -> Void) throws {
        var renamed: [UInt8] = []
        var repaired: [UInt8] = []
        var fix = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 12, alignment: 16)
        defer { fix.deallocate() }
        for path in paths {
            let reader = try LineReader(path: path, feed: .streaming)
            var mode: RecordFormat = format == .auto ? RecordFormat.byName(path) : format
            if mode == .tsv || mode == .csv || mode == .fasttext {
                try forEachRow(reader, mode, idle: idle, body)
                continue
            }
            // Auto mode: blank lines before the first non-blank one, held until the format is
            // known (plain text: each is a record, so that every line gets its answer; JSON
            // Lines: skipped). An input of only blank lines is plain text, and so is one that
            // starts with more than `maxHeldBlank` of them (memory stays bounded).
            var heldBlank: [[UInt8]] = []
            /// Gives the held blank lines to `body` as plain-text records; the last one held is
            /// line `last`.
            func releaseHeld(last: Int) throws {
                for (k, blank) in heldBlank.enumerated() {
                    try blank.withUnsafeBytes {
                        try body(Record(line: $0, spans: nil, textIndex: nil, source: reader.name,
                                        lineNumber: last - heldBlank.count + 1 + k))
                    }
                }
                heldBlank.removeAll()
            }
            while true {
                if let idle, reader.wouldBlock { try idle() }
                guard var line = try reader.next() else {
                    if mode == .auto { try releaseHeld(last: reader.lineNumber) }
                    break
                }
                // A UTF-8 byte order mark opens some files written on Windows: it is not part of
                // the first record (JSON Lines with a BOM is still JSON Lines).
                if reader.lineNumber == 1, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
                    line = UnsafeRawBufferPointer(rebasing: line[3...])
                }
                if repairUTF8, let at = UTF8Repair.firstInvalid(line) {
                    repaired.removeAll(keepingCapacity: true)
                    let n = UTF8Repair.repair(line, into: &repaired)
                    InvalidUTF8.note(sequences: n, place: "\(reader.name):\(reader.lineNumber) (byte \(at + 1) of the line)")
                    if repaired.count > fix.count {
                        fix.deallocate()
                        fix = .allocate(byteCount: repaired.count * 2, alignment: 16)
                    }
                    repaired.withUnsafeBytes { fix.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    line = UnsafeRawBufferPointer(start: fix.baseAddress, count: repaired.count)
                }
                if mode == .auto {
                    if reader.lineNumber == 1 && RecordReader.isSafeTensors(line) {
                        throw RNNError(path: reader.name, "a safetensors file (an rnn-vocab vocabulary, rnn-encode dataset or checkpoint), not text or JSON Lines; to classify encoded records, give rnn-encode's JSON Lines output (rnn-encode without -o), or the text itself")
                    }
                    var i = 0
                    while i < line.count && (line[i] == 0x20 || line[i] == 0x09) { i += 1 }
                    if i == line.count && heldBlank.count < RecordReader.maxHeldBlank {
                        heldBlank.append(Array(line)); continue  // undecided until a non-blank line
                    }
                    mode = i < line.count && line[i] == UInt8(ascii: "{") ? .jsonl : .text
                    if mode == .text { try releaseHeld(last: reader.lineNumber - 1) } else { heldBlank.removeAll() }
                }
                if mode == .text {
                    try body(Record(line: line, spans: nil, textIndex: nil, source: reader.name, lineNumber: reader.lineNumber))
                    continue
                }
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                var spans: JSONRecordSpans
                do {
                    spans = try JSONRecordSpans(line)
                } catch let e as JSONSyntaxError {
                    throw RNNError(path: reader.name, line: reader.lineNumber, "not a JSON object: \(e.description) (use --format text for plain text input)")
                }
                if fields.renames {
                    try renameMembers(line, spans, fields: fields, source: reader.name, lineNumber: reader.lineNumber, into: &renamed)
                    try renamed.withUnsafeBytes { r in
                        spans = try JSONRecordSpans(r)
                        try deliver(r, spans, reader.name, reader.lineNumber, body)
                    }
                } else {
                    try deliver(line, spans, reader.name, reader.lineNumber, body)
                }
            }
        }
    }

    /// The first line of a safetensors container (the suite's binary files): an 8-byte
    /// little-endian header length below 2^32, then the JSON header `{"`. No text line starts so
    /// (bytes 4-7 are NUL).
    public static func isSafeTensors(_ line: UnsafeRawBufferPointer) -> Bool {
        guard line.count >= 10, line[4] == 0, line[5] == 0, line[6] == 0, line[7] == 0,
              line[8] == UInt8(ascii: "{"), line[9] == UInt8(ascii: "\"") else { return false }
        let n = (0 ..< 4).reduce(0) { $0 | Int(line[$1]) << (8 * $1) }
        return n >= 2
    }

    /// Checks the `text` member of a JSON record and gives the record to `body`.
    private func deliver(_ line: UnsafeRawBufferPointer, _ spans: JSONRecordSpans, _ source: String, _ lineNumber: Int,
                         _ body: (Record) throws -> Void) throws {
        let ti = spans.index(of: "text", in: line)
        if let ti {
            if line[spans.members[ti].value.lowerBound] != UInt8(ascii: "\"") {
                throw RNNError(path: source, line: lineNumber, "the \"\(fields.text)\" field is not a string")
            }
        } else if requireText {
            throw RNNError(path: source, line: lineNumber, "record has no \"\(fields.text)\" field (every JSON record needs a \"\(fields.text)\" string; --text-field names another member)")
        }
        try body(Record(line: line, spans: spans, textIndex: ti, source: source, lineNumber: lineNumber))
    }

    /// TSV, CSV and fastText inputs: every row as its JSON record (TableRecords.swift).
    private func forEachRow(_ reader: LineReader, _ mode: RecordFormat, idle: (() throws -> Void)?,
                            _ body: (Record) throws -> Void) throws {
        let rows = RowConverter(format: mode, fields: fields, source: reader.name)
        while true {
            if let idle, reader.wouldBlock { try idle() }
            guard let line = try reader.next() else { break }
            guard let first = try rows.feed(line, lineNumber: reader.lineNumber) else { continue }
            try rows.json.withUnsafeBytes { j in
                try deliver(j, try JSONRecordSpans(j), reader.name, first, body)
            }
        }
        try rows.finish()
    }
}

/// Invalid UTF-8 replaced while reading records (``RecordReader/repairUTF8``), for the one warning
/// a tool prints at the end: how many sequences, in how many records, and the first place.
public enum InvalidUTF8 {
    nonisolated(unsafe) public private(set) static var sequences = 0
    nonisolated(unsafe) public private(set) static var records = 0
    nonisolated(unsafe) public private(set) static var first: String?

    /// Counts `sequences` replacements in one record at `place` ("file:line").
    public static func note(sequences n: Int, place: String) {
        sequences += n
        records += 1
        if first == nil { first = place }
    }

    /// The warning line for `tool`, nil when nothing was replaced.
    public static func warning(_ tool: String) -> String? {
        guard let first else { return nil }
        return "\(tool): warning: \(formatThousands(sequences)) invalid UTF-8 sequence\(sequences == 1 ? "" : "s") in \(formatThousands(records)) record\(records == 1 ? "" : "s") replaced by U+FFFD (first at \(first)); fix the encoding of the input (e.g. iconv -f latin1 -t utf-8) to keep the original characters"
    }
}
