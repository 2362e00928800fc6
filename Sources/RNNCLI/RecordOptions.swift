// The options of every tool that reads records (rnn-clean, rnn-vocab, rnn-encode, rnn-classify).
import ArgumentParser
import RNNText

extension RecordFormat: ExpressibleByArgument {}

/// Input format and field names, the same in every tool that reads records.
public struct RecordOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Input format: auto, jsonl, text, tsv, csv or fasttext.",
        discussion: "auto: tsv or csv for a file named .tsv or .csv (also .gz), else JSON Lines when the first non-blank line starts with '{', else plain text (one record per line). TSV and CSV have a header row naming the columns (RFC 4180 quoting); fastText lines carry their labels as __label__NAME tokens."))
    public var format: RecordFormat = .auto

    @Option(help: "The text: a JSON member or TSV/CSV column name, or a TSV/CSV column number (from 1; the file then has no header).")
    public var textField = "text"

    @Option(help: "The label: a JSON member or TSV/CSV column name, or a column number (with a numbered --text-field).")
    public var labelField = "label"

    @Option(help: "fastText format: the prefix that marks a label token.")
    public var labelPrefix = "__label__"

    public init() {}

    public func validate() throws {
        if textField.isEmpty || labelField.isEmpty { throw ValidationError("--text-field and --label-field must not be empty") }
        if textField == labelField { throw ValidationError("--text-field and --label-field name the same field") }
        if let t = Int(textField), t < 1 { throw ValidationError("--text-field: column numbers start at 1") }
        if Int(textField) == nil && Int(labelField) != nil && labelField != "label" {
            throw ValidationError("--label-field is a column number: give the text column by number too (--text-field N)")
        }
        if let l = Int(labelField), l < 1 { throw ValidationError("--label-field: column numbers start at 1") }
        if labelPrefix.isEmpty || labelPrefix.contains(where: { $0 == " " || $0 == "\t" }) {
            throw ValidationError("--label-prefix must be non-empty and hold no whitespace")
        }
    }

    /// The field names for the reader.
    public var fields: RecordFields {
        var f = RecordFields()
        f.text = textField
        f.label = labelField
        f.labelPrefix = labelPrefix
        return f
    }

    /// A reader of `inputs` with these options.
    public func reader(_ inputs: InputOptions, requireText: Bool = true) -> RecordReader {
        reader(paths: inputs.paths, requireText: requireText)
    }

    /// A reader of `paths` with these options.
    public func reader(paths: [String], requireText: Bool = true) -> RecordReader {
        RecordReader(paths: paths, format: format, requireText: requireText, fields: fields)
    }
}
