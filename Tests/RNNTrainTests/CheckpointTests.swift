import Foundation
import RNNCore
import RNNEngine
import RNNText
@testable import RNNTrain
import XCTest

final class CheckpointTests: XCTestCase, CheckpointTestHelpers {
    func testRoundTripKeepsEveryParameterAndTheMetadata() throws {
        for cell in CellKind.allCases {
            let c = config(cell)
            let model = Model(config: c, seed: 7)
            let path = tempPath("rt-\(cell)")
            try Checkpoint.write(model: model, info: classifierInfo(c), to: path)
            let (loaded, info) = try Checkpoint.load(path: path, expect: .classifier)
            XCTAssertEqual(loaded.config, c)
            XCTAssertEqual(Array(loaded.params.values), Array(model.params.values))
            XCTAssertEqual(info.tokens, classifierInfo(c).tokens)
            XCTAssertEqual(info.labels, ["neg", "pos"])
            XCTAssertEqual(info.vocabHash, "0123456789abcdef")
            XCTAssertEqual(info.epoch, 2)
            XCTAssertEqual(info.validLoss, 0.25)
            XCTAssertEqual(info.seed, 42)
            XCTAssertEqual(info.extra["fix_length"], "500")
            // Only state_dict tensors, in PyTorch's names and shapes.
            let f = try SafeTensorsFile(path: path)
            XCTAssertEqual(Set(f.names), Set(Model.parameterSpec(c).map(\.0)))
            for (name, shape) in Model.parameterSpec(c) { XCTAssertEqual(f.tensors[name]?.shape, shape, name) }
            // The same logits from the loaded model.
            let tokens: [Int32] = [3, 4, 5, 6, 7, 8, 9]
            let a = tokens.withUnsafeBufferPointer { model.classify(tokens: $0, lengths: [4, 3]) }
            let b = tokens.withUnsafeBufferPointer { loaded.classify(tokens: $0, lengths: [4, 3]) }
            XCTAssertEqual(a, b)
        }
    }

    func testInconsistentCheckpointsAreRefusedClearly() throws {
        let c = config()
        let path = tempPath("bad")
        try Checkpoint.write(model: Model(config: c, seed: 1), info: classifierInfo(c), to: path)
        let bad = tempPath("bad2")
        // hidden in the metadata disagrees with the tensors
        try rewrite(path, bad, meta: { m in m = m.map { $0.0 == "hidden" ? ("hidden", "8") : $0 } })
        assertRefused(bad, "implies")
        // a tensor with the wrong shape
        try rewrite(path, bad, tensors: { t in t = t.map { $0.0 == "fc.bias" ? ($0.0, [2], [0, 0]) : $0 } })
        assertRefused(bad, "fc.bias")
        // a missing tensor
        try rewrite(path, bad, tensors: { t in t.removeAll { $0.0 == "rnn.weight_hh_l1_reverse" } })
        assertRefused(bad, "lacks tensor rnn.weight_hh_l1_reverse")
        // an unexpected tensor (metadata says unidirectional)
        try rewrite(path, bad, meta: { m in m = m.map { $0.0 == "bidirectional" ? ("bidirectional", "false") : $0 } })
        assertRefused(bad, "does not have")
        // vocabulary of the wrong size, damaged vocabulary
        try rewrite(path, bad, meta: { m in m = m.map { $0.0 == "vocab" ? ("vocab", "[\"a\"]") : $0 } })
        assertRefused(bad, "1 tokens but the model has 20")
        try rewrite(path, bad, meta: { m in m = m.map { $0.0 == "vocab" ? ("vocab", $0.1.replacingOccurrences(of: "t\\\"5", with: "x\\\"5")) : $0 } })
        assertRefused(bad, "does not match its hash")
        // other version, other format, wrong kind
        try rewrite(path, bad, meta: { m in m = m.map { $0.0 == "version" ? ("version", "9") : $0 } })
        assertRefused(bad, "version 9 is not supported")
        try rewrite(path, bad, meta: { m in m = m.map { $0.0 == "format" ? ("format", "rnn-vocab") : $0 } })
        assertRefused(bad, "not a checkpoint: a 'rnn-vocab' file")
        assertRefused(path, "this is a classifier checkpoint", expect: .languageModel)
        // labels vs outputs
        try rewrite(path, bad, meta: { m in m = m.map { $0.0 == "labels" ? ("labels", "[\"a\",\"b\",\"c\"]") : $0 } })
        assertRefused(bad, "3 labels but 1 output")
        // truncated file
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: bad))
        assertRefused(bad, "truncated")
    }

    func testPyTorchStyleMetadataWithoutSizesLoads() throws {
        // A PyTorch export may omit vocab_size/embed_dim/outputs/dropout: they come from the shapes.
        let c = config(.lstm, bi: false, layers: 1)
        let path = tempPath("torch")
        try Checkpoint.write(model: Model(config: c, seed: 3), info: classifierInfo(c), to: path)
        let minimal = tempPath("torch2")
        let keep: Set<String> = ["format", "version", "kind", "model", "hidden", "layers", "bidirectional", "vocab", "labels"]
        try rewrite(path, minimal, meta: { m in m = m.filter { keep.contains($0.0) } })
        let (model, info) = try Checkpoint.load(path: minimal)
        XCTAssertEqual(model.config.vocabSize, 20)
        XCTAssertEqual(model.config.embedDim, 5)
        XCTAssertEqual(model.config.outputs, 1)
        XCTAssertEqual(model.config.paddingIndex, 1)
        XCTAssertEqual(info.vocabHash, "")
    }

    func testFailedWriteLeavesThePreviousFileAndNoTemporary() throws {
        let c = config()
        let path = tempPath("atomic")
        try Checkpoint.write(model: Model(config: c, seed: 1), info: classifierInfo(c), to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        // the target path is a directory: the rename fails, the temporary file is removed
        let blocked = dir.appendingPathComponent("dir.ckpt")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: true)
        XCTAssertThrowsError(try Checkpoint.write(model: Model(config: c, seed: 2), info: classifierInfo(c), to: blocked.path))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0 != "m.ckpt" && $0 != "dir.ckpt" }
        XCTAssertEqual(leftovers, [])
    }
}
