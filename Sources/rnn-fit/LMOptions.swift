// rnn-fit --lm: the options only a character language model has, and the run (library calls).
import ArgumentParser
import RNNCore
import RNNEngine
import RNNText
import RNNTrain
import RNNTrainCLI

/// Options of `rnn-fit --lm` that classification does not have.
struct LMOptions: ParsableArguments {
    @Flag(help: "Train a character language model on raw UTF-8 text (the input files, plain or .gz, or stdin) instead of a classifier.")
    var lm = false

    @Option(help: "Language model: characters per training chunk (truncated backpropagation through time; the state is carried between chunks).")
    var seqLen: Int = 128

    @Option(help: "Language model: also evaluate (and keep the best checkpoint) every this many steps (0: at epoch ends only).")
    var evalEvery: Int = 0

    @Option(help: "Language model: wall-clock budget, e.g. 600, 90s, 10m, 1.5h; when it is reached the model is evaluated, the best checkpoint kept and training stops. With --resume the budget is that of the resumed run, counted from its start.")
    var maxTime: String?

    @Option(help: "Language model: learning-rate schedule: constant, or cosine (falls along a half cosine to 5% of --lr over the run: --epochs, or --max-time when that comes first).")
    var lrSchedule: String = "constant"

    func validateLM() throws {
        guard ["constant", "cosine"].contains(lrSchedule) else { throw ValidationError("--lr-schedule must be constant or cosine") }
        guard seqLen >= 1 else { throw ValidationError("--seq-len must be at least 1") }
        guard evalEvery >= 0 else { throw ValidationError("--eval-every must not be negative") }
        if let maxTime, parseDuration(maxTime) == nil {
            throw ValidationError("--max-time '\(maxTime)' is not a duration (e.g. 600, 90s, 10m, 1.5h)")
        }
    }
}

/// Reads the text, trains with `o` (the command's options already applied), reports; throws
/// Interrupted after a Ctrl-C (the best checkpoint kept).
func runLM(_ o: LMTrainingOptions, inputs: [String], output: String, vocab: String?, valid: String?, validSplit: Double?,
           log: String?, plot: String?, resume: Bool, commandLine: String) throws {
    let validSplit = validSplit ?? 0.1

    let text = try LMCorpus.readText(paths: inputs)
    var alphabet: CharAlphabet? = nil
    if let path = vocab { alphabet = try CharAlphabet(vocabulary: Vocabulary.load(path: path), path: path) }
    let validText = try valid.map { try LMCorpus.readText(paths: [$0]) }
    let corpus = try LMCorpus(text: text, alphabet: alphabet, validSplit: validSplit, validText: validText)
    let name = inputs == ["-"] ? "<stdin>" : inputs.joined(separator: " ")
    Diagnostics.line("rnn-fit: \(name): \(formatThousands(corpus.train.count + corpus.valid.count)) characters, alphabet of \(corpus.alphabet.count - 2) + <unk>, <pad>; \(formatThousands(corpus.train.count)) for training, \(formatThousands(corpus.valid.count)) for validation\(valid.map { " (\($0))" } ?? "")")
    if corpus.unknown > 0 {
        Diagnostics.line("rnn-fit: warning: \(formatThousands(corpus.unknown)) characters are not in the vocabulary and read as <unk>: \(describeScalars(corpus.unknownScalars))")
    }
    let config = o.modelConfig(vocabSize: corpus.alphabet.count)
    Diagnostics.line("rnn-fit: model: \(Checkpoint.describe(config)), \(formatThousands(Model.parameterSpec(config).reduce(0) { $0 + $1.1.reduce(1, *) })) parameters; batch \(o.batchSize) x \(o.seqLen) chars, lr \(o.lr)")

    let sinks = SinkList([ConsoleSink()])
    if let log = log { sinks.append(try JSONLinesLogSink(path: log, append: resume)) }
    if let plot = plot { sinks.append(SVGPlot(path: plot, title: "character LM: \(Checkpoint.describe(config))",
                                         points: resume ? LMTrainer.earlierHistory(checkpoint: output) : [])) }
    StopRequest.install()
    let trainer = LMTrainer(corpus: corpus, options: o, output: output, commandLine: commandLine,
                            sink: sinks, shouldStop: { StopRequest.isSet })
    let result = try trainer.run(resume: resume)
    if result.interrupted { throw Interrupted(signal: StopRequest.signal ?? 2) }
}
