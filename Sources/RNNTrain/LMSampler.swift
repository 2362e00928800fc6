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

/// Draws characters from a language model, one stream (batch 1).
public final class LMSampler {
    public let model: Model
    public let alphabet: CharAlphabet
    public var options: SamplingOptions
    /// The recurrent state after everything fed so far.
    public private(set) var state: RecurrentState
    /// The sampling RNG (seeded once; every sample continues the stream).
    public var rng: RNG
    private var logits: [Float]
    private var probs: [Double]
    private var drawable: [Bool]
    /// Id fed when no prime is given, and the context before scored text: "\n" if the alphabet
    /// has it, else its most frequent character (id 2).
    public let startID: Int32

    public init(model: Model, alphabet: CharAlphabet, options: SamplingOptions, seed: UInt64) {
        precondition(model.config.task == .languageModel && model.config.outputs == alphabet.count, "not a language model for this alphabet")
        self.model = model; self.alphabet = alphabet; self.options = options
        state = RecurrentState.zeros(model.config, batch: 1)
        rng = RNG(seed: seed)
        logits = [Float](repeating: 0, count: alphabet.count)
        probs = [Double](repeating: 0, count: alphabet.count)
        drawable = alphabet.utf8.map { !$0.isEmpty }
        startID = alphabet.id(of: 0x0A) ?? Int32(min(2, alphabet.count - 1))
    }

    /// Back to the zero state (the RNG continues).
    public func reset() { state = RecurrentState.zeros(model.config, batch: 1) }

    /// Feeds one id; the next-character logits are kept for `draw()`.
    public func feed(_ id: Int32) {
        logits = model.stepLM(tokens: [id], state: &state)
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

/// Scores text line by line.
public final class LMScorer {
    public let model: Model
    public let alphabet: CharAlphabet
    /// Score every line from a fresh state (as if it were the whole text).
    public let resetPerLine: Bool
    private var state: RecurrentState
    private let startID: Int32
    private let newlineID: Int32?
    /// Characters outside the alphabet seen so far (scored as `<unk>`).
    public private(set) var unknown = 0
    public private(set) var unknownScalars: [Unicode.Scalar] = []
    /// Totals over every line scored.
    public private(set) var total = LineScore(chars: 0, nats: 0)
    /// Longest chunk run through the model at once.
    public var chunk = 1024

    public init(model: Model, alphabet: CharAlphabet, resetPerLine: Bool = false) {
        precondition(model.config.task == .languageModel && model.config.outputs == alphabet.count, "not a language model for this alphabet")
        self.model = model; self.alphabet = alphabet; self.resetPerLine = resetPerLine
        state = RecurrentState.zeros(model.config, batch: 1)
        newlineID = alphabet.id(of: 0x0A)
        startID = newlineID ?? Int32(min(2, alphabet.count - 1))
    }

    /// Scores one line (without its newline); `hasNewline`: the newline follows and is scored too.
    public func score(line: UnsafeRawBufferPointer, hasNewline: Bool) -> LineScore {
        if resetPerLine { state = RecurrentState.zeros(model.config, batch: 1) }
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
            let losses = inputs.withUnsafeBufferPointer { i in
                ids.withUnsafeBufferPointer { t in
                    model.lossesLM(inputs: UnsafeBufferPointer(rebasing: i[pos ..< pos + T]), targets: UnsafeBufferPointer(rebasing: t[pos ..< pos + T]),
                                   batch: 1, steps: T, state: &state)
                }
            }
            for l in losses { s.nats += Double(l) }
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
#elseif canImport(Darwin)
import Darwin
@inline(__always) func _exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
