import ArgumentParser
import JarvisProtocol

struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forget", abstract: "Forget an entry, by id or name.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The entry's id or name.", completion: EntryCompletion.kind)
    var entry: String

    func run() throws {
        let c = try connection.connect()
        let result = try Failure.exitOnError { try c.call(.forget(.init(entry: entry))) }
        guard case .entry(let e) = result else { return }
        print(connection.json ? Output.json(e) : "forgot \(e.id)\(e.name.map { " \"\($0)\"" } ?? ""): \(Output.oneLine(e.text, max: 70))")
    }
}
