/// A chat session as `sessions` lists it: `{"name", "turns", "created_ms", "updated_ms", "live"}`.
public struct SessionInfo: Codable, Equatable, Sendable {
    public var name: String
    /// Turns (question and answer) it holds.
    public var turns: Int
    /// Milliseconds since 1970.
    public var createdMs: Int64
    /// Milliseconds since 1970 of its last turn.
    public var updatedMs: Int64
    /// Whether the server holds its KV in memory; if not, its next turn prefills its history once.
    public var live: Bool

    enum CodingKeys: String, CodingKey { case name, turns, createdMs = "created_ms", updatedMs = "updated_ms", live }

    public init(name: String, turns: Int, createdMs: Int64, updatedMs: Int64, live: Bool) {
        self.name = name; self.turns = turns; self.createdMs = createdMs; self.updatedMs = updatedMs; self.live = live
    }
}
