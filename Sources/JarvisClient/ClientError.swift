import JarvisProtocol

/// Why a call to jarvisd failed, on the client's side of the socket.
public struct ClientError: Error, CustomStringConvertible, Sendable {
    public enum Code: Equatable, Sendable {
        /// Nothing listens on the socket.
        case notRunning
        /// The socket belongs to someone else.
        case permissionDenied
        /// The daemon closed the connection before answering.
        case disconnected
        /// The daemon answered with this protocol error.
        case server(ProtocolError.Code)
        /// The socket failed, or the daemon sent something unreadable.
        case io
    }

    public let code: Code
    public let message: String
    /// The daemon's error, for `.server`.
    public let protocolError: ProtocolError?

    public init(_ code: Code, _ message: String, protocolError: ProtocolError? = nil) {
        self.code = code
        self.message = message
        self.protocolError = protocolError
    }

    public var description: String { message }
}
