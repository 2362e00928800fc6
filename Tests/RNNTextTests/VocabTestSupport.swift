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

    /// Runs a program, returns (status, stdout, stderr). Output goes through temporary files
    /// (no pipe deadlock, no concurrency).
    @discardableResult
    static func run(_ exe: String, _ args: [String], stdin: String? = nil) throws -> (Int32, String, String) {
        let dir = tempDir("run")
        let id = UUID().uuidString
        let inPath = dir + "/\(id).in", outPath = dir + "/\(id).out", errPath = dir + "/\(id).err"
        write(stdin ?? "", to: inPath)
        write("", to: outPath)
        write("", to: errPath)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.standardInput = FileHandle(forReadingAtPath: inPath)
        p.standardOutput = FileHandle(forWritingAtPath: outPath)
        p.standardError = FileHandle(forWritingAtPath: errPath)
        try p.run()
        p.waitUntilExit()
        let o = try String(contentsOfFile: outPath, encoding: .utf8), e = try String(contentsOfFile: errPath, encoding: .utf8)
        for f in [inPath, outPath, errPath] { try? FileManager.default.removeItem(atPath: f) }
        return (p.terminationStatus, o, e)
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
