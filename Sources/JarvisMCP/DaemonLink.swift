import Foundation
import JarvisClient
import JarvisProtocol

/// jarvisd as the MCP server reaches it: a fresh connection for each call, on a thread of its
/// own, so that the blocking socket never holds up the server's tasks and a daemon that
/// restarts between calls is simply reached again.
public struct DaemonLink: Sendable {
    /// jarvisd's Unix socket.
    public let socketPath: String
    /// The name the link gives itself in `hello`.
    public let clientName: String

    public init(socketPath: String, clientName: String = "jarvisctl-mcp \(JarvisVersion.current)") {
        self.socketPath = socketPath
        self.clientName = clientName
    }

    /// Sends one request and waits for its result (events such as answer tokens are dropped).
    /// - Throws: `ClientError`: `.notRunning` when jarvisd is not there, `.server` with the
    ///   daemon's own error code.
    public func call(_ body: Request.Body) async throws -> Reply.Result {
        let socketPath = self.socketPath, clientName = self.clientName
        return try await withCheckedThrowingContinuation { done in
            let thread = Thread {
                done.resume(with: Result {
                    let connection = try JarvisConnection(socketPath: socketPath)
                    _ = try connection.hello(client: clientName)
                    return try connection.call(body)
                })
            }
            thread.name = "jarvis-mcp-call"
            thread.start()
        }
    }
}
