import Foundation

/// What the store keeps about one remembered entry (its KV pages and vectors are stored
/// beside it under the same id).
public struct EntryRecord: Codable, Sendable, Equatable {
    /// Stable id, assigned by the store; never reused.
    public var id: UInt64
    /// The name the user gave, if any; unique across entries (case-insensitive), as are aliases.
    public var name: String?
    public var aliases: [String]
    /// "note", "fact", "file", "photo", ...
    public var kind: String
    /// When the entry was remembered, in milliseconds since 1970 (an integer, so it
    /// round-trips exactly).
    public var createdMilliseconds: Int64
    public var created: Date { Date(timeIntervalSince1970: Double(createdMilliseconds) / 1000) }
    /// What the user gave, exactly: a note, or one span of a file (a file's entries, in id
    /// order, concatenate to the file). For entries stored before 0.6, the text that was encoded.
    public var text: String
    /// The text the entry's tokens came from — `text` in its context (file name, headings, a
    /// list item's dash) — kept so that the entry can be encoded again for another model. Nil
    /// for entries stored before 0.6, whose `text` is that.
    public var promptText: String?
    /// The text the entry's tokens came from.
    public var encodedText: String { promptText ?? text }
    /// A digest of the source the user gave (the file or the note), to notice it remembered twice.
    public var sourceDigest: String
    /// Structured metadata (category, attributes, caption, ...).
    public var metadata: [String: String]
    /// Number of tokens whose K/V are stored.
    public var tokenCount: Int
    /// Absolute position the first token was computed at (right after the shared prefix).
    public var positionBase: Int
    /// Tokens per page (the last page of each layer may hold fewer).
    public var blockTokens: Int
    public var layers: Int
    public var kvHeads: Int
    public var headDim: Int
    public var dtype: KVPageDType
    /// Fingerprint of the model and shared prefix the pages were computed with.
    public var fingerprint: String
    /// True when the entry's pages were dropped to keep the store within its budget: its text,
    /// vectors and metadata stay, and its K/V is computed again from `encodedText` when it is
    /// next used. Nil for an entry whose pages are stored.
    public var textOnly: Bool?

    /// Whether the entry's KV pages are stored.
    public var hasPages: Bool { textOnly != true }

    /// Pages per layer.
    public var blockCount: Int { (tokenCount + blockTokens - 1) / blockTokens }

    /// Bytes of the entry's pages as stored (headers included), or would be with pages.
    public var pageBytes: Int {
        let full = tokenCount / blockTokens, rest = tokenCount % blockTokens
        let block = { KVPage.byteCount(tokens: $0, kvHeads: self.kvHeads, headDim: self.headDim, dtype: self.dtype) }
        return layers * (full * block(blockTokens) + (rest > 0 ? block(rest) : 0))
    }

    public init(id: UInt64 = 0, name: String? = nil, aliases: [String] = [], kind: String, created: Date = Date(),
                text: String, promptText: String? = nil, sourceDigest: String, metadata: [String: String] = [:], tokenCount: Int, positionBase: Int,
                blockTokens: Int = 64, layers: Int, kvHeads: Int, headDim: Int, dtype: KVPageDType = .fp16, fingerprint: String) {
        self.id = id
        self.name = name
        self.aliases = aliases
        self.kind = kind
        self.createdMilliseconds = Int64((created.timeIntervalSince1970 * 1000).rounded())
        self.text = text
        self.promptText = promptText
        self.sourceDigest = sourceDigest
        self.metadata = metadata
        self.tokenCount = tokenCount
        self.positionBase = positionBase
        self.blockTokens = blockTokens
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.dtype = dtype
        self.fingerprint = fingerprint
    }
}

/// The K/V of an entry's tokens, as the engine hands them out: fp16 bits laid out
/// `[layer][kvHead][token][headDim]`, keys rotated for positions starting at the record's
/// `positionBase`.
public struct EntryKV: Sendable {
    public let keys: [UInt16]
    public let values: [UInt16]
    public init(keys: [UInt16], values: [UInt16]) {
        self.keys = keys
        self.values = values
    }
}
