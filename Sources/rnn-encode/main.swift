// rnn-encode: numericalise cleaned records with a vocabulary (REFERENCE.md section 3).
import ArgumentParser
import RNNCLI
import RNNCore
import RNNText


struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-encode",
        abstract: "Turn cleaned records into token ids with a vocabulary.",
        discussion: """
            Unknown tokens become <unk> (0). With --fix-length N a longer record keeps its first N \
            tokens (its last N with --truncate-first) and the padded view fills up with <pad> (1), \
            on the right or, with --pad-first, on the left. Without -o, writes JSON Lines to stdout, \
            one record per input record: \
            {...other fields,"ids":[...],"length":n,"label":id,"vocab":"<hash>"} ("label": a list of ids for a record with several labels; text dropped, ids \
            padded when --fix-length is given); a record without any token (a blank line) gets \
            "length":0, so the output stays aligned with the input. With -o, writes a binary \
            training dataset that stores only the real tokens plus offsets, labels and the padding \
            settings (docs/FORMATS.md); records without any token are skipped there and counted on \
            stderr.
            """,
        version: suiteVersion)

    @OptionGroup var input: InputOptions

    @Option(help: "Vocabulary file written by rnn-vocab.", completion: .file())
    var vocab: String

    @OptionGroup var records: RecordOptions

    @Option(name: .shortAndLong, help: "Write a binary encoded dataset to this file instead of JSON Lines to stdout.", completion: .file())
    var output: String?

    @OptionGroup var encoding: EncodingOptions

    @OptionGroup var q: QuietOption

    func validate() throws {
    }

    func run() throws {
        try CLI.prepareOutputs([output], inputs: input.paths + [vocab])
        let vocabulary = try Vocabulary.load(path: vocab)
        let encoder = encoding.encoder(vocabulary)
        let fixLength = encoding.fixLength, padFirst = encoding.padFirst
        var reader = records.reader(input)
        reader.repairUTF8 = true
        let summary: EncodeSummary
        if let output {
            var writer = EncodedDatasetWriter(encoder: encoder)
            summary = try encoder.encodeAll(reader) { _, ids, set in writer.append(ids: ids, labels: set) }
            if summary.records == 0 { throw RNNError(path: input.paths.joined(separator: ", "), "no records with tokens in the input; nothing written") }
            try writer.write(to: output)
        } else {
            let out = BufferedOutput()
            var line: [UInt8] = []
            var ids: [Int32] = []
            let hashValue = Array("\"\(vocabulary.hash)\"".utf8)
            summary = try encoder.encodeAll(reader, keepEmpty: true, idle: { try out.flush() }) { record, real, set in
                ids.removeAll(keepingCapacity: true)
                Encoder.appendPadded(real, fixLength: fixLength, padFirst: padFirst, into: &ids)
                var arr: [UInt8] = []
                Encoder.appendJSONArray(ids, into: &arr)
                var extra: [(String, [UInt8])] = [("ids", arr), ("length", Array(String(real.count).utf8))]
                if set.count == 1 {
                    extra.append(("label", Array(String(set[0]).utf8)))
                } else if !set.isEmpty {
                    var ids: [UInt8] = []
                    Encoder.appendJSONArray(set, into: &ids)
                    extra.append(("label", ids))
                }
                extra.append(("vocab", hashValue))
                line.removeAll(keepingCapacity: true)
                record.writeJSON(newText: nil, drop: ["text", "label"], extra: extra, into: &line)
                try out.write(line)
            }
            try out.flush()
        }
        var msg = "rnn-encode: \(formatThousands(summary.records)) records, \(formatThousands(summary.kept)) tokens kept"
        if summary.tokens > 0 { msg += ", \(formatFixed(100 * Double(summary.unknown) / Double(summary.tokens), 1))% unknown" }
        if fixLength != nil { msg += ", \(formatThousands(summary.truncated)) truncated" }
        if summary.empty > 0 { msg += output != nil ? "; skipped \(formatThousands(summary.empty)) records without tokens" : "; \(formatThousands(summary.empty)) without tokens (length 0)" }
        if let output { msg += "; wrote \(output)" }
        if !q.quiet { Diagnostics.line(msg) }
        if !q.quiet, let w = InvalidUTF8.warning("rnn-encode") { Diagnostics.line(w) }
    }
}

CLI.main(Command.self)
