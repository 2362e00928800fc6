import Foundation
import RNNCore
import RNNEngine
import RNNText
@testable import RNNTrain
import XCTest

/// Issue 11, items 1 and 3: checkpoint metadata is range-checked against the tensors before the
/// model is allocated, and non-finite weights are refused.
final class HostileCheckpointTests: XCTestCase, CheckpointTestHelpers {
    func saved() throws -> String {
        let c = config(.lstm, bi: false, layers: 1)
        let path = tempPath("hostile")
        try Checkpoint.write(model: Model(config: c, seed: 3), info: classifierInfo(c), to: path)
        return path
    }

    func testHostileSizesInTheMetadataGiveAClearErrorBeforeAllocating() throws {
        let src = try saved()
        let dst = tempPath("hostile-out")
        let cases: [(String, String, String)] = [
            ("hidden", String(Int.max), "hidden = '9223372036854775807' is not an integer in [1, "),
            ("hidden", "100000", "hidden = '100000' is not an integer in"),
            ("hidden", "5000", "tensor"),             // in range, but the tensors say otherwise
            ("hidden", "65536", "parameters, more than the limit"),   // in range, but too big a model with layers 64
            ("layers", "1000000000", "layers = '1000000000' is not an integer in [1, 64]"),
            ("layers", "-1", "layers = '-1' is not an integer"),
            ("layers", "-0", "layers = '-0' is not an integer"),
            ("embed_dim", "99999999999", "embed_dim = '99999999999' is not an integer"),
            ("vocab_size", String(1 << 40), "vocab_size = '1099511627776' is not an integer"),
            ("head_dropout", "nan", "head_dropout = 'nan' is not a probability"),
            ("dropout", "inf", "dropout = 'inf' is not a probability"),
            ("padding_idx", "20", "padding_idx = '20'"),
        ]
        for (key, value, fragment) in cases {
            try rewrite(src, dst, meta: { m in
                if let i = m.firstIndex(where: { $0.0 == key }) { m[i].1 = value } else { m.append((key, value)) }
                if value == "65536", let i = m.firstIndex(where: { $0.0 == "layers" }) { m[i].1 = "64" }
            })
            assertRefused(dst, fragment)
        }
    }

    func testNonFiniteWeightsAreRefused() throws {
        let src = try saved()
        let dst = tempPath("nan-out")
        for bad in [Float.nan, .infinity, -.infinity] {
            try rewrite(src, dst, tensors: { ts in ts[ts.count - 1].2[0] = bad })
            assertRefused(dst, "holds NaN or infinite values")
        }
        try rewrite(src, dst, tensors: { ts in ts[0].2[7] = .greatestFiniteMagnitude })
        XCTAssertNoThrow(try Checkpoint.load(path: dst, expect: .classifier))
    }

    func testModelLimitsAreCheckedWithoutOverflow() {
        var c = config()
        XCTAssertNil(c.problem())
        c.hidden = Int.max
        XCTAssertNil(c.parameterCount.flatMap { $0 > 0 ? nil : $0 })
        XCTAssertNotNil(c.problem())
        c = config(); c.layers = 64; c.hidden = 16384; c.embedDim = 16384
        XCTAssertTrue(c.problem()?.contains("parameters, more than the limit") ?? false, c.problem() ?? "nil")
        c = config(); c.headDropout = .nan
        XCTAssertNotNil(c.problem())
    }
}
