import Foundation
import RNNCore
import XCTest

/// Data-parallel training under Open MPI (docs/SCALING.md) on one machine: `mpirun
/// --oversubscribe -np 2` and `-np 3` against one process, on tiny models and data made here (no
/// data set needed). `make test` installs Open MPI (Makefile DEBS), so these run in CI; they
/// skip only where mpirun is absent.
final class MPITests: XCTestCase {
    static let mpirun: String? = {
        let r = try? E2E.sh("command -v mpirun")
        return r.flatMap { $0.status == 0 ? $0.out.trimmingCharacters(in: .whitespacesAndNewlines) : nil }
    }()

    func needMPI() throws {
        if MPITests.mpirun == nil { throw XCTSkip("mpirun not found: install Open MPI (openmpi-bin; make test installs it)") }
    }

    func quoted(_ args: [String]) -> String { args.map { "'\($0)'" }.joined(separator: " ") }

    /// `mpirun -np K rnn-fit ARGS` (K = 1: rnn-fit without mpirun).
    func fit(np: Int, _ args: [String]) throws -> E2E.Result {
        let launcher = np == 1 ? "" : "mpirun --oversubscribe --allow-run-as-root -np \(np) "
        return try E2E.sh(launcher + "rnn-fit " + quoted(args))
    }

    /// Labelled records whose label depends on a few words, 4-20 tokens each (deterministic).
    /// `fillers`: words drawn besides the label's (0: ten common ones; else w0 ..< w`fillers`).
    static func records(_ n: Int, seed: UInt64, fillers: Int = 0) -> String {
        var x = seed
        func next(_ k: Int) -> Int { x = x &* 6364136223846793005 &+ 1442695040888963407; return Int((x >> 33) % UInt64(k)) }
        let filler = fillers > 0 ? (0 ..< fillers).map { "w\($0)" } : ["movie", "film", "plot", "actor", "the", "a", "was", "is", "very", "scene"]
        var out = ""
        for i in 0 ..< n {
            let pos = next(2) == 1
            var words = (0 ..< 3 + next(16)).map { _ in filler[next(filler.count)] }
            for _ in 0 ..< 2 { words.insert(pos ? ["good", "great", "fine"][next(3)] : ["bad", "awful", "poor"][next(3)], at: next(words.count + 1)) }
            out += "{\"id\":\"r\(i)\",\"label\":\"\(pos ? "pos" : "neg")\",\"text\":\"\(words.joined(separator: " "))\"}\n"
        }
        return out
    }

    /// 300 training records (240 after the 0.2 validation split: batches of 11 leave 9 at the
    /// end), 60 test records, their vocabulary and encodings.
    static let classifierData: Result<String, Error> = Result {
        let dir = Support.tempDir("mpi-classifier")
        Support.write(records(300, seed: 1), to: dir + "/train.jsonl")
        Support.write(records(60, seed: 2), to: dir + "/test.jsonl")
        let r = try E2E.sh("cd '\(dir)' && rnn-vocab train.jsonl -o v.bin && rnn-encode --vocab v.bin train.jsonl -o train.bin")
        guard r.status == 0 else { throw RNNError("data: \(r.stderr)") }
        return dir
    }

    /// Like `classifierData` over 400 filler words: a batch of 11 records touches fewer than half
    /// of the embedding rows, so the gradient sum sends only the touched ones (GradientExchange).
    static let wideData: Result<String, Error> = Result {
        let dir = Support.tempDir("mpi-wide")
        Support.write(records(200, seed: 3, fillers: 400), to: dir + "/train.jsonl")
        Support.write(records(40, seed: 4, fillers: 400), to: dir + "/test.jsonl")
        let r = try E2E.sh("cd '\(dir)' && rnn-vocab train.jsonl -o v.bin && rnn-encode --vocab v.bin train.jsonl -o train.bin")
        guard r.status == 0 else { throw RNNError("data: \(r.stderr)") }
        return dir
    }

    /// 24,000 characters of a seeded word salad.
    static let lmText: Result<String, Error> = Result {
        let dir = Support.tempDir("mpi-lm")
        var x: UInt64 = 7
        let words = ["the", "king", "shall", "speak", "and", "we", "will", "hear", "him", "now", "my", "lord", "of", "York"]
        var text = ""
        while text.utf8.count < 24_000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            text += words[Int((x >> 33) % UInt64(words.count))] + ((x >> 20) % 9 == 0 ? ".\n" : " ")
        }
        Support.write(text, to: dir + "/text.txt")
        return dir + "/text.txt"
    }

    /// Validation losses of the log's evaluation points, in order.
    func validLosses(_ log: String) throws -> [Double] {
        let text = try String(contentsOfFile: log, encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line in
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return ["eval", "epoch"].contains(o?["event"] as? String ?? "") ? o?["valid_loss"] as? Double : nil
        }
    }

    /// P(pos) of every test record under a checkpoint.
    func probabilities(_ ckpt: String, _ records: String) throws -> [Double] {
        let r = try E2E.sh("rnn-classify -q -m '\(ckpt)' --output-format tsv '\(records)'")
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.out.split(separator: "\n").map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            let p = Double(f[1]) ?? .nan
            return f[0] == "pos" ? p : 1 - p
        }
    }

    func assertClose(_ a: [Double], _ b: [Double], _ tolerance: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        XCTAssertFalse(a.isEmpty, what, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .nan
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): \(a) vs \(b)", file: file, line: line)
    }

    func testPlainRunsDoNotLoadMPIAndLauncherErrorsAreOneLine() throws {
        let dir = try MPITests.classifierData.get()
        // the tools do not link libmpi (it is loaded at run time, under mpirun only)
        let needed = try E2E.sh("for t in rnn-fit rnn-classify rnn-sample; do readelf -d \"$RNN_BIN/$t\" | grep NEEDED; done")
        XCTAssertEqual(needed.status, 0, needed.stderr)
        XCTAssertFalse(needed.out.contains("libmpi"), needed.out)
        let args = "'\(dir)/train.bin' --vocab '\(dir)/v.bin' --hidden 8 --embed-dim 4 --epochs 1 --threads 1 -q"
        // launched "by mpirun" without the library: one clear error, nothing written
        let missing = try E2E.sh("OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=1 RNN_MPI_LIBRARY=/nonexistent/libmpi.so.40 rnn-fit \(args) -o '\(dir)/x.ckpt'")
        Support.assertFails((missing.status, missing.out, missing.stderr), tool: "rnn-fit",
                            ["rank 1: launched by an MPI launcher", "cannot be loaded", "install Open MPI"], noFile: dir + "/x.ckpt")
        let bad = try E2E.sh("OMPI_COMM_WORLD_SIZE=two rnn-fit \(args) -o '\(dir)/x.ckpt'")
        Support.assertFails((bad.status, bad.out, bad.stderr), tool: "rnn-fit", ["OMPI_COMM_WORLD_SIZE is 'two'"], noFile: dir + "/x.ckpt")
        // a world of one process is a plain run: the same bits
        let one = try E2E.sh("OMPI_COMM_WORLD_SIZE=1 rnn-fit \(args) -o '\(dir)/one.ckpt' --log '\(dir)/one.jsonl'")
        let plain = try E2E.sh("rnn-fit \(args) -o '\(dir)/plain.ckpt' --log '\(dir)/plain.jsonl'")
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(try validLosses(dir + "/one.jsonl"), try validLosses(dir + "/plain.jsonl"))
    }

    func testClassifierOnTwoAndThreeProcessesMatchesOneProcess() throws {
        try needMPI()
        let dir = try MPITests.classifierData.get()
        let base = [dir + "/train.bin", "--vocab", dir + "/v.bin", "--cell", "gru", "--hidden", "12", "--embed-dim", "6", "--lr", "0.01",
                    "--batch-size", "11", "--epochs", "3", "--threads", "1", "--clip", "1"]
        let single = try fit(np: 1, base + ["-o", dir + "/s.ckpt", "--log", dir + "/s.jsonl"])
        XCTAssertEqual(single.status, 0, single.stderr)
        let reference = try validLosses(dir + "/s.jsonl")
        XCTAssertEqual(reference.count, 3)
        let probs = try probabilities(dir + "/s.ckpt", dir + "/test.jsonl")
        XCTAssertEqual(probs.count, 60)
        for np in [2, 3] {
            // 11 records a step: 6+5 on 2 processes, 4+4+3 on 3; the last batch of 9: 5+4, 3+3+3
            let r = try fit(np: np, base + ["-o", dir + "/m\(np).ckpt", "--log", dir + "/m\(np).jsonl"])
            XCTAssertEqual(r.status, 0, r.stderr)
            assertClose(try validLosses(dir + "/m\(np).jsonl"), reference, 1e-4, "validation losses on \(np) processes")
            assertClose(try probabilities(dir + "/m\(np).ckpt", dir + "/test.jsonl"), probs, 1e-5, "test probabilities on \(np) processes")
            // only rank 0 reports: the lines of one process, and one line about the processes
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.filter { $0.hasPrefix("epoch ") }.count, 3, r.stderr)
            XCTAssertEqual(lines.filter { $0.hasPrefix("kept ") }.count, 1, r.stderr)
            XCTAssertEqual(lines.filter { $0.hasPrefix("rnn-fit: \(np) processes: ") }.count, 1, r.stderr)
            XCTAssertEqual(r.out, "")
        }
        // one epoch on 2 processes, the other two resumed on 3: the same run
        let first = try fit(np: 2, base.map { $0 == "3" ? "1" : $0 } + ["-o", dir + "/r.ckpt", "--log", dir + "/r.jsonl"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let second = try fit(np: 3, [dir + "/train.bin", "--vocab", dir + "/v.bin", "--resume", dir + "/r.ckpt", "--epochs", "3", "--log", dir + "/r.jsonl"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("resuming at epoch 2 of 3"), second.stderr)
        assertClose(try validLosses(dir + "/r.jsonl"), reference, 1e-4, "classifier resumed on another process count")
        assertClose(try probabilities(dir + "/r.ckpt", dir + "/test.jsonl"), probs, 1e-5, "test probabilities after the resumed run")
        // the comparison can fail: another global batch trains another model
        let other = try fit(np: 2, base.map { $0 == "11" ? "12" : $0 } + ["-o", dir + "/o.ckpt", "-q"])
        XCTAssertEqual(other.status, 0, other.stderr)
        let otherProbs = try probabilities(dir + "/o.ckpt", dir + "/test.jsonl")
        XCTAssertGreaterThan(zip(otherProbs, probs).map { abs($0 - $1) }.max() ?? 0, 1e-5)
    }

    func testTouchedEmbeddingRowsOnlyGiveTheDenseSum() throws {
        try needMPI()
        let dir = try MPITests.wideData.get()
        let base = [dir + "/train.bin", "--vocab", dir + "/v.bin", "--cell", "gru", "--hidden", "8", "--embed-dim", "16", "--lr", "0.01",
                    "--batch-size", "11", "--epochs", "2", "--threads", "1"]
        let single = try fit(np: 1, base + ["-o", dir + "/s.ckpt", "--log", dir + "/s.jsonl"])
        XCTAssertEqual(single.status, 0, single.stderr)
        let sparse = try fit(np: 2, base + ["-o", dir + "/sparse.ckpt", "--log", dir + "/sparse.jsonl"])
        XCTAssertEqual(sparse.status, 0, sparse.stderr)
        let dense = try E2E.sh("RNN_MPI_EXCHANGE=dense mpirun --oversubscribe --allow-run-as-root -np 2 rnn-fit "
                               + quoted(base + ["-o", dir + "/dense.ckpt", "--log", dir + "/dense.jsonl"]))
        XCTAssertEqual(dense.status, 0, dense.stderr)
        // on 2 processes each sum is a + b, whichever rows travel: the same model, bit for bit
        let probs = try probabilities(dir + "/sparse.ckpt", dir + "/test.jsonl")
        XCTAssertEqual(probs, try probabilities(dir + "/dense.ckpt", dir + "/test.jsonl"))
        assertClose(try validLosses(dir + "/sparse.jsonl"), try validLosses(dir + "/s.jsonl"), 1e-4, "validation losses, sparse sum")
        assertClose(probs, try probabilities(dir + "/s.ckpt", dir + "/test.jsonl"), 1e-5, "test probabilities, sparse sum")
        // what was sent: "X MB summed per step (Y MB of it embedding rows; dense gradient Z MB)"
        func sent(_ stderr: String) -> [Double] {
            guard let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix("rnn-fit: 2 processes: ") }).map(String.init),
                  let re = try? NSRegularExpression(pattern: "([0-9.]+) MB") else { return [] }
            return re.matches(in: line, range: NSRange(line.startIndex..., in: line)).compactMap { m in
                Range(m.range(at: 1), in: line).flatMap { Double(line[$0]) }
            }
        }
        let s = sent(sparse.stderr), d = sent(dense.stderr)
        XCTAssertEqual(s.count, 3, sparse.stderr)
        XCTAssertEqual(d.count, 3, dense.stderr)
        if s.count == 3 && d.count == 3 {
            XCTAssertGreaterThan(s[1], 0, sparse.stderr)
            XCTAssertLessThan(s[0], 0.75 * d[0], "sparse \(sparse.stderr) dense \(dense.stderr)")
            XCTAssertEqual(d[0], d[2], dense.stderr)
            XCTAssertEqual(d[1], 0, dense.stderr)
        }
    }

    func testEveryProcessMustStartFromTheSameWeights() throws {
        try needMPI()
        let dir = try MPITests.classifierData.get()
        let args = quoted([dir + "/train.bin", "--vocab", dir + "/v.bin", "--hidden", "8", "--epochs", "1", "--threads", "1", "-o", dir + "/x.ckpt"])
        // two processes with different seeds (MPMD): refused before any step, rank 0 says why
        let r = try E2E.sh("mpirun --oversubscribe --allow-run-as-root -np 1 rnn-fit \(args) --seed 1 : -np 1 rnn-fit \(args) --seed 2")
        XCTAssertNotEqual(r.status, 0)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("rnn-fit: error: ") }
        XCTAssertEqual(errors.count, 1, r.stderr)
        XCTAssertTrue(errors.first?.contains("rank 1 of 2 built other initial weights, data or settings than rank 0") == true, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.ckpt"))
    }

    func testLanguageModelMatchesOneProcessAndResumesOnAnotherProcessCount() throws {
        try needMPI()
        let text = try MPITests.lmText.get()
        let dir = Support.tempDir("mpi-lm-runs")
        // 7 streams: 4+3 on 2 processes, 3+2+2 on 3
        let base = ["--lm", text, "--cell", "lstm", "--layers", "1", "--hidden", "24", "--embed-dim", "8", "--batch-size", "7",
                    "--seq-len", "16", "--threads", "1"]
        let single = try fit(np: 1, base + ["--epochs", "2", "-o", dir + "/s.ckpt", "--log", dir + "/s.jsonl"])
        XCTAssertEqual(single.status, 0, single.stderr)
        let reference = try validLosses(dir + "/s.jsonl")
        XCTAssertEqual(reference.count, 2)
        for np in [2, 3] {
            let r = try fit(np: np, base + ["--epochs", "2", "-o", dir + "/m\(np).ckpt", "--log", dir + "/m\(np).jsonl"])
            XCTAssertEqual(r.status, 0, r.stderr)
            assertClose(try validLosses(dir + "/m\(np).jsonl"), reference, 1e-4, "LM validation losses on \(np) processes")
        }
        // one epoch on 2 processes, the second resumed on 3: the carried state of all 7 streams
        // went through the state file
        let first = try fit(np: 2, base + ["--epochs", "1", "-o", dir + "/r.ckpt", "--log", dir + "/r.jsonl"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let second = try fit(np: 3, ["--lm", text, "--resume", dir + "/r.ckpt", "--epochs", "2", "--log", dir + "/r.jsonl"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("resuming at epoch 2 of 2"), second.stderr)
        assertClose(try validLosses(dir + "/r.jsonl"), reference, 1e-4, "LM resumed on another process count")
    }

    /// A long run on 2 processes, stopped by `signal` sent to mpirun once a checkpoint is kept;
    /// returns mpirun's status, rank 0's stderr and the folder.
    func stopped(by signal: String) throws -> (Int32, String, String) {
        let text = try MPITests.lmText.get()
        let dir = Support.tempDir("mpi-stop-\(signal)")
        let args = ["--lm", text, "--hidden", "24", "--layers", "1", "--embed-dim", "8", "--batch-size", "4", "--seq-len", "16",
                    "--threads", "1", "--eval-every", "5", "--epochs", "100000", "-o", dir + "/lm.ckpt", "--log", dir + "/log.jsonl"]
        let r = try E2E.sh("""
            set -m
            mpirun --oversubscribe --allow-run-as-root -np 2 rnn-fit \(quoted(args)) 2>'\(dir)/err' & pid=$!
            for i in $(seq 1 600); do grep -q '"checkpoint"' '\(dir)/log.jsonl' 2>/dev/null && break; sleep 0.05; done
            sleep 0.3; kill -\(signal) $pid; wait $pid; echo "status $?"
            """)
        let status = Int32(r.out.split(separator: " ").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "") ?? -1
        return (status, (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "", dir)
    }

    func testSIGUSR1ToMpirunStopsEveryProcessAtTheSameStep() throws {
        try needMPI()
        let (status, err, dir) = try stopped(by: "USR1")
        XCTAssertEqual(status, 128 + 10, err)
        XCTAssertEqual(err.split(separator: "\n").filter { $0.hasPrefix("SIGUSR1: stopping after this step") }.count, 1, err)
        XCTAssertTrue(err.contains("interrupted: kept \(dir)/lm.ckpt"), err)
        let log = try String(contentsOfFile: dir + "/log.jsonl", encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").filter { $0.contains("\"event\":\"interrupted\"") }.count, 1, log)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }, [])
        // the state resumes, in one process
        let text = try MPITests.lmText.get()
        let again = try Support.tool("rnn-fit", ["--lm", text, "--resume", dir + "/lm.ckpt", "--epochs", "100000", "--max-time", "1s", "-q"])
        XCTAssertEqual(again.0, 0, again.2)
    }

    func testCtrlCOnMpirunKeepsTheBestCheckpointIntact() throws {
        try needMPI()
        // mpirun answers SIGINT with SIGTERM to every process (then SIGKILL a second later)
        let (status, err, dir) = try stopped(by: "INT")
        XCTAssertNotEqual(status, 0, err)
        XCTAssertFalse(err.contains("error"), err)
        let text = try MPITests.lmText.get()
        let again = try Support.tool("rnn-fit", ["--lm", text, "--resume", dir + "/lm.ckpt", "--epochs", "100000", "--max-time", "1s", "-q"])
        XCTAssertEqual(again.0, 0, again.2)
        let sample = try Support.tool("rnn-sample", ["-m", dir + "/lm.ckpt", "--length", "20", "--seed", "1"])
        XCTAssertEqual(sample.0, 0, sample.2)
    }

    func testTimeBudgetAndADeadProcessEndEveryProcess() throws {
        try needMPI()
        let text = try MPITests.lmText.get()
        let dir = Support.tempDir("mpi-budget")
        let args = ["--lm", text, "--hidden", "24", "--layers", "1", "--embed-dim", "8", "--batch-size", "4", "--seq-len", "16", "--threads", "1",
                    "--epochs", "100000"]
        let budget = try fit(np: 2, args + ["--max-time", "2s", "-o", dir + "/b.ckpt"])
        XCTAssertEqual(budget.status, 0, budget.stderr)
        XCTAssertEqual(budget.stderr.split(separator: "\n").filter { $0.hasPrefix("time budget of 0:02 reached") }.count, 1, budget.stderr)
        XCTAssertTrue(budget.stderr.contains("kept \(dir)/b.ckpt"), budget.stderr)
        // one process killed: mpirun ends the others and says which one died (no hang: timeout)
        let r = try E2E.sh("""
            set -m
            timeout 120 mpirun --oversubscribe --allow-run-as-root -np 3 rnn-fit \(quoted(args + ["-o", dir + "/d.ckpt"])) 2>'\(dir)/err' & pid=$!
            ranks() { pgrep -f "^rnn-fit .*\(dir)/d.ckpt"; }
            for i in $(seq 1 600); do [ "$(ranks | wc -l)" -ge 3 ] && break; sleep 0.05; done
            sleep 1; kill -KILL $(ranks | tail -1); wait $pid; echo "status $?"
            """)
        let err = (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? ""
        XCTAssertTrue(r.out.hasPrefix("status ") && r.out != "status 0\n", r.out + err)
        XCTAssertNotEqual(r.out, "status 124\n", "mpirun hung after a process died: \(err)")
        XCTAssertTrue(err.contains("exited on signal 9"), err)
    }
}
