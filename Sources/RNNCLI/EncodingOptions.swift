// How records become a vocabulary and token ids: the options of rnn-vocab and rnn-encode, which
// rnn-fit takes too when it builds and encodes in memory (records as DATA). Declared once, so the
// three tools cannot drift apart.
import ArgumentParser
import RNNText

/// Which tokens a vocabulary keeps and which vectors it starts from (rnn-vocab; rnn-fit on records).
public struct VocabularyOptions: ParsableArguments {
    @Option(help: "Keep tokens seen at least this many times (default 1).")
    public var minFreq: Int?

    @Option(help: "Keep at most this many tokens (specials not counted).")
    public var maxSize: Int?

    @Option(help: "Attach pretrained vectors from a GloVe text file (.txt or .gz) or a word2vec/fastText .vec file.", completion: .file())
    public var vectors: String?

    public init() {}

    public func validate() throws {
        if let minFreq, minFreq < 1 { throw ValidationError("--min-freq must be at least 1") }
        if let maxSize, maxSize < 0 { throw ValidationError("--max-size must not be negative") }
    }

    /// --min-freq or its default.
    public var minimumFrequency: Int { minFreq ?? 1 }

    /// The options given (for tools that refuse them where they do not apply).
    public var given: [String] {
        [(minFreq != nil, "--min-freq"), (maxSize != nil, "--max-size"), (vectors != nil, "--vectors")].filter { $0.0 }.map { $0.1 }
    }
}

/// How records are cut and padded into token ids (rnn-encode; rnn-fit on records).
public struct EncodingOptions: ParsableArguments {
    @Option(help: "Keep at most N tokens per record and pad shorter ones to N.")
    public var fixLength: Int?

    @Flag(help: "Keep the last N tokens of a longer record instead of the first N.")
    public var truncateFirst = false

    @Flag(help: "Put the pads before the real tokens (torchtext pad_first).")
    public var padFirst = false

    public init() {}

    public func validate() throws {
        if let fixLength, fixLength < 1 || fixLength > Encoder.maxFixLength { throw ValidationError("--fix-length must be in [1, \(Encoder.maxFixLength)]") }
        if fixLength == nil && (padFirst || truncateFirst) { throw ValidationError("--pad-first and --truncate-first need --fix-length") }
    }

    /// The options given (for tools that refuse them where they do not apply).
    public var given: [String] {
        [(fixLength != nil, "--fix-length"), (truncateFirst, "--truncate-first"), (padFirst, "--pad-first")].filter { $0.0 }.map { $0.1 }
    }

    /// The encoder of `vocabulary` with these options.
    public func encoder(_ vocabulary: Vocabulary) -> Encoder {
        Encoder(vocabulary: vocabulary, fixLength: fixLength, truncateFirst: truncateFirst, padFirst: padFirst)
    }
}

extension RecordEncoding {
    /// Building and encoding in memory exactly as rnn-vocab and rnn-encode would with these options.
    public init(_ v: VocabularyOptions, _ e: EncodingOptions) {
        self.init()
        minFreq = v.minimumFrequency
        maxSize = v.maxSize
        vectors = v.vectors
        fixLength = e.fixLength
        truncateFirst = e.truncateFirst
        padFirst = e.padFirst
    }
}
