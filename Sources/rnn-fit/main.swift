// rnn-fit: train a model. (Provisional: the classification options are added by the fit branch.)
import ArgumentParser
import RNNCLI
import RNNCore

struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rnn-fit", abstract: "Train a recurrent model (character language model with --lm).")

    @OptionGroup var input: InputOptions
    @Option(name: .shortAndLong, help: "Checkpoint to write (the best one is kept).") var output: String
    @Option(help: "Recurrent cell: rnn, lstm or gru.") var model: String?
    @Option(help: "Stacked recurrent layers.") var layers: Int?
    @Option(help: "Hidden size.") var hidden: Int?
    @Option(help: "Embedding dimension.") var embedDim: Int?
    @Option(help: "Dropout between stacked layers.") var dropout: Float?
    @Option(help: "Epochs.") var epochs: Int?
    @Option(help: "Batch size.") var batchSize: Int?
    @Option(help: "Learning rate.") var lr: Float?
    @Option(help: "Seed.") var seed: UInt64?
    @Option(help: "Vocabulary file.") var vocab: String?
    @Option(help: "Validation fraction.") var validSplit: Double?
    @Option(help: "JSON Lines log.") var log: String?
    @Option(help: "SVG plot.") var plot: String?
    @Flag(help: "Resume.") var resume = false
    @Option(help: "Threads (1 or 2).") var threads: Int?
    @OptionGroup var lmOptions: LMOptions

    func validate() throws {
        if lmOptions.lm { try lmOptions.validateLM() }
    }

    func run() throws {
        if lmOptions.lm {
            return try runLM(LMSharedSettings(inputs: input.paths, output: output, model: model, layers: layers, hidden: hidden,
                                              embedDim: embedDim, dropout: dropout, epochs: epochs, batchSize: batchSize, lr: lr,
                                              seed: seed, vocab: vocab, validSplit: validSplit, log: log, plot: plot, resume: resume,
                                              threads: threads), lmOptions)
        }
        throw RNNError("not implemented yet")
    }
}

CLI.main(Command.self)
