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

    /// The payload of `request`.
    public static func encode(_ request: Request) -> [UInt8] {
        Array(try! encoder.encode(request))   // every field is encodable: cannot fail
    }

    /// The payload of `reply`.
    public static func encode(_ reply: Reply) -> [UInt8] {
        Array(try! encoder.encode(WireReply(reply)))
    }

    /// Whether `request`'s frame is within `maxFrame` bytes, the most a server reads by
    /// default (what decides if a text is sent inline or by path).
    public static func fitsInFrame(_ request: Request, maxFrame: Int = Framing.defaultMaxFrame) -> Bool {
        encode(request).count <= maxFrame
    }

    /// Parses a request payload, in one pass.
    /// - Returns: the request, or the error to reply with and the request's id if it could be read.
    public static func decodeRequest(_ payload: [UInt8]) -> Result<Request, RequestFailure> {
        // Only a payload that is not a JSON object fails the decode itself; everything after
        // the object is read is an outcome of `ParsedRequest`. The decoder checks a string's
        // UTF-8 only when the string is read, so the whole payload is checked first.
        guard String(validating: payload, as: UTF8.self) != nil,
              let parsed = try? JSONDecoder().decode(ParsedRequest.self, from: Data(payload)) else {
            return .failure(RequestFailure(id: nil, error: ProtocolError(.badJSON, "the frame is not a UTF-8 JSON object")))
        }
        return parsed.outcome.mapError { RequestFailure(id: parsed.id, error: $0) }
    }

    /// Parses a reply payload; its `result_kind` says the shape of a `done` result.
    /// - Throws: `ProtocolError(.badJSON)` for a malformed reply.
    public static func decodeReply(_ payload: [UInt8]) throws -> Reply {
        do {
            return try JSONDecoder().decode(WireReply.self, from: Data(payload)).reply
        } catch {
            throw ProtocolError(.badJSON, "malformed reply: \(error)")
        }
    }

    /// Why a request payload was refused.
    public struct RequestFailure: Error, Equatable, Sendable {
        /// The request's id, if the payload was an object with a readable id.
        public let id: RequestID?
        public let error: ProtocolError
    }

    /// The `bad_request` error for a field that could not be decoded.
    static func badRequest(_ error: Error) -> ProtocolError {
        if let e = error as? ProtocolError { return e }
        guard let e = error as? DecodingError else { return ProtocolError(.badRequest, "\(error)") }
        func path(_ p: [CodingKey]) -> String { p.isEmpty ? "the request" : p.map(\.stringValue).joined(separator: ".") }
        let message = switch e {
        case .keyNotFound(let key, let ctx): "missing field \"\(key.stringValue)\"" + (ctx.codingPath.isEmpty ? "" : " in \(path(ctx.codingPath))")
        case .typeMismatch(_, let ctx): "field \(path(ctx.codingPath)) has the wrong type: \(ctx.debugDescription)"
        case .valueNotFound(_, let ctx): "field \(path(ctx.codingPath)) is null"
        case .dataCorrupted(let ctx): ctx.debugDescription
        @unknown default: "\(e)"
        }
        return ProtocolError(.badRequest, message)
    }
}

/// A request object read once: its id when readable, and the request or why not.
struct ParsedRequest: Decodable {
    let id: RequestID?
    let outcome: Result<Request, ProtocolError>

    /// Throws only when the payload is not a JSON object.
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Request.Keys.self)
        let id = Result { try c.decode(RequestID.self, forKey: .id) }
        self.id = try? id.get()
        outcome = Result { Request(id: try id.get(), try Request.Body(from: decoder)) }.mapError(ProtocolCodec.badRequest)
    }
}
