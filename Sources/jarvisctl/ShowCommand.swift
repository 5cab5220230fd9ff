import ArgumentParser
import JarvisProtocol

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one entry in full.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The entry's id or name.", completion: EntryCompletion.kind)
    var entry: String

    func run() throws {
        let c = try connection.connect()
        let result = try Failure.exitOnError { try c.call(.show(.init(entry: entry))) }
        guard case .entry(let e) = result else { return }
        print(connection.json ? Output.json(e) : Output.entry(e))
    }
}
