import Foundation
import XCTest

/// Issue 11 on the built tools: option values, outputs that are inputs, one writer per output,
/// stale and interrupted temporary files, gzip data after the stream, hostile sizes.
final class ReliabilityCLITests: XCTestCase {
    /// A folder with two records, their vocabulary (v.bin) and encoded data (t.bin).
    func setUpData() throws -> URL {
        let d = try E2E.tempDir()
        let r = try E2E.sh("""
            cd "$0" && printf '{"text":"a good film","label":"pos"}\\n{"text":"a bad film","label":"neg"}\\n' > t.jsonl &&
            rnn-vocab t.jsonl -o v.bin 2>/dev/null && rnn-encode --vocab v.bin t.jsonl -o t.bin 2>/dev/null
            """, args: [d.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return d
    }

    func testNonFiniteNegativeAndHugeOptionValuesAreUsageErrors() throws {
        let d = try setUpData()
        let cases: [(String, String)] = [
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --lr inf", "--lr must be a positive number"),
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --lr 1e400", "--lr must be a positive number"),
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --weight-decay inf", "--weight-decay must be a number >= 0"),
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --clip nan", "--clip must be a number >= 0"),
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --lr-decay inf", "--lr-decay must be a positive number"),
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --lr -1", "--lr must be a positive number"),
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --lr -inf", "--lr must be a positive number"),
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --hidden 1000000000", "--hidden must be in [1, 65536]"),
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --layers 100000", "--layers must be in [1, 64]"),
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --hidden 16384 --layers 64", "parameters, more than the limit of"),
            ("rnn-fit t.bin --vocab v.bin -o m.ckpt --epochs -3", "--epochs must be in [1, "),
            ("rnn-encode --vocab v.bin --fix-length 1000000000000 t.jsonl", "--fix-length must be in [1, 1048576]"),
            ("rnn-sample -m m.ckpt --temp nan", "--temp must be >= 0"),
        ]
        for (cmd, fragment) in cases {
            let r = try E2E.sh("cd \"$0\" && " + cmd, args: [d.path])
            XCTAssertEqual(r.status, 2, "\(cmd): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(fragment), "\(cmd): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Missing value"), "\(cmd): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(cmd): one line: \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.appendingPathComponent("m.ckpt").path))
    }

    func testAnOutputThatIsAnInputIsRefused() throws {
        let d = try setUpData()
        let cases = ["rnn-vocab t.jsonl -o t.jsonl", "rnn-vocab ./t.jsonl -o \"$0/t.jsonl\"", "ln -f t.jsonl h.jsonl && rnn-vocab h.jsonl -o t.jsonl",
                     "rnn-fit t.bin --vocab v.bin -o v.bin --epochs 1", "rnn-fit t.bin --vocab v.bin -o ./t.bin --epochs 1",
                     "rnn-encode --vocab v.bin t.jsonl -o v.bin", "rnn-clean t.jsonl -o t.jsonl", "rnn-corpus t.jsonl -o t.jsonl"]
        for cmd in cases {
            let before = try E2E.sh("cd \"$0\" && cat t.jsonl v.bin t.bin | md5sum", args: [d.path]).out
            let r = try E2E.sh("cd \"$0\" && " + cmd, args: [d.path])
            XCTAssertEqual(r.status, 1, "\(cmd): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("this output is also an input"), "\(cmd): \(r.stderr)")
            XCTAssertEqual(try E2E.sh("cd \"$0\" && cat t.jsonl v.bin t.bin | md5sum", args: [d.path]).out, before, cmd)
        }
    }

    func testASecondWriterOfTheSameOutputIsRefused() throws {
        let d = try setUpData()
        // The first writer holds the output while its input (a pipe) stays open for 3 s.
        let r = try E2E.sh("""
            cd "$0"
            (sleep 3; cat t.jsonl) | rnn-clean -o out.jsonl & first=$!
            sleep 1
            rnn-clean t.jsonl -o out.jsonl; echo "second=$?"
            wait $first; echo "first=$?"
            wc -l < out.jsonl
            """, args: [d.path])
        XCTAssertTrue(r.out.contains("second=1"), r.out + r.stderr)
        XCTAssertTrue(r.out.contains("first=0"), r.out + r.stderr)
        XCTAssertTrue(r.out.hasSuffix("2\n"), r.out)
        XCTAssertTrue(r.stderr.contains("out.jsonl: another process is writing this file"), r.stderr)
    }

    func testTemporaryFilesGoOnSignalsAndStaleOnesAreCleaned() throws {
        let d = try setUpData()
        for (sig, status) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
            for tool in ["(cat t.jsonl; exec sleep 3) | rnn-clean -o out.jsonl", "rm -f p; mkfifo p; (exec sleep 3 > p) >/dev/null 2>&1 & rnn-corpus p -o out.jsonl"] {
                // set -m: background jobs of a script ignore SIGINT otherwise (as they should)
                let r = try E2E.sh("""
                    set -m; cd "$0"
                    echo previous > out.jsonl
                    \(tool) & pid=$!
                    sleep 1; ls -a | grep -c 'out.jsonl.tmp' ; kill -\(sig) $pid; wait $pid; echo "status=$?"
                    ls -a | grep -c 'out.jsonl.tmp'; cat out.jsonl
                    """, args: [d.path])
                XCTAssertEqual(r.out, "1\nstatus=\(status)\n0\nprevious\n", "\(tool) \(sig): \(r.stderr)")
            }
        }
        // A killed writer's temporary file (its process is gone) is removed by the next writer;
        // one of a live process stays.
        let r = try E2E.sh("""
            cd "$0"
            sleep 30 & live=$!
            echo x > .out.jsonl.tmp-999999; echo y > .out.jsonl.tmp-$live
            rnn-clean t.jsonl -o out.jsonl && ls -a | grep out.jsonl.tmp | sed "s/$live/LIVE/"
            kill $live
            """, args: [d.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.out, ".out.jsonl.tmp-LIVE\n")
    }

    func testDataAfterAGzipStreamIsAnErrorNotLostRecords() throws {
        let d = try setUpData()
        let r = try E2E.sh("""
            cd "$0"
            (gzip -c t.jsonl; cat t.jsonl) > joined.jsonl.gz
            rnn-clean joined.jsonl.gz > /dev/null; echo "file=$?"
            rnn-clean < joined.jsonl.gz > /dev/null; echo "stdin=$?"
            (gzip -c t.jsonl; gzip -c t.jsonl) | rnn-clean | wc -l
            """, args: [d.path])
        XCTAssertEqual(r.out, "file=1\nstdin=1\n4\n", r.stderr)
        XCTAssertTrue(r.stderr.contains("joined.jsonl.gz: trailing data after the gzip stream at compressed byte"), r.stderr)
    }

    func testTheSuitesBinaryFilesAreNotReadAsText() throws {
        let d = try setUpData()
        let r = try E2E.sh("""
            cd "$0"
            rnn-clean t.bin > out1; echo "clean=$? $(wc -c < out1)"
            rnn-vocab v.bin -o v2.bin; echo "vocab=$?"
            gzip -c t.bin | rnn-clean > out2; echo "gzip=$? $(wc -c < out2)"
            rnn-fit --lm v.bin -o lm.ckpt; echo "lm=$?"
            rnn-clean --format text v.bin | wc -l
            """, args: [d.path])
        XCTAssertTrue(r.out.hasPrefix("clean=1 0\nvocab=1\ngzip=1 0\nlm=1\n"), r.out + r.stderr)
        XCTAssertTrue(r.stderr.contains("t.bin: a safetensors file"), r.stderr)
        XCTAssertTrue(r.stderr.contains("v.bin: a safetensors file"), r.stderr)
        XCTAssertTrue(r.stderr.contains("<stdin>: a safetensors file"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.path + "/v2.bin"))
        XCTAssertTrue(r.stderr.contains("v.bin: a safetensors file (an rnn-vocab vocabulary, rnn-encode dataset or checkpoint), not text to train"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.path + "/lm.ckpt"))
        // an explicit --format text reads whatever it is given
        XCTAssertNotEqual(r.out.split(separator: "\n").last, "0", r.out)
    }

    func testInputWithoutNewlinesStopsAtTheLineLimit() throws {
        let r = try E2E.sh("head -c 70000000 /dev/zero | rnn-clean > /dev/null; echo \"status=$?\"")
        XCTAssertTrue(r.out.contains("status=1"), r.out)
        XCTAssertTrue(r.stderr.contains("<stdin>:1: line longer than 64 MiB"), r.stderr)
    }
}
