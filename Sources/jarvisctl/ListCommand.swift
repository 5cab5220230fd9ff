import ArgumentParser
import JarvisProtocol

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List what Jarvis remembers.")

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let c = try connection.connect()
        let result = try Failure.exitOnError { try c.call(.list) }
        guard case .entries(let entries) = result else { return }
        if connection.json { print(Output.json(entries)); return }
        if entries.isEmpty { print("Nothing remembered yet. Try: jarvisctl remember \"My dog Rex has a red collar\""); return }
        print(Output.table(["ID", "NAME", "KIND", "TOKENS", "CREATED", "TEXT"], entries.map { e in
            [String(e.id), e.name ?? "-", e.kind, String(e.tokens), Output.date(e.createdMs), Output.oneLine(e.text, max: 60)]
        }))
    }
}
