import ArgumentParser
import JarvisProtocol

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find entries: ranked, with scores and a snippet; nothing is generated.",
        discussion: "The score fuses the embedding and keyword ranks (and is above 1 when the query names the entry); only the order means anything.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Show at most this many entries.")
    var limit = 10

    @Argument(help: "What to look for.")
    var query: [String]

    func validate() throws {
        guard !query.isEmpty else { throw ValidationError("search for what? Give the query as arguments") }
        guard (1...100).contains(limit) else { throw ValidationError("--limit must be in 1...100") }
    }

    func run() throws {
        let c = try connection.connect()
        let result = try Failure.exitOnError { try c.call(.search(.init(query: query.joined(separator: " "), limit: limit))) }
        guard case .hits(let hits) = result else { return }
        if connection.json { print(Output.json(hits)); return }
        if hits.isEmpty { print("Nothing remembered yet, so nothing to search."); return }
        print(Output.table(["ID", "NAME", "SCORE", "SNIPPET"], hits.map { h in
            [String(h.id), h.name ?? "-", String(format: "%.4f", h.score), h.snippet]
        }))
    }
}
