/// Something to remember: where it comes from, what kind of entry it makes, and the fields the
/// user gave (which win over drafted ones). The one input of `PersonalMemory.remember`.
public struct MemoryItem: Sendable, Equatable {
    /// What the entry is, as stored in its record.
    public enum Kind: String, Sendable, CaseIterable {
        case note, fact, file, photo
    }

    public enum Source: Sendable, Equatable {
        /// Text given as it is (a note, a fact, or a file's contents read by the client).
        case text(String)
        /// A UTF-8 text file the memory reads.
        case file(path: String)
        /// A JPEG or PNG photo the memory decodes.
        case photo(path: String)
    }

    public var source: Source
    public var kind: Kind
    /// A name to recall the entry by (the first entry, when the text is split).
    public var name: String?
    public var aliases: [String]
    public var metadata: [String: String]

    /// - Parameter kind: by default note for text, file for a file, photo for a photo.
    /// - Throws: `.invalidArgument` if `kind` and `source` disagree about being a photo, or
    ///   the name is blank.
    public init(_ source: Source, kind: Kind? = nil, name: String? = nil, aliases: [String] = [],
                metadata: [String: String] = [:]) throws {
        let natural: Kind = switch source { case .text: .note; case .file: .file; case .photo: .photo }
        let kind = kind ?? natural
        guard (kind == .photo) == (natural == .photo) else {
            throw MemoryError(.invalidArgument, natural == .photo ? "a photo is remembered as kind photo, not \(kind.rawValue)"
                                                                  : "a photo is remembered by path, not as text")
        }
        if let name, name.allSatisfy(\.isWhitespace) { throw MemoryError(.invalidArgument, "the name is empty") }
        self.source = source
        self.kind = kind
        self.name = name
        self.aliases = aliases
        self.metadata = metadata
    }

    /// A note.
    public static func note(_ text: String, name: String? = nil, aliases: [String] = [], metadata: [String: String] = [:]) -> MemoryItem {
        MemoryItem(unchecked: .text(text), kind: .note, name: name, aliases: aliases, metadata: metadata)
    }

    /// A structured fact: a named thing with aliases, a category and attributes, written as one
    /// sentence ("Luna (pet). colour: black; eyes: green.") with the fields as metadata.
    public static func fact(name: String, aliases: [String] = [], category: String, attributes: [String: String]) -> MemoryItem {
        let facts = attributes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        var meta = attributes
        meta["category"] = category
        return MemoryItem(unchecked: .text("\(name) (\(category)). \(facts)."), kind: .fact, name: name, aliases: aliases, metadata: meta)
    }

    private init(unchecked source: Source, kind: Kind, name: String?, aliases: [String], metadata: [String: String]) {
        self.source = source
        self.kind = kind
        self.name = name
        self.aliases = aliases
        self.metadata = metadata
    }
}
