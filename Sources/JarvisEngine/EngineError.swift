/// An error from the engine: loading a model file, tokenizing, running the model.
/// `code` is stable and can grow; `message` is for people and says what went wrong and where.
public struct EngineError: Error, CustomStringConvertible, Equatable, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        /// The file could not be opened, read or mapped.
        public static let io = Code("io")
        /// The file is not a valid model file (bad magic, truncated, inconsistent).
        public static let invalidFile = Code("invalid_file")
        /// The file is valid but uses something this engine does not implement.
        public static let unsupported = Code("unsupported")
        /// A tensor or metadata key the model needs is missing or has the wrong shape or type.
        public static let modelMismatch = Code("model_mismatch")
        /// A request to the engine was out of range (too many tokens, bad token id).
        public static let invalidArgument = Code("invalid_argument")
        /// The caller asked the work to stop (a client left, or the server is shutting down).
        public static let cancelled = Code("cancelled")
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
