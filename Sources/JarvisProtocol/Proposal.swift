/// A change to the memory that a chat line implies (the `propose` op), for the user to
/// confirm; nothing is changed until the client sends `remember`, `update` or `forget`.
public struct Proposal: Codable, Equatable, Sendable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        /// Remember `text` as a new entry.
        case add
        /// Replace `entry`'s text with `text`: the line contradicts it.
        case update
        /// Forget `entry`.
        case forget
    }

    public var action: Action
    /// For add and update: what to store, verbatim from the line.
    public var text: String?
    /// For update and forget: the entry concerned, as it is now.
    public var entry: EntryInfo?

    public init(action: Action, text: String? = nil, entry: EntryInfo? = nil) {
        self.action = action; self.text = text; self.entry = entry
    }
}
