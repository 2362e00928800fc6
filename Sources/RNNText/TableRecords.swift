// Records from TSV, CSV and fastText files: each row becomes the JSON object line the rest of the
// suite reads (`{"label":...,"text":...,<other columns>}`), so every tool downstream sees the same
// records as from the equivalent JSON Lines file.
//
// TSV and CSV (RFC 4180 quoting): the first row is a header naming the columns, unless the text
// column is given by number (`--text-field 2`: no header, columns numbered from 1). A field that
// starts with `"` is quoted: `""` inside it is one quote, and it may hold separators and line
// breaks. Every row must have as many fields as the header; an unterminated quote, text after a
// closing quote or a wrong field count is an error naming the file and the line. Blank lines are
// skipped. fastText: every whitespace-separated token that starts with the label prefix
// (`__label__`) is a label, the other tokens, joined by single spaces, are the text.
import RNNCore

/// Which members hold a record's text and label, and how fastText marks labels.
public struct RecordFields: Sendable, Equatable {
    /// The text: a JSON member or TSV/CSV column name, or (TSV/CSV) a 1-based column number.
    public var text = "text"
    /// The label, like `text`; a record without it (or with an empty cell) has no label.
    public var label = "label"
    /// fastText: the prefix that marks a label token.
    public var labelPrefix = "__label__"
    public init() {}

    /// True when JSON records must be rewritten to the standard member names.
    var renames: Bool { text != "text" || label != "label" }
}

/// Turns the rows of one TSV, CSV or fastText input into JSON object lines.
final class RowConverter {
    private let format: RecordFormat
    private let fields: RecordFields
    private let source: String
    private let separator: UInt8
    /// Output member name of every column (after the header), nil before it.
    private var keys: [[UInt8]]? = nil
    private var textColumn = -1
    private var labelColumn = -1
    /// A quoted field that goes on over the next line: the bytes so far and the first line.
    private var pending: [UInt8] = []
    private var pendingLine = 0
    /// The JSON line of the last complete record.
    private(set) var json: [UInt8] = []

    init(format: RecordFormat, fields: RecordFields, source: String) {
        self.format = format
        self.fields = fields
        self.source = source
        separator = format == .csv ? UInt8(ascii: ",") : 0x09
        if format == .tsv || format == .csv, let t = Int(fields.text) {
            // numbered columns, no header
            textColumn = t - 1
            labelColumn = Int(fields.label).map { $0 - 1 } ?? -1
        }
    }

    /// Feeds line `lineNumber`; returns the 1-based line where the record began when `json` holds
    /// a complete record, nil when the line was a header, blank or the start of a multi-line
    /// quoted field.
    func feed(_ line: UnsafeRawBufferPointer, lineNumber: Int) throws -> Int? {
        if format == .fasttext { fastText(line); return lineNumber }
        if pending.isEmpty {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }  // blank: not a row
            pendingLine = lineNumber
        } else {
            pending.append(0x0A)
        }
        pending.append(contentsOf: line)
        guard let row = try split(pending) else { return nil }  // a quoted field goes on
        pending.removeAll(keepingCapacity: true)
        if keys == nil {
            if textColumn >= 0 {
                guard textColumn < row.count, labelColumn < row.count else {
                    throw RNNError(path: source, line: pendingLine, "--text-field \(textColumn + 1) / --label-field: the row has only \(row.count) column(s)")
                }
                keys = (0 ..< row.count).map { Array(($0 == textColumn ? "text" : $0 == labelColumn ? "label" : "column\($0 + 1)").utf8) }
            } else {
                try header(row)
                return nil
            }
        }
        guard let keys else { return nil }
        guard row.count == keys.count else {
            throw RNNError(path: source, line: pendingLine, "\(row.count) field(s) where the header has \(keys.count); quote fields that hold a \(format == .csv ? "comma" : "tab") (RFC 4180: \"...\")")
        }
        json.removeAll(keepingCapacity: true)
        json.append(UInt8(ascii: "{"))
        for (j, value) in row.enumerated() {
            if j > 0 { json.append(UInt8(ascii: ",")) }
            keys[j].withUnsafeBytes { JSONWriter.appendString($0, into: &json) }
            json.append(UInt8(ascii: ":"))
            if j == labelColumn && value.isEmpty {
                json.append(contentsOf: "null".utf8)
            } else {
                value.withUnsafeBytes { JSONWriter.appendString($0, into: &json) }
            }
        }
        json.append(UInt8(ascii: "}"))
        return pendingLine
    }

    /// At the end of the input: a quoted field still open is an error.
    func finish() throws {
        if !pending.isEmpty {
            throw RNNError(path: source, line: pendingLine, "unterminated quoted field (a \" that is never closed)")
        }
    }

    /// The header row: column names; the text column must be there.
    private func header(_ row: [[UInt8]]) throws {
        var names = row.map { String(decoding: $0, as: UTF8.self) }
        if let first = names.first, first.hasPrefix("\u{FEFF}") { names[0].removeFirst() }  // a UTF-8 byte order mark
        guard let t = names.firstIndex(of: fields.text) else {
            throw RNNError(path: source, line: pendingLine, "the header has no column \"\(fields.text)\" (columns: \(names.joined(separator: ", "))); name the text column with --text-field NAME, or give its number (--text-field 2) for a file without a header")
        }
        textColumn = t
        labelColumn = names.firstIndex(of: fields.label) ?? -1
        for (j, n) in names.enumerated() where (n == "text" && j != textColumn) || (n == "label" && j != labelColumn) {
            throw RNNError(path: source, line: pendingLine, "column \"\(n)\" would clash with the \(n) chosen by --\(n)-field; rename it in the header")
        }
        keys = names.enumerated().map { j, n in Array((j == textColumn ? "text" : j == labelColumn ? "label" : n).utf8) }
    }

    /// The fields of one record (RFC 4180), or nil when a quoted field is not closed yet.
    private func split(_ b: [UInt8]) throws -> [[UInt8]]? {
        var row: [[UInt8]] = []
        var cur: [UInt8] = []
        var i = 0
        let n = b.count
        var fieldStart = true
        while i < n {
            let c = b[i]
            if fieldStart && c == UInt8(ascii: "\"") {
                i += 1
                while true {
                    guard i < n else { return nil }
                    if b[i] == UInt8(ascii: "\"") {
                        if i + 1 < n && b[i + 1] == UInt8(ascii: "\"") { cur.append(b[i]); i += 2; continue }
                        i += 1
                        break
                    }
                    cur.append(b[i]); i += 1
                }
                if i < n && b[i] != separator {
                    throw RNNError(path: source, line: pendingLine, "text after the closing quote of field \(row.count + 1) (a quote inside a quoted field is written \"\")")
                }
                fieldStart = false
                continue
            }
            if c == separator {
                row.append(cur); cur.removeAll(keepingCapacity: true)
                fieldStart = true
            } else {
                cur.append(c)
                fieldStart = false
            }
            i += 1
        }
        row.append(cur)
        return row
    }

    /// One fastText line: label tokens out, the rest is the text.
    private func fastText(_ line: UnsafeRawBufferPointer) {
        var labels: [UnsafeRawBufferPointer] = []
        var text: [UInt8] = []
        let prefix = Array(fields.labelPrefix.utf8)
        Tokenizer.forEachWord(in: line) { tok in
            if tok.count > prefix.count && tok.starts(with: prefix) {
                labels.append(UnsafeRawBufferPointer(rebasing: tok[prefix.count...]))
            } else {
                if !text.isEmpty { text.append(0x20) }
                text.append(contentsOf: tok)
            }
        }
        json.removeAll(keepingCapacity: true)
        json.append(contentsOf: "{\"text\":".utf8)
        text.withUnsafeBytes { JSONWriter.appendString($0, into: &json) }
        if !labels.isEmpty {
            json.append(contentsOf: ",\"label\":".utf8)
            if labels.count > 1 { json.append(UInt8(ascii: "[")) }
            for (k, l) in labels.enumerated() {
                if k > 0 { json.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(l, into: &json)
            }
            if labels.count > 1 { json.append(UInt8(ascii: "]")) }
        }
        json.append(UInt8(ascii: "}"))
    }
}

/// JSON records whose text and label members have other names (`--text-field`, `--label-field`):
/// the line rewritten with those members named `text` and `label`.
func renameMembers(_ line: UnsafeRawBufferPointer, _ spans: JSONRecordSpans, fields: RecordFields,
                   source: String, lineNumber: Int, into out: inout [UInt8]) throws {
    out.removeAll(keepingCapacity: true)
    out.append(UInt8(ascii: "{"))
    for (i, m) in spans.members.enumerated() {
        let key = String(decoding: JSONScanner.decodeString(line, m.key), as: UTF8.self)
        var name = key
        if key == fields.text { name = "text" } else if key == fields.label { name = "label" } else if key == "text" || key == "label" {
            throw RNNError(path: source, line: lineNumber, "the record has a \"\(key)\" member besides the one chosen by --\(key)-field; rename one of them")
        }
        if i > 0 { out.append(UInt8(ascii: ",")) }
        JSONWriter.appendString(name, into: &out)
        out.append(UInt8(ascii: ":"))
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[m.value]))
    }
    out.append(UInt8(ascii: "}"))
}
