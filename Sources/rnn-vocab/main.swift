// rnn-vocab: count tokens of cleaned records and write the vocabulary file (REFERENCE.md section 2).
import ArgumentParser
import RNNCLI
import RNNCore
import RNNText


struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-vocab",
        abstract: "Build a vocabulary (tokens, labels, optional pretrained vectors) from cleaned records.",
        discussion: """
            Ids: <unk> = 0, <pad> = 1, then every token seen at least --min-freq times, by count \
            descending, ties in code-point order (the order of torchtext's build_vocab). Labels come \
            from the "label" field, same order, no specials. Records without any token (blank lines, \
            texts that cleaned to nothing) are skipped, with their labels, and counted in the summary. Tokens are whitespace-separated words \
            of the text (like Python str.split()), or characters with --chars. The output is a \
            safetensors file (docs/FORMATS.md); a summary goes to stderr.
            """,
        version: suiteVersion)

    @OptionGroup var input: InputOptions

    @OptionGroup var records: RecordOptions

    @Option(name: .shortAndLong, help: "Output vocabulary file (written atomically).", completion: .file())
    var output: String

    @OptionGroup var vocabulary: VocabularyOptions

    @Flag(help: "Build a character vocabulary (Unicode scalars) for language models.")
    var chars = false

    @OptionGroup var q: QuietOption

    func validate() throws {
    }

    func run() throws {
        let minFreq = vocabulary.minimumFrequency, maxSize = vocabulary.maxSize, vectors = vocabulary.vectors
        try CLI.prepareOutputs([output], inputs: input.paths + [vectors])
        if let vectors { _ = try ByteSource(path: vectors) }  // a missing vectors file fails before the counting
        var reader = records.reader(input)
        reader.repairUTF8 = true
        var report: [String] = []  // printed once everything succeeded: an error stays the only line
        let counted = try VocabularyBuilder.count(reader, kind: chars ? .chars : .words)
        var info = ["min_freq": String(minFreq), "records": String(counted.records), "tokens_counted": String(counted.tokenCount)]
        if let maxSize { info["max_size"] = String(maxSize) }
        var vocab = counted.build(minFreq: minFreq, maxSize: maxSize, info: info)
        report.append("rnn-vocab: \(formatThousands(counted.records)) records\(counted.emptyRecords > 0 ? " (skipped \(formatThousands(counted.emptyRecords)) without tokens)" : ""), \(formatThousands(counted.tokenCount)) tokens, \(formatThousands(counted.table.count)) distinct; vocabulary \(formatThousands(vocab.count)) ids (\(formatThousands(vocab.count - 2)) tokens + <unk>, <pad>; min-freq \(minFreq)\(maxSize.map { ", max-size \($0)" } ?? ""))")
        if !vocab.labels.isEmpty {
            report.append("rnn-vocab: labels: " + vocab.labels.enumerated().map { "\($1)=\($0) (\(formatThousands(Int(vocab.labelCounts[$0]))))" }.joined(separator: ", "))
        }
        if let vectors {
            let t0 = monotonicSeconds()
            let v = try PretrainedVectors.load(path: vectors, for: vocab)
            let secs = monotonicSeconds() - t0
            let name = vectors.split(separator: "/").last.map(String.init) ?? vectors
            vocab = vocab.withVectors(v.matrix, dim: v.dim, info: ["vectors": name])
            let n = vocab.count - 2
            report.append("rnn-vocab: vectors: \(formatThousands(v.found)) of \(formatThousands(n)) tokens found (\(formatFixed(n > 0 ? 100 * Double(v.found) / Double(n) : 0, 1))%), dim \(v.dim), \(formatThousands(v.fileWords)) words read in \(formatFixed(secs, 2)) s")
        }
        try vocab.save(to: output)
        if q.quiet { return }
        for line in report { Diagnostics.line(line) }
        if let w = InvalidUTF8.warning("rnn-vocab") { Diagnostics.line(w) }
        Diagnostics.line("rnn-vocab: wrote \(output) (hash \(vocab.hash))")
    }
}

CLI.main(Command.self)
