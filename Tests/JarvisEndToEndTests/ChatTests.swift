import Foundation
import JarvisClient
import JarvisProtocol
import XCTest

/// Chat sessions against the real jarvisd with the shipped model: history kept across turns
/// and across a restart, the errors for unknown sessions, and `jarvisctl chat` under tmux.
final class ChatTests: XCTestCase {
    static func require(_ program: String) throws -> String {
        guard let path = ["/usr/bin", "/bin"].map({ $0 + "/" + program }).first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("\(program) is not installed (scripts/test installs it from Debian's packages)")
        }
        return path
    }

    func connect(_ d: DaemonProcess) throws -> JarvisConnection {
        let c = try JarvisConnection(socketPath: d.socket)
        _ = try c.hello(client: "chat-tests")
        return c
    }

    func ask(_ c: JarvisConnection, _ question: String, session: String, resume: Bool? = nil) throws -> AskResult {
        var streamed = ""
        guard case .ask(let a) = try c.call(.ask(.init(question: question, maxTokens: 24, session: session, resume: resume)),
                                             onEvent: { if case .token(let t) = $0 { streamed += t } }) else {
            XCTFail("ask answered with something else")
            throw XCTSkip("unexpected result")
        }
        XCTAssertEqual(streamed.trimmingCharacters(in: .whitespacesAndNewlines), a.answer, "the answer streams as token events")
        return a
    }

    func sessions(_ c: JarvisConnection) throws -> [SessionInfo] {
        guard case .sessions(let s) = try c.call(.sessions) else {
            XCTFail("sessions answered with something else")
            throw XCTSkip("unexpected result")
        }
        return s
    }

    func serverError(_ body: () throws -> Void) -> ProtocolError.Code? {
        do { try body() } catch let e as ClientError { if case .server(let code) = e.code { return code } } catch {}
        return nil
    }

    /// A follow-up rests on the earlier turns' KV (history_tokens grows turn by turn), even
    /// when nothing remembered is about it; the session survives a restart, prefilled again.
    func testFollowUpsUseTheHistoryAndSurviveARestart() throws {
        let d = try DaemonProcess(name: "chat")
        try d.start()
        var c = try connect(d)

        // Nothing is remembered: the first turn gets the fixed reply, and still joins the history.
        let first = try ask(c, "My sister is called Ana.", session: "family")
        XCTAssertTrue(first.nothingRemembered)
        XCTAssertEqual(first.session, "family")
        XCTAssertEqual(first.historyTokens, 0)

        // The follow-up has no entry behind it either, but the conversation answers it.
        let second = try ask(c, "What is my sister called?", session: "family")
        XCTAssertFalse(second.nothingRemembered, second.answer)
        XCTAssertEqual(second.entries, [])
        XCTAssertGreaterThan(second.tokens, 0)
        let afterOne = try XCTUnwrap(second.historyTokens)
        XCTAssertGreaterThan(afterOne, 10, "the first turn's prompt and reply are in the history")

        // With an entry remembered, a turn attends to it and to the history.
        XCTAssertEqual(try d.ctl("remember", "My sister Ana lives in Porto and works at a bookshop.").status, 0)
        let third = try ask(c, "Where does my sister Ana live?", session: "family")
        XCTAssertEqual(third.entries.count, 1)
        let afterTwo = try XCTUnwrap(third.historyTokens)
        XCTAssertGreaterThan(afterTwo, afterOne + second.tokens, "the second turn's question and answer joined the history")

        // A question outside the session does not touch it.
        guard case .ask(let plain) = try c.call(.ask(.init(question: "Where does my sister Ana live?", maxTokens: 8))) else { return XCTFail() }
        XCTAssertNil(plain.session)
        XCTAssertNil(plain.historyTokens)

        var listed = try sessions(c)
        XCTAssertEqual(listed.map(\.name), ["family"])
        XCTAssertEqual(listed.first?.turns, 3)
        XCTAssertEqual(listed.first?.live, true)

        // Restart: the turns come back from the store; the next turn prefills them once.
        XCTAssertEqual(d.stop(), 0)
        let d2 = try DaemonProcess(name: "chat2", reusing: d)
        try d2.start()
        c = try connect(d2)
        listed = try sessions(c)
        XCTAssertEqual(listed.first?.turns, 3)
        XCTAssertEqual(listed.first?.live, false)
        let resumed = try ask(c, "And where does she work?", session: "family", resume: true)
        XCTAssertGreaterThan(try XCTUnwrap(resumed.historyTokens), afterTwo, "all three earlier turns are in the history again")
        XCTAssertEqual(try sessions(c).first?.turns, 4)
        XCTAssertEqual(try sessions(c).first?.live, true)

        // Unknown sessions: a clear code from the daemon, and from jarvisctl its status 2.
        XCTAssertEqual(serverError { _ = try ask(c, "Hello?", session: "nope", resume: true) }, .unknownSession)
        XCTAssertEqual(serverError { _ = try c.call(.forgetSession(.init(session: "nope"))) }, .unknownSession)
        XCTAssertEqual(serverError { _ = try ask(c, "Hello?", session: "no spaces please") }, .badRequest)
        // A turn that could take a session past its cap of 2048 tokens of history.
        XCTAssertEqual(serverError { _ = try c.call(.ask(.init(question: "Tell me everything.", maxTokens: 4000, session: "family", resume: true))) },
                       .sessionFull)
        XCTAssertEqual(try sessions(c).first { $0.name == "family" }?.turns, 4, "the refused turn changed nothing")
        var r = try d2.ctl("chat", "--session", "nope")
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("unknown_session"), r.stderr)
        r = try d2.ctl("sessions", "forget", "nope")
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("[unknown_session]"), r.stderr)
        XCTAssertTrue(try sessions(c).allSatisfy { $0.name != "nope" }, "a failed resume starts no session")

        // jarvisctl sessions, then forget.
        r = try d2.ctl("sessions")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("family"), r.stdout)
        r = try d2.ctl("sessions", "forget", "family")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try sessions(c).count, 0)
        XCTAssertEqual(try d2.ctl("list", "--json").stdout.contains("bookshop"), true, "entries stay")
        XCTAssertEqual(d2.stop(), 0)
    }

    /// `jarvisctl chat` in a terminal: answers stream, Ctrl-C stops an answer and the session
    /// goes on, Ctrl-D ends it; the session is then listed with the turns that finished.
    func testChatInATerminal() throws {
        let tmuxPath = try Self.require("tmux")
        let bash = try Self.require("bash")
        let d = try DaemonProcess(name: "tmuxchat")
        try d.start()
        XCTAssertEqual(try d.ctl("remember", "My dog Rexford is a black labrador with a red collar.").status, 0)
        let session = try TmuxSession(tmux: tmuxPath, command: "\(bash) --norc --noprofile -i", environment: ["JARVIS_SOCKET": d.socket, "HOME": d.directory])
        func tmux(_ args: String...) throws -> Programs.Run { try Programs.run(tmuxPath, ["-L", session.server] + args) }
        let waitFor = session.waitFor
        _ = try tmux("send-keys", "-t", "0", "PS1='$ '", "Enter")
        _ = try tmux("send-keys", "-t", "0", "clear", "Enter")
        try waitFor("a clean prompt") { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "$" }

        _ = try tmux("send-keys", "-t", "0", "jarvisctl chat --new walks --max-tokens 1500", "Enter")
        try waitFor("the chat's prompt") { s in
            s.contains("session walks") && s.split(separator: "\n").last?.hasPrefix("you>") == true
        }

        // A question, typed and edited with libedit: Ctrl-A goes to the start of the line.
        _ = try tmux("send-keys", "-t", "0", "-l", "colour is the collar of Rexford?")
        _ = try tmux("send-keys", "-t", "0", "C-a")
        _ = try tmux("send-keys", "-t", "0", "-l", "What ")
        _ = try tmux("send-keys", "-t", "0", "Enter")
        try waitFor("the answer and a new prompt") { s in
            let l = s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return l.count >= 3 && l.last?.hasPrefix("you>") == true && l.contains("you> What colour is the collar of Rexford?")
                && l.contains { $0.lowercased().contains("red") }
        }

        // Ctrl-C stops an answer: this one waits behind a long remember on the daemon's one
        // inference queue, so it is surely not finished when Ctrl-C comes.
        let notes = (1...40).map { "Note \($0): the blue box number \($0 * 7) sits on shelf \($0 % 5) next to the lamp." }.joined(separator: "\n\n")
        let file = d.directory + "/notes.md"
        try notes.write(toFile: file, atomically: true, encoding: .utf8)
        let remember = Process()
        remember.executableURL = URL(fileURLWithPath: try Programs.path("jarvisctl"))
        remember.arguments = ["remember", "--socket", d.socket, file]
        remember.standardOutput = FileHandle.nullDevice
        try remember.run()
        defer { if remember.isRunning { remember.terminate() }; remember.waitUntilExit() }
        try waitFor("the remember to be queued") { _ in
            guard let r = try? d.ctl("status", "--json"), let s = try? JSONDecoder().decode(StatusResult.self, from: Data(r.stdout.utf8)) else { return false }
            return s.queueDepth > 0
        }
        _ = try tmux("send-keys", "-t", "0", "-l", "Where is the blue box number 21?")
        _ = try tmux("send-keys", "-t", "0", "Enter")
        try waitFor("the question sent") { s in
            s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.last == "you> Where is the blue box number 21?"
        }
        _ = try tmux("send-keys", "-t", "0", "C-c")
        try waitFor("the answer stopped, and the session still there") { s in
            let l = s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            return l.contains("[stopped]") && l.last?.hasPrefix("you>") == true
        }

        // The session goes on.
        _ = try tmux("send-keys", "-t", "0", "-l", "Is Rexford a labrador?")
        _ = try tmux("send-keys", "-t", "0", "Enter")
        try waitFor("the third answer") { s in
            let l = s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard let i = l.lastIndex(of: "you> Is Rexford a labrador?") else { return false }
            return i < l.count - 2 && l.last?.hasPrefix("you>") == true
        }

        // Ctrl-D ends the chat; the shell's prompt is back.
        _ = try tmux("send-keys", "-t", "0", "C-d")
        try waitFor("the shell") { $0.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) == "$" } ?? false }

        let r = try d.ctl("sessions", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let listed = try JSONDecoder().decode([SessionInfo].self, from: Data(r.stdout.utf8))
        XCTAssertEqual(listed.map(\.name), ["walks"])
        XCTAssertEqual(listed.first?.turns, 2, "the stopped answer is not a turn")
        XCTAssertEqual(d.stop(), 0)
    }

    /// Memories from conversation in a terminal: a lasting statement is proposed as a new
    /// memory, one that contradicts an entry as its update, a request to forget as forgetting;
    /// each is made only after y, and n changes nothing. Questions are answered as before.
    func testMemoriesFromConversationInATerminal() throws {
        let tmuxPath = try Self.require("tmux")
        let bash = try Self.require("bash")
        let d = try DaemonProcess(name: "tmuxlearn")
        try d.start()
        XCTAssertEqual(try d.ctl("remember", "--name", "locker", "My gym locker is number 17.").status, 0)
        let session = try TmuxSession(tmux: tmuxPath, command: "\(bash) --norc --noprofile -i", environment: ["JARVIS_SOCKET": d.socket, "HOME": d.directory])
        func tmux(_ args: String...) throws -> Programs.Run { try Programs.run(tmuxPath, ["-L", session.server] + args) }
        func type(_ text: String) throws {
            _ = try tmux("send-keys", "-t", "0", "-l", text)
            _ = try tmux("send-keys", "-t", "0", "Enter")
        }
        func lastLine(_ s: String) -> String {
            s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.last ?? ""
        }
        func entries() throws -> [EntryInfo] {
            try JSONDecoder().decode([EntryInfo].self, from: Data(try d.ctl("list", "--json").stdout.utf8))
        }
        let waitFor = session.waitFor
        _ = try tmux("send-keys", "-t", "0", "PS1='$ '", "Enter")
        try type("jarvisctl chat --new learn --max-tokens 24")
        try waitFor("the chat's prompt") { lastLine($0).hasPrefix("you>") }

        // A new memory, verbatim from the line.
        try type("Remember that my passport expires on 4 June 2029.")
        try waitFor("the proposal to remember") { lastLine($0) == "jarvis: remember “my passport expires on 4 June 2029.”? [y/N]" }
        try type("y")
        try waitFor("the memory stored") { $0.contains("jarvis: remembered as entry") && lastLine($0).hasPrefix("you>") }
        XCTAssertEqual(try entries().map(\.text).sorted(), ["My gym locker is number 17.", "my passport expires on 4 June 2029."])

        // A line that contradicts an entry: its update, declined, then accepted.
        try type("my locker is 40 now")
        let update = "jarvis: this changes entry 1 (“My gym locker is number 17.”) to “my locker is 40 now” — update it? [y/N]"
        try waitFor("the proposal to update") { lastLine($0) == update }
        try type("n")
        try waitFor("nothing changed") { $0.contains("jarvis: nothing changed.") && lastLine($0).hasPrefix("you>") }
        XCTAssertEqual(try d.ctl("show", "locker", "--json").stdout.contains("number 17"), true)
        try type("my locker is 40 now")
        try waitFor("the proposal to update, again") { lastLine($0) == update }
        try type("y")
        try waitFor("the entry updated") { $0.contains("jarvis: entry 1 updated.") && lastLine($0).hasPrefix("you>") }
        let locker = try JSONDecoder().decode(EntryInfo.self, from: Data(try d.ctl("show", "locker", "--json").stdout.utf8))
        XCTAssertEqual(locker.text, "my locker is 40 now")
        XCTAssertEqual(locker.id, 1, "updated in place: same id, same name")

        // A question is answered, not proposed: the session gets a turn.
        try type("What is my locker number?")
        try waitFor("the answer") { s in
            let l = s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard let i = l.lastIndex(of: "you> What is my locker number?") else { return false }
            return i < l.count - 2 && l.last?.hasPrefix("you>") == true
        }

        // Forgetting.
        try type("forget my locker number")
        try waitFor("the proposal to forget") { lastLine($0) == "jarvis: forget entry 1 (“my locker is 40 now”)? [y/N]" }
        try type("yes")
        try waitFor("the entry forgotten") { $0.contains("jarvis: entry 1 forgotten.") && lastLine($0).hasPrefix("you>") }
        XCTAssertEqual(try entries().map(\.text), ["my passport expires on 4 June 2029."])
        _ = try tmux("send-keys", "-t", "0", "C-d")
        try waitFor("the shell") { lastLine($0) == "$" }
        let listed = try JSONDecoder().decode([SessionInfo].self, from: Data(try d.ctl("sessions", "--json").stdout.utf8))
        XCTAssertEqual(listed.first?.turns, 1, "only the question was a turn")

        // For scripts: --yes makes the changes without asking; --json is refused.
        let r = try d.ctl("chat", "--yes", "--new", "script", input: "I now drive a red Mazda 3.\nI sold my car.\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("jarvis: remember “I now drive a red Mazda 3.”? yes (--yes)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("jarvis: forget entry"), r.stdout)
        XCTAssertEqual(try entries().map(\.text), ["my passport expires on 4 June 2029."], "remembered, then forgotten")
        let json = try d.ctl("chat", "--json")
        XCTAssertEqual(json.status, 64, json.stderr)
        XCTAssertTrue(json.stderr.contains("ask --session"), json.stderr)
        XCTAssertEqual(d.stop(), 0)
    }
}
