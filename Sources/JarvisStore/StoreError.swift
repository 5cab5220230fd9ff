/// An error from the personal store. `code` is stable and can grow; `message` says what went
/// wrong and, where there is something to do, what to do.
public struct StoreError: Error, CustomStringConvertible, Equatable, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        /// LMDB returned an error; the message carries LMDB's own name for it (e.g. MDB_MAP_FULL).
        public static let lmdb = Code("lmdb")
        /// The store is full and could not grow (map size limit or disk).
        public static let full = Code("store_full")
        /// No entry with that id or name.
        public static let notFound = Code("not_found")
        /// An entry name is already taken.
        public static let nameTaken = Code("name_taken")
        /// Stored bytes fail their checksum or do not parse: the data file is damaged.
        public static let corrupt = Code("corrupt")
        /// The store was written for another model or shared prefix.
        public static let fingerprintMismatch = Code("fingerprint_mismatch")
        /// The store's schema is newer than this program.
        public static let unsupportedVersion = Code("unsupported_version")
        /// A request to the store was malformed.
        public static let invalidArgument = Code("invalid_argument")
        /// A path given to the store (a backup's directory) cannot be used.
        public static let badPath = Code("bad_path")
        /// The disk a copy goes to is full (the store itself is untouched).
        public static let noSpace = Code("no_space")
        public var description: String { name }
    }

    public let code: Code
    public let message: String
    /// LMDB's error number, when the error came from LMDB.
    public let lmdbCode: Int32?

    public init(_ code: Code, _ message: String, lmdbCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.lmdbCode = lmdbCode
    }

    public var description: String { message }
}
