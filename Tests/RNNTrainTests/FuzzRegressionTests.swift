import Foundation
import RNNCore
import RNNFuzz
import XCTest

/// Replays every committed fuzz input (Tests/Fuzz/regressions/TARGET/*: crashes found by
/// scripts/fuzz.sh and the hostile files of issue 11) through the normal build's readers: each
/// must give a clean error naming the file, never a trap.
final class FuzzRegressionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/regressions")

    func testEveryCommittedInputGivesACleanError() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-fuzz-regress-\(getpid())").path
        var replayed = 0
        for target in FuzzTargets.names {
            let dir = FuzzRegressionTests.root.appendingPathComponent(target)
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { continue }
            for name in files.sorted() where !name.hasPrefix(".") {
                let bytes = try Data(contentsOf: dir.appendingPathComponent(name))
                let message = bytes.withUnsafeBytes { FuzzTargets.run(target, $0, scratch: scratch) }
                XCTAssertNotNil(message, "\(target)/\(name) was accepted; a regression input must be refused")
                if let message {
                    XCTAssertTrue(message.contains(scratch), "\(target)/\(name): the error does not name the file: \(message)")
                    XCTAssertFalse(message.contains("\n"), "\(target)/\(name): one line: \(message)")
                }
                replayed += 1
            }
        }
        XCTAssertGreaterThanOrEqual(replayed, 20, "the committed regression inputs are missing")
        for ext in [".bin", ".tar", ".gz", ".ckpt.state"] { unlink(scratch + ext) }
    }
}
