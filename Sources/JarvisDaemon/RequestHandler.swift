import JarvisProtocol

/// What answers decoded requests. The server owns sockets, framing, cancellation and
/// shutdown; a handler owns what the ops mean. `Assistant` is the real one.
public protocol RequestHandler: Sendable {
    /// Serves one request (any op but `cancel`, which the connection answers itself).
    /// - Parameters:
    ///   - token: set when the request is cancelled; long work checks it between steps.
    ///   - emit: sends a `token` or `progress` event to the client.
    /// - Returns: the result for the `done` reply.
    /// - Throws: `DaemonError` (or any error, reported as `internal`) for the `error` reply.
    func handle(_ body: Request.Body, token: CancellationToken,
                emit: @escaping @Sendable (Reply.Event) -> Void) async throws -> Reply.Result
}
