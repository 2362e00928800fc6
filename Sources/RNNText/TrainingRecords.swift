// Training straight from records (`rnn-clean train.tsv | rnn-fit -o m.ckpt`): the vocabulary is
// built and the records encoded in memory, exactly as `rnn-vocab` and `rnn-encode -o` would, into
// files in a private folder that the training reads like any encoded dataset. The input is read
// once (it may be a pipe): texts and labels are kept while the tokens are counted.
import RNNCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How records become a vocabulary and an encoded dataset.
public struct RecordEncoding: Sendable {
    /// Keep tokens seen at least this many times (rnn-vocab --min-freq).
    public var minFreq = 1
    /// Keep at most this many tokens (rnn-vocab --max-size).
    public var maxSize: Int? = nil
    /// Pretrained vectors to attach (rnn-vocab --vectors).
    public var vectors: String? = nil
    /// rnn-encode --fix-length, --truncate-first, --pad-first.
    public var fixLength: Int? = nil
    public var truncateFirst = false
    public var padFirst = false
    public init() {}
}

/// What ``EncodedDataset/prepare(train:valid:test:vocabulary:encoding:folder:)`` made.
public struct PreparedData {
    /// The vocabulary file (built, or the one given).
    public var vocabularyPath: String
    /// The encoded training, validation and test data.
    public var trainPath: String
    public var validPath: String?
    public var testPath: String?
    /// Lines for the user (counts, vectors found), in the words of rnn-vocab and rnn-encode.
    public var report: [String]
}

extension EncodedDataset {
    /// True when `path` is an encoded dataset file (a safetensors file), false for records (JSON
    /// Lines, text, TSV, CSV, fastText, gzip) and for standard input.
    public static func isEncodedFile(_ path: String) -> Bool {
        guard path != "-" else { return false }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 9)
        guard head.withUnsafeMutableBytes({ read(fd, $0.baseAddress, 9) }) == 9 else { return false }
        let n = head[0 ..< 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return head[8] == UInt8(ascii: "{") && n >= 2 && n < 1 << 30
    }

    /// Builds the vocabulary from the `train` records (unless `vocabulary` names one), encodes
    /// `train`, `valid` and `test` with it, and writes them into `folder`.
    public static func prepare(train: RecordReader, valid: RecordReader?, test: RecordReader?, vocabulary given: String?,
                               encoding: RecordEncoding, folder: String) throws -> PreparedData {
        var report: [String] = []
        // One pass over the training records: count tokens, keep texts and labels.
        var texts: [UInt8] = []
        var ends: [Int] = []
        var labels: [[String]] = []
        var builder = VocabularyBuilder(kind: .words)
        var buf: [UInt8] = []
        try train.forEach { r in
            buf.removeAll(keepingCapacity: true)
            r.appendText(to: &buf)
            let set = r.isJSON ? try r.labels() ?? [] : []
            if given == nil { buf.withUnsafeBytes { builder.addRecord(text: $0, labels: set) } }
            texts.append(contentsOf: buf)
            ends.append(texts.count)
            labels.append(set)
        }
        let inputs = train.paths.map { $0 == "-" ? "<stdin>" : $0 }.joined(separator: ", ")
        var vocab: Vocabulary
        let vocabPath: String
        if let given {
            vocab = try Vocabulary.load(path: given)
            vocabPath = given
        } else {
            if builder.records == 0 {
                throw RNNError(path: inputs, ends.isEmpty ? "no records in the input (empty input?)" : "the \(ends.count) records hold no token")
            }
            var info = ["min_freq": String(encoding.minFreq), "records": String(builder.records), "tokens_counted": String(builder.tokenCount)]
            if let m = encoding.maxSize { info["max_size"] = String(m) }
            vocab = builder.build(minFreq: encoding.minFreq, maxSize: encoding.maxSize, info: info)
            report.append("rnn-fit: vocabulary: \(formatThousands(vocab.count)) ids from \(formatThousands(builder.records)) records (min-freq \(encoding.minFreq)); labels: \(vocab.labels.joined(separator: ", "))")
            if let vectors = encoding.vectors {
                let v = try PretrainedVectors.load(path: vectors, for: vocab)
                let name = vectors.split(separator: "/").last.map(String.init) ?? vectors
                vocab = vocab.withVectors(v.matrix, dim: v.dim, info: ["vectors": name])
                report.append("rnn-fit: vectors: \(formatThousands(v.found)) of \(formatThousands(vocab.count - 2)) tokens found, dim \(v.dim)")
            }
            vocabPath = folder + "/vocab.bin"
            try vocab.save(to: vocabPath)
        }
        let encoder = Encoder(vocabulary: vocab, fixLength: encoding.fixLength, truncateFirst: encoding.truncateFirst, padFirst: encoding.padFirst)
        // The training records, from memory.
        var writer = EncodedDatasetWriter(encoder: encoder)
        var empty = 0
        var start = 0
        for (i, end) in ends.enumerated() {
            let ids = try labels[i].map { l -> Int32 in
                guard let id = vocab.labelID(l) else {
                    throw RNNError(path: inputs, "record \(i + 1): label \"\(l)\" is not in the vocabulary \(vocabPath) (labels: \(vocab.labels.joined(separator: ", ")))")
                }
                return Int32(id)
            }
            let added = texts[start ..< end].withUnsafeBytes { writer.append(text: $0, labels: ids, encoder: encoder) }
            if added == nil { empty += 1 }
            start = end
        }
        guard writer.count > 0 else { throw RNNError(path: inputs, "no records with tokens in the input; nothing to train on") }
        let trainPath = folder + "/train.bin"
        try writer.write(to: trainPath)
        report.append("rnn-fit: \(inputs): \(formatThousands(writer.count)) training records\(empty > 0 ? " (skipped \(formatThousands(empty)) without tokens)" : "")")
        // Validation and test records, encoded with the same vocabulary.
        func encoded(_ reader: RecordReader?, _ name: String) throws -> String? {
            guard let reader else { return nil }
            var w = EncodedDatasetWriter(encoder: encoder)
            _ = try encoder.encodeAll(reader) { _, ids, set in w.append(ids: ids, labels: set) }
            guard w.count > 0 else { throw RNNError(path: reader.paths.joined(separator: ", "), "no records with tokens in the input") }
            let p = folder + "/" + name + ".bin"
            try w.write(to: p)
            return p
        }
        return PreparedData(vocabularyPath: vocabPath, trainPath: trainPath, validPath: try encoded(valid, "valid"),
                            testPath: try encoded(test, "test"), report: report)
    }
}
