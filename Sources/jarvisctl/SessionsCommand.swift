import ArgumentParser
import JarvisProtocol

struct SessionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "List or forget chat sessions.",
        subcommands: [List.self, Forget.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List chat sessions, most recently used first.")

        @OptionGroup var connection: ConnectionOptions

        func run() throws {
            let c = try connection.connect()
            let sessions = try Failure.exitOnError { try SessionCompletion.sessions(c) }
            if connection.json { print(Output.json(sessions)); return }
            if sessions.isEmpty { print("No chat sessions yet. Start one with: jarvisctl chat"); return }
            print(Output.table(["NAME", "TURNS", "LAST USED", "IN MEMORY"], sessions.map { s in
                [s.name, String(s.turns), Output.date(s.updatedMs), s.live ? "yes" : "no"]
            }))
        }
    }

    struct Forget: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget a chat session: its turns and its KV. Entries stay.")

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "The session's name.", completion: .custom(SessionCompletion.names))
        var name: String

        func run() throws {
            let c = try connection.connect()
            let result = try Failure.exitOnError { try c.call(.forgetSession(.init(session: name))) }
            guard case .session(let s) = result else { return }
            if connection.json { print(Output.json(s)); return }
            print("Forgot session \(s.name) (\(s.turns) turn\(s.turns == 1 ? "" : "s")).")
        }
    }
}
