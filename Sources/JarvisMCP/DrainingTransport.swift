import Foundation
import Logging
import MCP

/// A transport that lets every request read be answered before the server sees its input end.
///
/// The SDK's server stops reading at end of input and stops its work with it, so a client that
/// writes its requests and closes the pipe (a script, `echo … | jarvisctl mcp`) would lose the
/// answers still being worked on. Here the stream the server reads stays open after the wrapped
/// transport's input ends, until each request read so far has had its response sent, has been
/// cancelled by the client, or can no longer be answered because output failed.
actor DrainingTransport: Transport {
    private let inner: any Transport
    nonisolated let logger: Logger
    /// Ids of requests read and not yet answered, as `RequestKey`s.
    private var unanswered: Set<String> = []
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ inner: any Transport, logger: Logger) {
        self.inner = inner
        self.logger = logger
    }

    func connect() async throws { try await inner.connect() }

    func disconnect() async { await inner.disconnect() }

    func send(_ data: Data) async throws {
        do {
            try await inner.send(data)
        } catch {
            // Nothing more can be answered: do not wait for it at end of input.
            unanswered.removeAll()
            wakeIfIdle()
            throw error
        }
        for message in Self.messages(data) where message["result"] != nil || message["error"] != nil {
            if let key = Self.key(message["id"]) { unanswered.remove(key) }
        }
        wakeIfIdle()
    }

    func receive() -> AsyncThrowingStream<Data, any Error> {
        let (stream, output) = AsyncThrowingStream<Data, any Error>.makeStream()
        let inner = self.inner
        let task = Task {
            do {
                for try await data in await inner.receive() {
                    note(data)
                    output.yield(data)
                }
                await untilAnswered()
                output.finish()
            } catch {
                output.finish(throwing: error)
            }
        }
        output.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Keeps track of the requests in an incoming message (or batch), and of cancellations.
    private func note(_ data: Data) {
        for message in Self.messages(data) {
            guard let method = message["method"] as? String else { continue }
            if let key = Self.key(message["id"]) {
                unanswered.insert(key)
            } else if method == "notifications/cancelled", let params = message["params"] as? [String: Any],
                      let key = Self.key(params["requestId"]) {
                unanswered.remove(key)
            }
        }
        wakeIfIdle()
    }

    private func untilAnswered() async {
        if unanswered.isEmpty { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func wakeIfIdle() {
        guard unanswered.isEmpty else { return }
        for w in waiting { w.resume() }
        waiting.removeAll()
    }

    /// The JSON-RPC objects in a message: itself, or a batch's elements; none if it is not JSON.
    static func messages(_ data: Data) -> [[String: Any]] {
        switch try? JSONSerialization.jsonObject(with: data) {
        case let object as [String: Any]: [object]
        case let batch as [Any]: batch.compactMap { $0 as? [String: Any] }
        default: []
        }
    }

    /// A request id as a set key: strings and numbers kept apart ("1" is not 1).
    static func key(_ id: Any?) -> String? {
        switch id {
        case let s as String: "s:" + s
        case let n as NSNumber: "n:" + n.stringValue
        default: nil
        }
    }
}
