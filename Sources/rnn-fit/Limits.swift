// rnn-fit: model size and outputs checked before any work (issue 11 items 4, 5).
import ArgumentParser
import RNNCLI
import RNNCore
import RNNEngine
import RNNTrain

extension Command {
    /// Hidden size and layers, each in range, can still describe a model beyond
    /// ``ModelLimits/parameters`` whatever the vocabulary: refused before the data is read.
    func validateModelSize() throws {
        guard let h = hidden, let l = layers, h >= 1, l >= 1, h <= ModelLimits.hidden, l <= ModelLimits.layers else { return }
        let probe = ModelConfig(cell: cell?.kind ?? .lstm, task: lm ? .languageModel : .classifier, vocabSize: 1,
                                embedDim: min(max(embedDim ?? 1, 1), ModelLimits.embedDim), hidden: h, layers: l,
                                bidirectional: bidirectional && !lm, dropout: 0, headDropout: 0, outputs: 1, paddingIndex: nil, freezeEmbedding: false)
        if let p = probe.problem() { throw ValidationError("--hidden \(h) with --layers \(l): \(p)") }
    }

    /// Outputs must not be inputs, and one process writes them (OutputGuard).
    func prepareOutputs() throws {
        let out = output ?? resume
        try CLI.prepareOutputs([out, out.map { $0 + ".state" }, log, plot], inputs: inputs + [vocab, valid, test])
    }
}
