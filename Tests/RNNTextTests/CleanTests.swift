import Foundation
import XCTest
@testable import RNNText

final class CleanTests: XCTestCase {
    /// The cleaning of `s` by both engines, which must agree.
    func clean(_ s: String, _ opts: CleanOptions = CleanOptions(), file: StaticString = #filePath, line: UInt = #line) throws -> String? {
        var results: [String?] = []
        for engine in CleanEngine.allCases {
            var o = opts
            o.engine = engine
            let c = try TextCleaner(options: o)
            let b = Array(s.utf8)
            results.append(b.withUnsafeBytes { c.clean($0).map { String(decoding: $0, as: UTF8.self) } })
        }
        XCTAssertEqual(results[0], results[1], "pcre2 and fused engines differ on \(s.debugDescription)", file: file, line: line)
        return results[0]
    }

    func testReferenceExamples() throws {
        XCTAssertEqual(try clean("Great <br />Movie!!"), "great movie ")
        XCTAssertEqual(try clean("He's <b>GOOD</b>, isn't he?"), "he's good isn't he ")
        XCTAssertEqual(try clean("a\\b"), "a\\b")                        // backslash stays
        XCTAssertEqual(try clean("  x\t\n y  "), " x y ")
        XCTAssertEqual(try clean("a < b > c"), "a c")                   // tag spans "< b >"
        XCTAssertEqual(try clean("a < b"), "a b")                       // unclosed < is punctuation
        XCTAssertEqual(try clean("<<a>b"), " b")
        XCTAssertEqual(try clean("x<y"), "x y")
        XCTAssertEqual(try clean("a <b\nc> d"), "a d")                 // [^>] spans newlines
        XCTAssertNil(try clean(""))
        XCTAssertNil(try clean("<br /><br />!!! "))                     // dropped: only a space left
        XCTAssertEqual(try clean("İ ΑΣ ΑΣΑ Σ"), "i\u{307} ας ασα σ")     // U+0130, final sigma
        XCTAssertEqual(try clean("a\u{1c}b\u{85}c\u{a0}d\u{2028}e\u{200b}f"), "a b c d e\u{200b}f")
    }

    func testOptions() throws {
        XCTAssertEqual(try clean("Don't STOP, now!", CleanOptions(keepCase: true)), "Don't STOP now ")
        XCTAssertEqual(try clean("don't stop, now!", CleanOptions(punctuation: .separate)), "don't stop , now ! ")
        XCTAssertEqual(try clean("a,b <br/>c", CleanOptions(punctuation: .keep)), "a,b c")
        XCTAssertEqual(try clean("see https://x.org/a?b=1 now", CleanOptions(removePatterns: [#"https?://\S+"#])), "see now")
        XCTAssertThrowsError(try TextCleaner(options: CleanOptions(removePatterns: ["("])))
    }

    func testInvalidUTF8IsReplacedLikePython() throws {
        let cases: [[UInt8]] = [[0x61, 0xFF, 0x62], [0xE0, 0x80, 0x41], [0xF0, 0x90, 0x80], [0xED, 0xA0, 0x80],
                                [0xC3], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82, 0xAC, 0x80]]
        var input = Data()
        for c in cases { input.append(contentsOf: c); input.append(0x0A) }
        let ref = try python3("clean_reference.py", ["--format", "text"], input: input)
        for engine in CleanEngine.allCases {
        let c = try TextCleaner(options: CleanOptions(engine: engine))
        var ours = Data()
        var total = 0
        for b in cases {
            if let r = b.withUnsafeBytes({ c.clean($0) }) { ours.append(contentsOf: r); ours.append(0x0A) }
            total += c.lastInvalidCount
        }
        XCTAssertEqual(String(decoding: ours, as: UTF8.self), String(decoding: ref, as: UTF8.self))
        XCTAssertEqual(total, 15)   // 1 + 2 + 1 + 3 + 1 + 2 + 4 + 1 maximal subparts
        }
    }

    /// Every Unicode scalar, alone and around Σ (final-sigma context), against python3.
    func testEveryCodePointMatchesPython() throws {
        var input = ""
        var n = 0
        for cp in UInt32(1)...0x10FFFF {
            guard let u = Unicode.Scalar(cp), cp != 0x0A, cp != 0x0D else { continue }
            let c = String(Character(u))
            input += "A\(c)Σ\(c)ΣB Σ\(c) \(c)Σ\(c)x|"
            n += 1
            if n % 512 == 0 { input += "\n" }
        }
        input += "\n"
        let data = Data(input.utf8)
        let ref = try python3("clean_reference.py", ["--format", "text"], input: data)
        for engine in CleanEngine.allCases {
        let c = try TextCleaner(options: CleanOptions(engine: engine))
        var ours = Data()
        for line in input.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            var s = String(line)
            s.withUTF8 { b in
                if let r = c.clean(UnsafeRawBufferPointer(b)) { ours.append(contentsOf: r); ours.append(0x0A) }
            }
        }
        let refLines = ref.split(separator: 0x0A, omittingEmptySubsequences: false)
        let ourLines = ours.split(separator: 0x0A, omittingEmptySubsequences: false)
        XCTAssertEqual(refLines.count, ourLines.count)
        for (i, (a, b)) in zip(refLines, ourLines).enumerated() where a != b {
            let x = Array(a), y = Array(b)
            let d = (0..<min(x.count, y.count)).first { x[$0] != y[$0] } ?? min(x.count, y.count)
            XCTFail("\(engine): line \(i + 1) differs at byte \(d): python ...\(String(decoding: x[max(0, d - 20)..<min(x.count, d + 20)], as: UTF8.self)) vs ours ...\(String(decoding: y[max(0, d - 20)..<min(y.count, d + 20)], as: UTF8.self))")
            break
        }
        }
    }

    func testUTF8Repair() {
        var out: [UInt8] = []
        let bad: [UInt8] = [0x61, 0xE2, 0x82, 0x62]
        XCTAssertEqual(bad.withUnsafeBytes { UTF8Repair.firstInvalid($0) }, 1)
        XCTAssertEqual(bad.withUnsafeBytes { UTF8Repair.repair($0, into: &out) }, 1)
        XCTAssertEqual(out, [0x61, 0xEF, 0xBF, 0xBD, 0x62])
        XCTAssertNil(Array("héllo wörld ✓ 😀".utf8).withUnsafeBytes { UTF8Repair.firstInvalid($0) })
    }
}

final class UnicodeTablesTests: XCTestCase {
    /// The committed tables are what this machine's python3 generates (else regenerate them).
    func testTablesMatchThisPython() throws {
        let generated = try python3("gen_unicode_tables.py", [])
        let committed = try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/Sources/RNNText/UnicodeTables.swift"))
        XCTAssertTrue(generated == committed,
                      "Sources/RNNText/UnicodeTables.swift is stale for this python3; run: python3 scripts/reference/gen_unicode_tables.py > Sources/RNNText/UnicodeTables.swift")
    }
}
