import Foundation
import XCTest

/// Package root (three levels above this file) and helpers shared by the RNNText tests.
enum Support {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let data = root + "/../shared/data"

    static func tempDir(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "rnn-text-tests-\(getpid())/\(name)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ text: String, to path: String) { _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) }

    /// Runs a program, returns (status, stdout, stderr).
    @discardableResult
    static func run(_ exe: String, _ args: [String], stdin: String? = nil) throws -> (Int32, String, String) {
        let r = try E2E.sh("\"$0\" \"$@\"", args: [exe] + args, input: Data((stdin ?? "").utf8))
        return (r.status, r.out, r.stderr)
    }

    /// Cleaned IMDB train reviews as JSONL, made once per test process by the Python reference
    /// cleaner (scripts/reference/imdb_clean.py); nil (test skipped) when the data is absent.
    static let imdbTrain: String? = {
        let archive = data + "/aclImdb_v1.tar.gz"
        guard FileManager.default.fileExists(atPath: archive) else { return nil }
        let path = tempDir("imdb") + "/train.jsonl"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", root + "/scripts/reference/imdb_clean.py", archive, "train"]
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: path)
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? path : nil
    }()
}

import RNNCore

extension Support {
    static let bin = root + "/.build/release"

    /// Runs tool `name` from the release build.
    @discardableResult
    static func tool(_ name: String, _ args: [String], stdin: String? = nil) throws -> (Int32, String, String) {
        try run(bin + "/" + name, args, stdin: stdin)
    }

    /// Asserts the bad-input contract: status 1, exactly one stderr line `tool: error: ...`
    /// containing every fragment, no output file and no temporary file left in its folder.
    static func assertFails(_ r: (Int32, String, String), tool: String, _ fragments: [String], noFile output: String? = nil,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.0, 1, "status; stderr: \(r.2)", file: file, line: line)
        let lines = r.2.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one error line expected: \(r.2)", file: file, line: line)
        XCTAssertTrue(r.2.hasPrefix("\(tool): error: "), r.2, file: file, line: line)
        for f in fragments { XCTAssertTrue(r.2.contains(f), "missing '\(f)' in: \(r.2)", file: file, line: line) }
        XCTAssertEqual(r.1, "", "no data on stdout", file: file, line: line)
        if let output {
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "partial output \(output)", file: file, line: line)
            let dir = (output as NSString).deletingLastPathComponent
            let temps = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.filter { $0.contains(".tmp-") } ?? []
            XCTAssertEqual(temps, [], "temporary files left", file: file, line: line)
        }
    }

    /// Strings stored as U8 bytes + I64 offsets (vocabulary tokens and labels).
    static func strings(_ f: SafeTensorsFile, _ bytes: String, _ offsets: String) throws -> [String] {
        let b = try f.uint8s(bytes), o = try f.int64s(offsets)
        return (0..<(o.count - 1)).map { String(decoding: b[Int(o[$0])..<Int(o[$0 + 1])], as: UTF8.self) }
    }
}
