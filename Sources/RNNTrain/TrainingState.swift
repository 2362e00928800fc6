// The training state written next to a classifier checkpoint (`best.ckpt.state`) at the end of
// every epoch, so `rnn-fit --resume best.ckpt` continues exactly where the last epoch ended.
//
// A safetensors file (docs/FORMATS.md section 4, "Training state"):
//   params  F32 [P]  the parameter arena after the last completed epoch (not the best epoch's),
//                    tensors at the offsets of Parameters (64-byte aligned, gaps 0)
//   adam_m  F32 [P]  Adam first moments, same layout
//   adam_v  F32 [P]  Adam second moments
//   rng     I64 [4]  xoshiro256** state words of the training generator (bit patterns)
// metadata: format "rnn-fit-state", version "1", the architecture (as in checkpoints), epoch
// (completed), adam_step, lr (current, after decay), betas, eps, weight_decay, seed, valid_split,
// valid_path, padded, vocab_hash, train_records, batch_size, best_epoch, best_valid_loss,
// best_valid_accuracy, history (JSON array of the epoch lines).
import RNNCore
import RNNEngine
import RNNText

/// Optimizer, generator and progress of a classifier run (for --resume).
struct TrainingState {
    static let formatName = "rnn-fit-state"
    static let formatVersion = 1

    var path: String
    var config: ModelConfig
    /// Completed epochs.
    var epoch: Int
    var adam: Adam
    var rng: [UInt64]
    var history: [EpochSummary]
    var bestEpoch: Int
    var bestValidLoss: Double?
    var bestValidAccuracy: Double?
    var seed: UInt64
    var validSplit: Double
    var validPath: String?
    var padded: Bool
    var vocabHash: String
    var trainRecords: Int
    var batchSize: Int
    var clip: Float?
    var lrDecay: Float
    /// Parameter arena read from the file (load only).
    var params: [Float] = []

    /// Writes the state atomically (temporary file + rename).
    func write(model: Model) throws {
        var w = SafeTensorsWriter()
        let P = model.params.count
        w.add("params", shape: [P], floats: model.params.values)
        w.add("adam_m", shape: [P], floats: adam.m)
        w.add("adam_v", shape: [P], floats: adam.v)
        w.add("rng", shape: [4], int64s: rng.map { Int64(bitPattern: $0) })
        let c = config
        let meta: [(String, String)] = [
            ("format", TrainingState.formatName), ("version", String(TrainingState.formatVersion)),
            ("model", c.cell.rawValue), ("vocab_size", String(c.vocabSize)), ("embed_dim", String(c.embedDim)),
            ("hidden", String(c.hidden)), ("layers", String(c.layers)), ("bidirectional", String(c.bidirectional)),
            ("outputs", String(c.outputs)), ("dropout", String(c.dropout)), ("head_dropout", String(c.headDropout)),
            ("embed_dropout", String(c.embedDropout)), ("freeze_embedding", String(c.freezeEmbedding)),
            ("epoch", String(epoch)), ("adam_step", String(adam.step)), ("lr", String(adam.lr)),
            ("beta1", String(adam.beta1)), ("beta2", String(adam.beta2)), ("eps", String(adam.eps)),
            ("weight_decay", String(adam.weightDecay)), ("seed", String(seed)), ("valid_split", String(validSplit)),
            ("valid_path", validPath ?? ""), ("padded", String(padded)), ("vocab_hash", vocabHash),
            ("train_records", String(trainRecords)), ("batch_size", String(batchSize)),
            ("clip", clip.map { String($0) } ?? ""), ("lr_decay", String(lrDecay)),
            ("best_epoch", String(bestEpoch)), ("best_valid_loss", bestValidLoss.map { String($0) } ?? ""),
            ("best_valid_accuracy", bestValidAccuracy.map { String($0) } ?? ""),
            ("history", JSONWriter.string(.array(history.map(TrainingState.json)))),
        ]
        for (k, v) in meta { w.setMetadata(k, v) }
        try w.write(to: path)
    }

    static func json(_ s: EpochSummary) -> JSONValue {
        func n(_ x: Double?) -> JSONValue { x.map { $0.isFinite ? .number($0) : .null } ?? .null }
        return .object([JSONMember("epoch", .number(s.epoch)), JSONMember("train_loss", n(s.trainLoss)),
                        JSONMember("train_acc", n(s.trainAccuracy)), JSONMember("valid_loss", n(s.validLoss)),
                        JSONMember("valid_acc", n(s.validAccuracy)), JSONMember("rate", n(s.rate)),
                        JSONMember("elapsed", n(s.elapsed)), JSONMember("best", .bool(s.isBest))])
    }

    static func summary(_ v: JSONValue) -> EpochSummary? {
        guard let e = v["epoch"]?.doubleValue, let tl = v["train_loss"]?.doubleValue else { return nil }
        return EpochSummary(epoch: e, trainLoss: tl, trainAccuracy: v["train_acc"]?.doubleValue, validLoss: v["valid_loss"]?.doubleValue,
                            validAccuracy: v["valid_acc"]?.doubleValue, rate: v["rate"]?.doubleValue ?? 0,
                            elapsed: v["elapsed"]?.doubleValue ?? 0, isBest: v["best"] == .bool(true))
    }

    /// Reads `path`; `checkpoint` is the --resume argument (named in messages).
    static func load(path: String, checkpoint: String) throws -> TrainingState {
        let f: SafeTensorsFile
        do {
            f = try SafeTensorsFile(path: path, what: "training state")
        } catch let e as RNNError where e.message.hasSuffix("no such file") {
            throw RNNError(path: checkpoint, "cannot resume: its training state \(path) does not exist (rnn-fit writes CKPT.state next to the checkpoint at every epoch end)")
        }
        let m = f.metadata
        guard m["format"] == formatName else {
            throw RNNError(path: path, "not a training state (format '\(m["format"] ?? "none")'); --resume takes the checkpoint written by rnn-fit -o, next to which CKPT.state lies")
        }
        guard m["version"] == String(formatVersion) else {
            throw RNNError(path: path, "training state version \(m["version"] ?? "?") is not supported (this build reads version \(formatVersion))")
        }
        func bad(_ what: String) -> RNNError { RNNError(path: path, "corrupt training state: \(what)") }
        func int(_ k: String) throws -> Int { guard let v = m[k].flatMap({ Int($0) }) else { throw bad("missing \(k)") }; return v }
        func float(_ k: String) throws -> Float { guard let v = m[k].flatMap({ Float($0) }) else { throw bad("missing \(k)") }; return v }
        func bool(_ k: String) throws -> Bool { guard let v = m[k].flatMap({ Bool($0) }) else { throw bad("missing \(k)") }; return v }
        guard let cell = CellKind(rawValue: m["model"] ?? "") else { throw bad("model") }
        let outputs = try int("outputs")
        var config = ModelConfig(cell: cell, task: .classifier, vocabSize: try int("vocab_size"), embedDim: try int("embed_dim"),
                                 hidden: try int("hidden"), layers: try int("layers"), bidirectional: try bool("bidirectional"),
                                 dropout: try float("dropout"), headDropout: try float("head_dropout"), outputs: outputs,
                                 paddingIndex: Int(Vocabulary.padID), freezeEmbedding: try bool("freeze_embedding"))
        if m["embed_dropout"] != nil { config.embedDropout = try float("embed_dropout") }
        let P = Parameters(Model.parameterSpec(config)).count
        let params = try f.floats("params", shape: [P])
        var adam = Adam(count: P, lr: try float("lr"), beta1: try float("beta1"), beta2: try float("beta2"), eps: try float("eps"),
                        weightDecay: try float("weight_decay"))
        adam.m = try f.floats("adam_m", shape: [P])
        adam.v = try f.floats("adam_v", shape: [P])
        adam.step = try int("adam_step")
        let rng = try f.int64s("rng", shape: [4]).map { UInt64(bitPattern: $0) }
        guard let seed = m["seed"].flatMap({ UInt64($0) }) else { throw bad("missing seed") }
        let hist = (try? JSONScanner.parse(m["history"] ?? "[]"))?.arrayValue ?? []
        return TrainingState(path: path, config: config, epoch: try int("epoch"), adam: adam, rng: rng,
                             history: hist.compactMap(summary), bestEpoch: try int("best_epoch"),
                             bestValidLoss: m["best_valid_loss"].flatMap { Double($0) },
                             bestValidAccuracy: m["best_valid_accuracy"].flatMap { Double($0) }, seed: seed,
                             validSplit: Double(m["valid_split"] ?? "") ?? 0,
                             validPath: (m["valid_path"] ?? "").isEmpty ? nil : m["valid_path"],
                             padded: try bool("padded"), vocabHash: m["vocab_hash"] ?? "", trainRecords: try int("train_records"),
                             batchSize: try int("batch_size"), clip: m["clip"].flatMap { Float($0) },
                             lrDecay: m["lr_decay"].flatMap { Float($0) } ?? 1, params: params)
    }

    /// Copies the saved parameter arena into `model` (same configuration).
    func restore(into model: Model) throws {
        guard params.count == model.params.count else { throw RNNError(path: path, "parameter arena size does not match the model") }
        params.withUnsafeBufferPointer { model.params.mutableValues.baseAddress!.update(from: $0.baseAddress!, count: params.count) }
    }
}
