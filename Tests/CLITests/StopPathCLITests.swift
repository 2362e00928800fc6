import Foundation
import RNNCore
import XCTest

/// The shared stop path of rnn-fit (SIGTERM, the time budget) on the language model, the progress
/// bar on a pseudo-terminal, and temporary files removed by stop signals. The classifier's
/// counterparts are in FitCLITests (they need its IMDB slice); Ctrl-C on both is tested there and
/// in LMCLITests.
final class StopPathCLITests: XCTestCase {
    /// 40 KB of tiny-shakespeare.
    static let text: Result<String, Error> = Result {
        let dir = Support.tempDir("stop-text")
        let path = E2E.data.appendingPathComponent("tinyshakespeare.txt").path
        guard let all = FileManager.default.contents(atPath: path) else { throw XCTSkip("no tinyshakespeare.txt") }
        Support.write(String(decoding: all.prefix(40_000), as: UTF8.self), to: dir + "/ts.txt")
        return dir + "/ts.txt"
    }

    func quoted(_ args: [String]) -> String { args.map { "'\($0)'" }.joined(separator: " ") }

    func testSIGTERMEvaluatesKeepsTheBestAndExits143() throws {
        let text = try StopPathCLITests.text.get()
        let dir = Support.tempDir("lm-sigterm")
        let args = ["--lm", text, "-o", dir + "/lm.ckpt", "--log", dir + "/log.jsonl", "--eval-every", "5", "--epochs", "100000"] + LMCLITests.small
        let r = try E2E.sh("""
            set -m
            rnn-fit \(quoted(args)) 2>'\(dir)/err' & pid=$!
            for i in $(seq 1 600); do grep -q '"checkpoint"' '\(dir)/log.jsonl' 2>/dev/null && break; sleep 0.05; done
            sleep 0.2; kill -TERM $pid; wait $pid; echo "status $?"
            """)
        XCTAssertEqual(r.out, "status 143\n", r.stderr)
        let err = try String(contentsOfFile: dir + "/err", encoding: .utf8)
        XCTAssertTrue(err.contains("SIGTERM: stopping after this step"), err)
        XCTAssertTrue(err.contains("interrupted: kept \(dir)/lm.ckpt"), err)
        let log = try String(contentsOfFile: dir + "/log.jsonl", encoding: .utf8)
        XCTAssertTrue(log.contains("\"event\":\"interrupted\""), log)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }, [])
        // the state resumes
        let again = try Support.tool("rnn-fit", ["--lm", text, "--resume", dir + "/lm.ckpt", "--epochs", "100000", "--max-time", "1s", "--threads", "1"])
        XCTAssertEqual(again.0, 0, again.2)
        // (at the epoch the signal stopped: the first, or a later one on a fast machine)
        XCTAssertNotNil(again.2.range(of: #"resuming at epoch [0-9]+ of 100000, batch [0-9]+ of "#, options: .regularExpression), again.2)
    }

    func testTimeBudgetIncludesTheFinalEvaluation() throws {
        let text = try StopPathCLITests.text.get()
        let dir = Support.tempDir("lm-budget")
        // a validation text as long as the training text: evaluation is not negligible
        let start = Date()
        let r = try Support.tool("rnn-fit", ["--lm", text, "--valid-split", "0.5", "--max-time", "3s", "--epochs", "100000", "-o", dir + "/lm.ckpt"]
                                 + LMCLITests.small)
        let wall = Date().timeIntervalSince(start)
        XCTAssertEqual(r.0, 0, r.2)
        XCTAssertTrue(r.2.contains("time budget of 0:03 reached at step "), r.2)
        XCTAssertTrue(r.2.contains("kept \(dir)/lm.ckpt"), r.2)
        XCTAssertLessThan(wall, 3 + 1.5, "budget 3 s (the final evaluation included) plus process start")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/lm.ckpt.state"))
    }

    /// Runs rnn-fit --lm on a pseudo-terminal of `columns` columns; returns what the terminal got.
    func onTerminal(columns: Int, dir: String) throws -> String {
        let text = try StopPathCLITests.text.get()
        let cmd = "stty cols \(columns) rows 24; rnn-fit \(quoted(["--lm", text, "--epochs", "1", "-o", dir + "/lm.ckpt"] + LMCLITests.small))"
        let r = try E2E.sh("script -qfec \"$0\" /dev/null", args: [cmd])
        XCTAssertEqual(r.status, 0, r.out + r.stderr)
        return r.out
    }

    func testProgressBarFitsTheTerminalAndRedrawsInPlace() throws {
        guard (try? E2E.sh("command -v script"))?.status == 0 else { throw XCTSkip("no script(1) for a pseudo-terminal") }
        let dir = Support.tempDir("pty")
        for columns in [60, 80] {
            let out = try onTerminal(columns: columns, dir: dir)
            XCTAssertTrue(out.contains("\r\u{1B}[Kepoch 1/1 ["), "a progress bar redrawn in place: \(out.debugDescription)")
            // every redrawn piece (bar, "evaluating") fits in the width, escape sequences aside; the
            // evaluation lines are permanent lines (a terminal may wrap them)
            let pieces = out.replacingOccurrences(of: "\u{1B}[K", with: "").split(whereSeparator: { $0 == "\r" || $0 == "\n" })
            let bars = pieces.filter { $0.hasPrefix("epoch 1/1 [") }
            XCTAssertGreaterThan(bars.count, 0, out.debugDescription)
            for p in pieces where p.hasPrefix("epoch 1/1 [") || p.contains("evaluating") {
                XCTAssertLessThan(p.count, columns, "\(columns) columns: \(p)")
            }
            if columns == 80 { XCTAssertTrue(bars.contains { $0.contains("chars/s") && $0.contains("ETA") }, "\(bars)") }
        }
    }

    func testStopSignalsRemoveTheTemporaryFilesOfUnfinishedOutputs() throws {
        let dir = Support.tempDir("temps")
        for sig in ["TERM", "HUP", "INT"] {
            let r = try E2E.sh("""
                set -m
                cd '\(dir)'
                (sleep 5; echo '{"text":"x"}') | rnn-clean -o out-\(sig).jsonl & pid=$!
                for i in $(seq 1 100); do ls -a | grep -q '^\\.out-\(sig)\\.jsonl\\.tmp-' && break; sleep 0.05; done
                ls -a | grep -c '^\\.out-\(sig)\\.jsonl\\.tmp-'
                kill -\(sig) $pid; wait $pid; echo "status $?"
                ls -a | grep -c 'out-\(sig)' || true
                """)
            XCTAssertEqual(r.out, "1\nstatus \(["TERM": 143, "HUP": 129, "INT": 130][sig]!)\n0\n", "\(sig): \(r.stderr)")
        }
    }
}
