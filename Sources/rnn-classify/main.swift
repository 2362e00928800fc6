import ArgumentParser
import RNNCLI
import RNNCore

struct Command: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rnn-classify", abstract: "Not implemented yet.")
    func run() throws { throw RNNError("not implemented yet") }
}

CLI.main(Command.self)
