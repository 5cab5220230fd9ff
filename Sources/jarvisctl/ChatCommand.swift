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

    func validate() throws {
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

        // The id of the answer being written, for Ctrl-C to cancel.
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
            let body = Request.Body.ask(.init(question: question, maxTokens: maxTokens, temperature: temperature,
                                              session: name, resume: resume || !first ? true : nil))
            do {
                let id = try answering.withLock { id in
                    let sent = try c.send(body)
                    id = sent
                    return sent
                }
                defer { answering.withLock { $0 = nil } }
                try receiveAnswer(c, id: id)
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

    /// Prints the answer's tokens as they come, until its `done` or `error`.
    private func receiveAnswer(_ c: JarvisConnection, id: RequestID) throws {
        while true {
            let reply = try c.receive()
            if reply.id == nil, case .error(let e) = reply.event {
                throw ClientError(.server(e.code), e.message, protocolError: e)
            }
            guard reply.id == id else { continue }
            switch reply.event {
            case .token(let piece):
                say(piece)
            case .done:
                say("\n")
                return
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
