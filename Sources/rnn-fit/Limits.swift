// rnn-fit: numbers and outputs checked before any work (issue 11 items 3, 4, 5).
import ArgumentParser
import RNNCLI
import RNNCore
import RNNEngine

extension Command {
    /// Non-finite values are usage errors; sizes beyond ``ModelLimits`` are refused before the
    /// data is read (the full model, with its vocabulary, is checked again before allocation).
    func validateNumbers() throws {
        try CLI.requireFinite([("--lr", lr.map(Double.init)), ("--weight-decay", Double(weightDecay)), ("--clip", clip.map(Double.init)),
                               ("--lr-decay", Double(lrDecay)), ("--dropout", dropout.map(Double.init)),
                               ("--head-dropout", Double(headDropout)), ("--embed-dropout", Double(embedDropout)),
                               ("--valid-split", validSplit)])
        for (name, v, limit) in [("--hidden", hidden, ModelLimits.maxHidden), ("--layers", layers, ModelLimits.maxLayers),
                                 ("--embed-dim", embedDim, ModelLimits.maxEmbedDim), ("--batch-size", batchSize, 1 << 16)] {
            if let v, v > limit { throw ValidationError("\(name) must be at most \(limit) (got \(v))") }
        }
        // Hidden size and layers alone can exceed the parameter limit, whatever the vocabulary.
        let probe = ModelConfig(cell: CellKind(rawValue: model ?? "lstm") ?? .lstm, task: lm ? .languageModel : .classifier, vocabSize: 1,
                                embedDim: embedDim ?? 1, hidden: hidden ?? 1, layers: layers ?? 1, bidirectional: bidirectional && !lm,
                                dropout: 0, headDropout: 0, outputs: 1, paddingIndex: nil, freezeEmbedding: false)
        if let v = hidden, v >= 1, let l = layers, l >= 1, let p = probe.problem(), p.contains("parameters") {
            throw ValidationError("--hidden \(v) with --layers \(l): \(p)")
        }
    }

    /// Outputs must not be inputs, and one process writes them (OutputGuard).
    func prepareOutputs() throws {
        let out = output ?? resume
        try CLI.prepareOutputs([out, out.map { $0 + ".state" }, log, plot], inputs: inputs + [vocab, valid, test])
    }
}
