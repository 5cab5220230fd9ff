import Foundation
import JarvisClient
import JarvisProtocol
import XCTest

/// jarvisd started the way systemd starts it from jarvisd.socket, with
/// `systemd-socket-activate` holding the socket and a test-owned NOTIFY_SOCKET.
final class SocketActivationTests: XCTestCase {
    func testTheFirstConnectionStartsTheDaemonWhichAnswersIt() throws {
        let activate = "/usr/bin/systemd-socket-activate"
        guard FileManager.default.isExecutableFile(atPath: activate) else {
            throw XCTSkip("systemd-socket-activate is missing (scripts/setup installs Debian's systemd package)")
        }
        let jarvisd = try Programs.path("jarvisd")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-activate-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/jarvisd.sock"
        let notify = try NotifyListener(path: dir + "/notify.sock")

        let p = Process()
        p.executableURL = URL(fileURLWithPath: activate)
        let env = ProcessInfo.processInfo.environment
        var pass = ["NOTIFY_SOCKET=\(notify.path)", "JARVIS_STORE=\(dir)/store", "WATCHDOG_USEC=400000",
                    "JARVIS_MODELS=\(env["JARVIS_MODELS"] ?? ((env["XDG_DATA_HOME"] ?? (env["HOME"] ?? NSHomeDirectory()) + "/.local/share") + "/jarvis/models"))"]
        for key in ["HOME", "PATH"] where env[key] != nil { pass.append("\(key)=\(env[key]!)") }
        p.arguments = ["--listen=\(socket)"] + pass.flatMap { ["-E", $0] } + [jarvisd, "--log-level", "info"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        // The activator says when it listens.
        var said = ""
        while !said.contains("Listening on") {
            let chunk = err.fileHandleForReading.availableData
            guard !chunk.isEmpty else { return XCTFail("systemd-socket-activate ended: \(said)") }
            said += String(decoding: chunk, as: UTF8.self)
        }
        // Nothing has started jarvisd yet: no client has come.
        XCTAssertNil(notify.next(timeout: 0.2), "jarvisd must not start before the first connection")

        // The first client: its connection starts jarvisd, and the same connection is answered.
        let c = try JarvisConnection(socketPath: socket)
        let hello = try c.hello(client: "activation-test")
        XCTAssertEqual(hello.protocol, ProtocolCodec.version)
        guard case .status(let status) = try c.call(.status) else { return XCTFail("status") }
        XCTAssertEqual(status.config["store"], dir + "/store")
        // READY=1 was sent before the first answer: it is already waiting in the notify socket,
        // after the loading STATUS= lines.
        var messages: [String] = []
        while let m = notify.next(timeout: 0) { messages.append(m) }
        let ready = messages.firstIndex { $0.contains("READY=1") }
        XCTAssertNotNil(ready, "\(messages)")
        if let ready {
            XCTAssertTrue(messages[..<ready].contains { $0.contains("STATUS=loading") }, "\(messages)")
        }
        // The watchdog pings at half of WATCHDOG_USEC.
        if !messages.contains(where: { $0.contains("WATCHDOG=1") }) {
            XCTAssertNotNil(notify.wait(for: "WATCHDOG=1", timeout: 5), "no watchdog ping")
        }
        // A second client is served by the running daemon.
        XCTAssertEqual(try JarvisConnection(socketPath: socket).hello(client: "second").server, hello.server)

        kill(p.processIdentifier, SIGTERM)
        XCTAssertNotNil(notify.wait(for: "STOPPING=1", timeout: 10))
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
    }
}
