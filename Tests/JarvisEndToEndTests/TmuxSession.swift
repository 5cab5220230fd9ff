import Foundation
import XCTest

/// A program in a detached tmux session of its own tmux server (200×50), driven by send-keys and
/// read by capture-pane: how the tests type into the shells and `jarvisctl chat`. The server is
/// killed when the session goes away.
final class TmuxSession {
    let tmux: String
    let server = "jarvis-test-\(UUID().uuidString.prefix(8))"

    /// Starts `command` (a shell command line) with `environment` and the tests' programs first
    /// on PATH.
    init(tmux: String, command: String, environment: [String: String]) throws {
        self.tmux = tmux
        let path = Programs.directory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let env = environment.sorted { $0.key < $1.key }.flatMap { ["-e", "\($0.key)=\($0.value)"] }
        // The server that new-session starts outlives the command; tmux gives a new session its
        // own PATH, so env sets ours.
        XCTAssertEqual(try Programs.spawnDetached(tmux, ["-L", server, "-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "50"]
                                                    + env + ["/usr/bin/env PATH=\(path) " + command]), 0)
    }

    deinit { _ = try? run("kill-server") }

    @discardableResult
    func run(_ args: String...) throws -> Programs.Run { try Programs.run(tmux, ["-L", server] + args) }

    /// What the pane shows.
    func screen() throws -> String { try run("capture-pane", "-p", "-J").stdout }

    /// Waits (up to 120 s) until `predicate` holds for the screen; fails the test with the
    /// screen if it never does.
    func waitFor(_ what: String, _ predicate: (String) -> Bool) throws {
        let deadline = Date().addingTimeInterval(120)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if predicate(last) { return }
            usleep(50_000)
        }
        XCTFail("timed out waiting for \(what); the screen:\n\(last)")
        throw XCTSkip("gave up")
    }
}
