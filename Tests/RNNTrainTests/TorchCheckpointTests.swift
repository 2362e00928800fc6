import Foundation
import XCTest
import RNNCore
import RNNEngine
@testable import RNNTrain

/// Checkpoints written by PyTorch's `save_file(model.state_dict(), path, metadata=...)`
/// (scripts/reference/export_torch_classifier.py --fixtures) load and give PyTorch's
/// probabilities.
final class TorchCheckpointTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    func testPyTorchExportsMatchPyTorchProbabilities() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/torch_expected.json"))
        let expected = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        XCTAssertEqual(expected.count, 8)
        for (name, exp) in expected.sorted(by: { $0.key < $1.key }) {
            let c = try Classifier(checkpoint: Self.fixtures + "/\(name).safetensors")
            XCTAssertEqual(c.labels, exp["labels"] as! [String], name)
            XCTAssertEqual(c.vocabHash, "", name)
            XCTAssertEqual(c.isMultiLabel, name.hasSuffix("_multilabel"), name)
            XCTAssertEqual(c.model.config.pool, name.contains("concat") ? .concat : name.contains("max") ? .max : name.contains("mean") ? .mean : .last, name)
            var maxDiff = 0.0
            for rec in exp["records"] as! [[String: Any]] {
                var ids: [Int32] = []
                let text = rec["text"] as! String
                let real = try text.withUTF8Bytes { try c.encode(text: $0, into: &ids) }
                XCTAssertEqual(ids.map(Int.init), rec["ids"] as! [Int], "\(name): \(text)")
                // pooling heads in the padded view read the real tokens' steps only
                let logits = ids.withUnsafeBufferPointer { c.logits(tokens: $0, lengths: [ids.count], realSteps: c.padded ? [real] : nil) }
                let p = logits.withUnsafeBufferPointer { c.predict($0) }
                let want = rec["probs"] as! [Double]
                XCTAssertEqual(p.probs.count, want.count)
                for (a, b) in zip(p.probs, want) { maxDiff = max(maxDiff, abs(a - b)) }
            }
            print("\(name): max |p - p_torch| = \(maxDiff)")
            XCTAssertLessThan(maxDiff, 1e-5, name)
        }
    }

    /// The same records in one batch through the job (packed, sorted by length; or the padded
    /// view, whose pooling head reads the real tokens only) give the same probabilities as
    /// PyTorch's batch.
    func testBatchedJobMatchesPyTorch() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/torch_expected.json"))
        let all = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        for name in ["torch_lstm2_3class", "torch_bigru_concat", "torch_bilstm_max_padded"] {
            let exp = all[name]!
            let c = try Classifier(checkpoint: Self.fixtures + "/\(name).safetensors")
            let records = exp["records"] as! [[String: Any]]
            let input = records.map { "{\"text\":\"\($0["text"] as! String)\"}" }.joined(separator: "\n")
            var options = ClassifyOptions()
            options.probs = true
            let (out, _) = try ClassifyTests.run(ClassifyJob(classifier: c, options: options), input)
            let got = ClassifyTests.objects(out)
            XCTAssertEqual(got.count, records.count)
            for (g, r) in zip(got, records) {
                let probs = g["probs"] as! [String: Double]
                let want = r["probs"] as! [Double]
                for (j, l) in (exp["labels"] as! [String]).enumerated() { XCTAssertEqual(probs[l]!, want[j], accuracy: 1e-5, name) }
            }
        }
    }
}
