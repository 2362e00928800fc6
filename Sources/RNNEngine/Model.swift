// The model: embedding -> stacked (bi)directional recurrence -> head (classifier or LM).
//
// Glossary: B batch, T time, E embedding dim, H hidden, L layers, D directions (1 or 2),
// G gates (1 rnn, 4 lstm, 3 gru), V vocabulary, O outputs of fc, N real tokens of a batch.

/// A recurrent text model whose parameters live in one PyTorch-named arena.
public final class Model {
    /// Shape of the model.
    public let config: ModelConfig
    /// Parameters and gradients.
    public let params: Parameters
    /// 1 or 2 worker threads for this model's kernels (default 1).
    public var threads: Int = 1

    /// PyTorch's default initialisation (embedding N(0,1) with the padding row zeroed; recurrent
    /// weights and biases U(-1/sqrt(H), 1/sqrt(H)); fc like nn.Linear), drawn from RNG(seed).
    public init(config: ModelConfig, seed: UInt64) {
        self.config = config
        self.params = Parameters(Model.parameterSpec(config))
        fatalError("TODO")
    }

    /// (name, shape) of every tensor in PyTorch state_dict order.
    public static func parameterSpec(_ c: ModelConfig) -> [(String, [Int])] {
        var spec: [(String, [Int])] = [("embedding.weight", [c.vocabSize, c.embedDim])]
        let gh = c.gates * c.hidden
        for k in 0 ..< c.layers {
            for d in 0 ..< c.directions {
                let sfx = d == 0 ? "" : "_reverse"
                let inDim = k == 0 ? c.embedDim : c.directions * c.hidden
                spec.append(("rnn.weight_ih_l\(k)\(sfx)", [gh, inDim]))
                spec.append(("rnn.weight_hh_l\(k)\(sfx)", [gh, c.hidden]))
                spec.append(("rnn.bias_ih_l\(k)\(sfx)", [gh]))
                spec.append(("rnn.bias_hh_l\(k)\(sfx)", [gh]))
            }
        }
        spec.append(("fc.weight", [c.outputs, c.directions * c.hidden]))
        spec.append(("fc.bias", [c.outputs]))
        return spec
    }

    /// Inference: logits [B*O] (no dropout).
    public func classify(tokens: UnsafeBufferPointer<Int32>, lengths: [Int]) -> [Float] {
        fatalError("TODO")
    }

    /// Loss and logits without gradients (no dropout).
    public func evaluateClassifier(tokens: UnsafeBufferPointer<Int32>, lengths: [Int], labels: [Int32]) -> (loss: Float, logits: [Float]) {
        fatalError("TODO")
    }

    /// Zeroes grads, forward with dropout from `rng`, loss, backward: params.grads holds d loss / d params.
    public func trainClassifier(tokens: UnsafeBufferPointer<Int32>, lengths: [Int], labels: [Int32], rng: inout RNG) -> (loss: Float, logits: [Float]) {
        fatalError("TODO")
    }

    /// Zeroes grads, forward/backward over one chunk; returns the mean loss.
    public func trainLM(inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>, batch: Int, steps: Int, state: inout RecurrentState, rng: inout RNG) -> Float {
        fatalError("TODO")
    }

    /// Mean loss without gradients (no dropout).
    public func evaluateLM(inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>, batch: Int, steps: Int, state: inout RecurrentState) -> Float {
        fatalError("TODO")
    }

    /// Per-position losses (nats) without gradients, [B*T] batch-major (for scoring text).
    public func lossesLM(inputs: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>, batch: Int, steps: Int, state: inout RecurrentState) -> [Float] {
        fatalError("TODO")
    }

    /// One step for sampling: one input token per stream -> logits [B*V]; state advanced.
    public func stepLM(tokens: [Int32], state: inout RecurrentState) -> [Float] {
        fatalError("TODO")
    }
}
