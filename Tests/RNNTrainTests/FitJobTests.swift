import Foundation
import XCTest
@testable import RNNCore
@testable import RNNEngine
@testable import RNNText
@testable import RNNTrain

/// FitJob on small synthetic data: each label has its own cue words among shared filler words.
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
            _ = s.withUTF8 { w.append(text: UnsafeRawBufferPointer($0), label: Int32(vocab.labelID(l)!), encoder: enc) }
        }
        try w.write(to: dp)
        return (vp, dp)
    }

    private func options(_ vocab: String, _ data: String, out: String = "best.ckpt") -> FitOptions {
        var o = FitOptions(trainPath: data, vocabPath: vocab, outputPath: dir + "/" + out)
        o.hidden = 8
        o.embedDim = 8
        o.lr = 0.02
        o.batchSize = 16
        o.epochs = 3
        o.seed = 5
        o.threads = 1
        return o
    }

    func testBinaryTrainingLearnsKeepsTheBestAndReportsEvents() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 400)
        let job = try FitJob(options: options(v, d))
        XCTAssertEqual(job.sizes.train, 320)
        XCTAssertEqual(job.sizes.valid, 80)
        XCTAssertEqual(job.modelConfig.outputs, 1)
        let rec = EventRecorder(keepBatches: true)
        let result = try job.run(sink: rec)
        XCTAssertEqual(result.history.count, 3)
        let last = try XCTUnwrap(result.history.last)
        XCTAssertGreaterThan(last.validAccuracy ?? 0, 0.9, "cue words are easy: \(result.history)")
        // the kept epoch has the lowest validation loss, and the checkpoint says so
        let bestLoss = result.history.compactMap(\.validLoss).min()
        XCTAssertEqual(result.bestValidLoss, bestLoss)
        let (_, info) = try Checkpoint.load(path: dir + "/best.ckpt", expect: .classifier)
        XCTAssertEqual(info.epoch, Double(result.bestEpoch))
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
        var o = options(v, d)
        o.epochs = 4
        let job = try FitJob(options: o)
        XCTAssertEqual(job.modelConfig.outputs, 3)
        let result = try job.run(sink: EventRecorder())
        XCTAssertGreaterThan(result.bestValidAccuracy ?? 0, 0.8, "\(result.history)")
        let f = try SafeTensorsFile(path: dir + "/best.ckpt")
        XCTAssertEqual(f.tensors["fc.weight"]?.shape, [3, 8])
    }

    func testEmbeddingStartsFromTheVectorsAndFreezes() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 100, vectors: 6)
        var o = options(v, d)
        o.embedDim = nil
        o.freezeEmbeddings = true
        o.epochs = 1
        let job = try FitJob(options: o)
        XCTAssertEqual(job.modelConfig.embedDim, 6)
        _ = try job.run(sink: EventRecorder())
        let vocab = try Vocabulary.load(path: v)
        let (m, _) = try Checkpoint.load(path: dir + "/best.ckpt")
        XCTAssertEqual(Array(m.params.value("embedding.weight")), vocab.vectors, "frozen: still the pretrained rows")
        // conflicting --embed-dim, and no vectors without --embed-dim
        o.embedDim = 7
        XCTAssertThrowsError(try FitJob(options: o)) { XCTAssertTrue("\($0)".contains("--embed-dim 7"), "\($0)") }
        let (v2, d2) = try makeData(labels: ["neg", "pos"], records: 50, name: "plain")
        var o2 = options(v2, d2)
        o2.embedDim = nil
        XCTAssertThrowsError(try FitJob(options: o2)) { XCTAssertTrue("\($0)".contains("--embed-dim"), "\($0)") }
    }

    func testResumeEqualsUninterruptedAndThreadsDoNotChangeResults() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 200, fixLength: 12)
        for padded in [false, true] {
            var full = options(v, d, out: "full.ckpt")
            full.padded = padded
            full.headDropout = 0.2
            _ = try FitJob(options: full).run(sink: EventRecorder())
            var part = full
            part.outputPath = dir + "/part.ckpt"
            part.epochs = 1
            _ = try FitJob(options: part).run(sink: EventRecorder())
            var rest = FitOptions(trainPath: d, vocabPath: v, outputPath: dir + "/part.ckpt")
            rest.resumePath = dir + "/part.ckpt"
            rest.epochs = 3
            rest.threads = full.threads   // same seed and threads: same bits (other counts: KernelTests.testAnyThreadCount)
            let resumed = try FitJob(options: rest)
            XCTAssertEqual(resumed.earlierHistory.count, 1)
            let r = try resumed.run(sink: EventRecorder())
            XCTAssertEqual(r.history.count, 3)
            let a = try SafeTensorsFile(path: dir + "/full.ckpt.state"), b = try SafeTensorsFile(path: dir + "/part.ckpt.state")
            XCTAssertEqual(try a.floats("params"), try b.floats("params"), "padded \(padded)")
            XCTAssertEqual(try a.floats("adam_v"), try b.floats("adam_v"))
            XCTAssertEqual(a.metadata["history"].map { $0.count > 10 }, true)
        }
    }

    func testWithoutValidationTheLastEpochIsKept() throws {
        let (v, d) = try makeData(labels: ["neg", "pos"], records: 100)
        var o = options(v, d)
        o.validSplit = 0
        o.epochs = 2
        let job = try FitJob(options: o)
        XCTAssertEqual(job.sizes.valid, 0)
        let r = try job.run(sink: EventRecorder())
        XCTAssertEqual(r.bestEpoch, 2)
        XCTAssertNil(r.bestValidLoss)
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
            let whole = try evaluateClassifier(model, on: data, batchSize: 1000, maxTokens: 1 << 30)
            let single = try evaluateClassifier(model, on: data, batchSize: 1000, maxTokens: 1)
            let small = try evaluateClassifier(model, on: data, batchSize: 7)
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
