// rnn-fit: train a recurrent text classifier (REFERENCE.md section 4) or, with --lm, a character
// language model (section 5). Options and their wording here; training in RNNTrain (one Trainer
// over ClassifierTask or LanguageModelTask); display in RNNTrainCLI.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import RNNCLI
import RNNCore
import RNNEngine
import RNNMPI
import RNNText
import RNNTrain
import RNNTrainCLI

struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-fit",
        abstract: "Train a recurrent text classifier on an encoded dataset, or a character language model on text (--lm).",
        discussion: """
            Trains embedding -> RNN/LSTM/GRU -> linear on DATA (written by 'rnn-encode --vocab V -o \
            DATA'); V must be the vocabulary DATA was encoded with. DATA may also be records (rnn-clean output in any \
            --format, or standard input): the vocabulary is then built from them (--min-freq, --max-size, \
            --vectors; or taken from --vocab) and they are encoded in memory (--fix-length, \
            --truncate-first, --pad-first), as rnn-vocab and rnn-encode -o would; --valid and --test \
            then take records too. Two labels train one logit with \
            binary cross-entropy (prediction: sigmoid > 0.5), more labels train softmax cross-entropy. \
            Records with several labels (a JSON "label" list, several fastText __label__ tokens) train \
            a multi-label head, one sigmoid per label with binary cross-entropy per label (mean over \
            labels and batch, PyTorch's BCEWithLogitsLoss); --multi-label asks for it on data with one \
            label per record. The kept checkpoint is the one with the lowest validation loss; for a \
            multi-label model the accuracy shown is the exact-match ratio (predicted set, labels with \
            probability >= 0.5, equal to the record's set). \
            The embedding starts from the vocabulary's vectors when it has some (E = their dimension), \
            else from N(0, 1) with --embed-dim E (default 100); the <pad> row (id 1) stays 0. By default sequences \
            are packed (each runs over its own tokens only); --padded makes the pads of the encoded \
            fixed length real time steps, as in the reference tutorial. The linear layer reads the \
            final states of the last layer (--pool last), or the max or mean of its outputs over the \
            real tokens (--pool max, mean; pads are left out), or all three side by side (--pool \
            concat, ULMFiT's concat pooling).

            With --lm, trains a character language model (embedding -> RNN/LSTM/GRU -> linear over \
            every position) on raw UTF-8 text from the input files (plain or .gz) or standard \
            input: the alphabet is built from the text (or taken from --vocab, an 'rnn-vocab \
            --chars' file), the last --valid-split (default 0.1) is the validation text, and training \
            runs --batch-size parallel streams of --seq-len characters with truncated \
            backpropagation through time. Losses are reported in nats and bits per character. \
            Defaults differ for --lm: lstm, 2 layers, hidden 256, embed-dim 64, 10 epochs, lr 0.002, \
            clip 5, seed 1.

            Both tasks are evaluated on the validation data at every epoch end (and every \
            --eval-every steps); the weights with the lowest validation loss are kept in -o \
            (written atomically; PyTorch state_dict names, docs/FORMATS.md section 4) and the \
            training state (last weights, Adam moments, random generator, position, history) goes \
            to OUTPUT.state for --resume. One line per evaluation on stderr, with a progress bar on a \
            terminal. Ctrl-C or SIGTERM (or --max-time) stops training between steps: the weights \
            are evaluated, kept if best and the state written, then rnn-fit ends (exit status 130 \
            for Ctrl-C, 143 for SIGTERM, 0 for --max-time); a second Ctrl-C ends it at once.

            Under 'mpirun -np K' (or 'srun --mpi=pmix') training is data-parallel over the K \
            processes: each trains its share of every --batch-size batch, the gradients are summed \
            with Open MPI (loaded only then), and rank 0 alone evaluates, reports and writes; \
            SIGUSR1 to mpirun stops every process cleanly (exit status 138). See docs/SCALING.md.

            Examples:
              rnn-fit train.bin --vocab v.bin --cell gru --bidirectional --hidden 128 -o best.ckpt
              rnn-fit --lm tinyshakespeare.txt --cell lstm --layers 2 --hidden 512 --max-time 10m -o lm.ckpt
            """,
        version: suiteVersion)

    @Argument(help: "Encoded training data (rnn-encode -o). With --lm: text files (plain or .gz); standard input when none or '-'.", completion: .file())
    var inputs: [String] = []

    @Option(help: "Vocabulary the data was encoded with (rnn-vocab -o); with records as DATA, optional (default: built from DATA). With --lm: an optional 'rnn-vocab --chars' alphabet.", completion: .file())
    var vocab: String?

    @Option(name: .shortAndLong, help: "Best checkpoint (lowest validation loss). The training state goes to OUTPUT.state. Default with --resume: the resumed checkpoint.", completion: .file())
    var output: String?

    @Option(help: "Recurrent cell (default: gru; --lm: lstm).")
    var cell: CellOption?

    @Option(name: .customLong("model"), help: .hidden)
    var oldModelOption: String?

    @Option(help: "Stacked recurrent layers (default: 1; --lm: 2).")
    var layers: Int?

    @Flag(help: "Bidirectional recurrent layers (features: last forward and backward states, 2H). Classifiers only.")
    var bidirectional = false

    @Option(help: "Hidden size H of each direction (default: 128; --lm: 256).")
    var hidden: Int?

    @Option(help: "Embedding size E (classifier: default 100 when the vocabulary has no vectors, else their dimension, which it must equal; --lm default 64).")
    var embedDim: Int?

    @Flag(help: "Keep the embedding fixed (no gradient, no update). Classifiers only.")
    var freezeEmbeddings = false

    @Option(help: "Dropout between stacked recurrent layers (needs --layers >= 2 to have an effect; default 0).")
    var dropout: Float?

    @Option(help: "Dropout on the features before the linear layer (the reference tutorial uses 0.5; --lm: on the last layer's output at every character, as char-rnn does; default 0).")
    var headDropout: Float?

    @Option(help: "Dropout on the embedded tokens, the recurrence's input (the reference tutorial's code uses 0.5; --lm: on the embedded characters).")
    var embedDropout: Float?

    @Flag(help: "Draw each dropout mask (--dropout, --embed-dropout, and --head-dropout with --lm) once per sequence (--lm: per stream and chunk) and use it at every time step (variational dropout, AWD-LSTM's locked dropout) instead of afresh at every step.")
    var lockedDropout = false

    @Flag(help: "Train with the matrix products in bfloat16 (operands rounded, sums in fp32; weights, gate math, optimizer and every evaluation stay fp32): 1.75-1.8x faster character-model training measured on a Zen 5 (2 x 512 and 2 x 640 LSTM), on CPUs with AVX512_BF16 (AMD Zen 4 and later, Intel Cooper Lake and Sapphire Rapids and later); refused elsewhere. Results differ from fp32 training in the low bits and are deterministic like it.")
    var bf16 = false

    @Option(help: "Weight drop (AWD-LSTM's DropConnect on the recurrent weights W_hh): every training step multiplies them by a fresh mask that drops each weight with this probability, the same mask for every time step and stream of the step (default 0).")
    var weightDrop: Float?

    @Option(help: "Epochs to train (with --resume: the total, counting the epochs already done; default: 3; --lm: 10).")
    var epochs: Int?

    @Option(help: "Records per training batch (--lm: parallel text streams; default 32).")
    var batchSize: Int?

    @Option(help: "Adam learning rate (default: 0.001; --lm: 0.002).")
    var lr: Float?

    @Option(help: "L2 weight decay added to the gradients (torch.optim.Adam weight_decay; default 0).")
    var weightDecay: Float?

    @Option(help: "Clip the global gradient norm to this value before every step (default: none; --lm: 5; 0: none).")
    var clip: Float?

    @Option(help: "Multiply the learning rate by this factor after every epoch (default 1).")
    var lrDecay: Float?

    @Option(help: "Learning-rate schedule: constant, or cosine (falls along a half cosine to 5% of --lr over the run: --epochs, or --max-time when that comes first).")
    var lrSchedule: ScheduleOption?

    @Option(help: "Evaluate and keep an exponential moving average of the weights instead of the weights themselves (e.g. 0.999; default: none): after every step, average = d x average + (1 - d) x weights with d = min(EMA, (1 + steps before it) / (10 + steps before it)); training goes on from the trained weights.")
    var ema: Float?

    @Option(help: "Wall-clock budget, e.g. 600, 90s, 10m, 1.5h, counted from the start of the command and including the final evaluation (and --test): training stops in time to evaluate, keep the best checkpoint and write the state (at most a quarter of the budget is set aside; when the evaluation would take longer, it uses the first part of the validation data that fits). With --resume, the budget of the resumed run.")
    var maxTime: TimeBudget?

    @Option(help: "Also evaluate (and keep the best checkpoint) every this many steps (0: at epoch ends only).")
    var evalEvery: Int = 0

    @Option(help: "Encoded validation data (default: hold out --valid-split of DATA). With --lm: a validation text file.", completion: .file())
    var valid: String?

    @Option(help: "Fraction of DATA held out at random (seeded) for validation when --valid is not given; 0: no validation (the latest weights are kept). Default 0.2; --lm: the last 0.1 of the text.")
    var validSplit: Double?

    @Option(help: "Encoded test data: evaluate the kept checkpoint on it at the end (loss and accuracy on stderr). Classifiers only.", completion: .file())
    var test: String?

    @Option(help: "Seed of the initialisation, the validation split, shuffling and dropout (same seed and --threads: same result; default: 42; --lm: 1).")
    var seed: UInt64?

    @Option(help: "Threads (default: the CPUs this process may use: its affinity mask and cgroup CPU quota; with --resume, the count of the resumed run); results depend on the seed and this count, not on the machine.")
    var threads: Int?

    @Flag(help: "Run the recurrence over the pads of the encoded fixed length too (reference semantics) instead of packed sequences. Classifiers only.")
    var padded = false

    @Option(help: "What the linear layer reads: last (the final state of every direction, the default), max or mean (over the real tokens of the last layer's outputs; pads left out), or concat (all three side by side). Classifiers only.")
    var pool: Pooling?

    @Flag(help: "Train a multi-label head (one sigmoid per label, binary cross-entropy per label) even when every training record has one label; it is chosen anyway when some training record has several labels. Classifiers only.")
    var multiLabel = false

    @Option(help: "Continue the run of this checkpoint from its training state (CKPT.state) up to --epochs. The model, data split and optimizer settings come from the state (giving different ones is an error).", completion: .file())
    var resume: String?

    @Option(help: "Append one JSON line per evaluation (and per checkpoint) to this file (truncated first unless resuming).", completion: .file())
    var log: String?

    @Option(help: "Draw train/validation loss (and accuracy) per evaluation into this SVG file (rewritten every time).", completion: .file())
    var plot: String?

    @Flag(help: "Train a character language model on raw UTF-8 text (the input files, plain or .gz, or stdin) instead of a classifier.")
    var lm = false

    @OptionGroup var q: QuietOption

    @OptionGroup(title: "Training from records (DATA is not an rnn-encode -o file)") var records: RecordOptions

    @OptionGroup(title: "Vocabulary from records (as rnn-vocab; the embedding starts from --vectors)") var vocabulary: VocabularyOptions

    @OptionGroup(title: "Encoding records (as rnn-encode; --padded needs --fix-length)") var encoding: EncodingOptions

    @Option(help: "Language model: characters per training chunk (truncated backpropagation through time; the state is carried between chunks; default 128).")
    var seqLen: Int?

    /// The task named in messages.
    var taskName: String { lm ? "--lm (a character language model)" : "a classifier (add --lm for a language model)" }

    func validate() throws {
        try validateModelSize()
        if let threads, !(1 ... 1024).contains(threads) { throw ValidationError("--threads must be between 1 and 1024") }
        if bf16 && !EngineKernels.bf16Available {
            throw ValidationError(EngineKernels.supported.contains(.v4) && EngineKernels.active != .v4
                ? "--bf16 needs the v4 kernels (AVX-512 with AVX512_BF16); RNN_KERNELS=\(EngineKernels.setName) is in use: unset RNN_KERNELS or leave --bf16 out"
                : "--bf16 needs a CPU with AVX512_BF16 (AMD Zen 4 and later, Intel Cooper Lake and Sapphire Rapids and later); this one has none: leave --bf16 out")
        }
        if let m = oldModelOption {
            throw ValidationError("--model is now --cell (--cell \(m)); -m/--model names a checkpoint to read in the other tools")
        }
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws { if !ok { throw ValidationError(message()) } }
        func finite(_ v: Float?) -> Bool { v.map { $0.isFinite } ?? true }
        try check(layers.map { (1 ... ModelLimits.layers).contains($0) } ?? true, "--layers must be in [1, \(ModelLimits.layers)]")
        try check(hidden.map { (1 ... ModelLimits.hidden).contains($0) } ?? true, "--hidden must be in [1, \(ModelLimits.hidden)]")
        try check(embedDim.map { (1 ... ModelLimits.embedDim).contains($0) } ?? true, "--embed-dim must be in [1, \(ModelLimits.embedDim)]")
        for (v, name) in [(dropout, "--dropout"), (headDropout, "--head-dropout"), (embedDropout, "--embed-dropout"), (weightDrop, "--weight-drop")] {
            try check(v.map { $0 >= 0 && $0 < 1 } ?? true, "\(name) must be in [0, 1)")
        }
        try check(epochs.map { $0 >= 1 && $0 <= 1 << 20 } ?? true, "--epochs must be in [1, \(1 << 20)]")
        try check(batchSize.map { $0 >= 1 && $0 <= 1 << 20 } ?? true, "--batch-size must be in [1, \(1 << 20)]")
        try check(seqLen.map { $0 >= 1 && $0 <= 1 << 20 } ?? true, "--seq-len must be in [1, \(1 << 20)]")
        try check(finite(lr) && (lr.map { $0 > 0 } ?? true), "--lr must be a positive number")
        try check(finite(weightDecay) && (weightDecay.map { $0 >= 0 } ?? true), "--weight-decay must be a number >= 0")
        try check(finite(lrDecay) && (lrDecay.map { $0 > 0 } ?? true), "--lr-decay must be a positive number")
        try check(finite(clip) && (clip.map { $0 >= 0 } ?? true), "--clip must be a number >= 0 (0: no clipping)")
        try check(validSplit.map { $0 >= 0 && $0 < 1 } ?? true, "--valid-split must be in [0, 1)")
        try check(ema.map { $0 > 0 && $0 < 1 } ?? true, "--ema must be in (0, 1), e.g. 0.999")
        try check(evalEvery >= 0, "--eval-every must not be negative")
        try check(output != nil || resume != nil, "-o/--output is required (where the best checkpoint goes)")
        if let resume, let output, resume != output {
            throw ValidationError("--resume continues in place: give the same file to --resume and -o (or omit -o)")
        }
        // Options of the other task.
        let foreign = lm
            ? [(test != nil, "--test"), (padded, "--padded"), (freezeEmbeddings, "--freeze-embeddings"),
               (bidirectional, "--bidirectional"), (multiLabel, "--multi-label"),
               (pool != nil, "--pool")]
            : [(seqLen != nil, "--seq-len")]
        if let (_, name) = foreign.first(where: { $0.0 }) {
            throw ValidationError(lm ? "\(name) does not apply to --lm (a character language model)"
                                     : "\(name) does not apply to a classifier (it is a language-model option: add --lm)")
        }
        if lm {
            try check(valid == nil || validSplit == nil, "give --valid or --valid-split, not both")
        } else {
            try check(inputs.count <= 1, "give one training input (got \(inputs.count)); --valid names the validation data")
        }
        if lm, let name = recordOnlyOptions.first {
            throw ValidationError("\(name) does not apply to --lm (a character language model)")
        }
        if resume != nil {
            // The state file holds the model, data split and optimizer settings; silently
            // ignoring different ones given here would train something other than what was asked.
            let given = [(cell != nil, "--cell"), (layers != nil, "--layers"), (bidirectional, "--bidirectional"),
                         (hidden != nil, "--hidden"), (embedDim != nil, "--embed-dim"), (freezeEmbeddings, "--freeze-embeddings"),
                         (dropout != nil, "--dropout"), (headDropout != nil, "--head-dropout"), (embedDropout != nil, "--embed-dropout"),
                         (weightDrop != nil, "--weight-drop"), (lockedDropout, "--locked-dropout"),
                         (batchSize != nil, "--batch-size"), (seqLen != nil, "--seq-len"), (lr != nil, "--lr"),
                         (weightDecay != nil, "--weight-decay"), (clip != nil, "--clip"), (lrDecay != nil, "--lr-decay"),
                         (lrSchedule != nil, "--lr-schedule"), (ema != nil, "--ema"),
                         (!lm && valid != nil && EncodedDataset.isEncodedFile(inputs.first ?? "-"), "--valid"), (validSplit != nil, "--valid-split"),
                         (seed != nil, "--seed"), (padded, "--padded"), (multiLabel, "--multi-label"), (pool != nil, "--pool")]
                .filter { $0.0 }.map { $0.1 }
            if !given.isEmpty {
                throw ValidationError("--resume continues the saved run with the model, split and optimizer settings of its state file; drop \(given.joined(separator: ", ")) (or start a new run without --resume)")
            }
        }
    }

    /// The optimizer settings of a new run (a resumed run takes its state's).
    func optimizerSettings() -> OptimizerSettings {
        var o = OptimizerSettings()
        o.lr = lr ?? (lm ? 2e-3 : 1e-3)
        o.weightDecay = weightDecay ?? 0
        let c = clip ?? (lm ? 5 : 0)
        o.clip = c > 0 ? c : nil
        o.lrDecay = lrDecay ?? 1
        o.cosine = lrSchedule == .cosine
        o.ema = ema ?? 0
        o.seed = seed ?? (lm ? 1 : 42)
        return o
    }

    func run() throws {
        try EngineKernels.check()   // RNN_KERNELS names a set this CPU runs
        let start = monotonicSeconds()
        // Under mpirun: the processes training together (docs/SCALING.md); rank 0 alone takes the
        // outputs, reports and writes, the others print nothing but their own errors.
        let processes = try Processes.fromEnvironment()
        var me = self
        if !processes.isRoot { me.q.quiet = true; me.log = nil; me.plot = nil }
        do {
            try me.train(processes: processes, start: start)
        } catch let e as RNNError where !processes.isRoot {
            throw RNNError("rank \(processes.rank) of \(processes.size): \(e.message)")
        }
    }

    func train(processes: any Communicator, start: Double) throws {
        if processes.isRoot { try prepareOutputs() }
        // mpirun answers Ctrl-C with SIGTERM to every process and SIGKILL a second later
        // (odls_base_sigkill_timeout), but forwards SIGUSR1 at once: a stop with time to evaluate.
        StopRequest.install(also: processes.size > 1 ? [SIGUSR1] : [])
        let out = output ?? resume!
        do {
            // Setting up is agreed: when a process cannot build its task (a missing file on one
            // machine), every process ends, and only the ones that failed say why.
            var built: (any TrainingTask, TrainingState?, OptimizerSettings)?, failure: Error?
            do {
                let state = try resume.map { try TrainingState.load(checkpoint: $0) }
                let optimizer = state?.optimizer ?? optimizerSettings()
                built = (lm ? try languageModel(seed: optimizer.seed, resume: state) : try classifier(seed: optimizer.seed, resume: state), state, optimizer)
            } catch {
                failure = error
            }
            if processes.size > 1 {
                var failed = [Double](repeating: 0, count: processes.size)
                failed[processes.rank] = failure == nil ? 0 : 1
                try processes.reduce(&failed, .sum)
                if failed.contains(where: { $0 != 0 }) {
                    processes.finish()
                    if let failure { throw failure }
                    throw ExitStatus(1)
                }
            }
            if let failure { throw failure }
            guard let (task, state, optimizer) = built else { throw ExitStatus(1) }
            var settings = RunSettings()
            settings.epochs = epochs ?? (lm ? 10 : 3)
            settings.evalEvery = evalEvery
            settings.maxTime = maxTime?.seconds
            settings.commandLine = shellCommandLine()
            let sinks = SinkList(q.quiet ? [] : [ConsoleSink()])
            if let log { sinks.append(try JSONLinesLogSink(path: log, append: resume != nil)) }
            if let plot { sinks.append(SVGPlot(path: plot, title: plotTitle(task), points: state?.history ?? [])) }
            let result: TrainingResult
            do {
                let trainer = try Trainer(task: task, optimizer: optimizer, run: settings, output: out, resume: state, sink: sinks, startTime: start,
                                          processes: processes)
                result = try trainer.run()
            } catch let e as TrainingError {
                // Divergence and disagreement are decided together: rank 0 alone says so.
                processes.finish()
                if !processes.isRoot { throw ExitStatus(1) }
                throw e
            }
            processes.finish()
            if processes.size > 1 && !q.quiet {
                // what the bench and docs/SCALING.md read: steps/s, bytes exchanged, share in communication
                let x = result.exchanged, steps = Double(max(x.steps, 1))
                let seconds = max(result.stepSeconds, 1e-9)
                let dense = Double(task.model.params.count * MemoryLayout<Float>.stride) / 1e6
                let rate = formatFixed(Double(x.steps) / seconds, 2)
                let sent = formatFixed(Double(x.bytes) / steps / 1e6, 3), rows = formatFixed(Double(x.rowBytes) / steps / 1e6, 3)
                let share = formatFixed(100 * result.reduceSeconds / seconds, 1)
                let waited = formatFixed(result.reduceSeconds, 2), stepped = formatFixed(result.stepSeconds, 2)
                Diagnostics.line("rnn-fit: \(processes.size) processes: \(formatThousands(x.steps)) steps, \(rate) steps/s; \(sent) MB summed per step "
                                 + "(\(rows) MB of it embedding rows; dense gradient \(formatFixed(dense, 3)) MB); "
                                 + "\(waited) s of \(stepped) s of training steps (\(share)%) waiting for and summing them "
                                 + "(\(formatFixed(result.waitSeconds, 2)) s of it at the step's first sum, mostly the wait for the slowest process)")
            }
            if let sig = result.interruptedBy { throw Interrupted(signal: sig) }
        } catch let e as TrainingError {
            throw RNNError(wording(e))
        } catch let e as FitSetupError {
            throw RNNError(wording(e))
        }
    }

    /// The options that only apply to records as DATA (building and encoding in memory) that were given.
    var recordOnlyOptions: [String] {
        vocabulary.given + encoding.given + (records.format != .auto ? ["--format"] : [])
    }

    /// The classifier's data files: DATA, --valid and --test as given when DATA is an encoded
    /// dataset; else (records: JSON Lines, text, TSV, CSV, fastText, a pipe) the vocabulary built
    /// and the records encoded into a private folder, removed when the process ends.
    func trainingData() throws -> (train: String, vocab: String, valid: String?, test: String?) {
        let path = inputs.first ?? "-"
        let encodedInput = EncodedDataset.isEncodedFile(path)
        if encodedInput {
            if let name = recordOnlyOptions.first {
                throw RNNError(path: path, "is an encoded dataset: \(name) applies only to records (rnn-encode made this file with its own settings)")
            }
            guard let vocab else { throw RNNError(path: path, "is an encoded dataset: --vocab is required (the vocabulary it was encoded with)") }
            return (path, vocab, valid, test)
        }
        if vocab != nil, let name = vocabulary.given.first {
            throw RNNError("\(name) builds the vocabulary; it does not apply with --vocab (encode with that vocabulary)")
        }
        let folder = try PrivateFolder.make(prefix: "rnn-fit")
        let enc = RecordEncoding(vocabulary, encoding)
        for p in [valid, test].compactMap({ $0 }) where EncodedDataset.isEncodedFile(p) {
            throw RNNError(path: p, "is an encoded dataset, but the training data are records; give records here too (they are encoded with the same vocabulary)")
        }
        func reader(_ p: String) -> RecordReader { records.reader(paths: [p]) }
        let prepared = try EncodedDataset.prepare(train: reader(path), valid: valid.map(reader), test: test.map(reader),
                                                  vocabulary: vocab, encoding: enc, folder: folder.path)
        if !q.quiet { for line in prepared.report { Diagnostics.line(line) } }
        return (prepared.trainPath, prepared.vocabularyPath, prepared.validPath, prepared.testPath)
    }

    /// The classification task.
    func classifier(seed: UInt64, resume: TrainingState?) throws -> ClassifierTask {
        let data = try trainingData()
        var o = FitOptions(trainPath: data.train, vocabPath: data.vocab)
        o.validPath = data.valid
        o.validSplit = validSplit ?? 0.2
        o.testPath = data.test
        o.cell = (cell ?? .gru).kind
        o.layers = layers ?? 1
        o.bidirectional = bidirectional
        o.hidden = hidden ?? 128
        o.embedDim = embedDim
        o.freezeEmbeddings = freezeEmbeddings
        o.dropout = dropout ?? 0
        o.headDropout = headDropout ?? 0
        o.embedDropout = embedDropout ?? 0
        o.weightDrop = weightDrop ?? 0
        o.lockedDropout = lockedDropout
        o.batchSize = batchSize ?? 32
        o.threads = threads ?? resume?.threads ?? CPUs.available
        o.bf16 = bf16
        o.padded = padded
        o.multiLabel = multiLabel
        o.pool = pool ?? .last
        do {
            return try ClassifierTask(options: o, seed: seed, resume: resume)
        } catch var e as RNNError {
            // An error about the records' private encoded copy names the records given instead.
            let given = [(data.train, inputs.first ?? "-"), (data.valid, valid), (data.test, test)]
            for case let (copy?, name?) in given.map({ ($0.0 as String?, $0.1) }) where copy != name && e.message.hasPrefix(copy + ": ") {
                e.message = (name == "-" ? "<stdin>" : name) + e.message.dropFirst(copy.count)
            }
            throw e
        }
    }

    /// The language-model task: reads the text, reports its size and the model.
    func languageModel(seed: UInt64, resume: TrainingState?) throws -> LanguageModelTask {
        var o = LMTrainingOptions()   // the language-model defaults, overridden by what was given
        if let cell { o.cell = cell.kind }
        if let v = layers { o.layers = v }
        if let v = hidden { o.hidden = v }
        if let v = embedDim { o.embedDim = v }
        if let v = dropout { o.dropout = v }
        if let v = embedDropout { o.embedDropout = v }
        if let v = headDropout { o.headDropout = v }
        if let v = weightDrop { o.weightDrop = v }
        o.lockedDropout = lockedDropout
        if let v = batchSize { o.batchSize = v }
        if let v = seqLen { o.seqLen = v }
        o.threads = threads ?? resume?.threads ?? CPUs.available
        o.bf16 = bf16
        o.validSplit = try resume.map { try $0.settingsReader.double("valid_split", in: 0 ... 0.999_999) } ?? validSplit ?? 0.1
        let paths = inputs.isEmpty ? ["-"] : inputs
        let text = try LMCorpus.readText(paths: paths)
        let alphabet = try vocab.map { try CharAlphabet(vocabulary: Vocabulary.load(path: $0), path: $0) }
        let validText = try valid.map { try LMCorpus.readText(paths: [$0]) }
        let corpus = try LMCorpus(text: text.bytes, alphabet: alphabet, validSplit: o.validSplit, validText: validText?.bytes)
        let name = paths == ["-"] ? "<stdin>" : paths.joined(separator: " ")
        let quiet = q.quiet
        func say(_ line: String) { if !quiet { Diagnostics.line(line) } }
        say("rnn-fit: \(name): \(formatThousands(corpus.train.count + corpus.valid.count)) characters, alphabet of \(corpus.alphabet.count - 2) + <unk>, <pad>; \(formatThousands(corpus.train.count)) for training, \(formatThousands(corpus.valid.count)) for validation\(valid.map { " (\($0))" } ?? "")")
        let invalid = text.invalidSequences + (validText?.invalidSequences ?? 0)
        if invalid > 0, let first = text.firstInvalid ?? validText?.firstInvalid {
            say("rnn-fit: warning: \(formatThousands(invalid)) invalid UTF-8 sequence\(invalid == 1 ? "" : "s") read as U+FFFD (first at \(first)); fix the encoding of the input (e.g. iconv -f latin1 -t utf-8) to keep the original characters")
        }
        if corpus.unknown > 0 {
            say("rnn-fit: warning: \(formatThousands(corpus.unknown)) characters are not in the vocabulary and read as <unk>: \(describeScalars(corpus.unknownScalars))")
        }
        let task = try LanguageModelTask(corpus: corpus, options: o, seed: seed, resume: resume)
        let c = task.model.config
        say("rnn-fit: model: \(Checkpoint.describe(c)), \(formatThousands(task.model.params.entries.reduce(0) { $0 + $1.count })) parameters; batch \(task.shape.streams) x \(task.shape.seqLen) chars, lr \(resume?.optimizer.lr ?? optimizerSettings().lr)")
        return task
    }

    func plotTitle(_ task: any TrainingTask) -> String {
        let c = task.model.config
        if let t = task as? ClassifierTask {
            return "rnn-fit: \(c.bidirectional ? "bi-" : "")\(c.cell.rawValue.uppercased()) H=\(c.hidden) E=\(c.embedDim), \(formatThousands(t.sizes.train)) train / \(formatThousands(t.sizes.valid)) valid"
        }
        return "character LM: \(Checkpoint.describe(c))"
    }

    /// Library errors in the words of this command's options.
    func wording(_ e: TrainingError) -> String {
        switch e {
        case .diverged(let loss, let step, let epoch, let kept, let weights):
            let keptText = kept.map { "\($0) and its state from the last evaluation are kept" } ?? "no checkpoint was written"
            let what = weights ? "weights not finite after the update of" : "loss \(loss) at"
            return "training diverged: \(what) step \(formatThousands(step)) (epoch \(epoch)); \(keptText); lower --lr, set --clip, or lower --lr-decay"
        case .noState(let checkpoint, let state):
            return "\(checkpoint): cannot resume: its training state \(state) does not exist (rnn-fit writes CKPT.state next to the checkpoint at every evaluation)"
        case .oldState(let path, let format):
            return "\(path): a '\(format)' training state from an older rnn-fit, which --resume no longer reads; start a new run (the checkpoint itself still works with rnn-classify and rnn-sample)"
        case .mixedRun(let checkpoint, let state, let detail):
            return "\(checkpoint): cannot resume: the checkpoint and \(state) come from different runs (\(detail)), e.g. two runs writing the same -o; start a new run or resume the run that wrote both"
        case .nothingLeft(let state, let trained):
            return "\(state): already trained \(trained) epoch\(trained == 1 ? "" : "s"); pass --epochs N with N > \(trained) (the total number of epochs) to continue"
        case .wrongTask(let state, let isClassifier):
            return "\(state): the state of a \(isClassifier ? "classifier" : "language model"); " + (isClassifier ? "resume it without --lm" : "resume it with --lm")
        case .processesDisagree(let ranks, let size):
            return "rank\(ranks.count == 1 ? "" : "s") \(ranks.map(String.init).joined(separator: ", ")) of \(size) built other initial weights, data or settings than rank 0; give every process the same command, data files, vocabulary and state (e.g. on a shared file system)"
        }
    }

    func wording(_ e: FitSetupError) -> String {
        switch e {
        case .paddedNeedsFixedLength(let path):
            return "\(path): --padded needs data encoded with a fixed length (rnn-encode --fix-length 500 [--pad-first] ...)"
        case .fixedLengthDiffers(let path, let length, let training):
            return "\(path): is encoded with fixed length \(length), the training data with \(training); --padded needs the same"
        case .embedDimConflict(let given, let vectors, let vocabulary):
            return "--embed-dim \(given) conflicts with the \(vectors)-dimensional vectors of \(vocabulary); omit --embed-dim, or build a vocabulary without vectors"
        case .textTooShort(let chars, let batch, let seqLen):
            return "the training text (\(formatThousands(chars)) characters) is too short for --batch-size \(batch) x --seq-len \(seqLen) (needs more than \(formatThousands(batch * 2 * seqLen + 1))); lower them"
        }
    }
}

/// `--cell`.
enum CellOption: String, ExpressibleByArgument, CaseIterable {
    case rnn, lstm, gru
    var kind: CellKind {
        switch self {
        case .rnn: return .rnn
        case .lstm: return .lstm
        case .gru: return .gru
        }
    }
}

/// `--pool`.
extension Pooling: ExpressibleByArgument {}

/// `--lr-schedule`.
enum ScheduleOption: String, ExpressibleByArgument, CaseIterable {
    case constant, cosine
}

/// `--max-time`: a duration.
struct TimeBudget: ExpressibleByArgument {
    var seconds: Double
    init?(argument: String) {
        guard let s = parseDuration(argument), s < 1e9 else { return nil }
        seconds = s
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
