// The one check of a model's size before it is allocated (issue 11): every size within
// ModelLimits and the whole model within ModelLimits.parameters.
import RNNEngine

extension ModelLimits {
    /// Parameters of the whole model: 2^30 (4 GiB of Float32 weights; training holds four copies).
    public static let parameters = 1 << 30
}

extension ModelConfig {
    /// What is wrong with this configuration (a value out of range or beyond ``ModelLimits``),
    /// or nil when it describes a model that can be allocated. Names the setting as `key = value`.
    public func problem() -> String? {
        func range(_ name: String, _ v: Int, _ hi: Int) -> String? {
            v < 1 || v > hi ? "\(name) = \(v) is outside [1, \(hi)]" : nil
        }
        if let p = range("layers", layers, ModelLimits.layers) ?? range("hidden", hidden, ModelLimits.hidden)
            ?? range("embed_dim", embedDim, ModelLimits.embedDim) ?? range("vocab_size", vocabSize, ModelLimits.vocabSize)
            ?? range("outputs", outputs, ModelLimits.vocabSize) {
            return p
        }
        for (name, p) in [("dropout", dropout), ("head_dropout", headDropout), ("embed_dropout", embedDropout), ("weight_drop", weightDrop)] where !(p >= 0 && p < 1) {
            return "\(name) = \(p) is not a probability in [0, 1)"
        }
        if let pad = paddingIndex, pad < 0 || pad >= vocabSize { return "padding_idx = \(pad) is outside [0, \(vocabSize))" }
        if task == .languageModel && bidirectional { return "a language model cannot be bidirectional" }
        guard let n = parameterCount, n <= ModelLimits.parameters else {
            return "the model would have \(parameterCount.map(String.init) ?? "too many") parameters, more than the limit of \(ModelLimits.parameters)"
        }
        return nil
    }
}
