import Foundation
import JarvisProtocol
import XCTest

/// The editor and shell integrations in the real programs (Debian's neovim, bash and zsh
/// under tmux), against a real jarvisd with the shipped model.
final class IntegrationTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    func require(_ program: String) throws -> String {
        for dir in ["/usr/bin", "/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/" + program) {
            return dir + "/" + program
        }
        throw XCTSkip("\(program) is not installed (scripts/test installs it from Debian's packages)")
    }

    func testNeovimPlugin() throws {
        let nvim = try require("nvim")
        let d = try DaemonProcess(name: "nvim")
        try d.start()
        let script = Self.repository + "/Tests/JarvisEndToEndTests/Integrations/nvim_test.lua"
        let r = try Programs.run(nvim, ["--headless", "-u", "NONE", "-i", "NONE", "-n",
                                        "--cmd", "set rtp^=\(Self.repository)/integrations/nvim",
                                        "-c", "runtime! plugin/jarvis.lua", "-c", "luafile \(script)"],
                                 environment: ["JARVIS_SOCKET": d.socket])
        XCTAssertEqual(r.status, 0, "stdout:\n\(r.stdout)\nstderr:\n\(r.stderr)")
        XCTAssertTrue(r.stdout.contains("PASS"), r.stdout + r.stderr)
        XCTAssertEqual(d.stop(), 0)
    }

    func testBashWidgetAndCompletion() throws {
        try shellTest(shell: [try require("bash"), "--norc", "--noprofile", "-i"], prompt: "PS1='$ '",
                      source: "source \(Self.repository)/integrations/shell/jarvis.bash")
    }

    func testZshWidgetAndCompletion() throws {
        try shellTest(shell: [try require("zsh"), "-f", "-i"], prompt: "PROMPT='$ '",
                      source: "source \(Self.repository)/integrations/shell/jarvis.zsh")
    }

    /// In tmux: the key binding answers the typed line above the prompt and leaves the line
    /// as it was; Tab completes an entry name that only the daemon knows.
    func shellTest(shell: [String], prompt: String, source: String) throws {
        let tmuxPath = try require("tmux")
        let d = try DaemonProcess(name: "shell")
        try d.start()
        XCTAssertEqual(try d.ctl("remember", "--name", "Rexford", "My dog Rexford is a black labrador with a red collar.").status, 0)
        let session = try TmuxSession(tmux: tmuxPath, command: shell.joined(separator: " "), environment: ["JARVIS_SOCKET": d.socket, "HOME": d.directory])
        func tmux(_ args: String...) throws -> Programs.Run { try Programs.run(tmuxPath, ["-L", session.server] + args) }
        let waitFor = session.waitFor
        _ = try tmux("send-keys", "-t", "0", prompt, "Enter")
        _ = try tmux("send-keys", "-t", "0", source, "Enter")
        _ = try tmux("send-keys", "-t", "0", "clear", "Enter")
        try waitFor("a clean prompt") { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "$" }

        // The widget: type a question, press Ctrl-X j.
        let question = "What colour is the collar of Rexford?"
        _ = try tmux("send-keys", "-t", "0", "-l", question)
        _ = try tmux("send-keys", "-t", "0", "C-x", "j")
        try waitFor("the answer above the prompt, with the line intact") { s in
            let lines = s.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            guard let last = lines.last, last == "$ " + question || last == "$ \(question)" else { return false }
            return lines.dropLast().contains { $0.lowercased().contains("red") }
        }
        // The shell's questions are one chat session: a second one joins the same session.
        _ = try tmux("send-keys", "-t", "0", "C-x", "j")
        func shellSessions() throws -> [SessionInfo] {
            let r = try d.ctl("sessions", "--json")
            XCTAssertEqual(r.status, 0, r.stderr)
            return try JSONDecoder().decode([SessionInfo].self, from: Data(r.stdout.utf8))
        }
        try waitFor("the second question in the shell's session") { _ in (try? shellSessions().first?.turns) == 2 }
        let sessions = try shellSessions()
        XCTAssertEqual(sessions.count, 1)
        XCTAssertTrue(sessions.first?.name.hasPrefix("shell-") == true, "\(sessions)")

        // The line is still there: Enter would run it. Clear it instead.
        _ = try tmux("send-keys", "-t", "0", "C-u")
        _ = try tmux("send-keys", "-t", "0", "clear", "Enter")
        try waitFor("a clean prompt") { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "$" }

        // Completion of an entry name from the daemon.
        _ = try tmux("send-keys", "-t", "0", "-l", "jarvisctl show Rexf")
        _ = try tmux("send-keys", "-t", "0", "Tab")
        try waitFor("the completed name") { $0.contains("jarvisctl show Rexford") }
        _ = try tmux("send-keys", "-t", "0", "Enter")
        try waitFor("the entry shown") { $0.contains("labrador") }
        XCTAssertEqual(d.stop(), 0)
    }
}
