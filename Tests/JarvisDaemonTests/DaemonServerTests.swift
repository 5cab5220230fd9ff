import Foundation
import JarvisClient
import JarvisProtocol
import Logging
import ServiceLifecycle
import Synchronization
import XCTest
@testable import JarvisDaemon

/// A handler beside the server under test: `ask` streams numbered tokens until cancelled or
/// `limit` is reached, each after a short stretch of simulated work; it reports how each
/// generation ended.
final class ScriptedHandler: RequestHandler {
    let ended = Mutex<[(question: String, tokens: Int, reason: CancellationToken.Reason?)]>([])
    let endedSignal = DispatchSemaphore(value: 0)
    /// Every `remember` request, as received.
    let remembered = Mutex<[Request.Remember]>([])

    func handle(_ body: Request.Body, token: CancellationToken,
                emit: @escaping @Sendable (Reply.Event) -> Void) async throws -> Reply.Result {
        switch body {
        case .hello(let h):
            guard h.protocol == ProtocolCodec.version else { throw DaemonError(.unsupportedProtocol, "speaks 1") }
            return .hello(HelloResult(protocol: 1, server: "scripted", model: "none", fingerprint: "0"))
        case .status:
            return .status(StatusResult(model: "none", entries: 0, storeBytes: 0, queueDepth: 0, uptimeS: 0, tokensPerS: 0, config: [:]))
        case .ask(let a):
            let limit = a.maxTokens ?? 3
            var n = 0
            defer { ended.withLock { $0.append((a.question, n, token.reason)) }; endedSignal.signal() }
            while n < limit {
                if token.isCancelled { throw DaemonError(.cancelled, "stopped") }
                emit(.token("t\(n) "))
                n += 1
                try await Task.sleep(for: .milliseconds(2))
            }
            return .ask(AskResult(answer: a.question.uppercased(), entries: [], ttftMs: 0, tokens: n))
        case .show(let r):
            throw DaemonError(.notFound, "no entry \(r.entry)")
        case .remember(let r):
            remembered.withLock { $0.append(r) }
            return .entries([EntryInfo(id: 1, name: r.name, aliases: r.aliases ?? [], kind: r.kind?.rawValue ?? "note", createdMs: 0,
                                       tokens: 1, text: r.text ?? "", metadata: r.metadata ?? [:])], next: nil)
        default:
            throw DaemonError(.internalError, "not scripted")
        }
    }
}

final class DaemonServerTests: XCTestCase {
    var dir: String!
    var socket: String { dir + "/run/jarvisd.sock" }
    var handler: ScriptedHandler!
    var group: ServiceGroup!
    var serverTask: Task<Void, Error>!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-server-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        handler = ScriptedHandler()
        let listening = DispatchSemaphore(value: 0)
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let server = DaemonServer(handler: handler, listener: .path(socket), logger: logger, maxFrame: 4096,
                                  onListening: { listening.signal() })
        group = ServiceGroup(services: [server], logger: logger)
        let g = group!
        serverTask = Task { try await g.run() }
        XCTAssertEqual(listening.wait(timeout: .now() + 30), .success, "the server did not start listening")
    }

    override func tearDown() async throws {
        await group.triggerGracefulShutdown()
        _ = try? await serverTask.value
        try? FileManager.default.removeItem(atPath: dir)
    }

    func connect() throws -> JarvisConnection { try JarvisConnection(socketPath: socket) }

    func testSocketIsPrivate() throws {
        var st = stat()
        XCTAssertEqual(stat(socket, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(stat(dir + "/run", &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
    }

    func testHelloAndStreamedAnswer() throws {
        let c = try connect()
        XCTAssertEqual(try c.hello(client: "test").server, "scripted")
        var pieces: [String] = []
        let result = try c.call(.ask(.init(question: "hi", maxTokens: 3))) { if case .token(let t) = $0 { pieces.append(t) } }
        XCTAssertEqual(pieces, ["t0 ", "t1 ", "t2 "])
        XCTAssertEqual(result, .ask(AskResult(answer: "HI", entries: [], ttftMs: 0, tokens: 3)))
    }

    func testWrongProtocolVersionIsRefused() throws {
        let c = try connect()
        XCTAssertThrowsError(try c.call(.hello(.init(protocol: 99)))) { e in
            XCTAssertEqual((e as? ClientError)?.code, .server(.unsupportedProtocol))
        }
    }

    func testErrorsKeepTheConnectionOpen() throws {
        let c = try connect()
        try c.write(try Framing.frame(Array(#"{"id": 1, "op": "fly"}"#.utf8)))
        let unknown = try c.receive()
        XCTAssertEqual(unknown.id, .number(1))
        guard case .error(let u) = unknown.event else { return XCTFail("expected an error") }
        XCTAssertEqual(u.code, .unknownOp)
        try c.write(try Framing.frame(Array("not json".utf8)))
        guard case .error(let e) = try c.receive().event else { return XCTFail("expected an error") }
        XCTAssertEqual(e.code, .badJSON)
        try c.write([0, 0, 0, 0])
        guard case .error(let z) = try c.receive().event else { return XCTFail("expected an error") }
        XCTAssertEqual(z.code, .badJSON)
        XCTAssertThrowsError(try c.call(.show(.init(entry: "x")))) { e in
            XCTAssertEqual((e as? ClientError)?.code, .server(.notFound))
        }
        // Still serving this connection.
        XCTAssertEqual(try c.hello(client: "test").protocol, 1)
    }

    func testOversizedFrameIsReportedThenTheConnectionCloses() throws {
        let c = try connect()
        try c.write([0xFF, 0xFF, 0xFF, 0xFF])
        let reply = try c.receive()
        XCTAssertNil(reply.id)
        guard case .error(let e) = reply.event else { return XCTFail("expected an error") }
        XCTAssertEqual(e.code, .frameTooLarge)
        XCTAssertNil(try c.receiveFrame(), "the server should close a connection whose framing broke")
        // Others are still served.
        XCTAssertEqual(try connect().hello(client: "test").protocol, 1)
    }

    func testCancelStopsTheGenerationAtTheNextToken() throws {
        let c = try connect()
        let id = try c.send(.ask(.init(question: "long", maxTokens: 100_000)))
        guard case .token = try c.receive().event else { return XCTFail("expected a token first") }
        let cancelID = try c.send(.cancel(.init(target: id)))
        var sawCancelDone = false, sawCancelled = false
        while !(sawCancelDone && sawCancelled) {
            let r = try c.receive()
            if r.id == cancelID { XCTAssertEqual(r.event, .done(.cancel(cancelled: true))); sawCancelDone = true }
            if r.id == id, case .error(let e) = r.event { XCTAssertEqual(e.code, .cancelled); sawCancelled = true }
        }
        let ended = handler.ended.withLock { $0 }
        XCTAssertEqual(ended.count, 1)
        XCTAssertEqual(ended.first?.reason, .request)
        XCTAssertLessThan(ended.first?.tokens ?? .max, 100_000)
        // Cancelling it again: nothing of that id runs any more.
        XCTAssertThrowsError(try c.call(.cancel(.init(target: id)))) { e in
            XCTAssertEqual((e as? ClientError)?.code, .server(.notFound))
        }
    }

    func testAClientThatLeavesCancelsItsGeneration() throws {
        var c: JarvisConnection? = try connect()
        _ = try c!.send(.ask(.init(question: "abandoned", maxTokens: 100_000)))
        guard case .token = try c!.receive().event else { return XCTFail("expected a token first") }
        c = nil  // closes the socket
        XCTAssertEqual(handler.endedSignal.wait(timeout: .now() + 30), .success, "the generation did not stop")
        XCTAssertEqual(handler.ended.withLock { $0.first?.reason }, .clientLeft)
    }

    func testManyConcurrentClientsGetTheirOwnReplies() throws {
        let failures = Locked<[String]>([])
        let socket = self.socket
        DispatchQueue.concurrentPerform(iterations: 24) { i in
            do {
                let c = try JarvisConnection(socketPath: socket)
                for j in 0..<5 {
                    let q = "client \(i) question \(j)"
                    guard case .ask(let a) = try c.call(.ask(.init(question: q, maxTokens: 2))), a.answer == q.uppercased() else {
                        failures.withLock { $0.append("client \(i): wrong answer to \(q)") }
                        return
                    }
                }
            } catch {
                failures.withLock { $0.append("client \(i): \(error)") }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
    }

    func testPipelinedRequestsAreAnsweredByID() throws {
        let c = try connect()
        let a = try c.send(.ask(.init(question: "first", maxTokens: 5)))
        let b = try c.send(.status)
        var done: [RequestID: Reply.Result] = [:]
        while done.count < 2 {
            let r = try c.receive()
            if case .done(let result) = r.event, let id = r.id { done[id] = result }
        }
        guard case .ask(let answer)? = done[a] else { return XCTFail("no answer for the ask") }
        XCTAssertEqual(answer.answer, "FIRST")
        guard case .status? = done[b] else { return XCTFail("no status") }
    }

    func testShutdownCancelsWorkAndClosesConnections() async throws {
        let c = try connect()
        let id = try c.send(.ask(.init(question: "interrupted", maxTokens: 100_000)))
        guard case .token = try c.receive().event else { return XCTFail("expected a token first") }
        await group.triggerGracefulShutdown()
        var final: Reply?
        while final == nil {
            let r = try c.receive()
            if r.id == id, r.isFinal { final = r }
        }
        guard case .error(let e) = final!.event else { return XCTFail("expected the ask to be cancelled") }
        XCTAssertEqual(e.code, .cancelled)
        XCTAssertTrue(e.message.contains("shutting down"), e.message)
        XCTAssertNil(try c.receiveFrame(), "the connection should close")
        try await serverTask.value
        XCTAssertThrowsError(try connect()) { e in XCTAssertEqual((e as? ClientError)?.code, .notRunning) }
    }

    /// The jarvisctl built beside the tests.
    func jarvisctl() throws -> String {
        let path = "/" + ProcessInfo.processInfo.arguments[0].split(separator: "/").dropLast().joined(separator: "/") + "/jarvisctl"
        guard FileManager.default.isExecutableFile(atPath: path) else { throw XCTSkip("needs the jarvisctl binary beside the tests") }
        return path
    }

    /// A text file goes inline when its request fits in a frame, else by path; either way with
    /// its aliases and metadata.
    func testRememberSendsATextThatDoesNotFitByPathWithItsMetadata() throws {
        let small = dir + "/small.md", large = dir + "/large.md"
        try "Rex has a red collar.".write(toFile: small, atomically: true, encoding: .utf8)
        // Under the frame limit on disk, over it once each newline is escaped.
        try String(repeating: "\n", count: Framing.defaultMaxFrame * 3 / 4).write(toFile: large, atomically: true, encoding: .utf8)
        for file in [small, large] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try jarvisctl())
            p.arguments = ["remember", "--socket", socket, "--alias", "Rexie", "--category", "pet", "--note", "from the vet", file]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = Pipe()
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        let sent = handler.remembered.withLock { $0 }
        XCTAssertEqual(sent.count, 2)
        XCTAssertEqual(sent.first?.text, "Rex has a red collar.")
        XCTAssertNil(sent.first?.path)
        XCTAssertNil(sent.last?.text)
        XCTAssertEqual(sent.last?.path, large)
        for r in sent {
            XCTAssertEqual(r.kind, .file)
            XCTAssertEqual(r.aliases, ["Rexie"])
            XCTAssertEqual(r.metadata?["category"], "pet")
            XCTAssertEqual(r.metadata?["note"], "from the vet")
        }
    }

    func testAnotherUserIsRefused() throws {
        // Open the socket's file mode so that only the peer-credential check stands in the way.
        chmod(dir, 0o755)
        chmod(dir + "/run", 0o755)
        chmod(socket, 0o666)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        let client = ProcessInfo.processInfo.arguments[0].split(separator: "/").dropLast().joined(separator: "/")
        let jarvisctl = "/" + client + "/jarvisctl"
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: p.executableURL!.path),
              FileManager.default.isExecutableFile(atPath: jarvisctl) else {
            throw XCTSkip("needs root, setpriv and the jarvisctl binary beside the tests")
        }
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", jarvisctl, "status", "--socket", socket]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        p.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 3, message)
        XCTAssertTrue(message.contains("permission_denied"), message)
    }
}

