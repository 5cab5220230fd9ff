import Foundation
import JarvisProtocol

/// How tool results read as text, for the model on the other side of MCP.
enum ToolText {
    /// The text on one line, cut to `max` characters with an ellipsis.
    static func oneLine(_ text: String, max: Int) -> String {
        let flat = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return flat.count <= max ? flat : String(flat.prefix(max - 1)) + "…"
    }

    static func label(_ e: EntryInfo) -> String { "\(e.id)" + (e.name.map { " \"\($0)\"" } ?? "") }

    static func entryLine(_ e: EntryInfo) -> String { "[\(label(e))] (\(e.kind)) \(oneLine(e.text, max: 100))" }

    /// One entry in full: its fields, then its text exactly as remembered.
    static func entry(_ e: EntryInfo) -> String {
        var lines = ["id: \(e.id)"]
        if let name = e.name { lines.append("name: \(name)") }
        if !e.aliases.isEmpty { lines.append("aliases: \(e.aliases.joined(separator: ", "))") }
        lines.append("kind: \(e.kind)")
        for (k, v) in e.metadata.sorted(by: { $0.key < $1.key }) where k != "name" { lines.append("\(k): \(v)") }
        return lines.joined(separator: "\n") + "\ntext:\n" + e.text
    }

    static func hit(_ h: SearchHit, rank: Int) -> String {
        "\(rank). [\(h.id)\(h.name.map { " \"\($0)\"" } ?? "")] score \(String(format: "%.4f", h.score)): \(h.snippet)"
    }
}
