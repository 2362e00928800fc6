// rnn-fit: train a recurrent text classifier (REFERENCE.md section 4) or, with --lm, a character
// language model (section 5). Options here; training in RNNTrain (FitJob, and LMFitJob for --lm).
import ArgumentParser
import RNNCLI
import RNNCore
import RNNEngine
import RNNTrain
import RNNTrainCLI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-fit",
        abstract: "Train a recurrent text classifier on an encoded dataset, or a character language model on text (--lm).",
        discussion: """
            Trains embedding -> RNN/LSTM/GRU -> linear on DATA (written by 'rnn-encode --vocab V -o \
            DATA'); V must be the vocabulary DATA was encoded with. Two labels train one logit with \
            binary cross-entropy (prediction: sigmoid > 0.5), more labels train softmax cross-entropy. \
            The embedding starts from the vocabulary's vectors when it has some (E = their dimension), \
            else from N(0, 1) with --embed-dim E; the <pad> row (id 1) stays 0. By default sequences \
            are packed (each runs over its own tokens only); --padded makes the pads of the encoded \
            fixed length real time steps, as in the reference tutorial. \
            After every epoch the model is evaluated on the validation data and the checkpoint with \
            the lowest validation loss is kept in -o (written atomically; PyTorch state_dict names, \
            docs/FORMATS.md section 4); the training state (last weights, Adam moments, random \
            generator, history) goes to OUTPUT.state for --resume. One line per epoch on stderr, \
            with a progress bar on a terminal. Ctrl-C stops between batches and keeps the best \
            checkpoint written so far (exit status 130).

            With --lm, trains a character language model (embedding -> RNN/LSTM/GRU -> linear over \
            every position) on raw UTF-8 text from the input files (plain or .gz) or standard \
            input: the alphabet is built from the text (or taken from --vocab, an 'rnn-vocab \
            --chars' file), the last --valid-split (default 0.1) is the validation text, and training \
            runs --batch-size parallel streams of --seq-len characters with truncated \
            backpropagation through time. Losses are reported in nats and bits per character. \
            Defaults differ for --lm: lstm, 2 layers, hidden 256, embed-dim 64, 10 epochs, lr 0.002, \
            clip 5, seed 1.

            Examples:
              rnn-fit train.bin --vocab v.bin --model gru --bidirectional --hidden 128 -o best.ckpt
              rnn-fit --lm tinyshakespeare.txt --model lstm --layers 2 --hidden 512 --max-time 10m -o lm.ckpt
            """,
        version: suiteVersion)

    @Argument(help: "Encoded training data (rnn-encode -o). With --lm: text files (plain or .gz); standard input when none or '-'.")
    var inputs: [String] = []

    @Option(help: "Vocabulary the data was encoded with (rnn-vocab -o). With --lm: an optional 'rnn-vocab --chars' alphabet.")
    var vocab: String?

    @Option(name: .shortAndLong, help: "Best checkpoint (lowest validation loss). The training state goes to OUTPUT.state. Default with --resume: the resumed checkpoint.")
    var output: String?

    @Option(help: "Recurrent cell: rnn (tanh), lstm or gru (default: gru; --lm: lstm).")
    var model: String?

    @Option(help: "Stacked recurrent layers (default: 1; --lm: 2).")
    var layers: Int?

    @Flag(help: "Bidirectional recurrent layers (features: last forward and backward states, 2H).")
    var bidirectional = false

    @Option(help: "Hidden size H of each direction (default: 128; --lm: 256).")
    var hidden: Int?

    @Option(help: "Embedding size E; needed when the vocabulary has no vectors, must equal their dimension otherwise.")
    var embedDim: Int?

    @Flag(help: "Keep the embedding fixed (no gradient, no update).")
    var freezeEmbeddings = false

    @Option(help: "Dropout between stacked recurrent layers (needs --layers >= 2 to have an effect; default 0).")
    var dropout: Float?

    @Option(help: "Dropout on the features before the linear layer (the reference tutorial uses 0.5).")
    var headDropout: Float = 0

    @Option(help: "Dropout on the embedded tokens, the recurrence's input (the reference tutorial's code uses 0.5).")
    var embedDropout: Float = 0

    @Option(help: "Epochs to train (with --resume: the total, counting the epochs already done; default: 3; --lm: 10).")
    var epochs: Int?

    @Option(help: "Records per training batch (--lm: parallel text streams; default 32).")
    var batchSize: Int?

    @Option(help: "Adam learning rate (default: 0.001; --lm: 0.002).")
    var lr: Float?

    @Option(help: "L2 weight decay added to the gradients (torch.optim.Adam weight_decay).")
    var weightDecay: Float = 0

    @Option(help: "Clip the global gradient norm to this value before every step (default: none; --lm: 5, 0 = none).")
    var clip: Float?

    @Option(help: "Multiply the learning rate by this factor after every epoch.")
    var lrDecay: Float = 1

    @Option(help: "Encoded validation data (default: hold out --valid-split of DATA). With --lm: a validation text file.")
    var valid: String?

    @Option(help: "Fraction of DATA held out at random (seeded) for validation when --valid is not given; 0: no validation (the last epoch is kept). Default 0.2; --lm: the last 0.1 of the text.")
    var validSplit: Double?

    @Option(help: "Encoded test data: evaluate the kept checkpoint on it at the end (loss and accuracy on stderr).")
    var test: String?

    @Option(help: "Seed of the initialisation, the validation split, shuffling and dropout (same seed and --threads: same result; default: 42; --lm: 1).")
    var seed: UInt64?

    @Option(help: "Worker threads: 1 or 2 (default 2).")
    var threads: Int = 2

    @Flag(help: "Run the recurrence over the pads of the encoded fixed length too (reference semantics) instead of packed sequences.")
    var padded = false

    @Option(help: "Continue the run of this checkpoint from its training state (CKPT.state) up to --epochs. Model, data split and optimizer settings come from the state (giving different ones is an error).")
    var resume: String?

    @Option(help: "Append one JSON line per epoch (and per checkpoint) to this file (truncated first unless resuming).")
    var log: String?

    @Option(help: "Draw train/validation loss and accuracy per epoch into this SVG file (rewritten every epoch).")
    var plot: String?

    @OptionGroup(title: "Language models") var lmOptions: LMOptions

    @OptionGroup var q: QuietOption

    var lm: Bool { lmOptions.lm }

    func validate() throws {
        try validateNumbers()
        if let v = layers, v < 1 { throw ValidationError("--layers must be at least 1") }
        if let v = hidden, v < 1 { throw ValidationError("--hidden must be at least 1") }
        if let embedDim, embedDim < 1 { throw ValidationError("--embed-dim must be at least 1") }
        if let v = dropout, !(v >= 0 && v < 1) { throw ValidationError("--dropout must be in [0, 1)") }
        if let v = epochs, v < 1 { throw ValidationError("--epochs must be at least 1") }
        if let v = batchSize, v < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let v = lr, !(v > 0) { throw ValidationError("--lr must be positive") }
        if let v = validSplit, !(v >= 0 && v < 1) { throw ValidationError("--valid-split must be in [0, 1)") }
        if let model, CellKind(rawValue: model) == nil { throw ValidationError("--model must be rnn, lstm or gru") }
        guard threads == 1 || threads == 2 else { throw ValidationError("--threads must be 1 or 2") }
        guard lrDecay > 0 else { throw ValidationError("--lr-decay must be positive") }
        if lm {
            try lmOptions.validateLM()
            for (set, name) in [(test != nil, "--test"), (padded, "--padded"), (freezeEmbeddings, "--freeze-embeddings"), (headDropout != 0, "--head-dropout"),
                                    (embedDropout != 0, "--embed-dropout")] where set {
                throw ValidationError("\(name) does not apply to --lm")
            }
            if valid != nil && validSplit != nil { throw ValidationError("give --valid or --valid-split, not both") }
            if let clip, clip < 0 { throw ValidationError("--clip must not be negative") }
            guard output != nil || resume != nil else { throw ValidationError("-o/--output is required (where the best checkpoint goes)") }
            if let resume, let output, resume != output {
                throw ValidationError("--lm resumes in place: give the same file to --resume and -o (or omit -o)")
            }
            return
        }
        guard inputs.count == 1 else {
            throw ValidationError(inputs.isEmpty ? "missing the encoded training data (rnn-encode -o FILE), or --lm for a language model on text"
                                                 : "give one encoded training file (got \(inputs.count)); --valid names the validation data")
        }
        guard vocab != nil else { throw ValidationError("--vocab is required (the vocabulary DATA was encoded with)") }
        guard output != nil || resume != nil else { throw ValidationError("-o/--output is required (where the best checkpoint goes)") }
        if resume != nil {
            // The state file holds the model, data split and optimizer settings; silently
            // ignoring different ones given here would train something other than what was asked.
            let given = [(model != nil, "--model"), (layers != nil, "--layers"), (bidirectional, "--bidirectional"),
                         (hidden != nil, "--hidden"), (embedDim != nil, "--embed-dim"), (freezeEmbeddings, "--freeze-embeddings"),
                         (dropout != nil, "--dropout"), (headDropout != 0, "--head-dropout"), (embedDropout != 0, "--embed-dropout"),
                         (batchSize != nil, "--batch-size"), (lr != nil, "--lr"), (weightDecay != 0, "--weight-decay"),
                         (clip != nil, "--clip"), (lrDecay != 1, "--lr-decay"), (valid != nil, "--valid"),
                         (validSplit != nil, "--valid-split"), (seed != nil, "--seed"), (padded, "--padded")]
                .filter { $0.0 }.map { $0.1 }
            if !given.isEmpty {
                throw ValidationError("--resume continues the saved run with the model, split and optimizer settings of its state file; drop \(given.joined(separator: ", ")) (or start a new run without --resume)")
            }
        }
        guard headDropout >= 0 && headDropout < 1 else { throw ValidationError("--head-dropout must be in [0, 1)") }
        guard embedDropout >= 0 && embedDropout < 1 else { throw ValidationError("--embed-dropout must be in [0, 1)") }
        guard weightDecay >= 0 else { throw ValidationError("--weight-decay must be >= 0") }
        if let clip, clip <= 0 { throw ValidationError("--clip must be positive") }
    }

    func run() throws {
        try prepareOutputs()
        StopRequest.install()
        if lm { try runLanguageModel() } else { try runClassifier() }
    }

    /// Classification (FitJob).
    func runClassifier() throws {
        var o = FitOptions(trainPath: inputs[0], vocabPath: vocab!, outputPath: output ?? resume!)
        o.validPath = valid
        o.validSplit = validSplit ?? 0.2
        o.testPath = test
        o.cell = CellKind(rawValue: model ?? "gru")!
        o.layers = layers ?? 1
        o.bidirectional = bidirectional
        o.hidden = hidden ?? 128
        o.embedDim = embedDim
        o.freezeEmbeddings = freezeEmbeddings
        o.dropout = dropout ?? 0
        o.headDropout = headDropout
        o.embedDropout = embedDropout
        o.epochs = epochs ?? 3
        o.batchSize = batchSize ?? 32
        o.lr = lr ?? 1e-3
        o.weightDecay = weightDecay
        o.clip = clip
        o.lrDecay = lrDecay
        o.seed = seed ?? 42
        o.threads = threads
        o.padded = padded
        o.resumePath = resume
        o.commandLine = shellCommandLine()
        let job = try FitJob(options: o)
        let sinks = SinkList(q.quiet ? [] : [ConsoleSink()])
        if let log { sinks.append(try JSONLinesLogSink(path: log, append: resume != nil)) }
        if let plot {
            let c = job.modelConfig
            let title = "rnn-fit: \(c.bidirectional ? "bi-" : "")\(c.cell.rawValue.uppercased()) H=\(c.hidden) E=\(c.embedDim), \(formatThousands(job.sizes.train)) train / \(formatThousands(job.sizes.valid)) valid"
            sinks.append(SVGPlot(path: plot, title: title, points: job.earlierHistory))
        }
        _ = try job.run(sink: sinks)
    }

    /// Character language models (`--lm`, LMOptions.swift).
    func runLanguageModel() throws {
        if bidirectional { throw RNNError("--bidirectional: a language model predicts the next character, it cannot look ahead") }
        var o = LMTrainingOptions()   // the language-model defaults, overridden by what was given
        if let model { o.cell = CellKind(rawValue: model)! }
        if let v = layers { o.layers = v }
        if let v = hidden { o.hidden = v }
        if let v = embedDim { o.embedDim = v }
        if let v = dropout { o.dropout = v }
        if let v = epochs { o.epochs = v }
        if let v = batchSize { o.batchSize = v }
        if let v = lr { o.lr = v }
        if let v = seed { o.seed = v }
        if let v = clip { o.clip = v }
        o.threads = threads
        o.lrDecay = lrDecay
        o.weightDecay = weightDecay
        o.cosine = lmOptions.lrSchedule == "cosine"
        o.seqLen = lmOptions.seqLen
        o.evalEvery = lmOptions.evalEvery
        o.maxTime = lmOptions.maxTime.flatMap(parseDuration)
        try runLM(o, inputs: inputs.isEmpty ? ["-"] : inputs, output: output ?? resume!, vocab: vocab, valid: valid,
                  validSplit: validSplit, log: log, plot: plot, resume: resume != nil, commandLine: shellCommandLine())
    }
}

/// The command line as a shell would need it (arguments with spaces or quotes quoted).
func shellCommandLine() -> String {
    CommandLine.arguments.map { a in
        let safe = !a.isEmpty && a.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }
        return safe ? a : "'" + a.replacingAll("'", "'\\''") + "'"
    }.joined(separator: " ")
}

extension String {
    func replacingAll(_ s: Character, _ r: String) -> String {
        var out = ""
        for c in self { if c == s { out += r } else { out.append(c) } }
        return out
    }
}

CLI.main(Command.self)
