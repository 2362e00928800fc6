import Foundation
import XCTest

/// The shipped example (examples/, README "Your own data"): the README's commands, taken from the
/// README itself, run as written in a folder that holds `examples/`; then the models they trained
/// are scored on the held-out example files.
final class ExampleCLITests: XCTestCase {
    /// The README's example commands: indented lines of the "Your own data" section that start
    /// with rnn-clean or echo and use the example models (m.ckpt, topics.ckpt).
    static func readmeCommands() throws -> [String] {
        let readme = try String(contentsOfFile: E2E.root.path + "/README.md", encoding: .utf8)
        guard let start = readme.range(of: "\n## Your own data\n") else { return [] }
        let section = readme[start.upperBound...].components(separatedBy: "\n## ").first ?? ""
        return section.split(separator: "\n").map(String.init).filter { line in
            line.hasPrefix("    ") && (line.contains("m.ckpt") || line.contains("topics.ckpt")) && !line.contains("own.ckpt")
                && ["rnn-clean", "echo"].contains(line.split(separator: " ").first.map(String.init) ?? "")
        }.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func testReadmeExampleRunsAsWritten() throws {
        let dir = try E2E.tempDir()
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("examples"), withDestinationURL: E2E.root.appendingPathComponent("examples"))
        let commands = try Self.readmeCommands()
        XCTAssertEqual(commands.count, 6, "the README's example commands: \(commands)")
        XCTAssertTrue(commands.contains { $0.hasPrefix("rnn-clean examples/train.tsv | rnn-fit") }, "\(commands)")
        XCTAssertTrue(commands.contains { $0.hasPrefix("rnn-clean examples/new.txt | rnn-classify -m m.ckpt") }, "\(commands)")
        XCTAssertTrue(commands.contains { $0.contains("examples/topics.ft") && $0.contains("rnn-fit") }, "\(commands)")
        var outputs: [String: String] = [:]
        for c in commands {
            let r = try E2E.sh("set -o pipefail; " + c, cwd: dir)
            XCTAssertEqual(r.status, 0, "\(c): \(r.stderr)")
            outputs[c] = r.out
        }
        // the new lines get one answer each, a class of the example
        let new = try XCTUnwrap(outputs.first { $0.key.hasPrefix("rnn-clean examples/new.txt") }?.value)
        let answers = ClassifyCLITests.objects(new)
        XCTAssertEqual(answers.count, 8)
        XCTAssertTrue(answers.allSatisfy { ["food", "sport", "weather", "music"].contains($0["label"] as? String ?? "") }, new)
        // the multi-label model answers with a list of topics
        let said = try XCTUnwrap(outputs.first { $0.key.hasPrefix("echo") }?.value)
        XCTAssertNotNil(ClassifyCLITests.objects(said).first?["label"] as? [String], said)

        // held-out scores of the two models
        let m = try E2E.sh("set -o pipefail; rnn-clean examples/test.tsv | rnn-classify -m m.ckpt -q --metrics-json m.json > /dev/null", cwd: dir)
        XCTAssertEqual(m.status, 0, m.stderr)
        let mj = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("m.json"))) as! [String: Any]
        let t = try E2E.sh("set -o pipefail; rnn-clean --format fasttext examples/topics-test.ft | rnn-classify -m topics.ckpt -q --metrics-json t.json > /dev/null", cwd: dir)
        XCTAssertEqual(t.status, 0, t.stderr)
        let tj = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("t.json"))) as! [String: Any]
        print("[example] 4 classes: test accuracy \(mj["accuracy"]!) on \(mj["labelled"]!) lines; topics (multi-label): micro-F1 \(tj["micro_f1"]!), exact match \(tj["accuracy"]!) on \(tj["labelled"]!) lines")
        XCTAssertEqual(mj["labelled"] as? Int, 120)
        XCTAssertGreaterThanOrEqual(mj["accuracy"] as! Double, 0.9)
        XCTAssertEqual(tj["labelled"] as? Int, 100)
        XCTAssertGreaterThanOrEqual(tj["micro_f1"] as! Double, 0.85)
    }

    /// The example files are what examples/make_examples.py writes (the data is reproducible).
    func testExampleFilesAreWhatTheScriptWrites() throws {
        let dir = try E2E.tempDir()
        let copy = dir.appendingPathComponent("examples")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: E2E.root.appendingPathComponent("examples/make_examples.py"), to: copy.appendingPathComponent("make_examples.py"))
        let r = try E2E.sh("python3 examples/make_examples.py", cwd: dir)
        try XCTSkipIf(r.status == 127, "no python3")
        XCTAssertEqual(r.status, 0, r.stderr)
        for f in ["train.tsv", "test.tsv", "new.txt", "topics.ft", "topics-test.ft"] {
            XCTAssertEqual(try Data(contentsOf: copy.appendingPathComponent(f)), try Data(contentsOf: E2E.root.appendingPathComponent("examples/" + f)), f)
        }
    }
}
