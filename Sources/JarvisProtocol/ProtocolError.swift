/// An error a request can end with. The codes are stable; clients switch on them.
public struct ProtocolError: Error, Codable, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Codable, Sendable, CaseIterable {
        /// The length prefix announced more than the limit; the connection is closed after this reply.
        case frameTooLarge = "frame_too_large"
        /// The payload is not a UTF-8 JSON object.
        case badJSON = "bad_json"
        /// A required field is missing or has the wrong type or value.
        case badRequest = "bad_request"
        /// The op is not one this server knows.
        case unknownOp = "unknown_op"
        /// `hello` asked for a protocol version the server does not speak.
        case unsupportedProtocol = "unsupported_protocol"
        /// No entry with that id or name; or no request with that id to cancel.
        case notFound = "not_found"
        /// The name or alias already belongs to another entry.
        case nameTaken = "name_taken"
        /// A path names something that cannot be read (a directory, a device, no permission).
        case badPath = "bad_path"
        /// A photo is not a JPEG or PNG, is corrupt, or is beyond the size limits.
        case badImage = "bad_image"
        /// The request was cancelled (by `cancel`, by the client leaving, or by shutdown).
        case cancelled = "cancelled"
        /// The store is full or damaged, or written for another model.
        case storeError = "store_error"
        /// The model failed (for example the prompt does not fit its context).
        case modelError = "model_error"
        /// The server is shutting down and takes no new work.
        case shuttingDown = "shutting_down"
        /// The connecting process runs as another user than the server; the connection closes.
        case permissionDenied = "permission_denied"
        /// No chat session has that name (`forget_session`, or `ask` with `resume`).
        case unknownSession = "unknown_session"
        /// A chat session holds as much history as it may; forget it or start another.
        case sessionFull = "session_full"
        /// The disk a copy was being written to (a backup's directory) is full; nothing was left there.
        case noSpace = "no_space"
        /// Anything else; the message says what.
        case internalError = "internal"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
