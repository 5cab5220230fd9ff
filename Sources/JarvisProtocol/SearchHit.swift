/// One entry found by `search`: where it ranks, how it scored, and the part of its text that
/// matched. Ranked by retrieval alone; nothing is generated.
public struct SearchHit: Codable, Equatable, Sendable {
    public var id: UInt64
    public var name: String?
    public var kind: String
    /// The fused retrieval score (reciprocal-rank fusion of dense and BM25 ranks, plus 1 when
    /// the query names the entry); only its order means anything.
    public var score: Double
    /// Cosine similarity of the query's and the entry's text embeddings, in -1...1.
    public var cosine: Double
    /// The query contains the entry's name or one of its aliases.
    public var nameMatch: Bool
    /// A short, single-line excerpt of the entry's text around the first query word it holds.
    public var snippet: String

    enum CodingKeys: String, CodingKey { case id, name, kind, score, cosine, nameMatch = "name_match", snippet }

    public init(id: UInt64, name: String?, kind: String, score: Double, cosine: Double, nameMatch: Bool, snippet: String) {
        self.id = id; self.name = name; self.kind = kind; self.score = score; self.cosine = cosine
        self.nameMatch = nameMatch; self.snippet = snippet
    }

    // `name` is always present, null when the entry has none (as in `EntryInfo`).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        if let name { try c.encode(name, forKey: .name) } else { try c.encodeNil(forKey: .name) }
        try c.encode(kind, forKey: .kind)
        try c.encode(score, forKey: .score)
        try c.encode(cosine, forKey: .cosine)
        try c.encode(nameMatch, forKey: .nameMatch)
        try c.encode(snippet, forKey: .snippet)
    }
}
