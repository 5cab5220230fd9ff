import Foundation

/// One reply frame: `{"id": …, "event": "token" | "progress" | "done" | "error", …}`. A request
/// gets any number of `token` or `progress` events and then exactly one `done` or `error`.
public struct Reply: Equatable, Sendable {
    /// The request's id; nil only for an error about a frame whose id could not be read.
    public var id: RequestID?
    public var event: Event

    public init(id: RequestID?, _ event: Event) {
        self.id = id
        self.event = event
    }

    public enum Event: Equatable, Sendable {
        /// A piece of the answer's text (ask).
        case token(String)
        /// Work done so far (remember): `done` of `total` steps.
        case progress(done: Int, total: Int, stage: String?)
        /// The request finished; its result.
        case done(Result)
        /// The request failed.
        case error(ProtocolError)
    }

    /// What a finished request returns (`Op.resultKind` says which, by op).
    public enum Result: Equatable, Sendable {
        case hello(HelloResult)
        case ask(AskResult)
        /// remember and list. For a page of a list, `next` is the `after` of the next page (nil
        /// when there are no more); for a remember with `skip_known`, `known` says the source
        /// was stored already and `entries` are the entries that hold it.
        case entries([EntryInfo], next: UInt64? = nil, known: Bool = false)
        /// forget, show and update
        case entry(EntryInfo)
        case status(StatusResult)
        case cancel(cancelled: Bool)
        /// search: best first
        case hits([SearchHit])
        /// sessions: most recently used first
        case sessions([SessionInfo])
        /// forget_session: the session as it was
        case session(SessionInfo)
        /// propose: nil when the line asks nothing of the memory
        case proposal(Proposal?)
        /// backup: where the copy went and how large it is
        case backup(BackupResult)

        /// The shapes a result can have: the `result_kind` of a `done` reply.
        public enum Kind: String, CaseIterable, Codable, Sendable {
            case hello, ask, entries, entry, status, cancel, hits, sessions, session, proposal, backup
        }

        /// This result's shape.
        public var kind: Kind {
            switch self {
            case .hello: .hello
            case .ask: .ask
            case .entries: .entries
            case .entry: .entry
            case .status: .status
            case .cancel: .cancel
            case .hits: .hits
            case .sessions: .sessions
            case .session: .session
            case .proposal: .proposal
            case .backup: .backup
            }
        }
    }

    public var isFinal: Bool {
        switch event { case .done, .error: true; default: false }
    }
}

public struct HelloResult: Codable, Equatable, Sendable {
    public var `protocol`: Int
    public var server: String
    public var model: String
    public var fingerprint: String
    public init(protocol: Int, server: String, model: String, fingerprint: String) {
        self.protocol = `protocol`; self.server = server; self.model = model; self.fingerprint = fingerprint
    }
}

public struct AskResult: Codable, Equatable, Sendable {
    public var answer: String
    /// Ids of the entries the answer rests on, best first.
    public var entries: [UInt64]
    /// Milliseconds from the question to the first token.
    public var ttftMs: Double
    public var tokens: Int
    /// True when nothing remembered is about the question: `answer` is then the server's
    /// fixed reply saying so, and no text was generated. Sent only when true.
    public var nothingRemembered: Bool
    /// The chat session the question continued; sent only for a question asked in one.
    public var session: String?
    /// Tokens of the session's earlier turns the answer attended to (their KV, kept between
    /// turns); sent only with `session`.
    public var historyTokens: Int?
    enum CodingKeys: String, CodingKey {
        case answer, entries, ttftMs = "ttft_ms", tokens, nothingRemembered = "nothing_remembered", session, historyTokens = "history_tokens"
    }
    public init(answer: String, entries: [UInt64], ttftMs: Double, tokens: Int, nothingRemembered: Bool = false,
                session: String? = nil, historyTokens: Int? = nil) {
        self.answer = answer; self.entries = entries; self.ttftMs = ttftMs; self.tokens = tokens
        self.nothingRemembered = nothingRemembered; self.session = session; self.historyTokens = historyTokens
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(answer: try c.decode(String.self, forKey: .answer), entries: try c.decode([UInt64].self, forKey: .entries),
                  ttftMs: try c.decode(Double.self, forKey: .ttftMs), tokens: try c.decode(Int.self, forKey: .tokens),
                  nothingRemembered: try c.decodeIfPresent(Bool.self, forKey: .nothingRemembered) ?? false,
                  session: try c.decodeIfPresent(String.self, forKey: .session),
                  historyTokens: try c.decodeIfPresent(Int.self, forKey: .historyTokens))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(answer, forKey: .answer)
        try c.encode(entries, forKey: .entries)
        try c.encode(ttftMs, forKey: .ttftMs)
        try c.encode(tokens, forKey: .tokens)
        if nothingRemembered { try c.encode(true, forKey: .nothingRemembered) }
        try c.encodeIfPresent(session, forKey: .session)
        try c.encodeIfPresent(historyTokens, forKey: .historyTokens)
    }
}

public struct EntryInfo: Codable, Equatable, Sendable {
    public var id: UInt64
    public var name: String?
    public var aliases: [String]
    public var kind: String
    /// Milliseconds since 1970.
    public var createdMs: Int64
    public var tokens: Int
    public var text: String
    public var metadata: [String: String]
    enum CodingKeys: String, CodingKey { case id, name, aliases, kind, createdMs = "created_ms", tokens, text, metadata }

    // `name` is always present, null when the entry has none.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        if let name { try c.encode(name, forKey: .name) } else { try c.encodeNil(forKey: .name) }
        try c.encode(aliases, forKey: .aliases)
        try c.encode(kind, forKey: .kind)
        try c.encode(createdMs, forKey: .createdMs)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(text, forKey: .text)
        try c.encode(metadata, forKey: .metadata)
    }

    public init(id: UInt64, name: String?, aliases: [String], kind: String, createdMs: Int64, tokens: Int, text: String, metadata: [String: String]) {
        self.id = id; self.name = name; self.aliases = aliases; self.kind = kind; self.createdMs = createdMs
        self.tokens = tokens; self.text = text; self.metadata = metadata
    }
}

public struct StatusResult: Codable, Equatable, Sendable {
    public var model: String
    public var entries: Int
    /// Bytes of the store's data file on disk (LMDB reuses freed space; it never shrinks).
    public var storeBytes: Int
    /// Tokens whose K/V stored pages hold.
    public var storeTokens: Int
    /// `storeBytes` / `storeTokens`: what remembering costs on disk, per token (0 when empty).
    public var bytesPerToken: Double
    /// Bytes of stored KV pages, what the store budget (`max-store-bytes`) counts.
    public var pageBytes: Int
    /// Entries whose pages are stored, and entries holding only their text until next used.
    public var pagedEntries: Int
    public var textOnlyEntries: Int
    public var queueDepth: Int
    public var uptimeS: Double
    /// Decode speed over the last answers.
    public var tokensPerS: Double
    /// The effective configuration, as key → value.
    public var config: [String: String]
    enum CodingKeys: String, CodingKey {
        case model, entries, storeBytes = "store_bytes", storeTokens = "store_tokens", bytesPerToken = "bytes_per_token",
             pageBytes = "page_bytes", pagedEntries = "paged_entries", textOnlyEntries = "text_only_entries",
             queueDepth = "queue_depth", uptimeS = "uptime_s", tokensPerS = "tokens_per_s", config
    }
    public init(model: String, entries: Int, storeBytes: Int, storeTokens: Int = 0, pageBytes: Int = 0, pagedEntries: Int = 0,
                textOnlyEntries: Int = 0, queueDepth: Int, uptimeS: Double, tokensPerS: Double, config: [String: String]) {
        self.model = model; self.entries = entries; self.storeBytes = storeBytes; self.storeTokens = storeTokens
        self.bytesPerToken = storeTokens > 0 ? Double(storeBytes) / Double(storeTokens) : 0
        self.pageBytes = pageBytes; self.pagedEntries = pagedEntries; self.textOnlyEntries = textOnlyEntries
        self.queueDepth = queueDepth; self.uptimeS = uptimeS; self.tokensPerS = tokensPerS; self.config = config
    }

    // `store_tokens`, `bytes_per_token`, `page_bytes`, `paged_entries` and `text_only_entries`
    // came within version 1: 0 from an older server.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        entries = try c.decode(Int.self, forKey: .entries)
        storeBytes = try c.decode(Int.self, forKey: .storeBytes)
        storeTokens = try c.decodeIfPresent(Int.self, forKey: .storeTokens) ?? 0
        bytesPerToken = try c.decodeIfPresent(Double.self, forKey: .bytesPerToken) ?? 0
        pageBytes = try c.decodeIfPresent(Int.self, forKey: .pageBytes) ?? 0
        pagedEntries = try c.decodeIfPresent(Int.self, forKey: .pagedEntries) ?? 0
        textOnlyEntries = try c.decodeIfPresent(Int.self, forKey: .textOnlyEntries) ?? 0
        queueDepth = try c.decode(Int.self, forKey: .queueDepth)
        uptimeS = try c.decode(Double.self, forKey: .uptimeS)
        tokensPerS = try c.decode(Double.self, forKey: .tokensPerS)
        config = try c.decode([String: String].self, forKey: .config)
    }
}

public struct BackupResult: Codable, Equatable, Sendable {
    /// The directory holding the copy (`data.mdb`); a server pointed at it (`--store`) serves it.
    public var directory: String
    /// Size of the copy, in bytes.
    public var bytes: Int
    public init(directory: String, bytes: Int) { self.directory = directory; self.bytes = bytes }
}
