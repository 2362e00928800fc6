// Training a text classifier (`rnn-fit DATA.bin --vocab V.bin`, REFERENCE.md section 4): the
// classification task of the Trainer (Trainer.swift).
//
// Data: an encoded dataset (rnn-encode -o), memory-mapped; validation is another encoded file or
// a seeded random split of the training records. Each epoch shuffles the training records (the
// trainer's seeded generator) and trains on them in batches; evaluation is on the validation
// records; the final test (optional) evaluates the kept checkpoint on test data.
//
// Glossary: R records, B batch, T fixed length (padded mode), V vocabulary, E embedding dim,
// O outputs (1 for two labels: one logit + BCE; L for L > 2 labels: softmax cross-entropy;
// multi-label: L independent sigmoid outputs, binary cross-entropy per label, mean over labels and
// batch as PyTorch's BCEWithLogitsLoss).
//
// Multi-label: chosen when a training record has several labels (or with `multiLabel`, rnn-fit
// --multi-label). The best checkpoint is still the one with the lowest validation loss (here the
// mean binary cross-entropy over labels); the accuracy reported is the exact-match ratio (the
// predicted set, every label with probability >= 0.5, equals the record's set).
//
// Batches:
//   packed (default): tokens = the records' real ids back to back, lengths = true lengths; each
//     sequence runs over its own tokens only (pack_padded_sequence semantics).
//   padded: every record in its padded view of T ids (pads before or after the real tokens, as
//     encoded), lengths = T: pads are real time steps, like the reference tutorial.
import RNNCore
import RNNEngine
import RNNMPI
import RNNText

/// The data and model of a classifier run (the optimizer's settings are ``OptimizerSettings``).
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
    /// E without pretrained vectors when none is given.
    public static let defaultEmbedDim = 100
    public var freezeEmbeddings = false
    /// Between stacked recurrent layers.
    public var dropout: Float = 0
    /// On the features before the linear layer.
    public var headDropout: Float = 0
    /// The features the linear layer reads (Pooling.swift): final states, max, mean or all three.
    public var pool: Pooling = .last
    /// On the embedded tokens (the recurrence's input).
    public var embedDropout: Float = 0
    /// Weight drop on the recurrent weights (ModelConfig.weightDrop).
    public var weightDrop: Float = 0
    /// One dropout mask per sequence for all its steps (ModelConfig.lockedDropout).
    public var lockedDropout = false
    public var batchSize = 32
    /// Threads for the kernels, >= 1 (Model.threads).
    public var threads = 2
    /// Training products in bfloat16 (Model.bf16; needs EngineKernels.bf16Available).
    public var bf16 = false
    /// Pads are real time steps (reference semantics) instead of packed sequences.
    public var padded = false
    /// Batch size for evaluation (no gradients; at most 32k tokens a batch, see evaluateClassifier).
    public var evalBatchSize = 128
    /// Train a multi-label head (one sigmoid per label) even when every training record has one
    /// label; it is chosen anyway when some training record has several.
    public var multiLabel = false

    /// Options with the defaults above.
    public init(trainPath: String, vocabPath: String) {
        self.trainPath = trainPath; self.vocabPath = vocabPath
    }
}

/// Problems with the data or options of a run, worded by the command (with its option names).
public enum FitSetupError: Error, Equatable {
    /// Padded batches need data encoded with a fixed length.
    case paddedNeedsFixedLength(path: String)
    /// Padded batches need every file encoded with the training data's fixed length.
    case fixedLengthDiffers(path: String, length: Int, training: Int)
    /// An embedding size was given that differs from the vocabulary's vectors.
    case embedDimConflict(given: Int, vectors: Int, vocabulary: String)
    /// The language model's text is too short for the batch shape.
    case textTooShort(characters: Int, batch: Int, seqLen: Int)
}

/// The records a classifier trains on, with the way batches are built from them.
public struct ClassificationData {
    /// The memory-mapped file.
    public let dataset: EncodedDataset
    /// Records used (indices into the dataset).
    public private(set) var indices: [Int]
    /// Pads are time steps (T = dataset.fixLength).
    public let padded: Bool
    /// Multi-label targets: `gather` gives B*L 0/1 targets instead of B label ids.
    public let multiLabel: Bool
    /// L
    public let labelCount: Int

    /// Checks `padded` is possible and every used record has a label (one label unless
    /// `multiLabel`).
    public init(dataset: EncodedDataset, indices: [Int], padded: Bool, labelCount: Int, multiLabel: Bool = false) throws {
        if padded && dataset.fixLength == nil {
            throw FitSetupError.paddedNeedsFixedLength(path: dataset.path)
        }
        for r in indices {
            let set = dataset.labelSet(r)
            if set.isEmpty { throw RNNError(path: dataset.path, "record \(r + 1) has no label; a classifier trains on labelled records only") }
            if set.count > 1 && !multiLabel {
                throw RNNError(path: dataset.path, "record \(r + 1) has \(set.count) labels but the model has one label per record (its training data has one label per record); train with --multi-label")
            }
            for l in set where Int(l) >= labelCount { throw RNNError(path: dataset.path, "record \(r + 1) has label id \(l), but the vocabulary has \(labelCount) labels") }
        }
        self.dataset = dataset; self.indices = indices; self.padded = padded
        self.multiLabel = multiLabel; self.labelCount = labelCount
    }

    /// Number of records.
    public var count: Int { indices.count }

    /// The first `n` records (all when `n` is nil).
    func prefix(_ n: Int?) -> ClassificationData {
        guard let n, n < indices.count else { return self }
        var d = self
        d.indices = Array(indices.prefix(max(0, n)))
        return d
    }

    /// Fills the batch buffers for `records` (dataset indices). `realSteps` (padded only; empty
    /// otherwise): the steps of each record's real tokens in its padded view, which a pooling
    /// head's max and mean read (the model's `realSteps`).
    public func gather<C: Collection>(_ records: C, tokens: inout [Int32], lengths: inout [Int], labels: inout [Int32],
                                      realSteps: inout [Range<Int>]) where C.Element == Int {
        tokens.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        labels.removeAll(keepingCapacity: true)
        realSteps.removeAll(keepingCapacity: true)
        for r in records {
            if padded, let T = dataset.fixLength {
                dataset.appendPadded(r, into: &tokens)
                lengths.append(T)
                let n = dataset.length(r)
                realSteps.append(dataset.padFirst ? T - n ..< T : 0 ..< n)
            } else {
                tokens.append(contentsOf: dataset.sequence(r))
                lengths.append(dataset.length(r))
            }
            if multiLabel {
                let at = labels.count
                labels.append(contentsOf: repeatElement(0, count: labelCount))
                for l in dataset.labelSet(r) { labels[at + Int(l)] = 1 }
            } else {
                labels.append(dataset.labels[r])
            }
        }
    }
}

/// Number of right predictions among the logits [B*O] of a batch (multi-label: records whose
/// predicted set, every label with probability >= 0.5, is exactly their set of B*O 0/1 targets).
func correctPredictions(logits: [Float], labels: [Int32], outputs O: Int, multiLabel: Bool = false) -> Int {
    var right = 0
    if multiLabel {
        for b in 0 ..< labels.count / max(O, 1) where (0 ..< O).allSatisfy({ (logits[b * O + $0] >= 0 ? 1 : 0) == labels[b * O + $0] }) {
            right += 1
        }
        return right
    }
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

/// Mean loss and accuracy of `model` on `data` (no dropout, no gradients).
///
/// A batch holds at most `batchSize` records and, past its first record, at most `maxTokens`
/// time steps in all: the engine's buffers grow with the tokens of a batch, so this bounds the
/// memory of evaluation (padded batches of 500 steps would otherwise need twice as much).
public func evaluateClassifier(_ model: Model, on data: ClassificationData, batchSize: Int, maxTokens: Int = 32_768) -> Evaluation {
    var tokens: [Int32] = [], lengths: [Int] = [], labels: [Int32] = [], real: [Range<Int>] = []
    var lossSum = 0.0, right = 0
    var i = 0
    while i < data.count {
        var j = i, steps = 0
        while j < data.count && j - i < batchSize {
            let n = data.padded ? data.dataset.fixLength! : data.dataset.length(data.indices[j])
            if j > i && steps + n > maxTokens { break }
            steps += n
            j += 1
        }
        data.gather(data.indices[i ..< j], tokens: &tokens, lengths: &lengths, labels: &labels, realSteps: &real)
        let (loss, logits) = tokens.withUnsafeBufferPointer {
            model.evaluateClassifier(tokens: $0, lengths: lengths, labels: labels, realSteps: data.padded ? real : nil)
        }
        lossSum += Double(loss) * Double(j - i)
        right += correctPredictions(logits: logits, labels: labels, outputs: model.config.outputs, multiLabel: model.config.multiLabel)
        i = j
    }
    let n = max(data.count, 1)
    return Evaluation(loss: lossSum / Double(n), accuracy: Double(right) / Double(n), count: data.count)
}

/// Splits 0..<count into (train, valid) with `fraction` of the records in valid, drawn with a
/// generator seeded by `seed` (same seed and count -> same split). Both lists ascending.
public func validationSplit(count: Int, fraction: Double, seed: UInt64) -> (train: [Int], valid: [Int]) {
    let f = fraction.isFinite ? min(max(fraction, 0), 1) : 0
    let nValid = min(count, Int((Double(count) * f).rounded()))
    var rng = RNG(seed: seed ^ 0x7661_6C69_6473_706C)   // "validspl": a stream apart from the training one
    var all = Array(0 ..< count)
    rng.shuffle(&all)
    return (Array(all[nValid...]).sorted(), Array(all[..<nValid]).sorted())
}


/// The classification task: data, model and the final test (see the file comment).
public final class ClassifierTask: TrainingTask {
    public let kind = Task.classifier
    public let model: Model
    let vocab: Vocabulary
    let train: ClassificationData
    let valid: ClassificationData?
    let testData: ClassificationData?
    let batchSize: Int
    let evalBatchSize: Int
    let seed: UInt64
    /// What a resumed run keeps: the split, the batches, the data's identity.
    public let settings: [(String, String)]
    /// Dataset fixed length and pad side, recorded in the checkpoint (classify uses them).
    let dataExtra: [String: String]
    /// The current epoch's record order.
    var order: [Int] = []
    /// Data-parallel training: this process trains share `rank` of `size` of every batch.
    var shardRank = 0, shardSize = 1
    var tokens: [Int32] = [], lengths: [Int] = [], labels: [Int32] = [], realSteps: [Range<Int>] = []

    /// Loads and checks the data and vocabulary and builds the model; with `resume`, the model,
    /// split and batch settings are those of the state (`options` gives the data paths).
    public init(options o: FitOptions, seed: UInt64, resume: TrainingState? = nil) throws {
        let vocab = try Vocabulary.load(path: o.vocabPath)
        self.vocab = vocab
        let trainSet = try EncodedDataset(path: o.trainPath)
        try trainSet.check(vocabulary: vocab, vocabularyPath: o.vocabPath)
        guard vocab.labels.count >= 2 else {
            throw RNNError(path: o.vocabPath, "has \(vocab.labels.count) label\(vocab.labels.count == 1 ? "" : "s"); a classifier needs at least 2 (build the vocabulary from labelled records)")
        }
        var o = o
        if let s = resume {
            let m = s.settingsReader
            guard m.values["vocab_hash"] == vocab.hash else {
                throw RNNError(path: s.path, "was trained with vocabulary \(m.values["vocab_hash"] ?? "?"), but \(o.vocabPath) has hash \(vocab.hash); resume with the same vocabulary and data")
            }
            let records = try m.int("train_records", in: 0 ... Int(Int32.max))
            guard records == trainSet.count else {
                throw RNNError(path: s.path, "was trained on \(records) records, but \(o.trainPath) has \(trainSet.count); resume with the same training data")
            }
            o.batchSize = try m.int("batch_size", in: 1 ... 1 << 24)
            o.validSplit = try m.double("valid_split", in: 0 ... 0.999_999)
            // the state's validation file, unless the command gives it again (a run trained from
            // records re-encodes its --valid records into a new private folder)
            let vp = try m.string("valid_path")
            if o.validPath == nil { o.validPath = vp.isEmpty ? nil : vp }
            o.padded = try m.bool("padded")
        }
        guard o.batchSize >= 1, o.evalBatchSize >= 1 else { throw RNNError("the batch size must be at least 1") }
        guard o.validSplit >= 0 && o.validSplit < 1 else { throw RNNError("the validation fraction must be in [0, 1), got \(o.validSplit)") }
        batchSize = o.batchSize; evalBatchSize = o.evalBatchSize
        self.seed = seed

        // Validation and test records.
        let labelCount = vocab.labels.count
        let resumed = resume?.config
        let multi = resumed?.multiLabel ?? (o.multiLabel || trainSet.multiLabel)
        o.multiLabel = multi
        func other(_ path: String) throws -> EncodedDataset {
            let d = try EncodedDataset(path: path)
            try d.check(vocabulary: vocab, vocabularyPath: o.vocabPath)
            if o.padded && d.fixLength != trainSet.fixLength {
                throw FitSetupError.fixedLengthDiffers(path: path, length: d.fixLength ?? 0, training: trainSet.fixLength ?? 0)
            }
            return d
        }
        if let vp = o.validPath {
            let vs = try other(vp)
            train = try ClassificationData(dataset: trainSet, indices: Array(0 ..< trainSet.count), padded: o.padded, labelCount: labelCount, multiLabel: multi)
            valid = try ClassificationData(dataset: vs, indices: Array(0 ..< vs.count), padded: o.padded, labelCount: labelCount, multiLabel: multi)
        } else {
            let (t, v) = validationSplit(count: trainSet.count, fraction: o.validSplit, seed: seed)
            guard !t.isEmpty else { throw RNNError(path: o.trainPath, "no training records left after the validation split") }
            train = try ClassificationData(dataset: trainSet, indices: t, padded: o.padded, labelCount: labelCount, multiLabel: multi)
            valid = v.isEmpty ? nil : try ClassificationData(dataset: trainSet, indices: v, padded: o.padded, labelCount: labelCount, multiLabel: multi)
        }
        if let tp = o.testPath {
            let ts = try other(tp)
            let labelled = (0 ..< ts.count).filter { !ts.labelSet($0).isEmpty }
            guard !labelled.isEmpty else { throw RNNError(path: tp, "has no labelled records to test on") }
            testData = try ClassificationData(dataset: ts, indices: labelled, padded: o.padded, labelCount: labelCount, multiLabel: multi)
        } else {
            testData = nil
        }
        dataExtra = ["fix_length": String(trainSet.fixLength ?? 0), "pad_first": String(trainSet.padFirst),
                     "truncate_first": String(trainSet.truncateFirst), "padded": String(o.padded)]
        settings = [("vocab_hash", vocab.hash), ("train_records", String(trainSet.count)), ("batch_size", String(o.batchSize)),
                    ("valid_split", String(o.validSplit)), ("valid_path", o.validPath ?? ""), ("padded", String(o.padded))]

        let config = try resumed ?? ClassifierTask.config(o, vocab: vocab)
        guard config.vocabSize == vocab.count, config.outputs == (labelCount == 2 && !multi ? 1 : labelCount) else {
            throw RNNError(path: resume?.path ?? o.vocabPath, "the model's vocabulary or outputs do not match \(o.vocabPath); resume with the same vocabulary")
        }
        model = Model(config: config, seed: seed)
        model.threads = max(1, o.threads)
        model.bf16 = o.bf16
        if resume == nil && vocab.dim > 0 {
            // Pretrained rows (zero for <unk>, <pad> and tokens without a vector, as in the reference).
            let w = model.params.value("embedding.weight")
            vocab.vectors.withUnsafeBufferPointer { w.baseAddress!.update(from: $0.baseAddress!, count: w.count) }
        }
    }

    /// The architecture of a new run.
    static func config(_ o: FitOptions, vocab: Vocabulary) throws -> ModelConfig {
        let E: Int
        if vocab.dim > 0 {
            if let e = o.embedDim, e != vocab.dim { throw FitSetupError.embedDimConflict(given: e, vectors: vocab.dim, vocabulary: o.vocabPath) }
            E = vocab.dim
        } else {
            E = o.embedDim ?? FitOptions.defaultEmbedDim
        }
        guard (1 ... ModelLimits.embedDim).contains(E), (1 ... ModelLimits.layers).contains(o.layers), (1 ... ModelLimits.hidden).contains(o.hidden) else {
            throw RNNError("model sizes out of range: layers 1...\(ModelLimits.layers), hidden and embedding 1...\(ModelLimits.hidden)")
        }
        guard [o.dropout, o.headDropout, o.embedDropout, o.weightDrop].allSatisfy({ $0 >= 0 && $0 < 1 }) else {
            throw RNNError("dropout probabilities must be in [0, 1)")
        }
        let labels = vocab.labels.count
        var c = ModelConfig(cell: o.cell, task: .classifier, vocabSize: vocab.count, embedDim: E, hidden: o.hidden,
                            layers: o.layers, bidirectional: o.bidirectional, dropout: o.dropout, headDropout: o.headDropout,
                            outputs: labels == 2 && !o.multiLabel ? 1 : labels, paddingIndex: Int(Vocabulary.padID), freezeEmbedding: o.freezeEmbeddings)
        c.embedDropout = o.embedDropout
        c.weightDrop = o.weightDrop
        c.lockedDropout = o.lockedDropout
        c.multiLabel = o.multiLabel
        c.pool = o.pool
        return c
    }

    /// Training and validation record counts.
    public var sizes: (train: Int, valid: Int) { (train.count, valid?.count ?? 0) }
    public var batchesPerEpoch: Int { (train.count + batchSize - 1) / batchSize }
    public var plan: TrainingPlan {
        TrainingPlan(task: "classifier", epochs: 0, batchesPerEpoch: batchesPerEpoch, itemsPerEpoch: train.count, itemUnit: "reviews",
                     validItems: valid?.count ?? 0, hasAccuracy: true,
                     kernels: TrainingPlan.kernelName(bf16: model.bf16))
    }
    public var frozen: Set<String> { model.config.freezeEmbedding ? ["embedding.weight"] : [] }
    public var generatorSeed: UInt64 { seed &+ 1 }

    public func startEpoch(_ epoch: Int, at batch: Int, rng: inout RNG) {
        guard batch == 0 else { return }   // resumed inside the epoch: its order came from the state
        order = train.indices   // a fresh permutation of the sorted indices: resumable from any epoch
        rng.shuffle(&order)
    }

    public func shard(rank: Int, of size: Int) { shardRank = rank; shardSize = max(1, size) }

    public func trainStep(_ index: Int, rng: inout RNG) -> StepOutcome {
        let lo = index * batchSize, hi = min((index + 1) * batchSize, order.count)
        let part = share(of: hi - lo, parts: shardSize, index: shardRank)
        let slice = order[(lo + part.lowerBound) ..< (lo + part.upperBound)]
        if slice.isEmpty { model.params.zeroGrads(); return StepOutcome(loss: 0, items: 0, correct: 0) }
        train.gather(slice, tokens: &tokens, lengths: &lengths, labels: &labels, realSteps: &realSteps)
        let (loss, logits) = tokens.withUnsafeBufferPointer {
            model.trainClassifier(tokens: $0, lengths: lengths, labels: labels, realSteps: train.padded ? realSteps : nil, rng: &rng)
        }
        return StepOutcome(loss: loss, items: slice.count,
                           correct: correctPredictions(logits: logits, labels: labels, outputs: model.config.outputs, multiLabel: model.config.multiLabel))
    }

    public func evaluate(limit: Int?) throws -> Evaluation? {
        valid.map { evaluateClassifier(model, on: $0.prefix(limit), batchSize: evalBatchSize) }
    }

    public func checkpointInfo() -> CheckpointInfo {
        var extra = dataExtra
        extra["batch_size"] = String(batchSize)
        extra["train_records"] = String(train.count)
        extra["valid_records"] = String(valid?.count ?? 0)
        return CheckpointInfo(kind: .classifier, config: model.config, vocabHash: vocab.hash, vocabKind: vocab.kind,
                              tokens: (0 ..< vocab.count).map { vocab.token($0) }, labels: vocab.labels, extra: extra)
    }

    public func savePosition(_ w: inout SafeTensorsWriter) {
        w.add("task.order", shape: [order.count], int64s: order.map(Int64.init))
    }

    public func restorePosition(_ state: TrainingState) throws {
        guard let f = state.file, let t = f.tensors["task.order"], t.shape.count == 1, t.shape[0] <= train.count else {
            throw RNNError(path: state.path, "corrupt training state: task.order")
        }
        let saved = try f.int64s("task.order")
        let ok = Set(train.indices)
        guard saved.allSatisfy({ $0 >= 0 && $0 < Int64(train.dataset.count) && ok.contains(Int($0)) }) else {
            throw RNNError(path: state.path, "corrupt training state: task.order names records outside the training split")
        }
        order = saved.map { Int($0) }
        if state.batch > 0 && order.count != train.count {
            throw RNNError(path: state.path, "corrupt training state: task.order has \(order.count) records, the training split \(train.count)")
        }
    }

    public var testItems: Int { testData?.count ?? 0 }

    public func test(checkpoint: String, limit: Int?) throws -> (String, Evaluation)? {
        guard let testData else { return nil }
        // The kept weights, read back from the checkpoint into the training model: a second
        // Model would grow a second set of evaluation buffers (hundreds of MB at 500 tokens).
        let (kept, _) = try Checkpoint.load(path: checkpoint, expect: .classifier)
        guard kept.params.count == model.params.count else { throw RNNError(path: checkpoint, "checkpoint arena differs from the model's") }
        model.params.mutableValues.baseAddress!.update(from: kept.params.values.baseAddress!, count: kept.params.count)
        return (testData.dataset.path, evaluateClassifier(model, on: testData.prefix(limit), batchSize: evalBatchSize))
    }
}
