// Model configuration and the recurrent state carried between calls.
//
// Glossary: B batch, T time, E embedding dim, H hidden, L layers, D directions (1 or 2),
// G gates (1 rnn, 4 lstm, 3 gru), V vocabulary (rows of the embedding), O outputs of fc.

/// The recurrent cell of every layer, with PyTorch's equations and gate order.
public enum CellKind: String, CaseIterable, Sendable {
    /// h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
    case rnn
    /// gate rows i, f, g, o (torch.nn.LSTM)
    case lstm
    /// gate rows r, z, n; b_hn inside the r* product (torch.nn.GRU)
    case gru

    /// G: gate blocks of H rows in W_ih / W_hh (1, 4, 3).
    public var gates: Int {
        switch self {
        case .rnn: return 1
        case .lstm: return 4
        case .gru: return 3
        }
    }
}

/// What the model is trained for.
public enum Task: String, Sendable {
    /// Sequence classification from the final recurrent state(s).
    case classifier
    /// Next-token prediction at every position (unidirectional).
    case languageModel
}

/// Hyper-parameters that fix the shape of a model (and its PyTorch state_dict).
public struct ModelConfig: Equatable, Sendable {
    public var cell: CellKind
    public var task: Task
    /// V
    public var vocabSize: Int
    /// E
    public var embedDim: Int
    /// H
    public var hidden: Int
    /// L >= 1
    public var layers: Int
    /// classifier only; language models are unidirectional
    public var bidirectional: Bool
    /// between stacked recurrent layers (not after the last); training only
    public var dropout: Float
    /// on the features before fc; training only
    public var headDropout: Float
    /// on the embedded tokens (the recurrence's input), as the reference tutorial's code does;
    /// training only (set after init; default 0)
    public var embedDropout: Float = 0
    /// weight drop (AWD-LSTM's DropConnect on the recurrent weights): each training forward
    /// multiplies every W_hh by a fresh inverted-dropout mask shared by all its steps and streams;
    /// training only (set after init; default 0)
    public var weightDrop: Float = 0
    /// dropout, embedDropout and (language models) headDropout draw one mask per sequence for all
    /// its time steps (variational / locked dropout) instead of one per element; training only
    /// (set after init; default false)
    public var lockedDropout = false
    /// O: 1 (binary, BCE with logits), n classes (softmax CE), V for LM; with `multiLabel`, one
    /// sigmoid output per label
    public var outputs: Int
    /// classifier only: every output is an independent sigmoid (multi-label), trained with binary
    /// cross-entropy per output (mean over outputs and batch: PyTorch's BCEWithLogitsLoss); the
    /// labels are then B*O 0/1 targets (set after init; default false)
    public var multiLabel = false
    /// classifier only: the features fc reads (Pooling.swift): the final states (`last`, the
    /// default), max or mean over the real time steps, or all three side by side (`concat`)
    /// (set after init)
    public var pool: Pooling = .last
    /// embedding row never updated (1 for classifier vocabularies)
    public var paddingIndex: Int?
    /// no gradient / no update for embedding.weight
    public var freezeEmbedding: Bool

    /// Memberwise initialiser (every field explicit).
    public init(cell: CellKind, task: Task, vocabSize: Int, embedDim: Int, hidden: Int, layers: Int,
                bidirectional: Bool, dropout: Float, headDropout: Float, outputs: Int,
                paddingIndex: Int?, freezeEmbedding: Bool) {
        self.cell = cell; self.task = task; self.vocabSize = vocabSize; self.embedDim = embedDim
        self.hidden = hidden; self.layers = layers; self.bidirectional = bidirectional
        self.dropout = dropout; self.headDropout = headDropout; self.outputs = outputs
        self.paddingIndex = paddingIndex; self.freezeEmbedding = freezeEmbedding
    }

    /// D: 2 when bidirectional, else 1.
    public var directions: Int { bidirectional ? 2 : 1 }
    /// G
    public var gates: Int { cell.gates }
    /// Width of fc's input: D*H per pooling block (classifier), H (language model).
    public var featureWidth: Int { pool.blocks * directions * hidden }
}

/// Recurrent state carried between calls (truncated BPTT, sampling): h [L*D, B, H], c (LSTM only)
/// same shape. Row (layer k, direction d) is at index k*D + d, like PyTorch's h_n.
public struct RecurrentState: Sendable {
    /// B
    public var batch: Int
    /// [L*D, B, H]
    public var h: [Float]
    /// [L*D, B, H]; empty unless LSTM
    public var c: [Float]

    /// Creates a state from explicit buffers.
    public init(batch: Int, h: [Float], c: [Float]) {
        self.batch = batch; self.h = h; self.c = c
    }

    /// The all-zero state for `batch` streams (what PyTorch uses when no state is passed).
    public static func zeros(_ config: ModelConfig, batch: Int) -> RecurrentState {
        let n = config.layers * config.directions * batch * config.hidden
        return RecurrentState(batch: batch, h: [Float](repeating: 0, count: n),
                              c: config.cell == .lstm ? [Float](repeating: 0, count: n) : [])
    }
}

extension ModelConfig {
    /// Number of parameters, nil when the computation overflows or `layers` is beyond 1,024
    /// (computed without allocating; RNNTrain's `ModelConfig.problem()` holds it to the limit).
    public var parameterCount: Int? {
        var total = 0
        func add(_ dims: Int...) -> Bool {
            var n = 1
            for d in dims {
                let (m, o) = n.multipliedReportingOverflow(by: d)
                if o { return false }
                n = m
            }
            let (t, o) = total.addingReportingOverflow(n)
            total = t
            return !o
        }
        guard layers >= 0, layers <= 1024 else { return nil }
        let gh = gates.multipliedReportingOverflow(by: hidden)
        let dh = directions.multipliedReportingOverflow(by: hidden)
        let fw = dh.partialValue.multipliedReportingOverflow(by: pool.blocks)
        guard !gh.overflow, !dh.overflow, !fw.overflow, add(vocabSize, embedDim), add(outputs, fw.partialValue), add(outputs) else { return nil }
        for k in 0 ..< layers {
            let inDim = k == 0 ? embedDim : dh.partialValue
            guard add(directions, gh.partialValue, inDim), add(directions, gh.partialValue, hidden),
                  add(directions, 2, gh.partialValue) else { return nil }
        }
        return total
    }
}
