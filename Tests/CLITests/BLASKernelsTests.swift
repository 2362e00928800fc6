// OpenBLAS kernel selection (COpenBLAS/shim.h, BLASKernels): on a CPU with AVX-512 an unset
// OPENBLAS_CORETYPE gets the AVX-512 kernels, and a user's OPENBLAS_CORETYPE is respected.
import Foundation
import XCTest

final class BLASKernelsTests: XCTestCase {
    /// Runs a tiny engine benchmark (it prints "OpenBLAS kernels NAME") under `env`.
    func kernels(_ env: String) throws -> String {
        let r = try E2E.sh("\(env) rnn-bench-engine --cell gru --mode infer --batches 1 --batch 4 --embed 8 --vocab 50 --hidden 8 --threads 1")
        XCTAssertEqual(r.status, 0, r.stderr)
        guard let range = r.out.range(of: "OpenBLAS kernels ") else { XCTFail("no kernel name in: \(r.out)"); return "" }
        return String(r.out[range.upperBound...].prefix { !$0.isWhitespace && $0 != "," })
    }

    func testAVX512KernelsUnlessTheUserChose() throws {
        XCTAssertEqual(try kernels("OPENBLAS_CORETYPE=Haswell"), "Haswell", "the user's choice is kept")
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let avx512 = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        let chosen = try kernels("env -u OPENBLAS_CORETYPE")
        if avx512 {
            XCTAssertTrue(["SkylakeX", "Cooperlake", "SapphireRapids"].contains(chosen), "AVX-512 CPU, OpenBLAS runs \(chosen)")
        } else {
            XCTAssertNotEqual(chosen, "SkylakeX", "no AVX-512, yet OpenBLAS was switched to it")
        }
    }
}
