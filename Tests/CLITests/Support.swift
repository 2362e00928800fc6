import Foundation
import XCTest

/// Helpers for end-to-end tests on the built binaries (release build, as `make test` does).
enum E2E {
    /// Package root: three levels up from this file (Tests/CLITests/Support.swift).
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Folder of the built binaries: $RNN_BIN, else .build/release, else .build/debug.
    static let bin: URL = {
        if let b = ProcessInfo.processInfo.environment["RNN_BIN"] { return URL(fileURLWithPath: b) }
        let rel = root.appendingPathComponent(".build/release")
        if FileManager.default.fileExists(atPath: rel.appendingPathComponent("rnn-clean").path) { return rel }
        return root.appendingPathComponent(".build/debug")
    }()

    /// The shared data folder (../shared/data from the package root).
    static let data: URL = root.deletingLastPathComponent().appendingPathComponent("shared/data")

    /// Result of one run.
    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
        var out: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `bash -c script` (positional arguments `args`: $0, $1, ...) with the binaries first on
    /// PATH; stdin from `input`. Every test helper that runs a process goes through here.
    @discardableResult
    static func sh(_ script: String, args: [String] = [], input: Data? = nil, cwd: URL? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script] + args
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = bin.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["RNN_BIN"] = bin.path
        p.environment = env
        if let cwd { p.currentDirectoryURL = cwd }
        // stdin and stderr go through temporary files: no threads needed, no pipe deadlocks.
        let tmp = FileManager.default.temporaryDirectory
        let id = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let inURL = tmp.appendingPathComponent("rnn-test-in-\(id)")
        let errURL = tmp.appendingPathComponent("rnn-test-err-\(id)")
        try (input ?? Data()).write(to: inURL)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: inURL); try? FileManager.default.removeItem(at: errURL) }
        let inHandle = try FileHandle(forReadingFrom: inURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let outPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errHandle
        p.standardInput = inHandle
        try p.run()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try? inHandle.close()
        try? errHandle.close()
        let errData = (try? Data(contentsOf: errURL)) ?? Data()
        return Result(status: p.terminationStatus, stdout: out, stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh temporary folder for one test.
    static func tempDir(_ name: String = #function) throws -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-cli-\(safe)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}
