import ArgumentParser
import JarvisProtocol

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List what Jarvis remembers.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Show at most this many entries (a page; the last line, or `next` in --json, says where the next starts).")
    var limit: Int?

    @Option(help: ArgumentHelp("Start after the entry with this id.", valueName: "id"))
    var after: UInt64?

    func validate() throws {
        if let limit, !(1...10_000).contains(limit) { throw ValidationError("--limit must be in 1...10000") }
    }

    func run() throws {
        let c = try connection.connect()
        var entries: [EntryInfo], next: UInt64? = nil
        if limit == nil && after == nil {
            entries = try Failure.exitOnError { try c.allEntries() }
        } else {
            let result = try Failure.exitOnError { try c.call(.list(.init(limit: limit, after: after))) }
            guard case .entries(let page, let n, _) = result else { return }
            (entries, next) = (page, n)
        }
        if connection.json, limit != nil || after != nil {
            struct Page: Encodable { let entries: [EntryInfo]; let next: UInt64? }
            print(Output.json(Page(entries: entries, next: next)))
            return
        }
        if connection.json { print(Output.json(entries)); return }
        if entries.isEmpty { print("Nothing remembered yet. Try: jarvisctl remember \"My dog Rex has a red collar\""); return }
        print(Output.table(["ID", "NAME", "KIND", "TOKENS", "CREATED", "TEXT"], entries.map { e in
            [String(e.id), e.name ?? "-", e.kind, String(e.tokens), Output.date(e.createdMs), Output.oneLine(e.text, max: 60)]
        }))
        if let next { print("… more: jarvisctl list --limit \(limit ?? 0) --after \(next)") }
    }
}
