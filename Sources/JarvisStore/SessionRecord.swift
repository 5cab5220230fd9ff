import Foundation

/// A chat session as the store keeps it: its turns as text, so that a session outlives the
/// daemon. Its KV is never stored: a resumed session is prefilled again from these turns once.
public struct SessionRecord: Codable, Equatable, Sendable {
    /// One exchange: what the user said and what the assistant answered.
    public struct Turn: Codable, Equatable, Sendable {
        public var question: String
        public var answer: String
        /// The entries the answer rested on, best first.
        public var entries: [UInt64]
        public init(question: String, answer: String, entries: [UInt64] = []) {
            self.question = question; self.answer = answer; self.entries = entries
        }
    }

    /// The session's name, unique in the store (case-sensitive).
    public var name: String
    /// Milliseconds since 1970.
    public var createdMilliseconds: Int64
    /// Milliseconds since 1970 of the last turn (or of creation).
    public var updatedMilliseconds: Int64
    public var turns: [Turn]

    public init(name: String, createdMilliseconds: Int64, updatedMilliseconds: Int64? = nil, turns: [Turn] = []) {
        self.name = name
        self.createdMilliseconds = createdMilliseconds
        self.updatedMilliseconds = updatedMilliseconds ?? createdMilliseconds
        self.turns = turns
    }
}
