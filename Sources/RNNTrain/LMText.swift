// Text for character language models: the alphabet (Unicode scalar <-> id) and the encoded
// training / validation streams.
//
// Ids follow `rnn-vocab --chars` (REFERENCE.md section 2): `<unk>` = 0, `<pad>` = 1, then every
// scalar of the text by count descending, ties in code-point order. Invalid UTF-8 bytes read as
// U+FFFD, like everywhere else in the suite (Tokenizer.forEachScalar). `<pad>` is never an input
// or a target of a language model; it is kept so the ids equal those of `rnn-vocab --chars`.
import RNNCore
import RNNText

/// Id <-> character table of a character language model.
public struct CharAlphabet: Sendable {
    /// Id -> token: "<unk>", "<pad>", then one Unicode scalar per entry.
    public let tokens: [String]
    /// Id -> UTF-8 bytes of the token (what samplers print; empty for the specials).
    public let utf8: [[UInt8]]
    /// Content hash of the `rnn-vocab` vocabulary this alphabet comes from ("" when unknown).
    public let vocabHash: String
    /// ASCII fast path: scalar value -> id, -1 when absent.
    private let ascii: [Int32]
    private let others: [UInt32: Int32]

    /// V: number of ids (specials included).
    public var count: Int { tokens.count }

    /// Builds the table from an id -> token list (a checkpoint's embedded vocabulary). Tokens
    /// that are not one Unicode scalar (the specials) are never produced by `encode`.
    public init(tokens: [String], vocabHash: String = "") {
        self.tokens = tokens
        self.vocabHash = vocabHash
        var ascii = [Int32](repeating: -1, count: 128)
        var others: [UInt32: Int32] = [:]
        var utf8: [[UInt8]] = []
        for (i, t) in tokens.enumerated() {
            let scalars = t.unicodeScalars
            let isSpecial = i < Vocabulary.specials.count && t == Vocabulary.specials[i]
            if scalars.count == 1 && !isSpecial {
                let v = scalars.first!.value
                if v < 128 { if ascii[Int(v)] < 0 { ascii[Int(v)] = Int32(i) } } else if others[v] == nil { others[v] = Int32(i) }
                utf8.append(Array(t.utf8))
            } else {
                utf8.append([])
            }
        }
        self.ascii = ascii
        self.others = others
        self.utf8 = utf8
    }

    /// The alphabet of a character vocabulary (`rnn-vocab --chars`).
    public init(vocabulary: Vocabulary, path: String) throws {
        guard vocabulary.kind == .chars else {
            throw RNNError(path: path, "is a '\(vocabulary.kind.rawValue)' vocabulary; a character model needs one made by 'rnn-vocab --chars'")
        }
        self.init(tokens: (0 ..< vocabulary.count).map { vocabulary.token($0) }, vocabHash: vocabulary.hash)
    }

    /// Counts the scalars of `text` and orders them like `rnn-vocab --chars`.
    public static func build(from text: UnsafeRawBufferPointer) -> CharAlphabet {
        var builder = VocabularyBuilder(kind: .chars)
        builder.addRecord(text: text)
        let vocab = builder.build()
        return CharAlphabet(tokens: (0 ..< vocab.count).map { vocab.token($0) }, vocabHash: vocab.hash)
    }

    /// Id of a scalar, nil when it is not in the alphabet.
    @inline(__always) public func id(of scalar: UInt32) -> Int32? {
        if scalar < 128 { let i = ascii[Int(scalar)]; return i >= 0 ? i : nil }
        return others[scalar]
    }

    /// Id of a character (one scalar), nil when it is not in the alphabet.
    public func id(of c: Unicode.Scalar) -> Int32? { id(of: c.value) }

    /// Encodes UTF-8 text to ids; scalars outside the alphabet become `<unk>` (0) and are counted
    /// in `unknown` (distinct ones collected in `unknownScalars`, at most 20).
    public func encode(_ text: UnsafeRawBufferPointer, unknown: inout Int, unknownScalars: inout [Unicode.Scalar]) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.count)
        forEachScalarValue(in: text) { v in
            if let i = id(of: v) {
                out.append(i)
            } else {
                out.append(Vocabulary.unkID)
                unknown += 1
                if unknownScalars.count < 20, let s = Unicode.Scalar(v), !unknownScalars.contains(s) { unknownScalars.append(s) }
            }
        }
        return out
    }

    /// Encodes a String; returns nil and the offending scalars when some are not in the alphabet.
    public func encodeStrict(_ text: String) -> (ids: [Int32], unknown: [Unicode.Scalar]) {
        var unknown: [Unicode.Scalar] = []
        var ids: [Int32] = []
        for s in text.unicodeScalars {
            if let i = id(of: s) { ids.append(i) } else if !unknown.contains(s) { unknown.append(s) }
        }
        return (ids, unknown)
    }
}

/// Describes scalars for messages: `'é' (U+00E9)`, control characters by code only.
public func describeScalars(_ s: [Unicode.Scalar]) -> String {
    s.map { c -> String in
        var hex = String(c.value, radix: 16, uppercase: true)
        while hex.count < 4 { hex = "0" + hex }
        let printable = c.value >= 0x20 && c.value != 0x7F && !(0x80 ..< 0xA0).contains(c.value)
        return printable ? "'\(Character(c))' (U+\(hex))" : "U+\(hex)"
    }.joined(separator: ", ")
}

/// Calls `body` with the scalar value of every UTF-8 sequence of `text` (invalid bytes: U+FFFD).
@inline(__always)
func forEachScalarValue(in text: UnsafeRawBufferPointer, _ body: (UInt32) -> Void) {
    Tokenizer.forEachScalar(in: text) { s in
        let p = s.bindMemory(to: UInt8.self)
        let b0 = UInt32(p[0])
        switch p.count {
        case 1: body(b0)
        case 2: body((b0 & 0x1F) << 6 | UInt32(p[1] & 0x3F))
        case 3: body((b0 & 0x0F) << 12 | UInt32(p[1] & 0x3F) << 6 | UInt32(p[2] & 0x3F))
        default: body((b0 & 0x07) << 18 | UInt32(p[1] & 0x3F) << 12 | UInt32(p[2] & 0x3F) << 6 | UInt32(p[3] & 0x3F))
        }
    }
}

/// The text of a language-model run, encoded and split.
public struct LMCorpus: Sendable {
    /// The alphabet.
    public let alphabet: CharAlphabet
    /// Training ids (the first part of the text).
    public let train: [Int32]
    /// Validation ids (the last `validSplit` of the text; may be empty).
    public let valid: [Int32]
    /// Characters of the text that are not in the alphabet (only with a given vocabulary).
    public let unknown: Int
    /// Up to 20 distinct unknown characters.
    public let unknownScalars: [Unicode.Scalar]

    /// Largest training text (README, "Hostile input, limits and outputs"): 1 GiB, all inputs together.
    public static let maxTextBytes = 1 << 30

    /// The text of every input (plain or gzip; "-" = stdin) back to back, and its invalid UTF-8
    /// (read as U+FFFD: the caller warns).
    public struct Text {
        public var bytes: [UInt8] = []
        /// Maximal invalid UTF-8 subparts in all inputs.
        public var invalidSequences = 0
        /// Where the first is ("path: byte N").
        public var firstInvalid: String?
    }

    /// Reads every input (plain or gzip; "-" = stdin) back to back.
    public static func readText(paths: [String]) throws -> Text {
        var text = Text()
        for p in paths {
            let source = try ByteSource(path: p)
            let bytes = try source.readAll(limit: maxTextBytes - text.bytes.count)
            if bytes.withUnsafeBytes({ RecordReader.isSafeTensors($0) }) {
                throw RNNError(path: source.name, "a safetensors file (an rnn-vocab vocabulary, rnn-encode dataset or checkpoint), not text to train a language model on")
            }
            let bad = bytes.withUnsafeBytes { UTF8Repair.invalid($0) }
            if let at = bad.first, text.firstInvalid == nil { text.firstInvalid = "\(source.name): byte \(at + 1)" }
            text.invalidSequences += bad.count
            text.bytes.append(contentsOf: bytes)
        }
        return text
    }

    /// Encodes `text` with `alphabet` (built from the whole text when nil) and keeps the last
    /// `validSplit` fraction of the characters for validation, or, when `validText` is given,
    /// trains on all of `text` and validates on `validText` (its characters outside the alphabet
    /// become `<unk>` and are counted in `unknown`).
    public init(text: [UInt8], alphabet given: CharAlphabet?, validSplit: Double, validText: [UInt8]? = nil) throws {
        precondition(validSplit >= 0 && validSplit < 1, "valid split must be in [0, 1)")
        let alphabet = given ?? text.withUnsafeBytes { CharAlphabet.build(from: $0) }
        var unknown = 0
        var scalars: [Unicode.Scalar] = []
        let ids = text.withUnsafeBytes { alphabet.encode($0, unknown: &unknown, unknownScalars: &scalars) }
        if ids.isEmpty { throw RNNError("the training text is empty") }
        self.alphabet = alphabet
        if let validText {
            train = ids
            valid = validText.withUnsafeBytes { alphabet.encode($0, unknown: &unknown, unknownScalars: &scalars) }
        } else {
            let nValid = Int((Double(ids.count) * validSplit).rounded())
            train = Array(ids[..<(ids.count - nValid)])
            valid = Array(ids[(ids.count - nValid)...])
        }
        self.unknown = unknown
        unknownScalars = scalars
    }
}
