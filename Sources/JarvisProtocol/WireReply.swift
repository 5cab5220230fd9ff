/// The flat wire form of a reply: `{"id", "event", …}` with the event's fields beside them;
/// a `done` reply names its result's shape in `result_kind`.
struct WireReply: Codable {
    let reply: Reply

    init(_ reply: Reply) { self.reply = reply }

    enum CodingKeys: String, CodingKey { case id, event, text, done, total, stage, result, resultKind = "result_kind", error }

    enum EventName: String, Codable { case token, progress, done, error }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // An explicit null id for errors about unreadable frames.
        if let id = reply.id { try c.encode(id, forKey: .id) } else { try c.encodeNil(forKey: .id) }
        switch reply.event {
        case .token(let text):
            try c.encode(EventName.token, forKey: .event)
            try c.encode(text, forKey: .text)
        case .progress(let done, let total, let stage):
            try c.encode(EventName.progress, forKey: .event)
            try c.encode(done, forKey: .done)
            try c.encode(total, forKey: .total)
            try c.encodeIfPresent(stage, forKey: .stage)
        case .done(let result):
            try c.encode(EventName.done, forKey: .event)
            try c.encode(result.kind, forKey: .resultKind)
            try result.encodeFields(to: c.superEncoder(forKey: .result))
        case .error(let error):
            try c.encode(EventName.error, forKey: .event)
            try c.encode(error, forKey: .error)
        }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let id = try c.decodeIfPresent(RequestID.self, forKey: .id)
        switch try c.decode(EventName.self, forKey: .event) {
        case .token:
            reply = Reply(id: id, .token(try c.decodeIfPresent(String.self, forKey: .text) ?? ""))
        case .progress:
            reply = Reply(id: id, .progress(done: try c.decodeIfPresent(Int.self, forKey: .done) ?? 0,
                                            total: try c.decodeIfPresent(Int.self, forKey: .total) ?? 0,
                                            stage: try c.decodeIfPresent(String.self, forKey: .stage)))
        case .done:
            let kind = try c.decodeIfPresent(Reply.Result.Kind.self, forKey: .resultKind)
                ?? Reply.Result.Kind(inferredFrom: c.nestedContainer(keyedBy: AnyKey.self, forKey: .result))
            reply = Reply(id: id, .done(try Reply.Result(kind, from: c.superDecoder(forKey: .result))))
        case .error:
            reply = Reply(id: id, .error(try c.decode(ProtocolError.self, forKey: .error)))
        }
    }

    struct AnyKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}

extension Reply.Result {
    struct Entries: Codable {
        let entries: [EntryInfo]
        let next: UInt64?
        let known: Bool?
    }
    struct Entry: Codable { let entry: EntryInfo }
    struct Cancelled: Codable { let cancelled: Bool }
    struct Hits: Codable { let hits: [SearchHit] }
    struct Sessions: Codable { let sessions: [SessionInfo] }
    struct Session: Codable { let session: SessionInfo }
    /// `proposal` is always present, null for none.
    struct Proposed: Codable {
        let proposal: Proposal?
        enum CodingKeys: String, CodingKey { case proposal }
        init(proposal: Proposal?) { self.proposal = proposal }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            if let proposal { try c.encode(proposal, forKey: .proposal) } else { try c.encodeNil(forKey: .proposal) }
        }
    }

    /// Writes the result's own fields (the `result` object).
    func encodeFields(to encoder: Encoder) throws {
        switch self {
        case .hello(let h): try h.encode(to: encoder)
        case .ask(let a): try a.encode(to: encoder)
        case .entries(let e, let next, let known): try Entries(entries: e, next: next, known: known ? true : nil).encode(to: encoder)
        case .entry(let e): try Entry(entry: e).encode(to: encoder)
        case .status(let s): try s.encode(to: encoder)
        case .cancel(let c): try Cancelled(cancelled: c).encode(to: encoder)
        case .hits(let h): try Hits(hits: h).encode(to: encoder)
        case .sessions(let s): try Sessions(sessions: s).encode(to: encoder)
        case .session(let s): try Session(session: s).encode(to: encoder)
        case .proposal(let p): try Proposed(proposal: p).encode(to: encoder)
        case .backup(let b): try b.encode(to: encoder)
        }
    }

    /// Reads a `result` object of shape `kind`.
    init(_ kind: Kind, from decoder: Decoder) throws {
        switch kind {
        case .hello: self = .hello(try HelloResult(from: decoder))
        case .ask: self = .ask(try AskResult(from: decoder))
        case .entries:
            let e = try Entries(from: decoder)
            self = .entries(e.entries, next: e.next, known: e.known ?? false)
        case .entry: self = .entry(try Entry(from: decoder).entry)
        case .status: self = .status(try StatusResult(from: decoder))
        case .cancel: self = .cancel(cancelled: try Cancelled(from: decoder).cancelled)
        case .hits: self = .hits(try Hits(from: decoder).hits)
        case .sessions: self = .sessions(try Sessions(from: decoder).sessions)
        case .session: self = .session(try Session(from: decoder).session)
        case .proposal: self = .proposal(try Proposed(from: decoder).proposal)
        case .backup: self = .backup(try BackupResult(from: decoder))
        }
    }
}

extension Reply.Result.Kind {
    /// The field only this shape has, checked in this order (`ask` and `status` results
    /// also hold `entries`).
    static let distinctiveFields: [(field: String, kind: Self)] = [
        ("answer", .ask), ("config", .status), ("protocol", .hello), ("cancelled", .cancel), ("hits", .hits), ("sessions", .sessions), ("session", .session), ("proposal", .proposal), ("directory", .backup), ("entry", .entry), ("entries", .entries),
    ]

    /// The shape of a result from a server older than `result_kind`, by its fields.
    init(inferredFrom result: KeyedDecodingContainer<WireReply.AnyKey>) throws {
        let fields = Set(result.allKeys.map(\.stringValue))
        guard let kind = Self.distinctiveFields.first(where: { fields.contains($0.field) })?.kind else {
            throw DecodingError.dataCorrupted(.init(codingPath: result.codingPath, debugDescription: "a result of no known shape"))
        }
        self = kind
    }
}
