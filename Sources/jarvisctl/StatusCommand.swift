import ArgumentParser
import Foundation
import JarvisProtocol

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the daemon's model, store, queue and effective configuration.")

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let c = try connection.connect()
        let result = try Failure.exitOnError { try c.call(.status) }
        guard case .status(let s) = result else { return }
        if connection.json { print(Output.json(s)); return }
        print("""
            model:       \(s.model)
            entries:     \(s.entries)
            store:       \(Output.bytes(s.storeBytes)) for \(s.storeTokens) tokens\(s.storeTokens > 0 ? String(format: " (%.1f KiB a token)", s.bytesPerToken / 1024) : "")
            pages:       \(Output.bytes(s.pageBytes)) for \(s.pagedEntries) entries\(s.textOnlyEntries > 0 ? "; \(s.textOnlyEntries) text-only until next used" : "")
            queue:       \(s.queueDepth)
            uptime:      \(String(format: "%.0f", s.uptimeS)) s
            decode:      \(s.tokensPerS > 0 ? String(format: "%.1f tokens/s", s.tokensPerS) : "no answers yet")
            socket:      \(connection.socketPath)
            config:
            """)
        let keys = s.config.keys.filter { !$0.hasSuffix(".from") }.sorted()
        let width = (keys.map(\.count).max() ?? 0) + 2
        for k in keys {
            let from = s.config[k + ".from"].map { "   (\($0))" } ?? ""
            print("  \((k + ":").padding(toLength: width, withPad: " ", startingAt: 0))\(s.config[k]!)\(from)")
        }
    }
}
