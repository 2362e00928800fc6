import Foundation
import XCTest
import RNNCore
@testable import RNNText

final class VectorsTests: XCTestCase {
    func vocab(_ words: String) -> Vocabulary {
        var b = VocabularyBuilder()
        var s = words
        s.withUTF8 { b.addRecord(text: UnsafeRawBufferPointer($0)) }
        return b.build()
    }

    func parse(_ s: String) -> Float? {
        var s = s
        return s.withUTF8 { FloatParser.parse(UnsafeRawBufferPointer($0)) }
    }

    func testFloatParserEqualsStandardLibrary() {
        let fixed = ["0", "-0", "1", "0.41800", "-0.0010413", "1e-05", "-2.5E+3", "3.4028235e38", "1.17549435e-38",
                     "123456789012345678901234", "0.1", "16777217", "16777219", "0.000000000000000000000000000001",
                     "1.5", ".5", "5.", "+7", "nan", "inf", "-", "", "1e", "abc", "1.2.3", "0x10", "1e400", "2.0000001192092896"]
        for s in fixed {
            let a = parse(s), b = Float(s)
            XCTAssertTrue(a == b || (a?.isNaN == true && b?.isNaN == true), "\(s): \(String(describing: a)) vs \(String(describing: b))")
        }
        var g = SystemRandomNumberGenerator()
        for _ in 0..<200_000 {
            let digits = Int.random(in: 1...12, using: &g)
            var s = Bool.random(using: &g) ? "-" : ""
            let dot = Int.random(in: 0...digits, using: &g)
            for i in 0..<digits { if i == dot { s += "." }; s += String(Int.random(in: 0...9, using: &g)) }
            if Int.random(in: 0..<4, using: &g) == 0 { s += "e\(Int.random(in: -30...30, using: &g))" }
            XCTAssertEqual(parse(s), Float(s), s)
        }
        // Exactly halfway between two Floats (2^24 + 1) must round to even like the stdlib.
        XCTAssertEqual(parse("16777217"), 16777216)
    }

    /// Every value of the real GloVe 50d file parses to the same Float as Float(String).
    func testFloatParserOnRealGloVe() throws {
        let path = Support.data + "/glove.6B.50d.txt.gz"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("GloVe file not available") }
        let r = try LineReader(path: path)
        var values = 0, mismatches = 0, firstBad = ""
        while let line = try r.next() {
            var i = 0
            while line[i] != 0x20 { i += 1 }
            i += 1
            while i < line.count {
                var j = i
                while j < line.count && line[j] != 0x20 { j += 1 }
                let field = UnsafeRawBufferPointer(rebasing: line[i..<j])
                let s = String(decoding: field, as: UTF8.self)
                if FloatParser.parse(field) != Float(s) { mismatches += 1; if firstBad.isEmpty { firstBad = s } }
                values += 1
                i = j + 1
            }
        }
        XCTAssertEqual(values, 400_000 * 50)
        XCTAssertEqual(mismatches, 0, "first mismatch: \(firstBad)")
    }

    func testGloVeAndVecFormats() throws {
        let dir = Support.tempDir("vectors")
        let v = vocab("cat dog cat fish")
        Support.write("the 1 2 3\ncat 0.5 -1.5 2e-1\ndog 4 5 6\ncat 9 9 9\n", to: dir + "/g.txt")
        let g = try PretrainedVectors.load(path: dir + "/g.txt", for: v)
        XCTAssertEqual(g.dim, 3)
        XCTAssertEqual(g.found, 2)
        XCTAssertEqual(g.fileWords, 4)
        let cat = Int(v.id("cat")), dog = Int(v.id("dog")), fish = Int(v.id("fish"))
        XCTAssertEqual(Array(g.matrix[(cat * 3)..<(cat * 3 + 3)]), [0.5, -1.5, 0.2])  // first occurrence wins
        XCTAssertEqual(Array(g.matrix[(dog * 3)..<(dog * 3 + 3)]), [4, 5, 6])
        XCTAssertEqual(Array(g.matrix[(fish * 3)..<(fish * 3 + 3)]), [0, 0, 0])
        XCTAssertEqual(Array(g.matrix[0..<6]), [0, 0, 0, 0, 0, 0])  // specials
        // word2vec/fastText text: header line, trailing spaces.
        Support.write("2 2\ndog 1 2 \nfish 3 4 \n", to: dir + "/f.vec")
        let f = try PretrainedVectors.load(path: dir + "/f.vec", for: v)
        XCTAssertEqual(f.dim, 2)
        XCTAssertEqual(f.found, 2)
        XCTAssertEqual(Array(f.matrix[(fish * 2)..<(fish * 2 + 2)]), [3, 4])
    }

    func testGloVeBadLinesNameFileAndLine() throws {
        let dir = Support.tempDir("badvectors")
        let v = vocab("cat dog")
        Support.write("the 1 2 3\ncat 1 2 3\nzebra 1 2\n", to: dir + "/short.txt")
        XCTAssertThrowsError(try PretrainedVectors.load(path: dir + "/short.txt", for: v)) { e in
            XCTAssertTrue("\(e)".hasPrefix(dir + "/short.txt:3: expected 3 values"), "\(e)")
        }
        Support.write("the 1 2 3\ncat 1 x 3\n", to: dir + "/nan.txt")
        XCTAssertThrowsError(try PretrainedVectors.load(path: dir + "/nan.txt", for: v)) { e in
            XCTAssertTrue("\(e)".hasPrefix(dir + "/nan.txt:2: value 2 'x' is not a number"), "\(e)")
        }
        Support.write("", to: dir + "/empty.txt")
        XCTAssertThrowsError(try PretrainedVectors.load(path: dir + "/empty.txt", for: v)) { XCTAssertTrue("\($0)".contains("no vectors"), "\($0)") }
    }
}
