import Foundation

/// Turns messages into frame payloads and back. Encoding is canonical (keys sorted, no
/// escaped slashes), so the same message always gives the same bytes — the golden frames
/// depend on it.
public enum ProtocolCodec {
    /// The protocol version this module speaks.
    public static let version = 1

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    public static func encode(_ request: Request) -> [UInt8] {
        Array(try! encoder.encode(request))   // every field is encodable: cannot fail
    }

    public static func encode(_ reply: Reply) -> [UInt8] {
        Array(try! encoder.encode(WireReply(reply)))
    }

    /// Parses a request payload.
    /// - Returns: the request, or the error to reply with and the request's id if it could be read.
    public static func decodeRequest(_ payload: [UInt8]) -> Result<Request, RequestFailure> {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any] else {
            return .failure(RequestFailure(id: nil, error: ProtocolError(.badJSON, "the frame is not a UTF-8 JSON object")))
        }
        let id = (try? JSONDecoder().decode(IDOnly.self, from: Data(payload)))?.id
        do {
            return .success(try JSONDecoder().decode(Request.self, from: Data(payload)))
        } catch let e as Request.UnknownOp {
            return .failure(RequestFailure(id: id, error: ProtocolError(.unknownOp, "unknown op \"\(e.op)\" (known: \(Request.Body.ops.joined(separator: ", ")))")))
        } catch let e as DecodingError {
            _ = object
            return .failure(RequestFailure(id: id, error: ProtocolError(.badRequest, describe(e))))
        } catch {
            return .failure(RequestFailure(id: id, error: ProtocolError(.badRequest, "\(error)")))
        }
    }

    /// Parses a reply to a request with operation `op` (which decides the shape of `result`).
    /// - Throws: `ProtocolError(.badJSON)` for a malformed reply.
    public static func decodeReply(_ payload: [UInt8], op: String) throws -> Reply {
        let d = JSONDecoder()
        d.userInfo[opKey] = op
        do {
            return try d.decode(WireReply.self, from: Data(payload)).reply
        } catch {
            throw ProtocolError(.badJSON, "malformed reply: \(error)")
        }
    }

    public struct RequestFailure: Error, Equatable, Sendable {
        public let id: RequestID?
        public let error: ProtocolError
    }

    static let opKey = CodingUserInfoKey(rawValue: "jarvis.op")!

    struct IDOnly: Decodable { let id: RequestID }

    static func describe(_ e: DecodingError) -> String {
        func path(_ p: [CodingKey]) -> String { p.isEmpty ? "the request" : p.map(\.stringValue).joined(separator: ".") }
        switch e {
        case .keyNotFound(let key, let ctx): return "missing field \"\(key.stringValue)\"" + (ctx.codingPath.isEmpty ? "" : " in \(path(ctx.codingPath))")
        case .typeMismatch(_, let ctx): return "field \(path(ctx.codingPath)) has the wrong type: \(ctx.debugDescription)"
        case .valueNotFound(_, let ctx): return "field \(path(ctx.codingPath)) is null"
        case .dataCorrupted(let ctx): return ctx.debugDescription
        @unknown default: return "\(e)"
        }
    }
}

/// The flat wire form of a reply.
struct WireReply: Codable {
    var id: RequestID?
    var event: String
    var text: String?
    var done: Int?
    var total: Int?
    var stage: String?
    var result: ResultBox?
    var error: ProtocolError?

    init(_ r: Reply) {
        id = r.id
        switch r.event {
        case .token(let t): event = "token"; text = t
        case .progress(let d, let t, let s): event = "progress"; done = d; total = t; stage = s
        case .done(let result): event = "done"; self.result = ResultBox(result: result)
        case .error(let e): event = "error"; error = e
        }
    }

    enum CodingKeys: String, CodingKey { case id, event, text, done, total, stage, result, error }

    // An explicit null id for errors about unreadable frames.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let id { try c.encode(id, forKey: .id) } else { try c.encodeNil(forKey: .id) }
        try c.encode(event, forKey: .event)
        try c.encodeIfPresent(text, forKey: .text)
        try c.encodeIfPresent(done, forKey: .done)
        try c.encodeIfPresent(total, forKey: .total)
        try c.encodeIfPresent(stage, forKey: .stage)
        try c.encodeIfPresent(result, forKey: .result)
        try c.encodeIfPresent(error, forKey: .error)
    }

    var reply: Reply {
        get throws {
            switch event {
            case "token": return Reply(id: id, .token(text ?? ""))
            case "progress": return Reply(id: id, .progress(done: done ?? 0, total: total ?? 0, stage: stage))
            case "done":
                guard let result else { throw ProtocolError(.badJSON, "done without result") }
                return Reply(id: id, .done(result.result))
            case "error":
                guard let error else { throw ProtocolError(.badJSON, "error without error") }
                return Reply(id: id, .error(error))
            default: throw ProtocolError(.badJSON, "unknown event \(event)")
            }
        }
    }
}

/// A result, encoded as its inner object; decoded by the op in the decoder's user info.
struct ResultBox: Codable {
    let result: Reply.Result

    init(result: Reply.Result) { self.result = result }

    struct Entries: Codable { let entries: [EntryInfo] }
    struct Entry: Codable { let entry: EntryInfo }
    struct Cancelled: Codable { let cancelled: Bool }

    func encode(to encoder: Encoder) throws {
        switch result {
        case .hello(let h): try h.encode(to: encoder)
        case .ask(let a): try a.encode(to: encoder)
        case .entries(let e): try Entries(entries: e).encode(to: encoder)
        case .entry(let e): try Entry(entry: e).encode(to: encoder)
        case .status(let s): try s.encode(to: encoder)
        case .cancel(let c): try Cancelled(cancelled: c).encode(to: encoder)
        }
    }

    init(from decoder: Decoder) throws {
        switch decoder.userInfo[ProtocolCodec.opKey] as? String {
        case "hello": result = .hello(try HelloResult(from: decoder))
        case "ask": result = .ask(try AskResult(from: decoder))
        case "remember", "list": result = .entries(try Entries(from: decoder).entries)
        case "forget", "show": result = .entry(try Entry(from: decoder).entry)
        case "status": result = .status(try StatusResult(from: decoder))
        case "cancel": result = .cancel(cancelled: try Cancelled(from: decoder).cancelled)
        case let op: throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "no result shape for op \(op ?? "?")"))
        }
    }
}
