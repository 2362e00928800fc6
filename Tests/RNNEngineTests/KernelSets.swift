// Engine tests that run once per kernel set the test machine supports (EngineKernels.supported:
// baseline and v3 here, v4 too on an AVX-512 machine): each test body runs in forEachKernelSet,
// and a failure names the set.
import XCTest
import RNNKernelABI
@testable import RNNEngine

class EveryKernelSetTestCase: XCTestCase {
    /// The kernel set of the body running now.
    private(set) var kernelSet = EngineKernels.active

    /// Runs `body` once with the engine on every supported kernel set.
    func forEachKernelSet(_ body: () throws -> Void) rethrows {
        for set in EngineKernels.supported {
            kernelSet = set
            try EngineKernels.using(set) { try body() }
        }
        kernelSet = EngineKernels.active
    }

    override func recordFailure(withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool) {
        super.recordFailure(withDescription: "[kernels \(kernelSet.rawValue)] " + description, inFile: filePath, atLine: lineNumber,
                            expected: expected)
    }
}
