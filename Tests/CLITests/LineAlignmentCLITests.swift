import Foundation
import XCTest

/// One answer per input line (issue 16): in plain-text mode every tool of the classification path
/// writes exactly one line per input line, so `paste input <(pipeline)` pairs every line with its
/// own answer; training tools skip records without tokens and count them.
final class LineAlignmentCLITests: XCTestCase {
    /// Leading blank lines, a blank line, a whitespace line, punctuation only, tags only, a tag
    /// and punctuation mix, and a last line without a newline.
    static let awkward = "\n  \ngood film\n\n!!! ... ?\n<br /><i></i>\ngreat plot, not boring\n \t \n<p>--</p>\nbad acting"
    static var awkwardLines: [String] { awkward.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

    /// A folder with v.bin (a vocabulary) and m.ckpt (a bi-GRU with random weights over it).
    func model(_ name: String) throws -> String {
        let dir = Support.tempDir("align-" + name)
        Support.write(ClassifyCLITests.records(40), to: dir + "/train.jsonl")
        let r = try Support.tool("rnn-vocab", [dir + "/train.jsonl", "-o", dir + "/v.bin"])
        XCTAssertEqual(r.0, 0, r.2)
        try ClassifyCLITests.writeCheckpoint(dir + "/m.ckpt", vocab: dir + "/v.bin")
        Support.write(Self.awkward, to: dir + "/in.txt")
        return dir
    }

    /// Output lines (the last newline ends the last line).
    static func lines(_ out: String) -> [String] {
        var l = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if l.last == "" { l.removeLast() }
        return l
    }

    func testCleanWritesOneLinePerLine() throws {
        let dir = try model("clean")
        let r = try E2E.sh("rnn-clean \"$0\"", args: [dir + "/in.txt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = Self.lines(r.out)
        XCTAssertEqual(out.count, Self.awkwardLines.count, r.out)
        XCTAssertEqual(out, ["", "", "good film", "", "", "", "great plot not boring", "", "", "bad acting"])
        // the drop-empty reference behaviour keeps only the lines with words
        let d = try E2E.sh("rnn-clean --drop-empty \"$0\"", args: [dir + "/in.txt"])
        XCTAssertEqual(Self.lines(d.out), ["good film", "great plot not boring", "bad acting"])
        // an input of only blank lines is plain text: one empty line each
        let b = try E2E.sh("printf '\\n\\n \\n' | rnn-clean")
        XCTAssertEqual(b.out, "\n\n\n")
    }

    func testEncodeWritesOneRecordPerLine() throws {
        let dir = try model("encode")
        for fix in [[], ["--fix-length", "4"]] {
            let r = try E2E.sh("rnn-clean \"$0\" | rnn-encode --vocab \"$1\" \"${@:2}\"", args: [dir + "/in.txt", dir + "/v.bin"] + fix)
            XCTAssertEqual(r.status, 0, r.stderr)
            let out = Self.lines(r.out)
            XCTAssertEqual(out.count, Self.awkwardLines.count, r.out)
            let lengths = out.map { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["length"] as? Int }
            XCTAssertEqual(lengths, [0, 0, 2, 0, 0, 0, 4, 0, 0, 2].map { min($0, fix.isEmpty ? 99 : 4) })
            XCTAssertTrue(r.stderr.contains("7 without tokens"), r.stderr)
        }
        // a training dataset skips them and says so
        let b = try E2E.sh("rnn-clean \"$0\" | rnn-encode --vocab \"$1\" -o \"$2\"", args: [dir + "/in.txt", dir + "/v.bin", dir + "/d.bin"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stderr.contains("3 records") && b.stderr.contains("skipped 7 records without tokens"), b.stderr)
    }

    /// Both pipelines, JSONL and TSV: N lines in, N answers out; each answer is the one the line
    /// gets on its own, so paste pairs every line with its answer; empty records get the
    /// documented null answer.
    func testClassifyPipelinesAnswerEveryLine() throws {
        let dir = try model("classify")
        let pipelines = [
            "rnn-clean | rnn-encode --vocab \"$1\" | rnn-classify -m \"$2\" -q",
            "rnn-clean | rnn-classify -m \"$2\" -q --no-text",
            "rnn-classify -m \"$2\" -q --no-text",
            "rnn-clean | rnn-classify -m \"$2\" -q --output-format tsv",
        ]
        for pipeline in pipelines {
            let whole = try E2E.sh("set -o pipefail; { " + pipeline + "; } < \"$0\"", args: [dir + "/in.txt", dir + "/v.bin", dir + "/m.ckpt"])
            XCTAssertEqual(whole.status, 0, whole.stderr)
            let answers = Self.lines(whole.out)
            XCTAssertEqual(answers.count, Self.awkwardLines.count, pipeline + "\n" + whole.out)
            // paste: line i of the input next to line i of the output
            let pasted = try E2E.sh("paste \"$0\" <({ " + pipeline + "; } < \"$0\")", args: [dir + "/in.txt", dir + "/v.bin", dir + "/m.ckpt"])
            XCTAssertEqual(Self.lines(pasted.out).count, Self.awkwardLines.count)
            for (i, line) in Self.awkwardLines.enumerated() {
                let alone = try E2E.sh("printf '%s\\n' \"$3\" | { " + pipeline + "; }", args: [dir + "/in.txt", dir + "/v.bin", dir + "/m.ckpt", line])
                XCTAssertEqual(alone.status, 0, alone.stderr)
                XCTAssertEqual(answers[i], alone.out.trimmingCharacters(in: .newlines), "line \(i + 1) '\(line)' (\(pipeline))")
                // no prediction: lines that clean to nothing, or (raw text) blank lines
                let noTokens = pipeline.contains("rnn-clean") ? ![2, 6, 9].contains(i) : line.allSatisfy { $0 == " " || $0 == "\t" }
                if pipeline.contains("tsv") {
                    XCTAssertEqual(answers[i].hasPrefix("\t\t"), noTokens, answers[i])
                } else {
                    XCTAssertEqual(answers[i].hasSuffix("\"label\":null,\"prob\":null,\"reason\":\"no tokens\"}"), noTokens, answers[i])
                    XCTAssertEqual(answers[i].contains("null"), noTokens, answers[i])
                }
            }
        }
    }

    /// JSON Lines stay 1:1 too: a record whose text cleans to nothing keeps its other members.
    func testJSONLRecordsStayOneToOne() throws {
        let dir = try model("jsonl")
        let input = "{\"id\":1,\"text\":\"good\"}\n{\"id\":2,\"text\":\"<br/>!!\"}\n{\"id\":3,\"text\":\"bad\"}\n"
        Support.write(input, to: dir + "/in.jsonl")
        let r = try E2E.sh("set -o pipefail; rnn-clean \"$0\" | rnn-encode --vocab \"$1\" | rnn-classify -m \"$2\" -q", args: [dir + "/in.jsonl", dir + "/v.bin", dir + "/m.ckpt"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = Self.lines(r.out)
        XCTAssertEqual(out.count, 3)
        XCTAssertTrue(out[1].hasPrefix("{\"id\":2,\"label\":null"), out[1])
    }

    /// Training tools skip records without tokens and count them in their summary line.
    func testVocabSkipsEmptyRecordsAndCountsThem() throws {
        let dir = Support.tempDir("align-vocab")
        Support.write("{\"text\":\"a b\",\"label\":\"x\"}\n{\"text\":\"\",\"label\":\"y\"}\n{\"text\":\" \",\"label\":\"y\"}\n", to: dir + "/t.jsonl")
        let r = try Support.tool("rnn-vocab", [dir + "/t.jsonl", "-o", dir + "/v.bin"])
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.2.contains("1 records (skipped 2 without tokens)"), r.2)
        XCTAssertTrue(r.2.contains("labels: x=0 (1)") && !r.2.contains("y="), r.2)
        Support.write("\n\n", to: dir + "/blank.txt")
        let e = try Support.tool("rnn-vocab", [dir + "/blank.txt", "-o", dir + "/b.bin"])
        Support.assertFails(e, tool: "rnn-vocab", ["hold no token"], noFile: dir + "/b.bin")
    }
}

/// Your own data: TSV, CSV and fastText files through the tools give what the equivalent JSON
/// Lines gives.
final class RecordFormatsCLITests: XCTestCase {
    func testCleanAndClassifyReadEveryFormat() throws {
        let dir = Support.tempDir("formats-cli")
        Support.write("{\"label\":\"pos\",\"text\":\"Good film, great plot\"}\n{\"label\":\"neg\",\"text\":\"bad acting\"}\n", to: dir + "/r.jsonl")
        Support.write("label\ttext\npos\tGood film, great plot\nneg\tbad acting\n", to: dir + "/r.tsv")
        Support.write("text,label\n\"Good film, great plot\",pos\nbad acting,neg\n", to: dir + "/r.csv")
        Support.write("__label__pos Good film, great plot\n__label__neg bad acting\n", to: dir + "/r.ft")
        let want = try E2E.sh("rnn-clean \"$0\"", args: [dir + "/r.jsonl"])
        XCTAssertEqual(want.status, 0, want.stderr)
        for (file, extra) in [("r.tsv", ""), ("r.csv", ""), ("r.ft", "--format fasttext")] {
            let got = try E2E.sh("rnn-clean \(extra) \"$0\"", args: [dir + "/" + file])
            XCTAssertEqual(got.status, 0, got.stderr)
            // same records; the member order follows the input's columns
            let a = got.out.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
            let b = want.out.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
            XCTAssertEqual(a, b, file)
        }
        // a malformed row: one error line naming file and line
        Support.write("label\ttext\npos\tx\ty\n", to: dir + "/bad.tsv")
        let bad = try E2E.sh("rnn-clean \"$0\"", args: [dir + "/bad.tsv"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.hasPrefix("rnn-clean: error: \(dir)/bad.tsv:2: "), bad.stderr)
    }
}

/// `rnn-fit` trains straight from records: the vocabulary and the encoding it makes in memory are
/// rnn-vocab's and rnn-encode's, so the run is the encoded path's, bit for bit.
final class FitFromRecordsCLITests: XCTestCase {
    func testRecordsTrainLikeTheEncodedPath() throws {
        let dir = Support.tempDir("fit-records")
        var tsv = "label\ttext\n"
        let words = ["food": ["soup", "bread", "salty"], "wine": ["red", "dry", "grape"], "sport": ["goal", "team", "ball"]]
        var s: UInt64 = 7
        func next(_ n: Int) -> Int { s = s &* 6364136223846793005 &+ 1442695040888963407; return Int(s >> 33) % n }
        for i in 0 ..< 300 {
            let l = ["food", "wine", "sport"][i % 3]
            tsv += l + "\t" + (0 ..< 6).map { _ in (words[l]! + ["the", "a", "very", "ok"])[next(7)] }.joined(separator: " ") + "!\n"
        }
        Support.write(tsv, to: dir + "/train.tsv")
        Support.write("label\ttext\nfood\tsalty soup\nwine\ta dry red\n", to: dir + "/valid.tsv")
        let fit = "--epochs 2 --hidden 8 --embed-dim 6 --seed 3 --min-freq 2 --fix-length 5 --threads 1 -q"
        let a = try E2E.sh("""
            set -e; cd "$0"
            rnn-clean train.tsv | rnn-fit \(fit) --valid valid.tsv --log a.log -o a.ckpt
            rnn-clean train.tsv > train.jsonl
            rnn-vocab --min-freq 2 train.jsonl -o v.bin -q
            rnn-encode --vocab v.bin --fix-length 5 train.jsonl -o train.bin -q
            rnn-clean valid.tsv | rnn-encode --vocab v.bin --fix-length 5 -o valid.bin -q
            rnn-fit train.bin --vocab v.bin \(fit.replacingOccurrences(of: "--min-freq 2 --fix-length 5 ", with: "")) --valid valid.bin --log b.log -o b.ckpt
            """, args: [dir])
        XCTAssertEqual(a.status, 0, a.stderr)
        func losses(_ f: String) throws -> [Double] {
            try String(contentsOfFile: dir + "/" + f, encoding: .utf8).split(separator: "\n").compactMap {
                (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["valid_loss"] as? Double
            }
        }
        XCTAssertGreaterThanOrEqual(try losses("a.log").count, 2)
        XCTAssertEqual(try losses("a.log"), try losses("b.log"))
        // a run from records resumes with the same records (its validation file is encoded again)
        let r = try E2E.sh("""
            set -e; cd "$0"
            rnn-clean train.tsv > t.jsonl
            rnn-fit t.jsonl --epochs 1 --hidden 8 --embed-dim 6 --seed 3 --min-freq 2 --threads 1 -q --valid valid.tsv -o r.ckpt
            rnn-fit t.jsonl --epochs 2 --min-freq 2 -q --valid valid.tsv --resume r.ckpt --log r.log
            """, args: [dir])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(try String(contentsOfFile: dir + "/r.log", encoding: .utf8).contains("\"epoch\":2"))
        // the classifier answers new text straight away; an encoded DATA refuses record options
        let c = try E2E.sh("printf 'salty bread\\n' | rnn-classify -m \"$0/a.ckpt\" -q", args: [dir])
        XCTAssertTrue(c.out.contains("\"label\":\""), c.out + c.stderr)
        let bad = try E2E.sh("rnn-fit \"$0/train.bin\" --vocab \"$0/v.bin\" --min-freq 2 -o \"$0/c.ckpt\"", args: [dir])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("--min-freq applies only to records"), bad.stderr)
    }
}
