import Foundation
import JarvisStore

// MARK: - Memories from conversation

/// A change to the memory that a chat line implies, for the user to confirm: nothing is
/// changed until they do (the client then sends `remember`, `update` or `forget`).
public struct MemoryProposal: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        /// Remember `text` as a new entry.
        case add
        /// Replace `entry`'s text with `text`: the line contradicts it.
        case update
        /// Forget `entry`.
        case forget
    }

    public var action: Action
    /// For add and update: what to store, verbatim from the line (without "remember that").
    public var text: String?
    /// For update and forget: the entry concerned.
    public var entry: EntryRecord?

    public init(action: Action, text: String? = nil, entry: EntryRecord? = nil) {
        self.action = action; self.text = text; self.entry = entry
    }
}

extension PersonalMemory {
    /// How many of the retriever's best entries a line is compared with.
    static let proposalCandidates = 10

    /// The change to the memory that `utterance` implies, if any: a new memory for a lasting
    /// statement ("remember that my locker is 40", "my passport expires in June"), an update
    /// of the entry it contradicts ("my sister moved to Porto" over "My sister Ana lives in
    /// Lisbon"), or forgetting the entry it names ("forget my locker number", "I sold my
    /// car"). Nil for questions and passing remarks, for a statement already remembered, and
    /// for a request to forget what no entry holds. Changes nothing; does not run the model
    /// (only the embedder), so it does not wait for answers.
    /// - Throws: `StoreError` for a damaged record.
    public func propose(_ utterance: String) throws -> MemoryProposal? {
        guard let intent = MemoryIntent(utterance: utterance) else { return nil }
        let query: String
        switch intent {
        case .remember(let s): query = s.text
        case .forget(let t): query = t.text
        }
        let ranked = retriever.rank(question: query, vector: embedder.embed(query)).prefix(Self.proposalCandidates)
        let candidates = try ranked.compactMap { try store.entry(id: $0.id) }
        switch intent {
        case .remember(let statement):
            // Files and photos are not single statements a line could replace.
            for r in candidates where r.kind == MemoryItem.Kind.note.rawValue || r.kind == MemoryItem.Kind.fact.rawValue {
                guard let entry = MemoryIntent.Statement(r.text, requireVerb: false) else { continue }
                let names = (r.name.map { [$0] } ?? []) + r.aliases
                if statement.isRestated(by: entry, names: names) { return nil }
                if statement.sameSubject(as: entry, names: names) {
                    return MemoryProposal(action: .update, text: statement.text, entry: r)
                }
            }
            return MemoryProposal(action: .add, text: statement.text)
        case .forget(let topic):
            var best: (record: EntryRecord, score: Double)?
            for r in candidates {
                let score = topic.match(r.text, names: (r.name.map { [$0] } ?? []) + r.aliases)
                if score > (best?.score ?? 0) { best = (r, score) }
            }
            return best.map { MemoryProposal(action: .forget, entry: $0.record) }
        }
    }
}
