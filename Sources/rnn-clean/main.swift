import ArgumentParser
import RNNCLI
import RNNCore
import RNNText
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension PunctuationMode: ExpressibleByArgument {}
extension CleanEngine: ExpressibleByArgument {}

struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-clean",
        abstract: "Clean text the way the PyTorch/torchtext IMDB tutorials do, exactly.",
        discussion: """
        Default cleaning, byte-identical to Python's str.lower + three re.sub calls:
          1. lowercase like Python's str.lower (full Unicode mapping, final sigma)
          2. every HTML tag <[^>]*> -> one space
          3. each of !"#$%&()*+,-./:;<=>?@[]^_`{|}~ -> one space (' and \\ stay)
          4. every run of whitespace (Python's \\s: also U+00A0, U+0085, ...) -> ' '
          5. a result that is a single space becomes empty

        One record out per record in, in order. Plain text in: one record per line, cleaned lines \
        out; a line that cleans to nothing (blank, only punctuation or tags) becomes an empty line, \
        so the output stays line-aligned with the input (paste works). JSON Lines in: the same \
        records out with only "text" changed (an empty text stays, as ""); every other field is \
        copied byte for byte. --drop-empty drops records whose text cleans to nothing, as the \
        reference's dataset code does (its output byte for byte).

        Invalid UTF-8 is replaced by U+FFFD (as Python's errors="replace" does) and counted in a \
        warning on standard error; --strict makes it an error naming the line. An empty input \
        gives an empty output and exit status 0.

        Examples:
          rnn-corpus aclImdb_v1.tar.gz --split train | rnn-clean > train.jsonl
          echo 'Great <br />movie!!' | rnn-clean       # prints "great movie "
        """,
        version: suiteVersion)

    @OptionGroup var inputs: InputOptions

    @OptionGroup var records: RecordOptions

    @Option(name: .long, help: ArgumentHelp(
        "Implementation: pcre2 (Python's lowercasing, then the three substitutions as PCRE2 JIT regexes) or fused (one pass over the bytes, faster).",
        discussion: "Both give the same output; both are tested byte for byte against the Python reference on the IMDB reviews."))
    var engine: CleanEngine = .pcre2

    @Flag(name: .long, help: "Keep upper case (deviation from the reference).")
    var keepCase = false

    @Option(name: .long, help: "Punctuation: remove (reference: each becomes a space), separate (kept as its own token), keep.")
    var punctuation: PunctuationMode = .remove

    @Option(name: .long, help: ArgumentHelp(
        "Also replace every match of this PCRE2 regex by a space; repeatable.",
        discussion: "Applied in order to the original text before the default steps, e.g. --remove 'https?://\\S+'."))
    var remove: [String] = []

    @Flag(name: .long, help: "Drop records whose text cleans to nothing (the reference's output) instead of writing them empty.")
    var dropEmpty = false

    @Flag(name: .long, help: "Fail on invalid UTF-8 (with its line number) instead of replacing it by U+FFFD.")
    var strict = false

    @Option(name: [.short, .long], help: "Write to this file (appears only when complete) instead of standard output.", completion: .file())
    var output: String?

    @Flag(name: .long, help: "Print records read, written and dropped, and the speed, on standard error.")
    var stats = false

    @OptionGroup var q: QuietOption

    func run() throws {
        let cleaner = try TextCleaner(options: CleanOptions(engine: engine, keepCase: keepCase, punctuation: punctuation, removePatterns: remove))
        try CLI.prepareOutputs([output], inputs: inputs.paths)
        let stream = CleanStream(reader: records.reader(inputs), cleaner: cleaner, strict: strict, dropEmpty: dropEmpty)
        let sink = try OutputSink(path: output)
        let t0 = monotonicSeconds()
        let st = try stream.run(into: sink)
        try sink.finish()
        if stats && !q.quiet {
            let dt = max(monotonicSeconds() - t0, 1e-9)
            Diagnostics.line("rnn-clean: \(formatThousands(st.recordsIn)) records read, \(formatThousands(st.recordsOut)) written, \(formatThousands(st.empty)) empty after cleaning\(dropEmpty ? " (dropped)" : ""); \(formatFixed(Double(st.bytesIn) / 1e6, 1)) MB in \(formatFixed(dt, 3)) s = \(formatFixed(Double(st.bytesIn) / 1e6 / dt, 0)) MB/s")
        }
        if st.invalidSequences > 0 && !q.quiet {
            Diagnostics.line("rnn-clean: warning: \(formatThousands(st.invalidSequences)) invalid UTF-8 sequence(s) replaced by U+FFFD (first at \(st.firstInvalid ?? "?"))")
        }
    }
}

CLI.main(Command.self)
