/// A request argument that takes one of a fixed set of strings. An unknown value is a
/// `bad_request` naming the field and the allowed values.
public protocol WireEnum: RawRepresentable, CaseIterable, Codable, Sendable where RawValue == String {
    /// The argument's name on the wire, for error messages.
    static var field: String { get }
}

extension WireEnum {
    /// The allowed values, in order, comma-separated.
    public static var allowedValues: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The value spelled `text`.
    /// - Throws: `ProtocolError(.badRequest)` naming the allowed values.
    public init(parsing text: String) throws {
        guard let value = Self(rawValue: text) else {
            throw ProtocolError(.badRequest, "\(Self.field) must be one of \(Self.allowedValues), not \"\(text)\"")
        }
        self = value
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch let e as ProtocolError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: e.message))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// What an entry is; `remember` infers it when the request leaves it out.
public enum EntryKind: String, WireEnum {
    case note, fact, file, photo
    public static let field = "kind"
}

/// How `ask` uses the memory: `kv` reads the retrieved entries' stored KV, `text-rag`
/// prefills them as text, `full` prefills every entry, `none` asks without notes.
public enum AskMode: String, WireEnum {
    case kv
    case textRAG = "text-rag"
    case full, none
    public static let field = "mode"
    /// The mode of an `ask` that names none.
    public static let `default` = AskMode.kv
}
