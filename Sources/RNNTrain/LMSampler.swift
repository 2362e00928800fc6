// Sampling from and scoring with a character language model (`rnn-sample`).
//
// Sampling (REFERENCE.md section 5): feed the prime, then repeatedly divide the logits by the
// temperature, keep the top k, draw the next character from the softmax with a seeded RNG, emit it
// and feed it back. Temperature 0 is greedy (argmax; ties go to the lowest id). The specials
// `<unk>` and `<pad>` are never drawn.
//
// Scoring: the text is read as one stream that starts as if preceded by a newline; every
// character (each line's newline included) is predicted from the ones before it, with the state
// carried from line to line (or reset at every line). Losses are nats per character.
//
// An ensemble (several models over one alphabet, `rnn-sample -m a -m b`): every character's
// probability is the mean of the models' probabilities, p = (1/M) sum_m softmax(z_m). Sampling
// draws from it as from one model whose logits are log p (temperature: p^(1/T), renormalised);
// scoring charges -log p(target). Each model carries its own state. One model is exactly the
// single-model path (its logits and losses are used as they are).
import RNNCore
import RNNEngine
import RNNText

/// How characters are drawn.
public struct SamplingOptions: Sendable, Equatable {
    /// Logits are divided by this; 0 = greedy.
    public var temperature: Float = 0.8
    /// Keep only the k most likely characters (nil or 0: all).
    public var topK: Int? = nil
    public init(temperature: Float = 0.8, topK: Int? = nil) { self.temperature = temperature; self.topK = topK }
}

/// log((1/M) sum_m exp(x_m)), computed without overflow: the ensemble's loss of a character from
/// the models' losses (log-probabilities).
func logMeanExp<C: Collection>(_ xs: C) -> Double where C.Element == Double {
    guard let top = xs.max(), top > -Double.infinity else { return -Double.infinity }
    var sum = 0.0
    for x in xs { sum += _exp(x - top) }
    return top + _log(sum / Double(xs.count))
}

/// The models of an ensemble, loaded from `paths` (one path: a single model): language-model
/// checkpoints over the same alphabet (the same characters in the same id order, as training on
/// the same text gives). An error names the checkpoint that differs.
public func loadLanguageModels(paths: [String]) throws -> ([Model], CharAlphabet) {
    var models: [Model] = []
    var first: (path: String, info: CheckpointInfo)?
    for p in paths {
        let (model, info) = try Checkpoint.load(path: p, expect: .languageModel)
        if let f = first, info.tokens != f.info.tokens {
            throw RNNError(path: p, "its alphabet (\(info.tokens.count) characters) differs from that of \(f.path) (\(f.info.tokens.count)); an ensemble averages the probabilities of models over the same characters in the same order: train them on the same text, or with the same --vocab")
        }
        if first == nil { first = (p, info) }
        models.append(model)
    }
    guard let f = first else { throw RNNError("no language-model checkpoint given") }
    return (models, CharAlphabet(tokens: f.info.tokens, vocabHash: f.info.vocabHash))
}

/// Every model is a language model over `alphabet` (rnn-sample's models come from
/// ``loadLanguageModels(paths:)``, which checks it with errors; this is the library's contract).
private func requireLanguageModels(_ models: [Model], _ alphabet: CharAlphabet) {
    precondition(!models.isEmpty && models.allSatisfy { $0.config.task == .languageModel && $0.config.outputs == alphabet.count },
                 "not language models for this alphabet")
}

/// Draws characters from a language model or an ensemble (see the file comment), one stream
/// (batch 1).
public final class LMSampler {
    /// The ensemble's models (one: a single model).
    public let models: [Model]
    public let alphabet: CharAlphabet
    public var options: SamplingOptions
    /// The recurrent state of every model after everything fed so far.
    public private(set) var states: [RecurrentState]
    /// The sampling RNG (seeded once; every sample continues the stream).
    public var rng: RNG
    /// The next-character logits after the last fed character (an ensemble: log-probabilities).
    public private(set) var logits: [Float]
    private var probs: [Double]
    private var drawable: [Bool]
    /// Id fed when no prime is given, and the context before scored text: "\n" if the alphabet
    /// has it, else its most frequent character (id 2).
    public let startID: Int32

    public convenience init(model: Model, alphabet: CharAlphabet, options: SamplingOptions, seed: UInt64) {
        self.init(models: [model], alphabet: alphabet, options: options, seed: seed)
    }

    public init(models: [Model], alphabet: CharAlphabet, options: SamplingOptions, seed: UInt64) {
        requireLanguageModels(models, alphabet)
        self.models = models; self.alphabet = alphabet; self.options = options
        states = models.map { RecurrentState.zeros($0.config, batch: 1) }
        rng = RNG(seed: seed)
        logits = [Float](repeating: 0, count: alphabet.count)
        probs = [Double](repeating: 0, count: alphabet.count)
        drawable = alphabet.utf8.map { !$0.isEmpty }
        startID = alphabet.id(of: 0x0A) ?? Int32(min(2, alphabet.count - 1))
    }

    /// Back to the zero state (the RNG continues).
    public func reset() { states = models.map { RecurrentState.zeros($0.config, batch: 1) } }

    /// Feeds one id; the next-character logits (an ensemble: the log of its mean probabilities)
    /// are kept for `draw()`.
    public func feed(_ id: Int32) {
        if models.count == 1 {
            logits = models[0].stepLM(tokens: [id], state: &states[0])
            return
        }
        var mean = [Double](repeating: 0, count: logits.count)
        for m in models.indices {
            let p = models[m].stepLM(tokens: [id], state: &states[m]).withUnsafeBufferPointer { Classifier.softmax($0) }
            for v in mean.indices { mean[v] += p[v] }
        }
        let M = Double(models.count)
        for v in mean.indices { logits[v] = Float(_log(mean[v] / M)) }
    }

    /// Draws the next id from the logits of the last fed character.
    public func draw() -> Int32 {
        let V = logits.count
        if options.temperature <= 0 {
            var best = -1
            for i in 0 ..< V where drawable[i] && (best < 0 || logits[i] > logits[best]) { best = i }
            return Int32(best)
        }
        let invT = Double(1 / options.temperature)
        var threshold = -Float.infinity
        if let k = options.topK, k > 0, k < V {
            var sorted = (0 ..< V).filter { drawable[$0] }.map { logits[$0] }
            sorted.sort(by: >)
            if k < sorted.count { threshold = sorted[k - 1] }
        }
        var maxLogit = -Float.infinity
        for i in 0 ..< V where drawable[i] && logits[i] > maxLogit { maxLogit = logits[i] }
        var sum = 0.0
        for i in 0 ..< V {
            let p = drawable[i] && logits[i] >= threshold ? _exp(Double(logits[i] - maxLogit) * invT) : 0
            probs[i] = p
            sum += p
        }
        let u = Double(rng.uniform()) * sum
        var acc = 0.0, last = 0
        for i in 0 ..< V where probs[i] > 0 {
            acc += probs[i]
            last = i
            if u < acc { return Int32(i) }
        }
        return Int32(last)
    }

    /// From the zero state: feeds `prime` (or `startID` when empty), then draws `length` ids,
    /// calling `emit` with each as soon as it is drawn.
    public func generate(prime: [Int32], length: Int, emit: (Int32) throws -> Void) rethrows {
        reset()
        for id in prime.isEmpty ? [startID] : prime { feed(id) }
        for _ in 0 ..< length {
            let id = draw()
            try emit(id)
            feed(id)
        }
    }
}

/// Loss of one scored line.
public struct LineScore: Sendable, Equatable {
    /// Characters predicted (the line's characters and its newline, if any).
    public var chars: Int
    /// Sum of their losses (nats).
    public var nats: Double
    /// Mean nats per character.
    public var natsPerChar: Double { chars > 0 ? nats / Double(chars) : 0 }
    /// Mean bits per character.
    public var bitsPerChar: Double { natsPerChar * 1.4426950408889634 }
}

/// Scores text line by line, with a model or an ensemble (see the file comment).
public final class LMScorer {
    /// The ensemble's models (one: a single model).
    public let models: [Model]
    public let alphabet: CharAlphabet
    /// Score every line from a fresh state (as if it were the whole text).
    public let resetPerLine: Bool
    private var states: [RecurrentState]
    private let startID: Int32
    private let newlineID: Int32?
    /// Characters outside the alphabet seen so far (scored as `<unk>`).
    public private(set) var unknown = 0
    public private(set) var unknownScalars: [Unicode.Scalar] = []
    /// Totals over every line scored.
    public private(set) var total = LineScore(chars: 0, nats: 0)
    /// Longest chunk run through the model at once.
    public var chunk = 1024

    public convenience init(model: Model, alphabet: CharAlphabet, resetPerLine: Bool = false) {
        self.init(models: [model], alphabet: alphabet, resetPerLine: resetPerLine)
    }

    public init(models: [Model], alphabet: CharAlphabet, resetPerLine: Bool = false) {
        requireLanguageModels(models, alphabet)
        self.models = models; self.alphabet = alphabet; self.resetPerLine = resetPerLine
        states = models.map { RecurrentState.zeros($0.config, batch: 1) }
        newlineID = alphabet.id(of: 0x0A)
        startID = newlineID ?? Int32(min(2, alphabet.count - 1))
    }

    /// Scores one line (without its newline); `hasNewline`: the newline follows and is scored too.
    public func score(line: UnsafeRawBufferPointer, hasNewline: Bool) -> LineScore {
        if resetPerLine { states = models.map { RecurrentState.zeros($0.config, batch: 1) } }
        var ids = alphabet.encode(line, unknown: &unknown, unknownScalars: &unknownScalars)
        if hasNewline { ids.append(newlineID ?? Vocabulary.unkID) }
        // inputs: the context character, then every character but the last
        var inputs = [Int32](); inputs.reserveCapacity(ids.count)
        inputs.append(startID)
        inputs.append(contentsOf: ids.dropLast())
        var s = LineScore(chars: ids.count, nats: 0)
        var pos = 0
        while pos < ids.count {
            let T = min(chunk, ids.count - pos)
            let losses = models.indices.map { m in
                inputs.withUnsafeBufferPointer { i in
                    ids.withUnsafeBufferPointer { t in
                        models[m].lossesLM(inputs: UnsafeBufferPointer(rebasing: i[pos ..< pos + T]), targets: UnsafeBufferPointer(rebasing: t[pos ..< pos + T]),
                                           batch: 1, steps: T, state: &states[m])
                    }
                }
            }
            if models.count == 1 {
                for l in losses[0] { s.nats += Double(l) }
            } else {
                for t in 0 ..< T { s.nats -= logMeanExp(losses.lazy.map { -Double($0[t]) }) }
            }
            pos += T
        }
        total.chars += s.chars
        total.nats += s.nats
        return s
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func _exp(_ x: Double) -> Double { Glibc.exp(x) }
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func _exp(_ x: Double) -> Double { Darwin.exp(x) }
@inline(__always) func _log(_ x: Double) -> Double { Darwin.log(x) }
#endif
