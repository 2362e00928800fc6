import Foundation
import RNNCore
import RNNEngine
import RNNText
@testable import RNNTrain
import XCTest

final class LMTests: XCTestCase {
    func tempDir(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-lm-\(getpid())-\(name)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    /// The first `bytes` of tiny-shakespeare (skipped when the shared data is absent).
    func shakespeare(_ bytes: Int) throws -> [UInt8] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.deletingLastPathComponent().appendingPathComponent("shared/data/tinyshakespeare.txt").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no ../shared/data/tinyshakespeare.txt") }
        return Array(try LMCorpus.readText(paths: [path]).bytes.prefix(bytes))
    }

    func smallOptions() -> LMTrainingOptions {
        var o = LMTrainingOptions()
        o.layers = 1; o.hidden = 48; o.embedDim = 16; o.batchSize = 8; o.seqLen = 32; o.threads = 1
        return o
    }

    /// rnn-fit --lm's optimizer defaults with lr 0.01.
    func optimizer() -> OptimizerSettings {
        var o = OptimizerSettings()
        o.lr = 1e-2; o.clip = 5; o.seed = 1
        return o
    }

    /// Trains (or resumes) a language model into `output`.
    @discardableResult
    func train(_ corpus: LMCorpus, _ o: LMTrainingOptions, _ opt: OptimizerSettings? = nil, epochs: Int = 3, output: String, resume: Bool = false,
               maxTime: Double? = nil, sink: any TrainingSink = EventRecorder(), stop: @escaping () -> Int32? = { nil },
               clock: @escaping () -> Double = monotonicSeconds) throws -> TrainingResult {
        let state = resume ? try TrainingState.load(checkpoint: output) : nil
        let opt = state?.optimizer ?? opt ?? optimizer()
        let task = try LanguageModelTask(corpus: corpus, options: o, seed: opt.seed, resume: state)
        var run = RunSettings()
        run.epochs = epochs
        run.maxTime = maxTime
        return try Trainer(task: task, optimizer: opt, run: run, output: output, resume: state, sink: sink, stopSignal: stop, clock: clock).run()
    }

    // MARK: alphabet and corpus

    func testAlphabetOrderMatchesCharVocabulary() {
        let text = Array("banana 한국어 bandana\n".utf8)
        let a = text.withUnsafeBytes { CharAlphabet.build(from: $0) }
        // counts: a 6, n 4, b 2, ' ' 2, d 1, '\n' 1, 한 국 어 1: count desc, ties by code point
        XCTAssertEqual(a.tokens, ["<unk>", "<pad>", "a", "n", " ", "b", "\n", "d", "국", "어", "한"])
        var b = VocabularyBuilder(kind: .chars)
        text.withUnsafeBytes { b.addRecord(text: $0) }
        let v = b.build()
        XCTAssertEqual(a.tokens, (0 ..< v.count).map { v.token($0) })
        XCTAssertEqual(a.vocabHash, v.hash)
        XCTAssertEqual(a.id(of: "한" as Unicode.Scalar), 10)
        XCTAssertNil(a.id(of: "<" as Unicode.Scalar))
        XCTAssertEqual(a.utf8[10], Array("한".utf8))
        XCTAssertEqual(a.utf8[0], [])   // specials are never printed
        var unknown = 0
        var scalars: [Unicode.Scalar] = []
        let ids = Array("ab€x한".utf8).withUnsafeBytes { a.encode($0, unknown: &unknown, unknownScalars: &scalars) }
        XCTAssertEqual(ids, [2, 5, 0, 0, 10])
        XCTAssertEqual(unknown, 2)
        XCTAssertEqual(scalars, ["€", "x"])
        XCTAssertEqual(a.encodeStrict("nab€").unknown, ["€"])
        XCTAssertEqual(describeScalars(["€", "\u{7}"]), "'€' (U+20AC), U+0007")
    }

    func testCorpusKeepsTheLastTenPercentForValidation() throws {
        let text = Array(String(repeating: "abcdefghij", count: 10).utf8)
        let c = try LMCorpus(text: text, alphabet: nil, validSplit: 0.1)
        XCTAssertEqual(c.train.count, 90)
        XCTAssertEqual(c.valid.count, 10)
        XCTAssertEqual(c.valid.map { c.alphabet.tokens[Int($0)] }.joined(), "abcdefghij")
        XCTAssertThrowsError(try LMCorpus(text: [], alphabet: nil, validSplit: 0.1))
        XCTAssertEqual(parseDuration("10m"), 600)
        XCTAssertEqual(parseDuration("90"), 90)
        XCTAssertEqual(parseDuration("1.5h"), 5400)
        XCTAssertNil(parseDuration("10x"))
        XCTAssertNil(parseDuration("-1s"))
    }

    // MARK: training

    /// Cross-entropy (nats/char) of the validation ids under the add-one unigram of the training ids.
    func unigramLoss(_ c: LMCorpus) -> Double {
        var counts = [Double](repeating: 1, count: c.alphabet.count)
        for id in c.train { counts[Int(id)] += 1 }
        let total = counts.reduce(0, +)
        return c.valid.dropFirst().reduce(0.0) { $0 - log(counts[Int($1)] / total) } / Double(c.valid.count - 1)
    }

    func testTrainingOnRealTextBeatsTheUnigramBaseline() throws {
        let corpus = try LMCorpus(text: try shakespeare(30_000), alphabet: nil, validSplit: 0.1)
        let dir = tempDir("train")
        let rec = EventRecorder()
        let o = smallOptions()
        let result = try train(corpus, o, output: dir + "/lm.ckpt", sink: rec)
        let baseline = unigramLoss(corpus)
        let best = try XCTUnwrap(result.bestLoss)
        XCTAssertLessThan(best, baseline - 0.3, "LM \(best) vs unigram \(baseline)")
        XCTAssertEqual(rec.summaries.count, 3)
        XCTAssertNil(result.stopped)
        // The kept checkpoint is the best one and evaluates to the reported loss.
        let (model, info) = try Checkpoint.load(path: dir + "/lm.ckpt", expect: .languageModel)
        XCTAssertEqual(info.tokens, corpus.alphabet.tokens)
        XCTAssertEqual(info.vocabKind, .chars)
        XCTAssertEqual(info.validLoss, best)
        let again = try XCTUnwrap(evaluateLM(model: model, ids: corpus.valid, batch: o.batchSize, steps: o.seqLen))
        XCTAssertEqual(again, best, accuracy: 1e-9)
        XCTAssertEqual(rec.summaries.filter(\.isBest).last?.validLoss, best)
    }

    func testResumingGivesTheSameWeightsAsOneRun() throws {
        let corpus = try LMCorpus(text: try shakespeare(12_000), alphabet: nil, validSplit: 0.1)
        var o = smallOptions()
        o.layers = 2; o.dropout = 0.2
        var opt = optimizer()
        opt.lrDecay = 0.5
        let d1 = tempDir("straight"), d2 = tempDir("resumed")
        try train(corpus, o, opt, epochs: 2, output: d1 + "/lm.ckpt")
        try train(corpus, o, opt, epochs: 1, output: d2 + "/lm.ckpt")
        var resumed = LMTrainingOptions()   // the model and batch shape come from the state
        resumed.threads = 1
        try train(corpus, resumed, epochs: 2, output: d2 + "/lm.ckpt", resume: true)
        let a = try SafeTensorsFile(path: d1 + "/lm.ckpt.state"), b = try SafeTensorsFile(path: d2 + "/lm.ckpt.state")
        XCTAssertEqual(try a.floats("params"), try b.floats("params"))
        XCTAssertEqual(try b.floats("lr"), [Float(opt.lr * 0.25)])
        // the evaluation history survives the resume (for --plot)
        let h1 = try TrainingState.load(checkpoint: d1 + "/lm.ckpt").history, h2 = try TrainingState.load(checkpoint: d2 + "/lm.ckpt").history
        XCTAssertEqual(h2.map(\.epoch), [1, 2])
        XCTAssertEqual(h1.map(\.validLoss), h2.map(\.validLoss))
        // a state from another alphabet is refused; a classifier state too
        let other = try LMCorpus(text: Array("abc def ghi\n".utf8) + Array(repeating: UInt8(ascii: "x"), count: 5000), alphabet: nil, validSplit: 0.1)
        XCTAssertThrowsError(try train(other, o, epochs: 3, output: d2 + "/lm.ckpt", resume: true)) {
            XCTAssertTrue(($0 as? RNNError)?.message.contains("another alphabet") == true, "\($0)")
        }
    }

    func testStopSignalAndTimeBudgetEvaluateKeepTheBestAndResumeExactly() throws {
        let corpus = try LMCorpus(text: try shakespeare(12_000), alphabet: nil, validSplit: 0.1)
        let dir = tempDir("stop")
        try train(corpus, smallOptions(), epochs: 2, output: dir + "/full.ckpt")
        var polls = 0
        let rec = EventRecorder()
        let r = try train(corpus, smallOptions(), epochs: 2, output: dir + "/a.ckpt", sink: rec, stop: { polls += 1; return polls > 5 ? SIGINT : nil })
        XCTAssertEqual(r.interruptedBy, SIGINT)
        XCTAssertEqual(r.steps, 5)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/a.ckpt"))
        guard case .interrupted(let kept, _, _)? = rec.events.last else { return XCTFail("\(rec.events.last as Any)") }
        XCTAssertEqual(kept, dir + "/a.ckpt")
        XCTAssertEqual(rec.summaries.count, 1, "one final evaluation point")
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/a.ckpt.state").int64s("position"), [1, 5, 5, 5])
        // resumed inside the epoch (carried state restored): the weights of the uninterrupted run
        try train(corpus, smallOptions(), epochs: 2, output: dir + "/a.ckpt", resume: true)
        XCTAssertEqual(try SafeTensorsFile(path: dir + "/a.ckpt.state").floats("params"),
                       try SafeTensorsFile(path: dir + "/full.ckpt.state").floats("params"))

        var now = 0.0
        let brec = EventRecorder()
        let t = try train(corpus, smallOptions(), epochs: 1000, output: dir + "/b.ckpt", maxTime: 10, sink: brec, clock: { now += 0.01; return now })
        XCTAssertEqual(t.stopped, .timeBudget(seconds: 10, step: t.steps))
        XCTAssertGreaterThan(t.steps, 0)
        XCTAssertNotNil(t.bestLoss)
        guard case .finished(_, _, _, let elapsed)? = brec.events.last else { return XCTFail("\(brec.events.last as Any)") }
        XCTAssertLessThanOrEqual(elapsed, 10, "the final evaluation fits in the budget")
    }

    func testANonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        let corpus = try LMCorpus(text: try shakespeare(12_000), alphabet: nil, validSplit: 0.1)
        let dir = tempDir("diverge")
        var opt = optimizer()
        opt.lrDecay = .greatestFiniteMagnitude
        opt.clip = nil
        XCTAssertThrowsError(try train(corpus, smallOptions(), opt, epochs: 3, output: dir + "/lm.ckpt")) { e in
            guard case .diverged(_, _, let epoch, let kept, _)? = e as? TrainingError else { return XCTFail("\(e)") }
            XCTAssertEqual(epoch, 2)
            XCTAssertEqual(kept, dir + "/lm.ckpt")
        }
        let (m, info) = try Checkpoint.load(path: dir + "/lm.ckpt", expect: .languageModel)
        XCTAssertEqual(info.epoch, 1)
        XCTAssertTrue(m.params.values.allSatisfy(\.isFinite))
    }

    /// Records the model's weights after every training step (the trained weights, not the average).
    final class WeightRecorder: TrainingSink {
        let model: Model
        var steps: [[Float]] = []
        init(_ model: Model) { self.model = model }
        func record(_ event: TrainingEvent) throws { if case .batch = event { steps.append(Array(model.params.values)) } }
    }

    func testMovingAverageIsEvaluatedAndKeptWhileTrainingGoesOnFromTheTrainedWeights() throws {
        XCTAssertEqual(Trainer.averageDecay(0.999, step: 0), 0.1)
        XCTAssertEqual(Trainer.averageDecay(0.999, step: 990), 0.991, accuracy: 1e-7)
        XCTAssertEqual(Trainer.averageDecay(0.999, step: 100_000), 0.999)
        let corpus = try LMCorpus(text: try shakespeare(12_000), alphabet: nil, validSplit: 0.1)
        let d = tempDir("ema")
        var opt = optimizer()
        opt.ema = 0.9
        // 6 steps, then a stop: the final evaluation point keeps (the first) checkpoint
        let task = try LanguageModelTask(corpus: corpus, options: smallOptions(), seed: opt.seed)
        let initial = Array(task.model.params.values)
        let rec = WeightRecorder(task.model)
        var polls = 0
        _ = try Trainer(task: task, optimizer: opt, run: RunSettings(), output: d + "/ema.ckpt", sink: rec,
                        stopSignal: { polls += 1; return polls > 6 ? SIGINT : nil }).run()
        XCTAssertEqual(rec.steps.count, 6)
        var expected = initial
        for (t, w) in rec.steps.enumerated() {
            let decay = Trainer.averageDecay(0.9, step: t)
            for i in expected.indices { expected[i] = decay * expected[i] + (1 - decay) * w[i] }
        }
        let state = try SafeTensorsFile(path: d + "/ema.ckpt.state")
        let average = try state.floats("average")
        XCTAssertEqual(average.count, expected.count)
        XCTAssertLessThan(zip(average, expected).map { abs($0 - $1) }.max() ?? 1, 1e-6)
        XCTAssertTrue(try state.floats("params") == rec.steps.last, "the state holds the trained weights")
        XCTAssertTrue(average != rec.steps.last)
        // the checkpoint holds the average and its validation loss is the average's
        let (kept, info) = try Checkpoint.load(path: d + "/ema.ckpt", expect: .languageModel)
        XCTAssertTrue(Array(kept.params.values) == average, "the checkpoint holds the average")
        XCTAssertEqual(info.extra["ema"], "0.9")
        let check = try LanguageModelTask(corpus: corpus, options: smallOptions(), seed: opt.seed)
        check.model.params.mutableValues.baseAddress!.update(from: kept.params.values.baseAddress!, count: kept.params.count)
        XCTAssertEqual(try check.evaluate(limit: nil)?.loss, info.validLoss)
        // training itself is that of a run without the average, bit for bit
        polls = 0
        let plain = try LanguageModelTask(corpus: corpus, options: smallOptions(), seed: opt.seed)
        _ = try Trainer(task: plain, optimizer: optimizer(), run: RunSettings(), output: d + "/plain.ckpt", sink: EventRecorder(),
                        stopSignal: { polls += 1; return polls > 6 ? SIGINT : nil }).run()
        XCTAssertTrue(Array(plain.model.params.values) == rec.steps.last, "the average does not change training")
        XCTAssertNotEqual(try SafeTensorsFile(path: d + "/plain.ckpt").metadata["valid_loss"], try SafeTensorsFile(path: d + "/ema.ckpt").metadata["valid_loss"])
        XCTAssertNil(try SafeTensorsFile(path: d + "/plain.ckpt").metadata["ema"])
        // a resumed run continues the average exactly
        try train(corpus, smallOptions(), opt, epochs: 2, output: d + "/straight.ckpt")
        try train(corpus, smallOptions(), opt, epochs: 1, output: d + "/resumed.ckpt")
        XCTAssertEqual(try TrainingState.load(checkpoint: d + "/resumed.ckpt").optimizer.ema, 0.9)
        try train(corpus, smallOptions(), epochs: 2, output: d + "/resumed.ckpt", resume: true)
        XCTAssertTrue(try SafeTensorsFile(path: d + "/resumed.ckpt.state").floats("average")
                      == SafeTensorsFile(path: d + "/straight.ckpt.state").floats("average"), "resumed average")
        XCTAssertTrue(try SafeTensorsFile(path: d + "/resumed.ckpt").floats("fc.weight") == SafeTensorsFile(path: d + "/straight.ckpt").floats("fc.weight"), "resumed checkpoint")
    }

    func testCosineScheduleFallsFromOneToTheFloor() throws {
        XCTAssertEqual(Trainer.cosineFactor(progress: 0, floor: 0.05), 1)
        XCTAssertEqual(Trainer.cosineFactor(progress: 0.5, floor: 0.05), 0.525, accuracy: 1e-6)
        XCTAssertEqual(Trainer.cosineFactor(progress: 1, floor: 0.05), 0.05, accuracy: 1e-7)
        XCTAssertEqual(Trainer.cosineFactor(progress: 3, floor: 0.05), 0.05, accuracy: 1e-7)
        // the schedule changes training (same seed otherwise)
        let corpus = try LMCorpus(text: try shakespeare(12_000), alphabet: nil, validSplit: 0.1)
        var opt = optimizer()
        let d = tempDir("cosine")
        let a = try train(corpus, smallOptions(), opt, epochs: 2, output: d + "/a.ckpt")
        opt.cosine = true
        let b = try train(corpus, smallOptions(), opt, epochs: 2, output: d + "/b.ckpt")
        XCTAssertNotEqual(a.bestLoss, b.bestLoss)
    }

    func testTooShortTextIsATypedError() throws {
        let corpus = try LMCorpus(text: Array("short text".utf8), alphabet: nil, validSplit: 0)
        XCTAssertThrowsError(try LanguageModelTask(corpus: corpus, options: smallOptions(), seed: 1)) {
            XCTAssertEqual($0 as? FitSetupError, .textTooShort(characters: corpus.train.count, batch: 8, seqLen: 32))
        }
    }

    // MARK: sampling and scoring

    func trainedModel(seed: UInt64 = 1) throws -> (Model, CharAlphabet, LMCorpus) {
        let corpus = try LMCorpus(text: try shakespeare(12_000), alphabet: nil, validSplit: 0.1)
        let path = tempDir("model-\(seed)") + "/lm.ckpt"
        var opt = optimizer()
        opt.seed = seed
        try train(corpus, smallOptions(), opt, epochs: 1, output: path)
        let (model, info) = try Checkpoint.load(path: path, expect: .languageModel)
        return (model, CharAlphabet(tokens: info.tokens), corpus)
    }

    func sample(_ s: LMSampler, _ prime: [Int32], _ n: Int) -> [Int32] {
        var out: [Int32] = []
        s.generate(prime: prime, length: n) { out.append($0) }
        return out
    }

    func testSamplingIsDeterministicPerSeedAndGreedyAtZeroTemperature() throws {
        let (model, alphabet, _) = try trainedModel()
        let prime = alphabet.encodeStrict("ROMEO:").ids
        let a = sample(LMSampler(model: model, alphabet: alphabet, options: SamplingOptions(temperature: 1), seed: 7), prime, 200)
        let b = sample(LMSampler(model: model, alphabet: alphabet, options: SamplingOptions(temperature: 1), seed: 7), prime, 200)
        let c = sample(LMSampler(model: model, alphabet: alphabet, options: SamplingOptions(temperature: 1), seed: 8), prime, 200)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertFalse(a.contains { $0 < 2 }, "specials are never drawn")
        // greedy: every drawn id is the argmax of a fresh stepLM chain
        let g = sample(LMSampler(model: model, alphabet: alphabet, options: SamplingOptions(temperature: 0), seed: 1), prime, 50)
        XCTAssertEqual(g, sample(LMSampler(model: model, alphabet: alphabet, options: SamplingOptions(temperature: 0), seed: 99), prime, 50))
        var state = RecurrentState.zeros(model.config, batch: 1)
        var logits: [Float] = []
        for id in prime { logits = model.stepLM(tokens: [id], state: &state) }
        for id in g {
            let best = (2 ..< logits.count).max { logits[$0] < logits[$1] }!
            XCTAssertEqual(Int(id), best)
            logits = model.stepLM(tokens: [id], state: &state)
        }
        // top-k 1 is greedy too
        let k1 = sample(LMSampler(model: model, alphabet: alphabet, options: SamplingOptions(temperature: 1, topK: 1), seed: 5), prime, 50)
        XCTAssertEqual(k1, g)
    }

    /// Softmax of `z` in Double.
    func probabilities(_ z: [Float]) -> [Double] {
        let top = Double(z.max() ?? 0)
        let e = z.map { exp(Double($0) - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    func testEnsembleDrawsAndScoresTheMeanOfTheModelsProbabilities() throws {
        let (a, alphabet, corpus) = try trainedModel(seed: 1)
        let (b, _, _) = try trainedModel(seed: 2)
        XCTAssertNotEqual(Array(a.params.values), Array(b.params.values), "two seeds, two models")
        // the reference: one stepLM chain per model from the newline context, p = (pa + pb) / 2
        let ids = Array(corpus.valid.prefix(400))
        let newline = try XCTUnwrap(alphabet.id(of: 0x0A))
        var sa = RecurrentState.zeros(a.config, batch: 1), sb = RecurrentState.zeros(b.config, batch: 1)
        var expected = 0.0, singleA = 0.0, singleB = 0.0
        var previous = newline
        for id in ids {
            let pa = probabilities(a.stepLM(tokens: [previous], state: &sa)), pb = probabilities(b.stepLM(tokens: [previous], state: &sb))
            expected -= log((pa[Int(id)] + pb[Int(id)]) / 2)
            singleA -= log(pa[Int(id)]); singleB -= log(pb[Int(id)])
            previous = id
        }
        let scorer = LMScorer(models: [a, b], alphabet: alphabet)
        scorer.chunk = 29
        let text = ids.map { alphabet.tokens[Int($0)] }.joined()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() {
            let last = i == lines.count - 1
            if last && line.isEmpty { break }
            var s = String(line)
            _ = s.withUTF8 { scorer.score(line: UnsafeRawBufferPointer($0), hasNewline: !last) }
        }
        XCTAssertEqual(scorer.total.chars, ids.count)
        XCTAssertEqual(scorer.total.nats, expected, accuracy: 1e-5 * expected)
        // not the loss of either model, nor of their mean loss (the mean of probabilities is lower)
        XCTAssertLessThan(scorer.total.nats, (singleA + singleB) / 2 - 1e-3 * expected)

        // sampling: the kept logits are the log of the mean probabilities; greedy draws their argmax
        let prime = alphabet.encodeStrict("ROMEO:").ids
        let sampler = LMSampler(models: [a, b], alphabet: alphabet, options: SamplingOptions(temperature: 0), seed: 1)
        let g = sample(sampler, prime, 40)
        sa = RecurrentState.zeros(a.config, batch: 1); sb = RecurrentState.zeros(b.config, batch: 1)
        var p: [Double] = []
        for id in prime { p = zip(probabilities(a.stepLM(tokens: [id], state: &sa)), probabilities(b.stepLM(tokens: [id], state: &sb))).map { ($0 + $1) / 2 } }
        for id in g {
            XCTAssertEqual(Int(id), (2 ..< p.count).max { p[$0] < p[$1] })
            p = zip(probabilities(a.stepLM(tokens: [id], state: &sa)), probabilities(b.stepLM(tokens: [id], state: &sb))).map { ($0 + $1) / 2 }
        }
        for (v, l) in sampler.logits.enumerated() { XCTAssertEqual(exp(Double(l)), p[v], accuracy: 1e-6) }
        // drawn at temperature 1: the same seed repeats, another seed differs
        let t1 = SamplingOptions(temperature: 1)
        XCTAssertEqual(sample(LMSampler(models: [a, b], alphabet: alphabet, options: t1, seed: 3), prime, 100),
                       sample(LMSampler(models: [a, b], alphabet: alphabet, options: t1, seed: 3), prime, 100))
        XCTAssertNotEqual(sample(LMSampler(models: [a, b], alphabet: alphabet, options: t1, seed: 3), prime, 100),
                          sample(LMSampler(models: [a, b], alphabet: alphabet, options: t1, seed: 4), prime, 100))
    }

    func testScoringMatchesTheEvaluationOfTheSameText() throws {
        let (model, alphabet, corpus) = try trainedModel()
        let text = corpus.valid.map { alphabet.tokens[Int($0)] }.joined()
        let scorer = LMScorer(model: model, alphabet: alphabet)
        scorer.chunk = 37    // chunking must not change anything
        var perLine: [LineScore] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() {
            let last = i == lines.count - 1
            if last && line.isEmpty { break }
            var s = String(line)
            perLine.append(s.withUTF8 { scorer.score(line: UnsafeRawBufferPointer($0), hasNewline: !last) })
        }
        let ids = [alphabet.id(of: 0x0A)!] + corpus.valid
        let expected = try XCTUnwrap(evaluateLM(model: model, ids: ids, batch: 1, steps: 100))
        XCTAssertEqual(scorer.total.chars, corpus.valid.count)
        XCTAssertEqual(scorer.total.natsPerChar, expected, accuracy: 1e-5)
        XCTAssertEqual(perLine.reduce(0) { $0 + $1.chars }, corpus.valid.count)
        XCTAssertEqual(perLine[0].bitsPerChar, perLine[0].natsPerChar * 1.4426950408889634, accuracy: 1e-12)

        // scoreText writes one TSV line per input line and the same total
        let path = tempDir("score") + "/text.txt"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        let outPath = tempDir("score") + "/out.tsv"
        let fd = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let score = try scoreText(models: [model], alphabet: alphabet, paths: [path], resetPerLine: false, out: BufferedOutput(fd: fd))
        close(fd)
        XCTAssertEqual(score.total.natsPerChar, expected, accuracy: 1e-5)
        XCTAssertEqual(score.unknown, 0)
        let out = try String(contentsOfFile: outPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(out.count, perLine.count)
        let first = out[0].split(separator: "\t", omittingEmptySubsequences: false)
        XCTAssertEqual(first.count, 4)
        XCTAssertEqual(Double(first[0])!, perLine[0].natsPerChar, accuracy: 1e-4)
        XCTAssertEqual(String(first[3]), String(lines[0]))
        XCTAssertEqual(score.lines, perLine.count)
    }
}
