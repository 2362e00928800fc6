// rnn-sample: generate text from a character language model, or score text with it.
import ArgumentParser
import RNNCLI
import RNNCore
import RNNEngine
import RNNTrain

struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-sample",
        abstract: "Generate text from a character language model (rnn-fit --lm), or score text with it.",
        discussion: """
            Sampling: the prime (default: a newline, not printed) is run through the model and \
            echoed, then --length characters are drawn one at a time and written as they are drawn \
            (flushed per character on a terminal, per line otherwise). With -n, samples are \
            separated by an empty line; every sample ends with a newline. The same --seed and \
            options give the same output. A prime character outside the model's alphabet is an \
            error naming it.

            Scoring (--score): reads text (files or stdin) and prints one line per input line: \
            nats per character, bits per character, characters scored, then the line itself, \
            separated by tabs. Every character of a line and its newline is predicted from \
            everything before it (the text starts as if preceded by a newline; --reset scores \
            each line on its own). Characters outside the alphabet are scored as <unk> (a warning \
            counts them). The total goes to stderr.

            Ensembles: several -m checkpoints (trained on the same text, so over the same \
            alphabet) act as one model whose probability of each character is the mean of theirs; \
            samples are drawn from it (--temp sharpens or flattens that mean) and --score charges \
            its loss. Each model carries its own state; a character costs the sum of their times.

            Examples:
              rnn-sample -m lm.ckpt --prime "ROMEO:" --length 300 --temp 0.8 --seed 1
              rnn-sample -m lm.ckpt --score < text.txt > per-line.tsv
              tail -c 111539 tinyshakespeare.txt | rnn-sample -m a.ckpt -m b.ckpt --score > /dev/null
            """,
        version: suiteVersion)

    @Option(name: [.customShort("m"), .long], help: "Language-model checkpoint written by 'rnn-fit --lm'. Repeat it for an ensemble (the mean of their probabilities; the same alphabet).",
            completion: .file())
    var model: [String] = []

    @Option(help: "Temperature: logits are divided by it before sampling; 0 = greedy (always the most likely character).")
    var temp: Float = 0.8

    @Option(help: "Draw only from the k most likely characters (0: all); as in rnn-classify, --top-k keeps the k most probable outcomes.")
    var topK: Int = 0

    @Option(help: "Text (UTF-8) run through the model first and echoed.")
    var prime: String?

    @Option(help: "Characters to generate per sample (the prime not counted).")
    var length: Int = 500

    @Option(help: "Random seed (default: a different one every run).")
    var seed: UInt64?

    @Option(name: .customShort("n"), help: "Number of independent samples.")
    var samples: Int = 1

    @Option(help: "Threads (default: the CPUs this process may use: its affinity mask and cgroup CPU quota). The output does not depend on it.")
    var threads: Int?

    @Flag(help: "Score text instead of sampling: per-line loss in nats and bits per character.")
    var score = false

    @Flag(help: "With --score: score every line from a fresh state.")
    var reset = false

    @Argument(help: "With --score: text files (plain or .gz); standard input when none is given or for '-'.", completion: .file())
    var inputs: [String] = []

    @OptionGroup var q: QuietOption

    func validate() throws {
        if model.isEmpty { throw ValidationError("-m/--model is required (a language-model checkpoint; repeat it for an ensemble)") }
        guard temp >= 0 && temp.isFinite else { throw ValidationError("--temp must be >= 0") }
        guard topK >= 0 else { throw ValidationError("--top-k must not be negative") }
        guard length >= 0 else { throw ValidationError("--length must not be negative") }
        guard samples >= 1 else { throw ValidationError("-n must be at least 1") }
        if let threads, !(1 ... 1024).contains(threads) { throw ValidationError("--threads must be between 1 and 1024") }
        if !score {
            if !inputs.isEmpty { throw ValidationError("input files are read only with --score") }
            if reset { throw ValidationError("--reset applies only to --score") }
        } else if prime != nil {
            throw ValidationError("--prime does not apply to --score")
        }
    }

    func run() throws {
        try EngineKernels.check()   // RNN_KERNELS names a set this CPU runs
        let (models, alphabet) = try loadLanguageModels(paths: model)
        for m in models { m.threads = threads ?? CPUs.available }
        let out = BufferedOutput()
        if score {
            let s = try scoreText(models: models, alphabet: alphabet, paths: inputs.isEmpty ? ["-"] : inputs, resetPerLine: reset, out: out)
            if q.quiet { return }
            if s.unknown > 0 {
                Diagnostics.line("rnn-sample: warning: \(formatThousands(s.unknown)) characters are not in the model's alphabet and were scored as <unk>: \(describeScalars(s.unknownScalars))")
            }
            let t = s.total
            Diagnostics.line("rnn-sample: scored \(formatThousands(t.chars)) characters in \(formatThousands(s.lines)) lines: \(formatFixed(t.natsPerChar, 4)) nats/char, \(formatFixed(t.bitsPerChar, 4)) bits/char")
            return
        }
        var primeIDs: [Int32] = []
        if let prime {
            let (ids, unknown) = alphabet.encodeStrict(prime)
            if !unknown.isEmpty {
                throw RNNError("--prime has characters that are not in the model's alphabet: \(describeScalars(unknown))")
            }
            primeIDs = ids
        }
        let sampler = LMSampler(models: models, alphabet: alphabet, options: SamplingOptions(temperature: temp, topK: topK),
                                seed: seed ?? randomSeed())
        try streamSamples(sampler, prime: prime ?? "", primeIDs: primeIDs, length: length, count: samples, out: out)
    }
}

CLI.main(Command.self)
