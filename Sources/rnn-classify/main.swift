// rnn-classify: run a trained classifier over records, one prediction line per record.
import ArgumentParser
import RNNCLI
import RNNCore
import RNNEngine
import RNNText
import RNNTrain
#if canImport(Glibc)
import Glibc
#endif

extension ClassifyOutputFormat: ExpressibleByArgument {}

struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-classify",
        abstract: "Classify records with a trained classifier checkpoint.",
        discussion: """
            Reads cleaned text records (rnn-clean output, or plain text lines), which are encoded with \
            the vocabulary embedded in the checkpoint (unknown tokens: <unk>), or encoded records \
            (rnn-encode JSON output), whose vocabulary hash must be the checkpoint's. Records longer \
            than the training data's fixed length keep its first (or, as in training, last) tokens, and a \
            checkpoint trained on the padded view (rnn-fit --padded) is fed that padded view. \
            Writes one line per input record, in input order: every input member except \
            ids/length/vocab, the record's own label as "gold", then "label" (predicted), "prob" (its \
            probability) and, with more than two labels, "probs" {label: probability}. A multi-label \
            model (trained on records with several labels) predicts every label whose probability \
            reaches --threshold (default 0.5): "label" and "prob" are then lists, most probable \
            first (tsv: labels and probabilities joined by commas). One answer per \
            input record, so plain-text output stays line-aligned with its input: a record without any \
            token (a blank line, a text that cleaned to nothing) has no prediction and gets \
            "label":null,"prob":null,"reason":"no tokens" (tsv: empty label and prob). Lines are batched while input is plentiful and flushed as soon as \
            reading would wait, so interactive pipes answer at once. Several -m checkpoints make an \
            ensemble: the prediction comes from the mean of their probabilities (the models must have \
            the same labels and head; each encodes text with its own vocabulary). See docs/FORMATS.md.

            Examples:
              rnn-clean < reviews.txt | rnn-classify -m best.ckpt
              rnn-encode --vocab v.bin test.jsonl | rnn-classify -m best.ckpt --metrics --no-text
              echo "a great film" | rnn-classify -m best.ckpt --output-format tsv
              rnn-clean < reviews.txt | rnn-classify -m seed1.ckpt -m seed2.ckpt -m seed3.ckpt
            """,
        version: suiteVersion)

    @OptionGroup var input: InputOptions

    @Option(name: [.short, .customLong("model")], help: "Classifier checkpoint (rnn-fit output, or a PyTorch export with the documented metadata). Repeat it to average the probabilities of several checkpoints (an ensemble: same labels and head; vocabularies may differ).",
            completion: .file())
    var model: [String] = []

    @OptionGroup var records: RecordOptions

    @Option(help: "Output format: jsonl (one JSON object per record) or tsv (label, prob, id).")
    var outputFormat: ClassifyOutputFormat = .jsonl

    @Option(help: "Decision threshold. Two labels: predict the second label when its probability is above it (default 0.5). More labels: predict the most probable label only when its probability reaches it, else no label (\"label\":null, \"reason\":\"below threshold\"; default: always). Multi-label models: predict every label whose probability reaches it (default 0.5).")
    var threshold: Double?

    @Option(help: "List the K most probable labels with their probabilities, most probable first (JSON: probs; TSV: label and prob pairs before the id); --metrics then adds P@K and R@K.")
    var topK: Int?

    @Flag(help: "Print the probability of every label (JSON: probs in label order, also for two-label models; TSV: label and prob pairs, most probable first).")
    var probs = false

    @Flag(help: "Drop the text member from the JSON output.")
    var noText = false

    @Flag(help: "Records that carry a label: print accuracy (multi-label: exact match), loss, per-label precision/recall/F1 with macro and micro averages, P@K/R@K and (one label per record) the confusion matrix on stderr at the end.")
    var metrics = false

    @Option(help: "Write the metrics as JSON to this file.", completion: .file())
    var metricsJson: String?

    @Option(help: "Keep at most N tokens per record, as rnn-encode --fix-length does (default: the training data's fixed length from the checkpoint; 0: all, packed).")
    var fixLength: Int?

    @Option(help: "Largest number of records classified together.")
    var batchSize: Int = 128

    @Option(help: "Threads (default: the CPUs this process may use: its affinity mask and cgroup CPU quota). The output does not depend on it (nor on --batch-size).")
    var threads: Int?

    @OptionGroup var q: QuietOption

    func validate() throws {
        if model.isEmpty { throw ValidationError("-m/--model is required (a classifier checkpoint; repeat it for an ensemble)") }
        if let threshold, !(threshold >= 0 && threshold <= 1) { throw ValidationError("--threshold must be in [0, 1]") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if let fixLength, fixLength < 0 { throw ValidationError("--fix-length must be 0 (all tokens) or more") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let threads, !(1 ... 1024).contains(threads) { throw ValidationError("--threads must be between 1 and 1024") }
    }

    func run() throws {
        try EngineKernels.check()   // RNN_KERNELS names a set this CPU runs
        let start = monotonicSeconds()
        try CLI.prepareOutputs([metricsJson], inputs: input.paths + model)
        let members = try Classifier.ensemble(checkpoints: model, maxLength: fixLength)
        for c in members {
            c.model.threads = threads ?? CPUs.available
            c.threshold = threshold
        }
        var options = ClassifyOptions()
        options.format = outputFormat
        options.inputFormat = records.format
        options.fields = records.fields
        options.keepText = !noText
        options.topK = topK
        options.probs = probs
        options.batchSize = batchSize
        options.metrics = metrics || metricsJson != nil
        let job = try ClassifyJob(ensemble: members, options: options)
        let out = BufferedOutput(capacity: 1 << 17)
        let summary = try job.run(paths: input.paths, out: out)
        try out.flush()
        let seconds = monotonicSeconds() - start
        if !q.quiet { Diagnostics.line("rnn-classify: " + summary.describe(seconds: seconds)) }
        if !q.quiet, let w = InvalidUTF8.warning("rnn-classify") { Diagnostics.line(w) }
        if let m = summary.metrics {
            if metrics { Diagnostics.write(m.count > 0 ? m.report(records: summary.records) : "metrics: no record carries a label\n") }
            if let metricsJson {
                guard m.count > 0 else { throw RNNError(path: metricsJson, "no record carries a label; no metrics written") }
                try AtomicFile.write(Array((JSONWriter.string(m.json(records: summary.records)) + "\n").utf8), to: metricsJson)
            }
        }
    }
}

CLI.main(Command.self)
