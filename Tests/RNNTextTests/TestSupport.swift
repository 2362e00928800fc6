import Foundation
import XCTest

/// Package root: three levels up from Tests/RNNTextTests/TestSupport.swift.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A fresh temporary folder for one test.
func makeTempDir(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "rnn-text-tests-\(getpid())/\(name)"
    try? FileManager.default.removeItem(atPath: dir)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Runs a program with stdin from `input` (via a temporary file); returns (status, stdout, stderr).
@discardableResult
func runProcess(_ exe: String, _ args: [String], input: Data? = nil) throws -> (Int32, Data, String) {
    let dir = NSTemporaryDirectory() + "rnn-text-tests-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let inPath = dir + "/stdin-\(UUID().uuidString)", errPath = inPath + ".err"
    _ = FileManager.default.createFile(atPath: inPath, contents: input ?? Data())
    _ = FileManager.default.createFile(atPath: errPath, contents: Data())
    defer { unlink(inPath); unlink(errPath) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let outPipe = Pipe()
    p.standardOutput = outPipe
    p.standardError = FileHandle(forWritingAtPath: errPath)
    p.standardInput = FileHandle(forReadingAtPath: inPath)
    try p.run()
    let out = outPipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let err = FileManager.default.contents(atPath: errPath) ?? Data()
    return (p.terminationStatus, out, String(decoding: err, as: UTF8.self))
}

/// Runs python3 with a script from scripts/reference.
func python3(_ script: String, _ args: [String], input: Data? = nil) throws -> Data {
    let (status, out, err) = try runProcess("/usr/bin/env", ["python3", packageRoot + "/scripts/reference/" + script] + args, input: input)
    if status != 0 { XCTFail("python3 \(script) failed: \(err)") }
    return out
}
