import Foundation
import RNNCore
import RNNEngine
import RNNText
@testable import RNNTrain
import XCTest

/// Helpers of the checkpoint tests (CheckpointTests, HostileCheckpointTests).
protocol CheckpointTestHelpers {}

extension CheckpointTestHelpers where Self: XCTestCase {
    func tempPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-ckpt-\(getpid())-\(name)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("m.ckpt").path
    }

    func classifierInfo(_ c: ModelConfig) -> CheckpointInfo {
        var tokens = ["<unk>", "<pad>"]
        for i in 2 ..< c.vocabSize { tokens.append(i % 3 == 0 ? "wörd\(i)" : "t\"\(i)\\") }
        return CheckpointInfo(kind: .classifier, config: c, vocabHash: "0123456789abcdef", vocabKind: .words, tokens: tokens,
                              labels: ["neg", "pos"], epoch: 2, validLoss: 0.25, validAccuracy: 0.9, seed: 42,
                              commandLine: "rnn-fit train.bin", extra: ["fix_length": "500", "pad_first": "true"])
    }

    func config(_ cell: CellKind = .gru, bi: Bool = true, layers: Int = 2) -> ModelConfig {
        ModelConfig(cell: cell, task: .classifier, vocabSize: 20, embedDim: 5, hidden: 4, layers: layers, bidirectional: bi,
                    dropout: 0.25, headDropout: 0.5, outputs: 1, paddingIndex: 1, freezeEmbedding: false)
    }

    /// Rewrites a checkpoint with edited metadata and/or tensors.
    func rewrite(_ src: String, _ dst: String, meta: (inout [(String, String)]) -> Void = { _ in },
                 tensors: (inout [(String, [Int], [Float])]) -> Void = { _ in }) throws {
        let f = try SafeTensorsFile(path: src)
        var ts: [(String, [Int], [Float])] = []
        for n in f.names { ts.append((n, f.tensors[n]!.shape, try f.floats(n))) }
        tensors(&ts)
        var m = f.metadata.map { ($0.key, $0.value) }
        meta(&m)
        var w = SafeTensorsWriter()
        for t in ts { w.add(t.0, shape: t.1, floats: t.2) }
        w.metadata = m
        try w.write(to: dst)
    }

    func assertRefused(_ path: String, _ fragment: String, expect: Task? = .classifier, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint.load(path: path, expect: expect), file: file, line: line) { e in
            let msg = (e as? RNNError)?.message ?? "\(e)"
            XCTAssertTrue(msg.contains(fragment), "message '\(msg)' lacks '\(fragment)'", file: file, line: line)
            XCTAssertTrue(msg.hasPrefix(path), "message '\(msg)' does not name the file", file: file, line: line)
        }
    }

}
