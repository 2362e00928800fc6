import Foundation
import XCTest
import RNNCore
@testable import RNNText

/// TSV, CSV and fastText inputs give the same records as the equivalent JSON Lines; malformed rows
/// are errors naming the file and the line.
final class RecordFormatsTests: XCTestCase {
    /// Every record of `path` as (text, label, line, the record written back as JSON).
    func records(_ path: String, _ format: RecordFormat = .auto, fields: RecordFields = RecordFields()) throws -> [(String, String?, Int, String)] {
        var out: [(String, String?, Int, String)] = []
        try RecordReader(paths: [path], format: format, fields: fields).forEach { r in
            var json: [UInt8] = []
            r.writeJSON(newText: nil, into: &json)
            out.append((String(decoding: r.text(), as: UTF8.self), r.stringField("label"), r.lineNumber, String(decoding: json, as: UTF8.self)))
        }
        return out
    }

    func write(_ text: String, _ name: String) -> String {
        let path = makeTempDir("formats-" + name) + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// The same three records (a comma, a tab, quotes, a line break, non-ASCII text, an empty
    /// label) in every format: the same texts, labels and JSON records.
    func testEveryFormatGivesTheSameRecords() throws {
        let jsonl = write("""
            {"label":"food","text":"soup, \\"hot\\"","id":"1"}
            {"label":"wine","text":"two\\nlines","id":"2"}
            {"label":null,"text":"crème brûlée","id":"3"}

            """, "r.jsonl")
        let tsv = write("label\ttext\tid\nfood\t\"soup, \"\"hot\"\"\"\t1\nwine\t\"two\nlines\"\t2\n\tcrème brûlée\t3\n", "r.tsv")
        let csv = write("label,text,id\r\nfood,\"soup, \"\"hot\"\"\",1\r\nwine,\"two\nlines\",2\r\n,crème brûlée,3\r\n", "r.csv")
        let expected = try records(jsonl)
        XCTAssertEqual(expected.count, 3)
        for path in [tsv, csv] {
            let got = try records(path)
            XCTAssertEqual(got.map { $0.0 }, expected.map { $0.0 }, path)
            XCTAssertEqual(got.map { $0.1 }, expected.map { $0.1 }, path)
            XCTAssertEqual(got.map { $0.3 }, expected.map { $0.3 }, path)
        }
        // lines: where each record starts (the header is line 1; record 2 spans lines 3-4)
        XCTAssertEqual(try records(tsv).map { $0.2 }, [2, 3, 5])
        // the same through gzip, named .tsv.gz, and with --format when the name says nothing
        let gz = tsv + ".gz"
        XCTAssertEqual(try runProcess("/bin/sh", ["-c", "gzip -c '\(tsv)' > '\(gz)'"]).0, 0)
        XCTAssertEqual(try records(gz).map { $0.3 }, expected.map { $0.3 })
        let noName = write(try String(contentsOfFile: csv, encoding: .utf8), "r.data")
        XCTAssertEqual(try records(noName, .csv).map { $0.3 }, expected.map { $0.3 })
    }

    func testFastText() throws {
        let ft = write("__label__food __label__wine this soup\n__label__food  tasty\tsoup\n\nno label here\n", "r.txt")
        let r = try records(ft, .fasttext)
        XCTAssertEqual(r.map { $0.0 }, ["this soup", "tasty soup", "", "no label here"])
        XCTAssertEqual(r.map { $0.1 }, ["[\"food\",\"wine\"]", "food", nil, nil])
        XCTAssertNil(r[3].1)
        // several labels: a list (a multi-label record), in their order
        var sets: [[String]?] = []
        try RecordReader(paths: [ft], format: .fasttext).forEach { sets.append(try $0.labels()) }
        XCTAssertEqual(sets, [["food", "wine"], ["food"], nil, nil])
        // a label given twice is an error naming the line
        let dup = write("__label__a x\n__label__b __label__b y\n", "dup.txt")
        XCTAssertThrowsError(try RecordReader(paths: [dup], format: .fasttext).forEach { _ = try $0.labels() }) { e in
            XCTAssertTrue("\(e)".contains("dup.txt:2") && "\(e)".contains("given twice"), "\(e)")
        }
        var prefix = RecordFields()
        prefix.labelPrefix = "#"
        let hashes = write("#pos great\n", "h.txt")
        XCTAssertEqual(try records(hashes, .fasttext, fields: prefix).map { $0.1 }, ["pos"])
    }

    func testOtherFieldNamesAndNumberedColumns() throws {
        var f = RecordFields()
        f.text = "review"
        f.label = "stars"
        let jsonl = write("{\"stars\":\"5\",\"review\":\"Great\",\"id\":1}\n", "o.jsonl")
        XCTAssertEqual(try records(jsonl, fields: f).map { $0.3 }, ["{\"label\":\"5\",\"text\":\"Great\",\"id\":1}\n"])
        let tsv = write("stars\treview\n5\tGreat\n", "o.tsv")
        XCTAssertEqual(try records(tsv, fields: f).map { $0.3 }, ["{\"label\":\"5\",\"text\":\"Great\"}\n"])
        var n = RecordFields()
        n.text = "2"
        n.label = "1"
        let bare = write("food\tgood soup\twhatever\n", "n.tsv")
        XCTAssertEqual(try records(bare, fields: n).map { $0.3 }, ["{\"label\":\"food\",\"text\":\"good soup\",\"column3\":\"whatever\"}\n"])
    }

    func testMalformedRowsNameFileAndLine() throws {
        let cases: [(String, String, RecordFormat, String)] = [
            ("label\ttext\nfood\tx\ty\n", "a.tsv", .auto, "a.tsv:2: 3 field(s) where the header has 2"),
            ("label,text\npos,\"never closed\nstill\n", "b.csv", .auto, "b.csv:2: unterminated quoted field"),
            ("label,text\npos,\"closed\"then more\n", "c.csv", .auto, "c.csv:2: text after the closing quote"),
            ("a\tb\nx\ty\n", "d.tsv", .auto, "d.tsv:1: the header has no column \"text\""),
            ("text,label,text\nx,y,z\n", "e.csv", .auto, "e.csv:1: column \"text\" would clash"),
            ("label,text\n", "f.csv", .auto, ""),
        ]
        for (content, name, format, message) in cases {
            let path = write(content, name)
            if message.isEmpty {
                XCTAssertEqual(try records(path, format).count, 0)
                continue
            }
            XCTAssertThrowsError(try records(path, format), name) { e in
                XCTAssertTrue("\(e)".contains(message), "\(name): \(e)")
            }
        }
    }
}
