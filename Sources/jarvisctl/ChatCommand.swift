import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol
import Synchronization

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with Jarvis: a session that remembers its earlier turns.",
        discussion: """
            Each line you type is a question; the answer streams as it is written, and later \
            questions can refer to earlier turns. Lines are edited with libedit (arrows, \
            Ctrl-A/E, history with the up arrow, kept in $XDG_STATE_HOME/jarvis/chat_history). \
            Ctrl-C stops the answer being written and keeps the session; Ctrl-D ends it.

            A line that tells Jarvis something lasting ("remember that my locker is 40", "my \
            sister moved to Porto", "forget my locker number") is not answered: Jarvis proposes \
            the change to the memory it implies (a new memory, an update of the entry it \
            contradicts, or forgetting an entry) and makes it when you answer y. --yes makes \
            every proposed change without asking; --no-proposals treats every line as a question.

            The session is kept by jarvisd under its name (printed at the start) and can be \
            resumed with --session; `jarvisctl sessions` lists and forgets them.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("Resume this session (it must exist; `jarvisctl sessions` lists them).", valueName: "name"),
            completion: .custom(SessionCompletion.names))
    var session: String?

    @Option(help: ArgumentHelp("Start a new session with this name.", valueName: "name"))
    var new: String?

    @Option(help: "Stop each answer after this many tokens.")
    var maxTokens: Int?

    @Option(help: "Sampling temperature; 0 (default) answers the same way every time.")
    var temperature: Double?

    @Flag(help: "Keep no line history on disk.")
    var noHistory = false

    @Flag(help: "Make the memory changes Jarvis proposes without asking (for scripts).")
    var yes = false

    @Flag(help: "Propose no memory changes: every line is a question.")
    var noProposals = false

    func validate() throws {
        if connection.json {
            throw ValidationError("chat is interactive and prints no JSON: for scripts, `jarvisctl ask --session NAME --json` asks within a session")
        }
        if yes, noProposals { throw ValidationError("--yes makes proposed changes and --no-proposals proposes none: give one of them") }
        if session != nil, new != nil { throw ValidationError("--session resumes a session and --new starts one: give one of them") }
        if let maxTokens, maxTokens <= 0 { throw ValidationError("--max-tokens must be positive") }
    }

    func run() throws {
        let c = try connection.connect()
        let name: String, resume: Bool
        if let session {
            let known = try Failure.exitOnError { try SessionCompletion.sessions(c) }
            guard let s = known.first(where: { $0.name == session }) else {
                Failure.printError("jarvisctl: no chat session named \"\(session)\" (jarvisctl sessions lists them) [unknown_session]")
                throw ExitCode(2)
            }
            say("jarvis: resuming session \(s.name), \(s.turns) earlier turn\(s.turns == 1 ? "" : "s"). Ctrl-C stops an answer, Ctrl-D ends.\n")
            (name, resume) = (session, true)
        } else {
            name = new ?? Self.newName()
            if let new, try Failure.exitOnError({ try SessionCompletion.sessions(c) }).contains(where: { $0.name == new }) {
                Failure.printError("jarvisctl: a session named \"\(new)\" exists already: resume it with --session \(new)")
                throw ExitCode(64)
            }
            say("jarvis: session \(name). Ctrl-C stops an answer, Ctrl-D ends.\n")
            resume = false
        }

        // The request in flight (a proposal or an answer), for Ctrl-C to cancel.
        let answering = Mutex<RequestID?>(nil)
        let link = UncheckedConnection(c)
        _ = InterruptRelay {
            answering.withLock { id in
                guard let id else { return }
                _ = try? link.connection.send(.cancel(.init(target: id)), id: .string("cancel-\(id)"))
            }
        }
        let editor = LineEditor(historyFile: noHistory ? nil : LineEditor.defaultHistoryFile())
        defer { editor.save() }
        var first = true
        while let line = editor.readLine(prompt: "you> ") {
            let question = line.trimmingCharacters(in: .whitespaces)
            if question.isEmpty { continue }
            /// Sends a request that Ctrl-C can cancel, and reads its replies.
            func exchange(_ body: Request.Body) throws -> Reply.Result {
                let id = try answering.withLock { id in
                    let sent = try c.send(body)
                    id = sent
                    return sent
                }
                defer { answering.withLock { $0 = nil } }
                return try receive(c, id: id)
            }
            do {
                if !noProposals, case .proposal(let p?) = try exchange(.propose(.init(text: question))) {
                    try settle(p, editor: editor, exchange: exchange)
                    continue
                }
                _ = try exchange(.ask(.init(question: question, maxTokens: maxTokens, temperature: temperature,
                                            session: name, resume: resume || !first ? true : nil)))
                first = false
            } catch let e as ClientError {
                if case .server(.cancelled) = e.code {
                    say("\n[stopped]\n")
                } else if case .server(let code) = e.code, code != .shuttingDown {
                    // The session goes on after an error about one question.
                    say("\n")
                    Failure.printError(Failure.message(for: e))
                } else {
                    say("\n")
                    Failure.printError(Failure.message(for: e))
                    throw ExitCode(Failure.exitStatus(for: e))
                }
            }
        }
        say("\n")
    }

    /// Shows a proposed memory change, asks for a yes (unless --yes) and makes the change.
    private func settle(_ p: Proposal, editor: LineEditor, exchange: (Request.Body) throws -> Reply.Result) throws {
        let question: String, change: Request.Body
        let old = p.entry.map { "entry \($0.id) (“\(Self.oneLine($0.text))”)" } ?? "?"
        switch p.action {
        case .add:
            question = "remember “\(p.text ?? "")”?"
            change = .remember(.init(text: p.text ?? ""))
        case .update:
            question = "this changes \(old) to “\(p.text ?? "")” — update it?"
            change = .update(.init(entry: String(p.entry?.id ?? 0), text: p.text ?? ""))
        case .forget:
            question = "forget \(old)?"
            change = .forget(.init(entry: String(p.entry?.id ?? 0)))
        }
        if yes {
            say("jarvis: \(question) yes (--yes)\n")
        } else {
            // The question is written before the prompt: libedit's prompt takes only what the
            // locale's multibyte conversion accepts, and an entry's text can hold anything.
            say("jarvis: \(question) ")
            let reply = editor.readLine(prompt: "[y/N] ", keepInHistory: false) ?? ""
            guard ["y", "yes"].contains(reply.trimmingCharacters(in: .whitespaces).lowercased()) else {
                say("jarvis: nothing changed.\n")
                return
            }
        }
        switch try exchange(change) {
        case .entries(let stored, _, _): say("jarvis: remembered as entry \(stored.map { String($0.id) }.joined(separator: ", ")).\n")
        case .entry(let e) where p.action == .update: say("jarvis: entry \(e.id) updated.\n")
        case .entry(let e): say("jarvis: entry \(e.id) forgotten.\n")
        default: break
        }
    }

    /// An entry's text on one line, cut at 80 characters, for a question about it.
    static func oneLine(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 80 ? String(flat.prefix(79)) + "…" : flat
    }

    /// Reads a request's replies until its `done` (returning the result) or `error`, printing
    /// an answer's tokens as they come.
    private func receive(_ c: JarvisConnection, id: RequestID) throws -> Reply.Result {
        while true {
            let reply = try c.receive()
            if reply.id == nil, case .error(let e) = reply.event {
                throw ClientError(.server(e.code), e.message, protocolError: e)
            }
            guard reply.id == id else { continue }
            switch reply.event {
            case .token(let piece):
                say(piece)
            case .done(let result):
                if case .ask = result { say("\n") }
                return result
            case .error(let e):
                throw ClientError(.server(e.code), e.message, protocolError: e)
            case .progress:
                break
            }
        }
    }

    /// Writes to standard output at once (answers stream; nothing waits in a buffer).
    private func say(_ s: String) { FileHandle.standardOutput.write(Data(s.utf8)) }

    /// "chat-20261201-151200", from the local time.
    static func newName() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "chat-" + f.string(from: Date())
    }
}

/// Lets the interrupt thread send on the connection the main thread reads from. Safe because
/// the main thread does not send while an answer is being received, and the interrupt thread
/// sends only then (under `answering`'s lock).
struct UncheckedConnection: @unchecked Sendable {
    let connection: JarvisConnection
    init(_ connection: JarvisConnection) { self.connection = connection }
}
