import Foundation
import XCTest
@testable import RNNCore
@testable import RNNEngine
@testable import RNNText
@testable import RNNTrain

/// The classifier task and the Trainer on small synthetic data: each label has its own cue words
/// among shared filler words.
final class FitJobTests: XCTestCase {
    private var dir = ""

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-fitjob-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Writes vocabulary + encoded dataset for `labels.count` classes; returns (vocab, data) paths.
    private func makeData(labels: [String], records: Int, vectors: Int = 0, fixLength: Int? = nil, seed: UInt64 = 1,
                          name: String = "d") throws -> (String, String) {
        let filler = ["the", "a", "film", "movie", "it", "was", "and", "of", "this", "story"]
        let cues = labels.map { l in (0 ..< 3).map { "\(l)\($0)" } }
        var rng = RNG(seed: seed)
        var texts: [(String, String)] = []
        for r in 0 ..< records {
            let k = r % labels.count
            var words: [String] = []
            for _ in 0 ..< 4 + rng.below(12) { words.append(filler[rng.below(filler.count)]) }
            words.insert(cues[k][rng.below(3)], at: rng.below(words.count + 1))
            texts.append((words.joined(separator: " "), labels[k]))
        }
        var b = VocabularyBuilder()
        for (t, l) in texts { var s = t; s.withUTF8 { b.addRecord(text: UnsafeRawBufferPointer($0), label: l) } }
        var vocab = b.build()
        if vectors > 0 {
            var vr = RNG(seed: 99)
            let v = (0 ..< vocab.count * vectors).map { i in i < 2 * vectors ? 0 : vr.normal() * 0.3 }
            vocab = vocab.withVectors(v, dim: vectors)
        }
        let vp = dir + "/\(name)-vocab.bin", dp = dir + "/\(name).bin"
        try vocab.save(to: vp)
        let enc = Encoder(vocabulary: vocab, fixLength: fixLength, padFirst: true)
        var w = EncodedDatasetWriter(encoder: enc)
        for (t, l) in texts {
            var s = t
            _ = s.withUTF8 { w.append(text: UnsafeRawBufferPointer($0), labels: [Int32(vocab.labelID(l)!)], encoder: enc) }
        }
        try w.write(to: dp)
        return (vp, dp)
    }

    private func options(_ vocab: String, _ data: String) -> FitOptions {
        var o = FitOptions(trainPath: data, vocabPath: vocab)
        o.hidden = 8
        o.embedDim = 8
        o.batchSize = 16
        o.threads = 1
        return o
    }

    private func optimizer(lr: Float = 0.02, seed: UInt64 = 5) -> OptimizerSettings {
        var o = OptimizerSettings()
        o.lr = lr
        o.seed = seed
        return o
    }

    /// Trains (or resumes, when `resume`) into dir/out.
    @discardableResult
    private func train(_ o: FitOptions, _ opt: OptimizerSettings? = nil, epochs: Int = 3, out: String = "best.ckpt", resume: Bool = false,
                       evalEvery: Int = 0, sink: any TrainingSink = EventRecorder(), stop: @escaping () -> Int32? = { nil }) throws -> (ClassifierTask, TrainingResult) {
        let path = dir + "/" + out
        let state = resume ? try TrainingState.load(checkpoint: path) : nil
        let opt = state?.optimizer ?? opt ?? optimizer()
        let task = try ClassifierTask(options: o, seed: opt.seed, resume: state)
        var run = RunSettings()
        run.epochs = epochs
        run.evalEvery = evalEvery
        let trainer = try Trainer(task: task, optimizer: opt, run: run, output: path, resume: state, sink: sink, stopSignal: stop)
        return (task, try trainer.run())
    }

    func testBinaryTrainingLearnsKeepsTheBestAndReportsEvents() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 400)
        let rec = EventRecorder(keepBatches: true)
        let (job, result) = try train(options(v, d), sink: rec)
        XCTAssertEqual(job.sizes.train, 320)
        XCTAssertEqual(job.sizes.valid, 80)
        XCTAssertEqual(job.model.config.outputs, 1)
        XCTAssertEqual(result.history.count, 3)
        let last = try XCTUnwrap(result.history.last)
        XCTAssertGreaterThan(last.validAccuracy ?? 0, 0.9, "cue words are easy: \(result.history)")
        // the kept epoch has the lowest validation loss, and the checkpoint says so
        let bestLoss = result.history.compactMap(\.validLoss).min()
        XCTAssertEqual(result.bestLoss, bestLoss)
        let (_, info) = try Checkpoint.load(path: dir + "/best.ckpt", expect: .classifier)
        XCTAssertEqual(info.epoch, result.bestEpoch)
        XCTAssertEqual(info.validLoss!, bestLoss!, accuracy: 1e-9)
        XCTAssertEqual(info.labels, ["neg", "pos"])
        XCTAssertEqual(info.seed, 5)
        // events: start, per epoch (start, 20 batches, evaluation[, checkpoint], state), end
        guard case .started(let plan) = rec.events.first else { return XCTFail("no start event") }
        XCTAssertEqual(plan.batchesPerEpoch, 20)
        XCTAssertEqual(rec.events.filter { if case .batch = $0 { return true }; return false }.count, 60)
        XCTAssertEqual(rec.summaries.map(\.epoch), [1, 2, 3])
        XCTAssertEqual(rec.summaries.filter(\.isBest).count,
                       rec.events.filter { if case .checkpointWritten = $0 { return true }; return false }.count)
        guard case .finished(let best, _, _, _) = rec.events.last else { return XCTFail("no end event") }
        XCTAssertEqual(best, dir + "/best.ckpt")
        // the padding row of the embedding stays zero
        let (m, _) = try Checkpoint.load(path: dir + "/best.ckpt")
        XCTAssertEqual(Array(m.params.value("embedding.weight")[8 ..< 16]), [Float](repeating: 0, count: 8))
    }

    func testMultiClassUsesSoftmaxOutputs() throws {
        let (v, d) = try makeData(labels: ["a", "b", "c"], records: 300)
        let (job, result) = try train(options(v, d), epochs: 4)
        XCTAssertEqual(job.model.config.outputs, 3)
        XCTAssertGreaterThan(result.bestAccuracy ?? 0, 0.8, "\(result.history)")
        let f = try SafeTensorsFile(path: dir + "/best.ckpt")
        XCTAssertEqual(f.tensors["fc.weight"]?.shape, [3, 8])
    }

    func testEmbeddingStartsFromTheVectorsAndFreezes() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 100, vectors: 6)
        var o = options(v, d)
        o.embedDim = nil
        o.freezeEmbeddings = true
        let (job, _) = try train(o, epochs: 1)
        XCTAssertEqual(job.model.config.embedDim, 6)
        let vocab = try Vocabulary.load(path: v)
        let (m, _) = try Checkpoint.load(path: dir + "/best.ckpt")
        XCTAssertEqual(Array(m.params.value("embedding.weight")), vocab.vectors, "frozen: still the pretrained rows")
        // conflicting --embed-dim, and no vectors without --embed-dim
        o.embedDim = 7
        XCTAssertThrowsError(try ClassifierTask(options: o, seed: 1)) {
            XCTAssertEqual($0 as? FitSetupError, .embedDimConflict(given: 7, vectors: 6, vocabulary: v))
        }
        let (v2, d2) = try makeData(labels: ["neg", "pos"], records: 50, name: "plain")
        var o2 = options(v2, d2)
        o2.embedDim = nil
        XCTAssertEqual(try ClassifierTask(options: o2, seed: 1).model.config.embedDim, FitOptions.defaultEmbedDim)  // no vectors: E = 100
    }

    func testResumeEqualsUninterruptedAndThreadsDoNotChangeResults() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 200, fixLength: 12)
        for padded in [false, true] {
            var full = options(v, d)
            full.padded = padded
            full.headDropout = 0.2
            try train(full, out: "full.ckpt")
            try train(full, epochs: 1, out: "part.ckpt")
            var rest = FitOptions(trainPath: d, vocabPath: v)
            rest.threads = full.threads   // same seed and threads: same bits (other counts: KernelTests.testAnyThreadCount)
            let (_, r) = try train(rest, epochs: 3, out: "part.ckpt", resume: true)
            XCTAssertEqual(r.history.count, 3)
            let a = try SafeTensorsFile(path: dir + "/full.ckpt.state"), b = try SafeTensorsFile(path: dir + "/part.ckpt.state")
            XCTAssertEqual(try a.floats("params"), try b.floats("params"), "padded \(padded)")
            XCTAssertEqual(try a.floats("adam.v"), try b.floats("adam.v"))
            XCTAssertEqual(try b.int64s("position"), [4, 0, 30, 30])
            XCTAssertEqual(b.metadata["threads"], "1", "the thread count a resumed run defaults to")
            XCTAssertEqual(try TrainingState.load(checkpoint: dir + "/part.ckpt").threads, 1)
            XCTAssertEqual(a.metadata["history"].map { $0.count > 10 }, true)
            // nothing left to train
            XCTAssertThrowsError(try train(rest, epochs: 3, out: "part.ckpt", resume: true)) {
                XCTAssertEqual($0 as? TrainingError, .nothingLeft(state: self.dir + "/part.ckpt.state", trainedEpochs: 3))
            }
        }
    }

    // MARK: the shared stop path, divergence and the state file

    func testStopSignalEvaluatesKeepsTheBestAndResumesExactly() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 200)
        try train(options(v, d), epochs: 2, out: "full.ckpt")
        var checks = 0
        let rec = EventRecorder()
        let (_, r) = try train(options(v, d), epochs: 2, out: "cut.ckpt", sink: rec, stop: { checks += 1; return checks > 13 ? SIGTERM : nil })
        XCTAssertEqual(r.stopped, .signal(SIGTERM))
        XCTAssertEqual(r.interruptedBy, SIGTERM)
        XCTAssertEqual(r.steps, 13)
        // a final evaluation point inside epoch 2 (10 batches an epoch), then the interruption
        XCTAssertEqual(rec.summaries.map(\.epoch), [1, 1.3])
        XCTAssertTrue(rec.events.contains(.stopping(.signal(SIGTERM))))
        guard case .interrupted(let kept, let epoch, _)? = rec.events.last else { return XCTFail("\(rec.events)") }
        XCTAssertEqual(kept, dir + "/cut.ckpt")
        XCTAssertEqual(epoch, r.bestEpoch)
        let (_, info) = try Checkpoint.load(path: dir + "/cut.ckpt")
        XCTAssertEqual(info.epoch, r.bestEpoch)
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/cut.ckpt.state").int64s("position"), [2, 3, 13, 13])
        // resumed inside the epoch: the same weights as the uninterrupted run
        var again = FitOptions(trainPath: d, vocabPath: v)
        again.threads = options(v, d).threads   // same seed and threads: same bits
        let (_, r2) = try train(again, epochs: 2, out: "cut.ckpt", resume: true)
        XCTAssertNil(r2.stopped)
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/cut.ckpt.state").floats("params"),
                       try SafeTensorsFile(path: dir + "/full.ckpt.state").floats("params"))
        XCTAssertEqual(r2.history.map(\.epoch), [1, 1.3, 2])
    }

    func testTimeBudgetIncludesTheFinalEvaluationAndTest() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 200)
        var o = options(v, d)
        o.testPath = d
        let opt = optimizer()
        let task = try ClassifierTask(options: o, seed: opt.seed)
        var run = RunSettings()
        run.epochs = 1000
        run.maxTime = 5
        var now = 100.0
        let rec = EventRecorder(keepBatches: true)
        let trainer = try Trainer(task: task, optimizer: opt, run: run, output: dir + "/b.ckpt", sink: rec,
                                  clock: { now += 0.01; return now })
        let r = try trainer.run()
        XCTAssertEqual(r.stopped, .timeBudget(seconds: 5, step: r.steps))
        XCTAssertNotNil(r.test)
        guard case .finished(let kept, _, _, let elapsed)? = rec.events.last else { return XCTFail("\(rec.events.last as Any)") }
        XCTAssertEqual(kept, dir + "/b.ckpt")
        XCTAssertLessThanOrEqual(elapsed, 5, "the final evaluation and the test fit in the budget")
        XCTAssertGreaterThan(elapsed, 4, "the budget is used")
        // the ETA counts to the budget when it ends first
        let etas = rec.events.compactMap { e -> Double? in if case .batch(let b) = e { return b.eta }; return nil }
        XCTAssertLessThan(etas.last ?? 99, 1)
    }

    func testANonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 200)
        var opt = optimizer(lr: 2)
        opt.lrDecay = .greatestFiniteMagnitude   // epoch 2 steps with an infinite learning rate (2 x Float max)
        XCTAssertThrowsError(try train(options(v, d), opt, epochs: 3)) { e in
            guard case .diverged(let loss, let step, let epoch, let kept, let weights)? = e as? TrainingError else { return XCTFail("\(e)") }
            // the first step of epoch 2 (an infinite step) leaves weights that are not finite,
            // whatever the loss of the steps after it would have shown
            XCTAssertTrue(weights)
            XCTAssertTrue(loss.isFinite)
            XCTAssertEqual(step, 11)
            XCTAssertEqual(epoch, 2)
            XCTAssertEqual(kept, self.dir + "/best.ckpt")
        }
        let (m, info) = try Checkpoint.load(path: dir + "/best.ckpt")
        XCTAssertEqual(info.epoch, 1)
        XCTAssertTrue(m.params.values.allSatisfy(\.isFinite))
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/best.ckpt.state").int64s("position"), [2, 0, 10, 10])
    }

    /// Rewrites a safetensors file with some metadata and I64 tensors replaced.
    private func rewrite(_ path: String, meta: [String: String] = [:], int64s: [String: [Int64]] = [:], floats: [String: [Float]] = [:]) throws {
        let f = try SafeTensorsFile(path: path)
        var w = SafeTensorsWriter()
        for n in f.names {
            let t = try XCTUnwrap(f.tensors[n])
            if let x = int64s[n] { w.add(n, shape: [x.count], int64s: x) }
            else if let x = floats[n] { w.add(n, shape: [x.count], floats: x) }
            else if t.dtype == .f32 { w.add(n, shape: t.shape, floats: try f.floats(n)) }
            else { w.add(n, shape: t.shape, int64s: try f.int64s(n)) }
        }
        for (n, x) in floats.sorted(by: { $0.key < $1.key }) where f.tensors[n] == nil { w.add(n, shape: [x.count], floats: x) }
        var m = f.metadata
        for (k, v) in meta { m[k] = v }
        for (k, v) in m.sorted(by: { $0.key < $1.key }) { w.setMetadata(k, v) }
        try w.write(to: path)
    }

    func testCorruptStateNumbersAreClearErrorsNotTraps() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 100)
        try train(options(v, d), epochs: 1)
        let state = dir + "/best.ckpt.state", saved = dir + "/saved.state"
        try FileManager.default.copyItem(atPath: state, toPath: saved)
        let P = try XCTUnwrap(SafeTensorsFile(path: saved).tensors["params"]?.shape.first)
        let cases: [([String: String], [String: [Int64]], [String: [Float]], String)] = [
            (["task.batch_size": "-0"], [:], [:], "batch_size = '-0'"),
            (["layers": "-1"], [:], [:], "layers = '-1'"),
            (["hidden": "9223372036854775807"], [:], [:], "hidden = '9223372036854775807'"),
            (["head_dropout": "nan"], [:], [:], "head_dropout = 'nan'"),
            (["task.valid_split": "2"], [:], [:], "valid_split = '2'"),
            (["beta2": "inf"], [:], [:], "beta2 = 'inf'"),
            (["seed": "-3"], [:], [:], "seed = '-3'"),
            (["schedule": "linear"], [:], [:], "schedule = 'linear'"),
            (["best_valid_loss": "nan"], [:], [:], "best_valid_loss = 'nan'"),
            (["ema": "1"], [:], [:], "ema = '1'"),
            (["ema": "nan"], [:], [:], "ema = 'nan'"),
            (["ema": "0.5"], [:], [:], "average"),
            (["ema": "0.5"], [:], ["average": [Float](repeating: 0, count: P - 1)], "average"),
            (["ema": "0.5"], [:], ["average": [Float](repeating: .nan, count: P)], "non-finite averaged weights"),
            ([:], ["position": [2, 0, 10, Int64.max]], [:], "position"),
            ([:], ["position": [-1, 0, 0, 0]], [:], "position"),
            ([:], ["position": [2, 0]], [:], "position"),
            ([:], [:], ["lr": [.nan]], "lr = nan"),
            ([:], [:], ["adam.v": [1]], "adam.v"),
        ]
        for (meta, ints, fl, expected) in cases {
            try? FileManager.default.removeItem(atPath: state)
            try FileManager.default.copyItem(atPath: saved, toPath: state)
            try rewrite(state, meta: meta, int64s: ints, floats: fl)
            XCTAssertThrowsError(try train(FitOptions(trainPath: d, vocabPath: v), epochs: 2, resume: true), "\(meta) \(ints)") { e in
                let m = (e as? RNNError)?.message ?? "\(e)"
                XCTAssertTrue(m.contains(state) && m.contains(expected), m)
                XCTAssertFalse(m.contains("--"), "a library error names no option: \(m)")
            }
        }
        // a batch position outside the epoch is refused by the trainer
        try? FileManager.default.removeItem(atPath: state)
        try FileManager.default.copyItem(atPath: saved, toPath: state)
        try rewrite(state, int64s: ["position": [1, 99, 0, 0]])
        XCTAssertThrowsError(try train(FitOptions(trainPath: d, vocabPath: v), epochs: 2, resume: true)) {
            XCTAssertTrue("\($0)".contains("corrupt training state"), "\($0)")
        }
    }

    func testAStateFromAnotherRunOrAnOlderFormatIsRefused() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 100)
        try train(options(v, d), epochs: 1, out: "a.ckpt")
        try train(options(v, d), epochs: 1, out: "b.ckpt")
        let a = dir + "/a.ckpt"
        let runA = try XCTUnwrap(SafeTensorsFile(path: a).metadata["run_id"])
        XCTAssertEqual(try SafeTensorsFile(path: a + ".state").metadata["run_id"], runA)
        // two runs wrote the same -o: b's state next to a's checkpoint
        try FileManager.default.removeItem(atPath: a + ".state")
        try FileManager.default.copyItem(atPath: dir + "/b.ckpt.state", toPath: a + ".state")
        XCTAssertThrowsError(try TrainingState.load(checkpoint: a)) {
            guard case .mixedRun(let c, let s, _)? = $0 as? TrainingError else { return XCTFail("\($0)") }
            XCTAssertEqual([c, s], [a, a + ".state"])
        }
        // a version-1 state
        var w = SafeTensorsWriter()
        w.add("params", shape: [1], floats: [0])
        w.setMetadata("format", "rnn-fit-state")
        w.setMetadata("version", "1")
        try w.write(to: a + ".state")
        XCTAssertThrowsError(try TrainingState.load(checkpoint: a)) {
            XCTAssertEqual($0 as? TrainingError, .oldState(path: a + ".state", format: "rnn-fit-state"))
        }
        // no state
        XCTAssertThrowsError(try TrainingState.load(checkpoint: dir + "/none.ckpt")) {
            XCTAssertEqual($0 as? TrainingError, .noState(checkpoint: self.dir + "/none.ckpt", state: self.dir + "/none.ckpt.state"))
        }
    }

    func testEvaluationEveryNStepsInsideEpochs() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 200)
        let rec = EventRecorder()
        let (_, r) = try train(options(v, d), epochs: 2, evalEvery: 7, sink: rec)
        XCTAssertEqual(rec.summaries.map(\.epoch), [0.7, 1, 1.4, 2])
        XCTAssertEqual(rec.summaries.map(\.isEpochEnd), [false, true, false, true])
        XCTAssertEqual(rec.summaries.filter(\.isBest).last?.epoch, r.bestEpoch)
        let (_, info) = try Checkpoint.load(path: dir + "/best.ckpt")
        XCTAssertEqual(info.epoch, r.bestEpoch)
    }

    func testWithoutValidationTheLastEpochIsKept() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 100)
        var o = options(v, d)
        o.validSplit = 0
        let (job, r) = try train(o, epochs: 2)
        XCTAssertEqual(job.sizes.valid, 0)
        XCTAssertEqual(r.bestEpoch, 2)
        XCTAssertNil(r.bestLoss)
        XCTAssertTrue(r.history.allSatisfy { $0.validLoss == nil && $0.isBest })
        let (_, info) = try Checkpoint.load(path: dir + "/best.ckpt")
        XCTAssertEqual(info.epoch, 2)
        XCTAssertNil(info.validLoss)
    }

    func testValidationSplitIsSeededAndDisjoint() {
        let (t1, v1) = validationSplit(count: 100, fraction: 0.2, seed: 3)
        let (t2, v2) = validationSplit(count: 100, fraction: 0.2, seed: 3)
        let (_, v3) = validationSplit(count: 100, fraction: 0.2, seed: 4)
        XCTAssertEqual(v1, v2)
        XCTAssertEqual(t1, t2)
        XCTAssertNotEqual(v1, v3)
        XCTAssertEqual(v1.count, 20)
        XCTAssertEqual(Set(t1).union(v1), Set(0 ..< 100))
        XCTAssertTrue(Set(t1).isDisjoint(with: v1))
    }

    func testEvaluationDoesNotDependOnHowRecordsAreBatched() throws {
        let (_, d) = try makeData(labels: ["neg", "pos"], records: 60, fixLength: 10)
        let ds = try EncodedDataset(path: d)
        for padded in [false, true] {
            let data = try ClassificationData(dataset: ds, indices: Array(0 ..< ds.count), padded: padded, labelCount: 2)
            let model = Model(config: ModelConfig(cell: .lstm, task: .classifier, vocabSize: ds.vocabSize, embedDim: 4, hidden: 5, layers: 1,
                                                  bidirectional: true, dropout: 0, headDropout: 0, outputs: 1, paddingIndex: 1,
                                                  freezeEmbedding: false), seed: 3)
            let whole = evaluateClassifier(model, on: data, batchSize: 1000, maxTokens: 1 << 30)
            let single = evaluateClassifier(model, on: data, batchSize: 1000, maxTokens: 1)
            let small = evaluateClassifier(model, on: data, batchSize: 7)
            XCTAssertEqual(whole.count, 60)
            XCTAssertEqual(single.loss, whole.loss, accuracy: 1e-5)
            XCTAssertEqual(small.loss, whole.loss, accuracy: 1e-5)
            XCTAssertEqual(single.accuracy, whole.accuracy)
        }
    }

    func testCorrectPredictions() {
        XCTAssertEqual(correctPredictions(logits: [2, -1, 0.5, -3], labels: [1, 0, 0, 0], outputs: 1), 3)
        XCTAssertEqual(correctPredictions(logits: [0, 1, 2, 5, 1, 0], labels: [2, 1], outputs: 3), 1)
    }
}
