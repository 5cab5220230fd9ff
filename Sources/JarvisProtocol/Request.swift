import Foundation

/// The id a client gives a request; every reply frame carries it back. A JSON string or integer.
public enum RequestID: Codable, Hashable, Sendable, CustomStringConvertible {
    case string(String)
    case number(Int64)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int64.self) { self = .number(n); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        throw DecodingError.typeMismatch(RequestID.self, .init(codingPath: decoder.codingPath, debugDescription: "id must be a string or an integer"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        }
    }

    public var description: String {
        switch self { case .string(let s): s; case .number(let n): String(n) }
    }
}

/// One request: `{"id": …, "op": "…", …arguments}`. Decoded by `ProtocolCodec.decodeRequest`.
public struct Request: Encodable, Equatable, Sendable {
    public var id: RequestID
    public var body: Body

    public init(id: RequestID, _ body: Body) {
        self.id = id
        self.body = body
    }

    /// The operations, with their arguments.
    public enum Body: Equatable, Sendable {
        /// First exchange: the protocol version the client speaks.
        case hello(Hello)
        /// Answer a question from memory, streaming `token` events.
        case ask(Ask)
        /// Remember a note (`text`) or a file (`path`), streaming `progress` events.
        case remember(Remember)
        /// Forget an entry by id or name.
        case forget(EntryRef)
        /// Entries in id order: every one, or a page of them.
        case list(ListRange)
        /// One entry.
        case show(EntryRef)
        /// Model, store, queue and configuration.
        case status
        /// Stop another request of this connection.
        case cancel(Cancel)
        /// Entries ranked for a query, with scores and snippets; nothing is generated.
        case search(Search)
        /// Replace an entry's text (encoded again, in one transaction).
        case update(Update)
        /// Every chat session.
        case sessions
        /// Forget a chat session (its turns and KV).
        case forgetSession(SessionRef)
        /// The memory change a chat line implies (nothing is changed).
        case propose(Propose)
        /// A compacted copy of the store, written into a directory while the server serves.
        case backup(Backup)

        /// The op this body is for.
        public var op: Op {
            switch self {
            case .hello: .hello
            case .ask: .ask
            case .remember: .remember
            case .forget: .forget
            case .list: .list
            case .show: .show
            case .status: .status
            case .cancel: .cancel
            case .search: .search
            case .update: .update
            case .sessions: .sessions
            case .forgetSession: .forgetSession
            case .propose: .propose
            case .backup: .backup
            }
        }
    }

    public struct Hello: Codable, Equatable, Sendable {
        public var `protocol`: Int
        public var client: String?
        public init(protocol: Int, client: String? = nil) { self.protocol = `protocol`; self.client = client }
    }

    public struct Ask: Codable, Equatable, Sendable {
        public var question: String
        /// How to use the memory; `AskMode.default` when absent.
        public var mode: AskMode?
        public var maxTokens: Int?
        public var temperature: Double?
        /// A photo to ask about (a path the daemon can read).
        public var image: String?
        /// The chat session this question continues (started if there is none of this name,
        /// unless `resume`). Its earlier turns are part of the answer's context.
        public var session: String?
        /// With `session`: the session must exist already, else `unknown_session`.
        public var resume: Bool?
        enum CodingKeys: String, CodingKey { case question, mode, maxTokens = "max_tokens", temperature, image, session, resume }
        public init(question: String, mode: AskMode? = nil, maxTokens: Int? = nil, temperature: Double? = nil, image: String? = nil,
                    session: String? = nil, resume: Bool? = nil) {
            self.question = question; self.mode = mode; self.maxTokens = maxTokens; self.temperature = temperature; self.image = image
            self.session = session; self.resume = resume
        }
    }

    public struct Remember: Codable, Equatable, Sendable {
        /// Exactly one of `text` and `path`.
        public var text: String?
        public var path: String?
        public var name: String?
        public var aliases: [String]?
        /// Inferred when absent.
        public var kind: EntryKind?
        public var metadata: [String: String]?
        /// When entries already hold exactly this source (the same text, or the same photo),
        /// store nothing and return them, with `known` (a bulk import that resumes).
        public var skipKnown: Bool?
        enum CodingKeys: String, CodingKey { case text, path, name, aliases, kind, metadata, skipKnown = "skip_known" }
        public init(text: String? = nil, path: String? = nil, name: String? = nil, aliases: [String]? = nil,
                    kind: EntryKind? = nil, metadata: [String: String]? = nil, skipKnown: Bool? = nil) {
            self.text = text; self.path = path; self.name = name; self.aliases = aliases; self.kind = kind; self.metadata = metadata
            self.skipKnown = skipKnown
        }
    }

    public struct EntryRef: Codable, Equatable, Sendable {
        /// An entry id (decimal) or name.
        public var entry: String
        public init(entry: String) { self.entry = entry }
    }

    public struct Cancel: Codable, Equatable, Sendable {
        public var target: RequestID
        public init(target: RequestID) { self.target = target }
    }

    public struct Search: Codable, Equatable, Sendable {
        public var query: String
        /// Most hits to return; the server's default (10) when absent.
        public var limit: Int?
        public init(query: String, limit: Int? = nil) { self.query = query; self.limit = limit }
    }

    public struct Update: Codable, Equatable, Sendable {
        /// An entry id (decimal) or name.
        public var entry: String
        /// The entry's new text, verbatim.
        public var text: String
        public init(entry: String, text: String) { self.entry = entry; self.text = text }
    }

    public struct SessionRef: Codable, Equatable, Sendable {
        /// A chat session's name.
        public var session: String
        public init(session: String) { self.session = session }
    }

    public struct ListRange: Codable, Equatable, Sendable {
        /// Most entries to return; every one when absent.
        public var limit: Int?
        /// Start after the entry with this id (the `next` of the page before).
        public var after: UInt64?
        public init(limit: Int? = nil, after: UInt64? = nil) { self.limit = limit; self.after = after }
        /// Every entry, in one reply.
        public static let all = ListRange()
    }

    public struct Propose: Codable, Equatable, Sendable {
        /// A line the user said.
        public var text: String
        public init(text: String) { self.text = text }
    }

    public struct Backup: Codable, Equatable, Sendable {
        /// An absolute path: a directory that does not exist yet (it is created) or one that
        /// holds no store; the copy is written into it as `data.mdb`. When absent, the server
        /// picks a new one beside its store (`backups/YYYYMMDD-HHMMSS`), which it can always write.
        public var directory: String?
        public init(directory: String? = nil) { self.directory = directory }
    }

    enum Keys: String, CodingKey { case id, op }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(body.op, forKey: .op)
        switch body {
        case .hello(let x): try x.encode(to: encoder)
        case .ask(let x): try x.encode(to: encoder)
        case .remember(let x): try x.encode(to: encoder)
        case .forget(let x), .show(let x): try x.encode(to: encoder)
        case .cancel(let x): try x.encode(to: encoder)
        case .search(let x): try x.encode(to: encoder)
        case .update(let x): try x.encode(to: encoder)
        case .forgetSession(let x): try x.encode(to: encoder)
        case .propose(let x): try x.encode(to: encoder)
        case .backup(let x): try x.encode(to: encoder)
        case .list(let x): try x.encode(to: encoder)
        case .status, .sessions: break
        }
    }
}

extension Request.Body {
    /// Reads the op and its arguments from a request object.
    /// - Throws: `ProtocolError` (`unknown_op`, or `bad_request` for conflicting arguments), or
    ///   `DecodingError` for a missing or mistyped field.
    init(from decoder: Decoder) throws {
        let name = try decoder.container(keyedBy: Request.Keys.self).decode(String.self, forKey: .op)
        guard let op = Op(rawValue: name) else {
            throw ProtocolError(.unknownOp, "unknown op \"\(name)\" (known: \(Op.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        switch op {
        case .hello: self = .hello(try Request.Hello(from: decoder))
        case .ask: self = .ask(try Request.Ask(from: decoder))
        case .remember:
            let r = try Request.Remember(from: decoder)
            guard (r.text == nil) != (r.path == nil) else {
                throw ProtocolError(.badRequest, "remember takes exactly one of text and path")
            }
            self = .remember(r)
        case .forget: self = .forget(try Request.EntryRef(from: decoder))
        case .list: self = .list(try Request.ListRange(from: decoder))
        case .show: self = .show(try Request.EntryRef(from: decoder))
        case .status: self = .status
        case .cancel: self = .cancel(try Request.Cancel(from: decoder))
        case .search: self = .search(try Request.Search(from: decoder))
        case .update: self = .update(try Request.Update(from: decoder))
        case .sessions: self = .sessions
        case .forgetSession: self = .forgetSession(try Request.SessionRef(from: decoder))
        case .propose: self = .propose(try Request.Propose(from: decoder))
        case .backup: self = .backup(try Request.Backup(from: decoder))
        }
    }
}
