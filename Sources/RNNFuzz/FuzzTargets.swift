// The readers of the suite as fuzz targets (issue 11 item 6): each takes arbitrary bytes, runs them
// through the same loader the tools use, and returns the error message (nil when the bytes were
// accepted). A trap, a hang or an unbounded allocation is a bug; an error is the expected answer.
//
// Used by scripts/fuzz.sh (libFuzzer builds, Tests/Fuzz/driver.swift) and by the regression test
// that replays every committed input of Tests/Fuzz/regressions through the normal build.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNCore
import RNNEngine
import RNNText
import RNNTrain

/// Fuzz targets by name.
public enum FuzzTargets {
    /// Every target: the reader it exercises.
    public static let names = ["safetensors", "vocab", "dataset", "checkpoint", "jsonl", "tar", "gzip", "glove", "state"]

    /// The vocabulary GloVe lines are read for.
    nonisolated(unsafe) static var gloveVocabulary: Vocabulary = {
        var b = VocabularyBuilder()
        var s = "the a of and to in film movie good bad , . is it"
        s.withUTF8 { b.addRecord(text: UnsafeRawBufferPointer($0)) }
        return b.build()
    }()

    /// Runs `data` through the reader `target`, via a file at `scratch` (the readers take paths,
    /// as the tools do). Returns the error message, nil when the input was accepted.
    @discardableResult
    public static func run(_ target: String, _ data: UnsafeRawBufferPointer, scratch: String) -> String? {
        let ext: String
        switch target {
        case "tar": ext = ".tar"
        case "gzip", "jsonl": ext = ".gz"
        case "state": ext = ".ckpt.state"   // the state of checkpoint scratch.ckpt (absent)
        default: ext = ".bin"
        }
        let path = scratch + ext
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "cannot write \(path)" }
        var off = 0
        while off < data.count {
            let n = write(fd, data.baseAddress! + off, data.count - off)
            if n <= 0 { break }
            off += n
        }
        close(fd)
        do {
            try runFile(target, path)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Runs the reader `target` on the file `path`.
    public static func runFile(_ target: String, _ path: String) throws {
        switch target {
        case "safetensors":
            let f = try SafeTensorsFile(path: path)
            var sum: UInt8 = 0
            for n in f.names { if let b = f.bytes(n) { for x in b.prefix(64) { sum &+= x } } }
            _ = sum
        case "vocab":
            let v = try Vocabulary.load(path: path)
            _ = (0..<min(v.count, 100)).map { v.token($0) }
        case "dataset":
            let d = try EncodedDataset(path: path)
            var out: [Int32] = []
            for r in 0..<min(d.count, 100) { d.appendPadded(r, into: &out) }
        case "checkpoint":
            let (model, info) = try Checkpoint.load(path: path)
            _ = (model.params.count, info.tokens.count)
        case "jsonl":
            try RecordReader(paths: [path]).forEach { r in
                _ = r.text()
                _ = r.stringField("label")
            }
        case "tar":
            try CorpusReader(path: path, options: CorpusOptions()).forEach { item in _ = item.id }
        case "gzip":
            _ = try ByteSource(path: path).readAll(limit: 1 << 22)
        case "glove":
            _ = try PretrainedVectors.load(path: path, for: gloveVocabulary)
        case "state":
            // The resume file (rnn-train-state): parsed, range-checked, then used as --resume
            // uses it (a model of its architecture, its weights and Adam's moments).
            let s = try TrainingState.load(checkpoint: String(path.dropLast(".state".count)))
            let model = Model(config: s.config, seed: 1)
            s.restore(into: model)
            _ = s.adam().step
        default:
            throw RNNError("unknown fuzz target '\(target)' (targets: \(names.joined(separator: ", ")))")
        }
    }
}
