import Foundation
import JarvisClient
import JarvisProtocol
import MCP

/// The MCP tools `jarvisctl mcp` offers: remember, ask, search, list, show and forget, each a
/// request to jarvisd. A tool that jarvisd refuses (an unknown entry, an empty text) returns an
/// error result with jarvisd's code and message, so the model can correct itself; only an
/// unknown tool name is a protocol error.
public enum JarvisTools {
    /// Every tool, with its input schema.
    public static let all: [Tool] = [
        Tool(name: "remember", title: "Remember a note",
             description: "Store a note or fact in the user's personal memory (Jarvis). Long text is split into several entries.",
             inputSchema: schema(["text": string("What to remember, as the user would say it."),
                                  "name": string("A short unique name to refer to the entry by (optional)."),
                                  "aliases": .object(["type": "array", "items": .object(["type": "string"]),
                                                      "description": "Other names for the entry (optional)."]),
                                  "kind": .object(["type": "string", "enum": ["note", "fact"],
                                                   "description": "note (default) or fact."])],
                                 required: ["text"]),
             annotations: .init(readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false)),
        Tool(name: "ask", title: "Ask Jarvis",
             description: "Answer a question from the user's personal memory: Jarvis retrieves the entries it needs and answers with its local model. Returns the answer and the ids of the entries it rests on.",
             inputSchema: schema(["question": string("The question."),
                                  "max_tokens": .object(["type": "integer", "minimum": 1, "maximum": 4096,
                                                         "description": "Longest answer, in tokens (optional)."])],
                                 required: ["question"]),
             annotations: .init(readOnlyHint: true, openWorldHint: false)),
        Tool(name: "search", title: "Search memories",
             description: "Rank the user's memory entries for a query, best first, with scores and a snippet of each; nothing is generated.",
             inputSchema: schema(["query": string("What to look for."),
                                  "limit": .object(["type": "integer", "minimum": 1, "maximum": 100,
                                                    "description": "Most entries to return (default 10)."])],
                                 required: ["query"]),
             annotations: .init(readOnlyHint: true, openWorldHint: false)),
        Tool(name: "list", title: "List memories",
             description: "Every entry in the user's memory: id, name, kind and the start of its text.",
             inputSchema: schema([:], required: []),
             annotations: .init(readOnlyHint: true, openWorldHint: false)),
        Tool(name: "show", title: "Show a memory",
             description: "One entry in full, by id or name: its fields and its text exactly as remembered.",
             inputSchema: schema(["entry": string("The entry's id or name.")], required: ["entry"]),
             annotations: .init(readOnlyHint: true, openWorldHint: false)),
        Tool(name: "forget", title: "Forget a memory",
             description: "Delete one entry from the user's memory, by id or name. It cannot be undone.",
             inputSchema: schema(["entry": string("The entry's id or name.")], required: ["entry"]),
             annotations: .init(readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false)),
    ]

    /// Runs the tool `name` through `link`.
    /// - Throws: `MCPError.invalidParams` for a tool that does not exist; everything else is an
    ///   error result.
    public static func call(_ name: String, _ arguments: [String: Value], link: DaemonLink) async throws -> CallTool.Result {
        guard all.contains(where: { $0.name == name }) else {
            throw MCPError.invalidParams("unknown tool \"\(name)\" (tools: \(all.map(\.name).joined(separator: ", ")))")
        }
        do {
            return try await run(name, Arguments(values: arguments), link: link)
        } catch let e as ClientError {
            let code = if case .server(let c) = e.code { c.rawValue } else { "unavailable" }
            return failure("\(code): \(e.message)")
        } catch let e as Arguments.Invalid {
            return failure("bad_request: \(e.message)")
        }
    }

    private static func run(_ name: String, _ args: Arguments, link: DaemonLink) async throws -> CallTool.Result {
        switch name {
        case "remember":
            let kind = try args.string("kind").map { k -> EntryKind in
                guard let kind = EntryKind(rawValue: k), kind == .note || kind == .fact else {
                    throw Arguments.Invalid(message: "kind must be note or fact, not \"\(k)\"")
                }
                return kind
            }
            let body = JarvisProtocol.Request.Body.remember(.init(text: try args.required("text"), name: try args.string("name"),
                                                   aliases: try args.strings("aliases"), kind: kind))
            guard case .entries(let entries, _, _) = try await link.call(body) else { return unexpected(name) }
            let text = "Remembered \(entries.count) \(entries.count == 1 ? "entry" : "entries"):\n" + entries.map(ToolText.entryLine).joined(separator: "\n")
            return try success(text, Entries(entries: entries))
        case "ask":
            let body = JarvisProtocol.Request.Body.ask(.init(question: try args.required("question"), maxTokens: try args.int("max_tokens")))
            guard case .ask(let a) = try await link.call(body) else { return unexpected(name) }
            let sources = a.entries.isEmpty ? "" : "\n\n(from entries \(a.entries.map(String.init).joined(separator: ", ")))"
            return try success(a.answer.trimmingCharacters(in: .whitespacesAndNewlines) + sources,
                               Answer(answer: a.answer, entries: a.entries, tokens: a.tokens))
        case "search":
            let body = JarvisProtocol.Request.Body.search(.init(query: try args.required("query"), limit: try args.int("limit")))
            guard case .hits(let hits) = try await link.call(body) else { return unexpected(name) }
            let text = hits.isEmpty ? "No entries." : hits.enumerated().map { ToolText.hit($1, rank: $0 + 1) }.joined(separator: "\n")
            return try success(text, Hits(hits: hits))
        case "list":
            guard case .entries(let entries, _, _) = try await link.call(.list(.all)) else { return unexpected(name) }
            let text = entries.isEmpty ? "Nothing remembered yet." : entries.map(ToolText.entryLine).joined(separator: "\n")
            return try success(text, Entries(entries: entries))
        case "show":
            guard case .entry(let e) = try await link.call(.show(.init(entry: try args.required("entry")))) else { return unexpected(name) }
            return try success(ToolText.entry(e), Entry(entry: e))
        case "forget":
            guard case .entry(let e) = try await link.call(.forget(.init(entry: try args.required("entry")))) else { return unexpected(name) }
            return try success("Forgot " + ToolText.entryLine(e), Entry(entry: e))
        default:
            throw MCPError.invalidParams("unknown tool \"\(name)\"")
        }
    }

    // MARK: - Results

    struct Entries: Codable { let entries: [EntryInfo] }
    struct Entry: Codable { let entry: EntryInfo }
    struct Hits: Codable { let hits: [SearchHit] }
    struct Answer: Codable { let answer: String; let entries: [UInt64]; let tokens: Int }

    private static func success<T: Codable>(_ text: String, _ structured: T) throws -> CallTool.Result {
        try CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], structuredContent: structured, isError: false)
    }

    private static func failure(_ message: String) -> CallTool.Result {
        CallTool.Result(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
    }

    private static func unexpected(_ tool: String) -> CallTool.Result {
        failure("internal: jarvisd answered \(tool) with a result of another kind")
    }

    // MARK: - Schemas and arguments

    private static func string(_ description: String) -> Value { .object(["type": "string", "description": .string(description)]) }

    private static func schema(_ properties: [String: Value], required: [String]) -> Value {
        .object(["type": "object", "properties": .object(properties), "required": .array(required.map { .string($0) }),
                 "additionalProperties": false])
    }

    /// A tool call's arguments, read with clear messages for missing or mistyped ones.
    struct Arguments {
        struct Invalid: Error { let message: String }
        let values: [String: Value]

        func required(_ key: String) throws -> String {
            guard let s = try string(key) else { throw Invalid(message: "missing argument \"\(key)\"") }
            return s
        }

        func string(_ key: String) throws -> String? {
            guard let v = values[key], !v.isNull else { return nil }
            guard let s = v.stringValue else { throw Invalid(message: "argument \"\(key)\" must be a string") }
            return s
        }

        func int(_ key: String) throws -> Int? {
            guard let v = values[key], !v.isNull else { return nil }
            // JSON has one number type: 5.0 is accepted as 5.
            if let i = v.intValue { return i }
            if let d = v.doubleValue, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
            throw Invalid(message: "argument \"\(key)\" must be an integer")
        }

        func strings(_ key: String) throws -> [String]? {
            guard let v = values[key], !v.isNull else { return nil }
            guard let a = v.arrayValue, case let s = a.compactMap(\.stringValue), s.count == a.count else {
                throw Invalid(message: "argument \"\(key)\" must be an array of strings")
            }
            return s
        }
    }
}
