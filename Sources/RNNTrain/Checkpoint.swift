// Checkpoints: a model's parameters under PyTorch state_dict names, plus everything needed to use
// it (architecture, vocabulary, labels) in the safetensors string metadata (docs/FORMATS.md
// section 4). Only state_dict tensors are stored, so PyTorch loads a checkpoint strictly:
//
//     model.load_state_dict(safetensors.torch.load_file("best.ckpt"))
//
// and a model saved by PyTorch's `save_file(model.state_dict(), path, metadata=...)` with the
// documented metadata runs in our tools. Readers memory-map the file and copy the tensors into the
// engine's arena (about 2 ms for the IMDB classifier; the embedded 52k-token vocabulary, a JSON
// array, parses in a few ms more).

import RNNCore
import RNNEngine
import RNNText

/// What a checkpoint holds besides its tensors.
public struct CheckpointInfo: Sendable {
    /// `classifier` or `lm`.
    public var kind: Task
    /// Architecture (shape of every tensor).
    public var config: ModelConfig
    /// Content hash of the vocabulary the model was trained with (`rnn-vocab` file hash), or "" when
    /// unknown (e.g. a PyTorch export or an alphabet built by `rnn-fit --lm`).
    public var vocabHash: String
    /// `words` or `chars`.
    public var vocabKind: Vocabulary.Kind
    /// Id -> token (word or character), `vocabSize` entries.
    public var tokens: [String]
    /// Label id -> name (classifiers; empty for language models).
    public var labels: [String]
    /// Epoch at which these weights were taken (may be fractional for language models).
    public var epoch: Double
    /// Validation loss (nats) and accuracy of these weights, when evaluated.
    public var validLoss: Double?
    public var validAccuracy: Double?
    /// Training seed.
    public var seed: UInt64?
    /// The command line that trained it.
    public var commandLine: String
    /// Further string metadata (e.g. `fix_length`, `pad_first` of the training data, `alphabet` source).
    public var extra: [String: String]

    /// Memberwise initialiser.
    public init(kind: Task, config: ModelConfig, vocabHash: String, vocabKind: Vocabulary.Kind, tokens: [String],
                labels: [String], epoch: Double = 0, validLoss: Double? = nil, validAccuracy: Double? = nil,
                seed: UInt64? = nil, commandLine: String = "", extra: [String: String] = [:]) {
        self.kind = kind; self.config = config; self.vocabHash = vocabHash; self.vocabKind = vocabKind
        self.tokens = tokens; self.labels = labels; self.epoch = epoch; self.validLoss = validLoss
        self.validAccuracy = validAccuracy; self.seed = seed; self.commandLine = commandLine; self.extra = extra
    }
}

/// Reading and writing checkpoints (format `rnn-checkpoint`, version 1).
public enum Checkpoint {
    /// `format` metadata value.
    public static let formatName = "rnn-checkpoint"
    /// `version` metadata value.
    public static let formatVersion = 1
    /// Metadata keys this module owns (everything else goes to / comes from `extra`).
    static let ownKeys: Set<String> = architectureKeys.union([
        "format", "version", "kind", "vocab_hash", "vocab_kind", "vocab", "tokens_hash", "labels", "epoch", "valid_loss",
        "valid_accuracy", "seed", "command",
    ])

    /// Hash of an id -> token list (FNV-1a 64 over each token's UTF-8 and a 0 byte), stored as
    /// `tokens_hash` so a damaged embedded vocabulary is detected.
    public static func tokensHash(_ tokens: [String]) -> String {
        var h = FNV1a64()
        for t in tokens { h.update(t) }
        return h.hex
    }

    /// The metadata of a checkpoint, as written.
    public static func metadata(_ info: CheckpointInfo) -> [(String, String)] {
        var m: [(String, String)] = [("format", formatName), ("version", String(formatVersion)),
                                     ("kind", info.kind == .classifier ? "classifier" : "lm")]
        m += architectureMetadata(info.config)
        m += [("vocab_hash", info.vocabHash), ("vocab_kind", info.vocabKind.rawValue),
              ("vocab", jsonArray(info.tokens)), ("tokens_hash", tokensHash(info.tokens)),
              ("labels", jsonArray(info.labels)), ("epoch", formatNumber(info.epoch)), ("command", info.commandLine)]
        if let v = info.validLoss { m.append(("valid_loss", formatNumber(v))) }
        if let v = info.validAccuracy { m.append(("valid_accuracy", formatNumber(v))) }
        if let s = info.seed { m.append(("seed", String(s))) }
        for (k, v) in info.extra.sorted(by: { $0.key < $1.key }) where !ownKeys.contains(k) { m.append((k, v)) }
        return m
    }

    /// Writes the model's parameters and `info` atomically (temporary file + rename): a reader
    /// never sees a half-written checkpoint, and a failed write leaves the previous file intact.
    public static func write(model: Model, info: CheckpointInfo, to path: String) throws {
        precondition(model.config == info.config, "checkpoint info does not describe this model")
        precondition(info.tokens.count == info.config.vocabSize, "\(info.tokens.count) tokens for a vocabulary of \(info.config.vocabSize)")
        var w = SafeTensorsWriter()
        let values = model.params.values
        for e in model.params.entries {
            w.add(e.name, shape: e.shape, floats: UnsafeBufferPointer(rebasing: values[e.offset ..< e.offset + e.count]))
        }
        w.metadata = metadata(info)
        try w.write(to: path)
    }

    /// Loads a checkpoint into a new model. Refuses, with a message naming the file: other formats
    /// and versions, a `kind` other than `expect`, metadata that does not describe a valid model,
    /// and tensors whose names or shapes disagree with the metadata.
    public static func load(path: String, expect: Task? = nil) throws -> (Model, CheckpointInfo) {
        let f = try SafeTensorsFile(path: path, what: "checkpoint")
        let info = try readInfo(f, expect: expect)
        // Every tensor the metadata implies is in the file with its shape before the model is
        // allocated: the model's size is then bounded by the file's.
        try checkTensors(f, config: info.config)
        let model = Model(config: info.config, seed: 0, initialize: false)
        try loadTensors(f, into: model)
        return (model, info)
    }

    /// Checks that `f` holds exactly the tensors of a `config` model, F32 with their shapes.
    static func checkTensors(_ f: SafeTensorsFile, config: ModelConfig) throws {
        let path = f.path
        let spec = Model.parameterSpec(config)
        let expected = Set(spec.map(\.0))
        let extra = f.names.filter { !expected.contains($0) }
        if !extra.isEmpty {
            throw RNNError(path: path, "checkpoint holds tensors this \(describe(config)) model does not have: \(extra.prefix(4).joined(separator: ", "))\(extra.count > 4 ? ", ..." : ""); its metadata does not match its tensors")
        }
        for (name, shape) in spec {
            guard let t = f.tensors[name] else {
                throw RNNError(path: path, "checkpoint lacks tensor \(name) of shape \(shape) required by its metadata (\(describe(config)))")
            }
            guard t.shape == shape else {
                throw RNNError(path: path, "tensor \(name) has shape \(t.shape) but the metadata (\(describe(config))) implies \(shape); the checkpoint is inconsistent")
            }
            guard t.dtype == .f32 else { throw RNNError(path: path, "tensor \(name) is \(t.dtype.rawValue); only F32 checkpoints are supported (save with .float())") }
        }
    }

    /// Copies every tensor of `f` into `model`'s arena after checking names and shapes; a
    /// non-finite weight (NaN or infinity: a diverged or damaged model) is refused.
    static func loadTensors(_ f: SafeTensorsFile, into model: Model) throws {
        try checkTensors(f, config: model.config)
        let values = model.params.mutableValues
        for e in model.params.entries {
            let finite = try f.withFloats(e.name) { src -> Bool in
                let dst = UnsafeMutableBufferPointer(rebasing: values[e.offset ..< e.offset + e.count])
                _ = dst.update(fromContentsOf: src)
                var bad: UInt32 = 0
                // exponent all ones <=> NaN or infinity
                for x in src { bad |= (((x.bitPattern >> 23) & 0xFF) &+ 1) & 0x100 }
                return bad == 0
            }
            guard finite else {
                throw RNNError(path: f.path, "tensor \(e.name) holds NaN or infinite values (a diverged or damaged model); use an earlier checkpoint or train again")
            }
        }
    }

    /// One-line description of an architecture, e.g. "bidirectional 1-layer gru, E=50, H=128, V=51956, 1 output".
    public static func describe(_ c: ModelConfig) -> String {
        "\(c.bidirectional ? "bidirectional " : "")\(c.layers)-layer \(c.cell.rawValue), E=\(c.embedDim), H=\(c.hidden), V=\(c.vocabSize), \(c.outputs) \(c.multiLabel ? "multi-label " : "")output\(c.outputs == 1 ? "" : "s")\(c.pool == .last ? "" : ", \(c.pool.rawValue) pooling")"
    }

    /// Parses and validates the metadata. Sizes the metadata omits (`vocab_size`, `embed_dim`,
    /// `outputs`: PyTorch exports may leave them out) are taken from the tensor shapes.
    static func readInfo(_ f: SafeTensorsFile, expect: Task?) throws -> CheckpointInfo {
        let path = f.path, m = f.metadata
        guard m["format"] == formatName else {
            if let other = m["format"] {
                throw RNNError(path: path, "not a checkpoint: a '\(other)' file; pass the file written by 'rnn-fit -o'")
            }
            throw RNNError(path: path, "not a checkpoint: its metadata has no format '\(formatName)' (a PyTorch export needs the metadata of docs/FORMATS.md section 4)")
        }
        guard m["version"] == String(formatVersion) else {
            throw RNNError(path: path, "checkpoint format version \(m["version"] ?? "?") is not supported (this build reads version \(formatVersion)); retrain it with rnn-fit or upgrade the tools")
        }
        let reader = MetadataReader(path: path, what: "checkpoint metadata", values: m)
        func bad(_ what: String) -> RNNError { reader.corrupt(what) }
        let kind: Task
        switch m["kind"] {
        case "classifier": kind = .classifier
        case "lm": kind = .languageModel
        default: throw bad("kind = '\(m["kind"] ?? "")' (expected classifier or lm)")
        }
        if let expect, expect != kind {
            throw RNNError(path: path, kind == .classifier
                ? "this is a classifier checkpoint; a character language model is needed (train one with 'rnn-fit --lm')"
                : "this is a language-model checkpoint; a classifier is needed (train one with 'rnn-fit DATA.bin --vocab V.bin')")
        }
        let config = try readArchitecture(reader, kind: kind) { name, dim in
            guard let t = f.tensors[name], t.shape.count > dim else { return nil }
            return t.shape[dim]
        }
        let vocabSize = config.vocabSize, outputs = config.outputs
        if let p = config.problem() { throw bad(p) }
        guard let vs = m["vocab"], let tokens = try? stringArray(vs) else { throw bad("missing or invalid vocab (a JSON array of the tokens in id order)") }
        guard tokens.count == vocabSize else {
            throw RNNError(path: path, "checkpoint vocabulary has \(tokens.count) tokens but the model has \(vocabSize) embedding rows; the checkpoint is inconsistent")
        }
        if let th = m["tokens_hash"], th != tokensHash(tokens) { throw bad("embedded vocabulary does not match its hash (damaged file)") }
        let labels = try m["labels"].map { s -> [String] in
            guard let a = try? stringArray(s) else { throw bad("labels is not a JSON array of strings") }
            return a
        } ?? []
        if kind == .classifier {
            let expectOut = labels.count == 2 && !config.multiLabel ? 1 : labels.count
            guard labels.count >= 2, outputs == expectOut else {
                throw RNNError(path: path, "checkpoint has \(labels.count) labels but \(outputs) output\(outputs == 1 ? "" : "s") (expected \(expectOut == 1 ? "1 for 2 labels" : "one per label")); the checkpoint is inconsistent")
            }
        } else if outputs != vocabSize {
            throw RNNError(path: path, "language model with \(outputs) outputs for an alphabet of \(vocabSize); the checkpoint is inconsistent")
        }
        var extra: [String: String] = [:]
        for (k, v) in m where !ownKeys.contains(k) { extra[k] = v }
        return CheckpointInfo(kind: kind, config: config, vocabHash: m["vocab_hash"] ?? "",
                              vocabKind: Vocabulary.Kind(rawValue: m["vocab_kind"] ?? "") ?? (kind == .languageModel ? .chars : .words),
                              tokens: tokens, labels: labels, epoch: m["epoch"].flatMap(Double.init) ?? 0,
                              validLoss: m["valid_loss"].flatMap(Double.init), validAccuracy: m["valid_accuracy"].flatMap(Double.init),
                              seed: m["seed"].flatMap(UInt64.init), commandLine: m["command"] ?? "", extra: extra)
    }

    static func jsonArray(_ a: [String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, s) in a.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(s, into: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    static func stringArray(_ s: String) throws -> [String] {
        guard let a = try JSONScanner.parse(s).arrayValue else { throw RNNError("not an array") }
        return try a.map { v in
            guard let s = v.stringValue else { throw RNNError("not a string") }
            return s
        }
    }

    static func formatNumber(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}
