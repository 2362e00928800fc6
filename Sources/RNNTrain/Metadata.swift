// String metadata of checkpoints and training states: one typed, range-checked reader, and the
// architecture written and parsed in one place (both files describe the model the same way).
import RNNCore
import RNNEngine
import RNNText

/// Reads values from safetensors string metadata; every number is range-checked, and a bad value
/// is an error naming the file, the key and the accepted range.
public struct MetadataReader {
    /// The file (named in errors).
    public let path: String
    /// What the file is, for messages: "checkpoint metadata", "training state".
    public let what: String
    public let values: [String: String]

    public init(path: String, what: String, values: [String: String]) {
        self.path = path; self.what = what; self.values = values
    }

    /// An error about this file: "PATH: corrupt WHAT: DETAIL".
    public func corrupt(_ detail: String) -> RNNError { RNNError(path: path, "corrupt \(what): \(detail)") }

    /// The string at `key` (an error when missing).
    public func string(_ key: String) throws -> String {
        guard let s = values[key] else { throw corrupt("missing \(key)") }
        return s
    }

    /// An integer in `range` (`default` when the key is missing and a default is given).
    public func int(_ key: String, in range: ClosedRange<Int>, default d: Int? = nil) throws -> Int {
        guard let s = values[key] else { if let d { return d }; throw corrupt("missing \(key)") }
        guard let v = Int(s), range.contains(v) else { throw corrupt("\(key) = '\(s)' is not an integer in [\(range.lowerBound), \(range.upperBound)]") }
        return v
    }

    /// An unsigned 64-bit integer (seeds).
    public func uint64(_ key: String) throws -> UInt64 {
        let s = try string(key)
        guard let v = UInt64(s) else { throw corrupt("\(key) = '\(s)' is not an unsigned integer") }
        return v
    }

    /// A finite number in `range`.
    public func double(_ key: String, in range: ClosedRange<Double>, default d: Double? = nil) throws -> Double {
        guard let s = values[key] else { if let d { return d }; throw corrupt("missing \(key)") }
        guard let v = Double(s), v.isFinite, range.contains(v) else { throw corrupt("\(key) = '\(s)' is not a number in [\(range.lowerBound), \(range.upperBound)]") }
        return v
    }

    /// A finite Float in `range`.
    public func float(_ key: String, in range: ClosedRange<Float>, default d: Float? = nil) throws -> Float {
        guard let s = values[key] else { if let d { return d }; throw corrupt("missing \(key)") }
        guard let v = Float(s), v.isFinite, range.contains(v) else { throw corrupt("\(key) = '\(s)' is not a number in [\(range.lowerBound), \(range.upperBound)]") }
        return v
    }

    /// A probability in [0, 1) (dropout); 0 when missing.
    public func probability(_ key: String) throws -> Float {
        guard let s = values[key] else { return 0 }
        guard let v = Float(s), v >= 0, v < 1 else { throw corrupt("\(key) = '\(s)' is not a probability in [0, 1)") }
        return v
    }

    /// true/false (also 1/0).
    public func bool(_ key: String, default d: Bool? = nil) throws -> Bool {
        guard let s = values[key] else { if let d { return d }; throw corrupt("missing \(key)") }
        switch s.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw corrupt("\(key) = '\(s)' is not true/false")
        }
    }

    /// A finite number, or nil when the key is missing or empty.
    public func optionalDouble(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let s = values[key], !s.isEmpty else { return nil }
        return try double(key, in: range)
    }
}

/// Largest sizes a model file may describe (checked before anything is allocated; the tensors
/// must then be present in the file with the implied sizes).
public enum ModelLimits {
    public static let layers = 64
    public static let hidden = 1 << 16
    public static let embedDim = 1 << 16
    public static let vocabSize = 1 << 26
}

extension Checkpoint {
    /// The architecture as metadata (the same keys in checkpoints and training states).
    /// `head` (classifiers): `binary` (one sigmoid output for two labels), `multi_class` (softmax
    /// over one output per label) or `multi_label` (one independent sigmoid per label); `pool`
    /// (classifiers): the features fc reads, `last`, `max`, `mean` or `concat` (Pooling).
    public static func architectureMetadata(_ c: ModelConfig) -> [(String, String)] {
        [("model", c.cell.rawValue), ("head", headName(c)), ("vocab_size", String(c.vocabSize)), ("embed_dim", String(c.embedDim)),
         ("hidden", String(c.hidden)), ("layers", String(c.layers)), ("bidirectional", String(c.bidirectional)),
         ("outputs", String(c.outputs)), ("dropout", String(c.dropout)), ("head_dropout", String(c.headDropout)),
         ("embed_dropout", String(c.embedDropout)), ("weight_drop", String(c.weightDrop)), ("locked_dropout", String(c.lockedDropout)),
         ("padding_idx", c.paddingIndex.map(String.init) ?? "none"), ("freeze_embedding", String(c.freezeEmbedding))]
            + (c.task == .classifier ? [("pool", c.pool.rawValue)] : [])
    }

    /// The `head` metadata value of a configuration (`lm` for a language model).
    public static func headName(_ c: ModelConfig) -> String {
        c.task == .languageModel ? "lm" : c.multiLabel ? "multi_label" : c.outputs == 1 ? "binary" : "multi_class"
    }

    /// Metadata keys of the architecture.
    static let architectureKeys: Set<String> = Set(architectureMetadata(ModelConfig(
        cell: .gru, task: .classifier, vocabSize: 1, embedDim: 1, hidden: 1, layers: 1, bidirectional: false, dropout: 0,
        headDropout: 0, outputs: 1, paddingIndex: nil, freezeEmbedding: false)).map(\.0))

    /// Parses the architecture of a `kind` model. Sizes the metadata omits (`vocab_size`,
    /// `embed_dim`, `outputs`: PyTorch exports may leave them out) come from `tensorSize(name, dim)`.
    public static func readArchitecture(_ m: MetadataReader, kind: Task, tensorSize: (String, Int) -> Int? = { _, _ in nil }) throws -> ModelConfig {
        func size(_ key: String, _ limit: Int, from tensor: String, dim: Int) throws -> Int {
            if m.values[key] == nil, let v = tensorSize(tensor, dim) {
                guard v >= 1 && v <= limit else { throw m.corrupt("\(tensor) has \(v) rows/columns, not in [1, \(limit)]") }
                return v
            }
            return try m.int(key, in: 1 ... limit)
        }
        let model = m.values["model"] ?? ""
        guard let cell = CellKind(rawValue: model.lowercased()) else { throw m.corrupt("model = '\(model)' (expected rnn, lstm or gru)") }
        let layers = try m.int("layers", in: 1 ... ModelLimits.layers), hidden = try m.int("hidden", in: 1 ... ModelLimits.hidden)
        let bidirectional = try m.bool("bidirectional", default: false)
        let vocabSize = try size("vocab_size", ModelLimits.vocabSize, from: "embedding.weight", dim: 0)
        let embedDim = try size("embed_dim", ModelLimits.embedDim, from: "embedding.weight", dim: 1)
        let outputs = try size("outputs", ModelLimits.vocabSize, from: "fc.bias", dim: 0)
        guard !(kind == .languageModel && bidirectional) else { throw m.corrupt("a language model cannot be bidirectional") }
        var padding: Int? = kind == .classifier ? Int(Vocabulary.padID) : nil
        if let s = m.values["padding_idx"] {
            if s == "none" || s.isEmpty { padding = nil } else {
                guard let p = Int(s), p >= 0, p < vocabSize else { throw m.corrupt("padding_idx = '\(s)'") }
                padding = p
            }
        }
        var config = ModelConfig(cell: cell, task: kind, vocabSize: vocabSize, embedDim: embedDim, hidden: hidden, layers: layers,
                                 bidirectional: bidirectional, dropout: try m.probability("dropout"),
                                 headDropout: try m.probability("head_dropout"), outputs: outputs, paddingIndex: padding,
                                 freezeEmbedding: try m.bool("freeze_embedding", default: false))
        config.embedDropout = try m.probability("embed_dropout")   // optional (training record only)
        config.weightDrop = try m.probability("weight_drop")       // optional (training record only)
        config.lockedDropout = try m.bool("locked_dropout", default: false)   // optional (training record only)
        // head: optional (older files and PyTorch exports without it: binary for one output,
        // multi-class otherwise)
        switch (m.values["head"], kind) {
        case (nil, _), ("lm", .languageModel): break
        case ("binary", .classifier):
            guard outputs == 1 else { throw m.corrupt("head = 'binary' with \(outputs) outputs (a binary head has one)") }
        case ("multi_class", .classifier):
            guard outputs >= 2 else { throw m.corrupt("head = 'multi_class' with \(outputs) output (one per label, at least 2)") }
        case ("multi_label", .classifier):
            config.multiLabel = true
        default:
            throw m.corrupt("head = '\(m.values["head"] ?? "")' (expected \(kind == .classifier ? "binary, multi_class or multi_label" : "lm"))")
        }
        // pool: optional (files from before pooling heads and PyTorch exports without it: last)
        if let s = m.values["pool"] {
            guard let pool = Pooling(rawValue: s), kind == .classifier || pool == .last else {
                throw m.corrupt("pool = '\(s)' (expected \(kind == .classifier ? "last, max, mean or concat" : "last: a language model reads every step")); written by a newer rnn-fit, or damaged")
            }
            config.pool = pool
        }
        return config
    }

    /// Number of floats in the engine's parameter arena of `c` (tensors start at multiples of 16
    /// floats), computed without allocating; nil when it overflows.
    static func arenaSize(_ c: ModelConfig) -> Int? {
        var total = 0
        for (_, shape) in Model.parameterSpec(c) {
            var n = 1
            for d in shape {
                let (p, o) = n.multipliedReportingOverflow(by: d)
                if o { return nil }
                n = p
            }
            let (t, o) = total.addingReportingOverflow((n + 15) & ~15)
            if o || n > Int.max - 15 { return nil }
            total = t
        }
        return total
    }
}
