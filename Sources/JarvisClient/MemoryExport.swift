import Foundation
import JarvisProtocol

/// The export format (`jarvisctl export`, `jarvisctl import`): JSON Lines, UTF-8. The first
/// line is a `Header`; each further line is one `Entry`. It holds what the user gave — text
/// verbatim, name, aliases, kind, metadata, a photo's file — and nothing a model computed, so
/// any model can read it back (by remembering each entry again).
public enum MemoryExport {
    /// The `format` every header names.
    public static let format = "jarvis-export"
    /// The version this program writes and the newest it reads.
    public static let version = 1

    /// The first line: `{"format": "jarvis-export", "version": 1, "entries": N, "exported_ms": T}`.
    public struct Header: Codable, Equatable, Sendable {
        public var format: String
        public var version: Int
        /// How many entry lines follow.
        public var entries: Int
        /// When the export was written, in milliseconds since 1970.
        public var exportedMs: Int64
        enum CodingKeys: String, CodingKey { case format, version, entries, exportedMs = "exported_ms" }
        public init(entries: Int, exportedMs: Int64) {
            format = MemoryExport.format; version = MemoryExport.version; self.entries = entries; self.exportedMs = exportedMs
        }
    }

    /// One entry line. `photo` is the path a photo entry was remembered from (photos are kept
    /// by reference: the file itself is not in the export).
    public struct Entry: Codable, Equatable, Sendable {
        /// The entry's id in the store it was exported from (ids are not kept by an import).
        public var id: UInt64?
        public var name: String?
        public var aliases: [String]
        public var kind: String
        /// When it was first remembered, in milliseconds since 1970 (an import stores it anew).
        public var createdMs: Int64?
        public var text: String
        public var metadata: [String: String]
        public var photo: String?
        enum CodingKeys: String, CodingKey { case id, name, aliases, kind, createdMs = "created_ms", text, metadata, photo }

        public init(id: UInt64?, name: String?, aliases: [String], kind: String, createdMs: Int64?, text: String,
                    metadata: [String: String], photo: String?) {
            self.id = id; self.name = name; self.aliases = aliases; self.kind = kind; self.createdMs = createdMs
            self.text = text; self.metadata = metadata; self.photo = photo
        }

        /// An entry as the server lists it.
        public init(_ e: EntryInfo) {
            self.init(id: e.id, name: e.name, aliases: e.aliases, kind: e.kind, createdMs: e.createdMs, text: e.text,
                      metadata: e.metadata, photo: e.kind == "photo" ? e.metadata["path"] : nil)
        }

        // Optional fields may be absent; `aliases` and `metadata` default to empty.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(id: try c.decodeIfPresent(UInt64.self, forKey: .id), name: try c.decodeIfPresent(String.self, forKey: .name),
                      aliases: try c.decodeIfPresent([String].self, forKey: .aliases) ?? [], kind: try c.decode(String.self, forKey: .kind),
                      createdMs: try c.decodeIfPresent(Int64.self, forKey: .createdMs), text: try c.decode(String.self, forKey: .text),
                      metadata: try c.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:],
                      photo: try c.decodeIfPresent(String.self, forKey: .photo))
        }

        /// The request that remembers this entry again: a photo from its file, anything else
        /// from its text, with its name, aliases, kind and metadata.
        public var rememberRequest: Request.Remember {
            let kind = EntryKind(rawValue: self.kind)
            if kind == .photo {
                return Request.Remember(path: photo ?? metadata["path"], name: name, aliases: aliases, kind: .photo, metadata: metadata)
            }
            return Request.Remember(text: text, name: name, aliases: aliases, kind: kind, metadata: metadata)
        }
    }

    /// One line of JSON (no trailing newline): keys sorted, every control character escaped,
    /// so that a text with newlines stays on its line.
    public static func line<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    /// Reads the header line.
    /// - Throws: `ExportError` saying why the line is not a header this program reads.
    public static func header(_ line: String) throws -> Header {
        guard let h = try? JSONDecoder().decode(Header.self, from: Data(line.utf8)), h.format == format else {
            throw ExportError("not a Jarvis export: the first line must be {\"format\": \"\(format)\", \"version\": \(version), …}")
        }
        guard h.version <= version else {
            throw ExportError("written by a newer Jarvis (export version \(h.version); this one reads up to \(version)): upgrade Jarvis")
        }
        return h
    }

    /// Reads one entry line.
    /// - Throws: `ExportError` saying what is wrong with it.
    public static func entry(_ line: String) throws -> Entry {
        let e: Entry
        do {
            e = try JSONDecoder().decode(Entry.self, from: Data(line.utf8))
        } catch let DecodingError.keyNotFound(key, _) {
            throw ExportError("the entry has no \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ExportError("\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
        } catch {
            throw ExportError("not a JSON object")
        }
        guard let kind = EntryKind(rawValue: e.kind) else {
            throw ExportError("kind must be one of \(EntryKind.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(e.kind)\"")
        }
        guard !e.text.allSatisfy(\.isWhitespace) || kind == .photo else { throw ExportError("the entry's text is empty") }
        if kind == .photo, (e.photo ?? e.metadata["path"]) == nil {
            throw ExportError("a photo entry needs \"photo\", the path of its file")
        }
        return e
    }

    /// The export's lines, numbered from 1, without their line ends (LF or CRLF); blank lines
    /// are left out. A line that is not valid UTF-8 has no text.
    public static func lines(of data: Data) -> [(number: Int, text: String?)] {
        var out: [(Int, String?)] = []
        for (i, raw) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let bytes = raw.last == 0x0D ? raw.dropLast() : raw
            let text = String(data: Data(bytes), encoding: .utf8)
            if let text, text.allSatisfy(\.isWhitespace) { continue }
            out.append((i + 1, text))
        }
        return out
    }
}

/// Why a line of an export cannot be read.
public struct ExportError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
