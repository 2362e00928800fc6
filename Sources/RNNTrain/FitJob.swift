// Training a text classifier (`rnn-fit DATA.bin --vocab V.bin`, REFERENCE.md section 4).
//
// Data: an encoded dataset (rnn-encode -o), memory-mapped; validation is another encoded file or
// a seeded random split of the training records. Each epoch: shuffle (seeded RNG), train in
// batches (Adam, optional clipping), evaluate on the validation records, keep the checkpoint with
// the lowest validation loss (atomic write), write the training state for --resume (atomic).
// Progress goes to a TrainingSink as events; nothing is printed here.
//
// Glossary: R records, B batch, T fixed length (padded mode), V vocabulary, E embedding dim,
// O outputs (1 for two labels: one logit + BCE; L for L > 2 labels: softmax cross-entropy).
//
// Batches:
//   packed (default): tokens = the records' real ids back to back, lengths = true lengths; each
//     sequence runs over its own tokens only (pack_padded_sequence semantics).
//   padded (--padded): every record in its padded view of T ids (pads before or after the real
//     tokens, as encoded), lengths = T: pads are real time steps, like the reference tutorial.
import RNNCore
import RNNEngine
import RNNText

/// Everything `rnn-fit` needs to train a classifier.
public struct FitOptions: Sendable {
    /// Encoded training data (rnn-encode -o).
    public var trainPath: String
    /// Vocabulary the data was encoded with (rnn-vocab -o).
    public var vocabPath: String
    /// Encoded validation data; nil: split the training data.
    public var validPath: String?
    /// Fraction of the training records held out for validation when `validPath` is nil (0: none).
    public var validSplit: Double = 0.2
    /// Encoded test data evaluated with the best checkpoint at the end (optional).
    public var testPath: String?
    public var cell: CellKind = .gru
    public var layers = 1
    public var bidirectional = false
    public var hidden = 128
    /// E when the vocabulary has no vectors (must equal the vectors' dimension otherwise).
    public var embedDim: Int?
    public var freezeEmbeddings = false
    /// Between stacked recurrent layers.
    public var dropout: Float = 0
    /// On the features before the linear layer.
    public var headDropout: Float = 0
    /// On the embedded tokens (the recurrence's input).
    public var embedDropout: Float = 0
    /// Last epoch to train (the total, also when resuming).
    public var epochs = 3
    public var batchSize = 32
    public var lr: Float = 1e-3
    public var weightDecay: Float = 0
    /// Max global gradient norm (nil: no clipping).
    public var clip: Float?
    /// Learning rate multiplier applied after every epoch (1: constant).
    public var lrDecay: Float = 1
    public var seed: UInt64 = 42
    /// 1 or 2 (Model.threads).
    public var threads = 2
    /// Pads are real time steps (reference semantics) instead of packed sequences.
    public var padded = false
    /// Resume from this checkpoint's training state (`CKPT.state`).
    public var resumePath: String?
    /// Best checkpoint path; the training state goes to `outputPath + ".state"`.
    public var outputPath: String
    /// Recorded in the checkpoint metadata.
    public var commandLine = ""
    /// Batch size for evaluation (no gradients; at most 32k tokens a batch, see evaluateClassifier).
    public var evalBatchSize = 128

    /// Options with the defaults above.
    public init(trainPath: String, vocabPath: String, outputPath: String) {
        self.trainPath = trainPath; self.vocabPath = vocabPath; self.outputPath = outputPath
    }
}

/// Loss and accuracy of a model on some records.
public struct Evaluation: Sendable, Equatable {
    /// Mean loss per record (nats).
    public var loss: Double
    /// Fraction of records whose predicted label is right.
    public var accuracy: Double
    /// Number of records.
    public var count: Int
}

/// What a finished run produced.
public struct FitResult: Sendable {
    /// Evaluation points of the whole run (resumed runs include the earlier epochs).
    public var history: [EpochSummary]
    /// Epoch of the kept checkpoint (0 if none).
    public var bestEpoch: Int
    public var bestValidLoss: Double?
    public var bestValidAccuracy: Double?
    /// Evaluation of the kept checkpoint on `testPath`, when given.
    public var test: Evaluation?
}

/// The records a classifier trains on, with the way batches are built from them.
public struct ClassificationData {
    /// The memory-mapped file.
    public let dataset: EncodedDataset
    /// Records used (indices into the dataset).
    public let indices: [Int]
    /// Pads are time steps (T = dataset.fixLength).
    public let padded: Bool

    /// Checks `padded` is possible and every used record has a label.
    public init(dataset: EncodedDataset, indices: [Int], padded: Bool, labelCount: Int) throws {
        if padded && dataset.fixLength == nil {
            throw RNNError(path: dataset.path, "--padded needs data encoded with a fixed length (rnn-encode --fix-length 500 [--pad-first] ...)")
        }
        for r in indices {
            let l = dataset.labels[r]
            if l < 0 { throw RNNError(path: dataset.path, "record \(r + 1) has no label; a classifier trains on labelled records only") }
            if Int(l) >= labelCount { throw RNNError(path: dataset.path, "record \(r + 1) has label id \(l), but the vocabulary has \(labelCount) labels") }
        }
        self.dataset = dataset; self.indices = indices; self.padded = padded
    }

    /// Number of records.
    public var count: Int { indices.count }

    /// Fills the batch buffers for `records` (dataset indices).
    public func gather<C: Collection>(_ records: C, tokens: inout [Int32], lengths: inout [Int], labels: inout [Int32]) where C.Element == Int {
        tokens.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        labels.removeAll(keepingCapacity: true)
        for r in records {
            if padded {
                dataset.appendPadded(r, into: &tokens)
                lengths.append(dataset.fixLength!)
            } else {
                tokens.append(contentsOf: dataset.sequence(r))
                lengths.append(dataset.length(r))
            }
            labels.append(dataset.labels[r])
        }
    }
}

/// Number of right predictions among the logits [B*O] of a batch.
func correctPredictions(logits: [Float], labels: [Int32], outputs O: Int) -> Int {
    var right = 0
    for (b, l) in labels.enumerated() {
        let predicted: Int
        if O == 1 {
            predicted = logits[b] > 0 ? 1 : 0
        } else {
            var best = 0
            for o in 1 ..< O where logits[b * O + o] > logits[b * O + best] { best = o }
            predicted = best
        }
        if predicted == Int(l) { right += 1 }
    }
    return right
}

/// Mean loss and accuracy of `model` on `data` (no dropout, no gradients). Polls
/// ``StopRequest`` between batches and throws ``Interrupted`` when it is set.
///
/// A batch holds at most `batchSize` records and, past its first record, at most `maxTokens`
/// time steps in all: the engine's buffers grow with the tokens of a batch, so this bounds the
/// memory of evaluation (padded batches of 500 steps would otherwise need twice as much).
public func evaluateClassifier(_ model: Model, on data: ClassificationData, batchSize: Int, maxTokens: Int = 32_768) throws -> Evaluation {
    var tokens: [Int32] = [], lengths: [Int] = [], labels: [Int32] = []
    var lossSum = 0.0, right = 0
    var i = 0
    while i < data.count {
        if let sig = StopRequest.signal { throw Interrupted(signal: sig) }
        var j = i, steps = 0
        while j < data.count && j - i < batchSize {
            let n = data.padded ? data.dataset.fixLength! : data.dataset.length(data.indices[j])
            if j > i && steps + n > maxTokens { break }
            steps += n
            j += 1
        }
        data.gather(data.indices[i ..< j], tokens: &tokens, lengths: &lengths, labels: &labels)
        let (loss, logits) = tokens.withUnsafeBufferPointer { model.evaluateClassifier(tokens: $0, lengths: lengths, labels: labels) }
        lossSum += Double(loss) * Double(j - i)
        right += correctPredictions(logits: logits, labels: labels, outputs: model.config.outputs)
        i = j
    }
    let n = max(data.count, 1)
    return Evaluation(loss: lossSum / Double(n), accuracy: Double(right) / Double(n), count: data.count)
}

/// Splits 0..<count into (train, valid) with `fraction` of the records in valid, drawn with a
/// generator seeded by `seed` (same seed and count -> same split). Both lists ascending.
public func validationSplit(count: Int, fraction: Double, seed: UInt64) -> (train: [Int], valid: [Int]) {
    let nValid = Int((Double(count) * fraction).rounded())
    var rng = RNG(seed: seed ^ 0x7661_6C69_6473_706C)   // "validspl": a stream apart from the training one
    var all = Array(0 ..< count)
    rng.shuffle(&all)
    return (Array(all[nValid...]).sorted(), Array(all[..<nValid]).sorted())
}

/// Trains a classifier (one `rnn-fit` run without --lm).
public final class FitJob {
    public let options: FitOptions
    let vocab: Vocabulary
    let train: ClassificationData
    let valid: ClassificationData?
    let test: ClassificationData?
    let config: ModelConfig
    let model: Model
    var adam: Adam
    var rng: RNG
    var firstEpoch = 1
    var history: [EpochSummary] = []
    var best: (epoch: Int, loss: Double?, accuracy: Double?)?
    let statePath: String
    let frozen: Set<String>
    /// Dataset fixed length and pad side, recorded in the checkpoint (classify uses them).
    let dataExtra: [String: String]
    let seed: UInt64
    let split: Double
    let validPath: String?
    let batchSize: Int
    let clip: Float?
    let lrDecay: Float

    /// Loads and checks the data and vocabulary, builds (or restores) the model and optimizer.
    public init(options o: FitOptions) throws {
        options = o
        guard o.epochs >= 1 else { throw RNNError("--epochs must be at least 1") }
        guard o.batchSize >= 1 else { throw RNNError("--batch-size must be at least 1") }
        statePath = o.outputPath + ".state"
        vocab = try Vocabulary.load(path: o.vocabPath)
        let trainSet = try EncodedDataset(path: o.trainPath)
        try trainSet.check(vocabulary: vocab, vocabularyPath: o.vocabPath)
        guard vocab.labels.count >= 2 else {
            throw RNNError(path: o.vocabPath, "has \(vocab.labels.count) label\(vocab.labels.count == 1 ? "" : "s"); a classifier needs at least 2 (build the vocabulary from labelled records)")
        }

        // A resumed run takes the model, split and training settings from the state file.
        var state: TrainingState? = nil
        if let r = o.resumePath {
            let s = try TrainingState.load(path: r.hasSuffix(".state") ? r : r + ".state", checkpoint: r)
            guard s.vocabHash == vocab.hash else {
                throw RNNError(path: s.path, "was trained with vocabulary \(s.vocabHash), but \(o.vocabPath) has hash \(vocab.hash); resume with the same vocabulary and data")
            }
            guard s.trainRecords == trainSet.count else {
                throw RNNError(path: s.path, "was trained on \(s.trainRecords) records, but \(o.trainPath) has \(trainSet.count); resume with the same training data")
            }
            guard s.epoch < o.epochs else {
                throw RNNError(path: s.path, "already trained \(s.epoch) epoch\(s.epoch == 1 ? "" : "s"); pass --epochs N with N > \(s.epoch) (the total number of epochs) to continue")
            }
            state = s
        }
        seed = state?.seed ?? o.seed
        split = state?.validSplit ?? o.validSplit
        validPath = state.map { $0.validPath } ?? o.validPath
        let padded = state?.padded ?? o.padded
        batchSize = state?.batchSize ?? o.batchSize
        clip = state.map { $0.clip } ?? o.clip
        lrDecay = state?.lrDecay ?? o.lrDecay

        // Validation records.
        let labelCount = vocab.labels.count
        if let vp = validPath {
            let vs = try EncodedDataset(path: vp)
            try vs.check(vocabulary: vocab, vocabularyPath: o.vocabPath)
            if padded && vs.fixLength != trainSet.fixLength {
                throw RNNError(path: vp, "is encoded with fixed length \(vs.fixLength ?? 0), the training data with \(trainSet.fixLength ?? 0); --padded needs the same")
            }
            train = try ClassificationData(dataset: trainSet, indices: Array(0 ..< trainSet.count), padded: padded, labelCount: labelCount)
            valid = try ClassificationData(dataset: vs, indices: Array(0 ..< vs.count), padded: padded, labelCount: labelCount)
        } else {
            guard split >= 0 && split < 1 else { throw RNNError("--valid-split must be in [0, 1), got \(split)") }
            let (t, v) = validationSplit(count: trainSet.count, fraction: split, seed: seed)
            guard !t.isEmpty else { throw RNNError(path: o.trainPath, "no training records left after the validation split") }
            train = try ClassificationData(dataset: trainSet, indices: t, padded: padded, labelCount: labelCount)
            valid = v.isEmpty ? nil : try ClassificationData(dataset: trainSet, indices: v, padded: padded, labelCount: labelCount)
        }
        if let tp = o.testPath {
            let ts = try EncodedDataset(path: tp)
            try ts.check(vocabulary: vocab, vocabularyPath: o.vocabPath)
            let labelled = (0 ..< ts.count).filter { ts.labels[$0] >= 0 }
            guard !labelled.isEmpty else { throw RNNError(path: tp, "has no labelled records to test on") }
            if padded && ts.fixLength != trainSet.fixLength {
                throw RNNError(path: tp, "is encoded with fixed length \(ts.fixLength ?? 0), the training data with \(trainSet.fixLength ?? 0); --padded needs the same")
            }
            test = try ClassificationData(dataset: ts, indices: labelled, padded: padded, labelCount: labelCount)
        } else {
            test = nil
        }
        dataExtra = ["fix_length": String(trainSet.fixLength ?? 0), "pad_first": String(trainSet.padFirst),
                     "truncate_first": String(trainSet.truncateFirst), "padded": String(padded)]

        // Model.
        if let s = state {
            config = s.config
        } else {
            let E: Int
            if vocab.dim > 0 {
                if let e = o.embedDim, e != vocab.dim {
                    throw RNNError("--embed-dim \(e) conflicts with the \(vocab.dim)-dimensional vectors of \(o.vocabPath); omit --embed-dim, or build a vocabulary without vectors")
                }
                E = vocab.dim
            } else {
                guard let e = o.embedDim else {
                    throw RNNError("\(o.vocabPath) has no pretrained vectors: pass --embed-dim E to learn an embedding from scratch (or rebuild the vocabulary with --vectors)")
                }
                guard e >= 1 else { throw RNNError("--embed-dim must be at least 1") }
                E = e
            }
            guard o.layers >= 1, o.hidden >= 1 else { throw RNNError("--layers and --hidden must be at least 1") }
            guard o.dropout >= 0 && o.dropout < 1, o.headDropout >= 0 && o.headDropout < 1, o.embedDropout >= 0 && o.embedDropout < 1 else {
                throw RNNError("dropout probabilities must be in [0, 1)")
            }
            var c = ModelConfig(cell: o.cell, task: .classifier, vocabSize: vocab.count, embedDim: E, hidden: o.hidden,
                                layers: o.layers, bidirectional: o.bidirectional, dropout: o.dropout, headDropout: o.headDropout,
                                outputs: labelCount == 2 ? 1 : labelCount, paddingIndex: Int(Vocabulary.padID),
                                freezeEmbedding: o.freezeEmbeddings)
            c.embedDropout = o.embedDropout
            config = c
        }
        model = Model(config: config, seed: seed)
        model.threads = max(1, min(2, o.threads))
        frozen = config.freezeEmbedding ? ["embedding.weight"] : []
        if let s = state {
            try s.restore(into: model)
            adam = s.adam
            rng = RNG(seed: 0)
            rng.state = s.rng
            firstEpoch = s.epoch + 1
            history = s.history
            best = s.bestEpoch > 0 ? (s.bestEpoch, s.bestValidLoss, s.bestValidAccuracy) : nil
        } else {
            if vocab.dim > 0 {
                // Pretrained rows (zero for <unk>, <pad> and tokens without a vector, as in the reference).
                let w = model.params.value("embedding.weight")
                vocab.vectors.withUnsafeBufferPointer { w.baseAddress!.update(from: $0.baseAddress!, count: w.count) }
            }
            adam = Adam(count: model.params.count, lr: o.lr, weightDecay: o.weightDecay)
            rng = RNG(seed: seed &+ 1)
        }
    }

    /// The architecture being trained.
    public var modelConfig: ModelConfig { config }
    /// Evaluation points of the epochs done before this run (resume), for plots.
    public var earlierHistory: [EpochSummary] { history }
    /// Training and validation record counts.
    public var sizes: (train: Int, valid: Int) { (train.count, valid?.count ?? 0) }

    private func checkpointInfo(epoch: Int, validLoss: Double?, validAccuracy: Double?) -> CheckpointInfo {
        var extra = dataExtra
        extra["lr"] = String(options.lr)
        extra["batch_size"] = String(batchSize)
        extra["train_records"] = String(train.count)
        extra["valid_records"] = String(valid?.count ?? 0)
        return CheckpointInfo(kind: .classifier, config: config, vocabHash: vocab.hash, vocabKind: vocab.kind,
                              tokens: (0 ..< vocab.count).map { vocab.token($0) }, labels: vocab.labels,
                              epoch: Double(epoch), validLoss: validLoss, validAccuracy: validAccuracy, seed: seed,
                              commandLine: options.commandLine, extra: extra)
    }

    /// Runs the remaining epochs. Throws ``Interrupted`` (after reporting what was kept) when
    /// ``StopRequest`` is set; the best checkpoint and the last training state stay on disk.
    public func run(sink: any TrainingSink) throws -> FitResult {
        let o = options
        let start = monotonicSeconds()
        let B = batchSize
        let batches = (train.count + B - 1) / B
        try sink.record(.started(TrainingPlan(task: "classifier", epochs: o.epochs, firstEpoch: firstEpoch, batchesPerEpoch: batches,
                                               itemsPerEpoch: train.count, itemUnit: "reviews", validItems: valid?.count ?? 0,
                                               hasAccuracy: true)))
        if firstEpoch > 1 {
            try sink.record(.note("resuming after epoch \(firstEpoch - 1) of \(o.epochs) from \(statePath)"))
        }
        var tokens: [Int32] = [], lengths: [Int] = [], labels: [Int32] = []
        var order: [Int] = []
        var tokenInfo: CheckpointInfo? = nil   // built once (the token list is large)

        func stop() throws -> Never {
            let kept = best.map { _ in o.outputPath }
            try sink.record(.interrupted(kept: kept, epoch: best.map { Double($0.epoch) }, validLoss: best?.loss))
            throw Interrupted(signal: StopRequest.signal ?? 2)
        }

        for epoch in firstEpoch ... o.epochs {
            try sink.record(.epochStarted(epoch: epoch, batches: batches))
            order = train.indices   // a fresh permutation of the sorted indices: resumable from any epoch
            rng.shuffle(&order)
            let epochStart = monotonicSeconds()
            var lossSum = 0.0, right = 0, seen = 0
            for b in 0 ..< batches {
                if StopRequest.isSet { try stop() }
                let slice = order[(b * B) ..< min((b + 1) * B, order.count)]
                train.gather(slice, tokens: &tokens, lengths: &lengths, labels: &labels)
                let (loss, logits) = tokens.withUnsafeBufferPointer {
                    model.trainClassifier(tokens: $0, lengths: lengths, labels: labels, rng: &rng)
                }
                if let c = clip { clipGradNorm(model.params, maxNorm: c) }
                adam.update(model.params, frozen: frozen)
                lossSum += Double(loss) * Double(slice.count)
                right += correctPredictions(logits: logits, labels: labels, outputs: config.outputs)
                seen += slice.count
                let t = monotonicSeconds() - epochStart
                try sink.record(.batch(BatchProgress(epoch: epoch, done: b + 1, total: batches, loss: lossSum / Double(seen),
                                                     rate: Double(seen) / max(t, 1e-9), epochElapsed: t)))
            }
            let trainTime = monotonicSeconds() - epochStart
            var ev: Evaluation? = nil
            if let valid {
                try sink.record(.evaluating(epoch: Double(epoch), items: valid.count))
                do { ev = try evaluateClassifier(model, on: valid, batchSize: o.evalBatchSize) } catch is Interrupted { try stop() }
            }
            // Best = lowest validation loss; without validation data, the latest epoch.
            let isBest = ev.map { e in best?.loss.map { e.loss < $0 } ?? true } ?? true
            let summary = EpochSummary(epoch: Double(epoch), trainLoss: lossSum / Double(seen), trainAccuracy: Double(right) / Double(seen),
                                       validLoss: ev?.loss, validAccuracy: ev?.accuracy, rate: Double(seen) / max(trainTime, 1e-9),
                                       elapsed: monotonicSeconds() - start, isBest: isBest)
            history.append(summary)
            if isBest {
                var info = tokenInfo ?? checkpointInfo(epoch: epoch, validLoss: ev?.loss, validAccuracy: ev?.accuracy)
                tokenInfo = info
                info.epoch = Double(epoch); info.validLoss = ev?.loss; info.validAccuracy = ev?.accuracy
                try Checkpoint.write(model: model, info: info, to: o.outputPath)
                best = (epoch, ev?.loss, ev?.accuracy)
            }
            try sink.record(.evaluated(summary))
            if isBest { try sink.record(.checkpointWritten(path: o.outputPath, epoch: Double(epoch), validLoss: ev?.loss, best: true)) }
            if lrDecay != 1 { adam.lr *= lrDecay }
            try TrainingState(path: statePath, config: config, epoch: epoch, adam: adam, rng: rng.state, history: history,
                              bestEpoch: best?.epoch ?? 0, bestValidLoss: best?.loss, bestValidAccuracy: best?.accuracy,
                              seed: seed, validSplit: split, validPath: validPath, padded: train.padded,
                              vocabHash: vocab.hash, trainRecords: train.dataset.count, batchSize: B, clip: clip,
                              lrDecay: lrDecay).write(model: model)
            try sink.record(.stateWritten(path: statePath, epoch: epoch))
        }

        var testEval: Evaluation? = nil
        if let test {
            try sink.record(.evaluating(epoch: Double(best?.epoch ?? o.epochs), items: test.count))
            // The kept weights, read back from the checkpoint into the training model: a second
            // Model would grow a second set of evaluation buffers (hundreds of MB at 500 tokens).
            do {
                let (kept, _) = try Checkpoint.load(path: o.outputPath, expect: .classifier)
                precondition(kept.params.count == model.params.count, "checkpoint arena differs from the model's")
                model.params.mutableValues.baseAddress!.update(from: kept.params.values.baseAddress!, count: kept.params.count)
            }
            do { testEval = try evaluateClassifier(model, on: test, batchSize: o.evalBatchSize) } catch is Interrupted { try stop() }
            try sink.record(.tested(path: test.dataset.path, epoch: best.map { Double($0.epoch) }, loss: testEval!.loss,
                                    accuracy: testEval!.accuracy, items: testEval!.count))
        }
        try sink.record(.finished(best: best.map { _ in o.outputPath }, epoch: best.map { Double($0.epoch) }, validLoss: best?.loss,
                                  elapsed: monotonicSeconds() - start))
        return FitResult(history: history, bestEpoch: best?.epoch ?? 0, bestValidLoss: best?.loss,
                         bestValidAccuracy: best?.accuracy, test: testEval)
    }
}
