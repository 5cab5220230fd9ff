import JarvisProtocol
import MCP

/// Entries as MCP resources: `jarvis://entry/ID`, read as the entry's verbatim text.
public enum EntryResource {
    /// The URI scheme and path before the id.
    public static let prefix = "jarvis://entry/"

    /// The template MCP clients are told about.
    public static let template = Resource.Template(
        uriTemplate: prefix + "{id}", name: "entry", title: "A Jarvis memory entry",
        description: "One remembered entry's text, exactly as it was remembered, by its numeric id.",
        mimeType: "text/plain")

    /// The URI of the entry with this id.
    public static func uri(_ id: UInt64) -> String { prefix + String(id) }

    /// The entry id a URI names, or nil if it names none (another scheme, a non-numeric id).
    public static func id(_ uri: String) -> UInt64? {
        guard uri.hasPrefix(prefix) else { return nil }
        return UInt64(uri.dropFirst(prefix.count))
    }

    /// An entry as a listed resource: its name (or "entry ID") and the start of its text.
    static func resource(_ e: EntryInfo) -> Resource {
        Resource(name: e.name ?? "entry \(e.id)", uri: uri(e.id), title: e.name,
                 description: "\(e.kind): \(ToolText.oneLine(e.text, max: 100))", mimeType: "text/plain",
                 size: e.text.utf8.count)
    }
}
