import ArgumentParser
import RNNCLI
import RNNCore
import RNNText

struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-corpus",
        abstract: "Stream labelled records out of a dataset archive or folder as JSON Lines.",
        discussion: """
        The dataset is laid out as <root>/<split>/<label>/<file>, the IMDB layout \
        (aclImdb/train/pos/0_9.txt). Each file becomes one record on standard output:

          {"id":"train/pos/0_9","label":"pos","rating":9,"text":"..."}

        id is split/label/file name without .txt; rating is the number after the last '_' of the \
        file name (omitted when there is none); text is the raw file content. Reads .tar, \
        .tar.gz (streamed, never extracted, memory stays flat) and plain folders.

        Order: archive order for archives; for folders, splits, labels and files each sorted by \
        the bytes of their names (the same order as an archive made with sorted names, such as \
        the IMDB copy in ../shared/data).

        Skipped: files at other depths (README, imdb.vocab, *.feat, urls_*.txt, imdbEr.txt), \
        hidden files, non-regular members, and the unlabeled folders (unsup) unless \
        --include-unlabeled is given (their records have no label and no rating).

        Invalid UTF-8 in a file is replaced by U+FFFD and counted in a warning on standard error.

        Examples:
          rnn-corpus ../shared/data/aclImdb_v1.tar.gz --split train > train.jsonl
          rnn-corpus aclImdb/ --split test --limit 100 | rnn-clean
        """,
        version: suiteVersion)

    @Argument(help: "A .tar, .tar.gz or folder holding <root>/<split>/<label>/<file>.", completion: .file())
    var input: String

    @Option(name: .long, parsing: .singleValue,
            help: "Split(s) to read, repeatable or comma-separated (e.g. --split train,test). Default: every split.")
    var split: [String] = []

    @Option(name: .long, parsing: .singleValue,
            help: "Label(s) to read, repeatable or comma-separated (e.g. --labels pos). Default: every label.")
    var labels: [String] = []

    @Flag(name: .long, help: "Also read unlabeled folders (unsup); their records have no label.")
    var includeUnlabeled = false

    @Option(name: .long, help: "At most N records per split and label (e.g. --limit 100 gives 100 pos + 100 neg per split).")
    var limit: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Path inside the archive or folder that holds the split folders. Default: detected.",
        discussion: "Detection: an archive whose first member is inside a top folder not named like a split (train, test, dev, val, valid, validation) uses that folder (aclImdb/); a folder holding only one such subfolder is descended into. Use --root '' for none."))
    var root: String?

    @Option(name: [.short, .long], help: "Write to this file (appears only when complete) instead of standard output.", completion: .file())
    var output: String?

    @Flag(name: .long, help: "Print the number of records per split and label on standard error.")
    var stats = false

    @OptionGroup var q: QuietOption

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be >= 0") }
    }

    func run() throws {
        var opts = CorpusOptions()
        opts.splits = split.flatMap { $0.split(separator: ",").map(String.init) }
        opts.labels = labels.flatMap { $0.split(separator: ",").map(String.init) }
        opts.includeUnlabeled = includeUnlabeled
        opts.limitPerLabel = limit
        opts.root = root.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        try CLI.prepareOutputs([output], inputs: [input])
        let sink = try OutputSink(path: output)
        var buf: [UInt8] = []
        buf.reserveCapacity(1 << 16)
        let st = try CorpusReader(path: input, options: opts).forEach { item in
            buf.removeAll(keepingCapacity: true)
            item.appendJSON(into: &buf)
            try sink.write(buf)
        }
        try sink.finish()
        if st.invalidSequences > 0 && !q.quiet {
            Diagnostics.line("rnn-corpus: warning: \(input): \(formatThousands(st.invalidSequences)) invalid UTF-8 sequence(s) in \(st.invalidFiles) file(s) replaced by U+FFFD (first: \(st.firstInvalidFile ?? "?"))")
        }
        if stats && !q.quiet {
            for (k, n) in st.counts { Diagnostics.line("\(k)\t\(n)") }
            Diagnostics.line("total\t\(st.total)")
        }
    }
}

CLI.main(Command.self)
