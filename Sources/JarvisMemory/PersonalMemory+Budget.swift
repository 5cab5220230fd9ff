import Foundation
import JarvisStore

/// The store budget (`Options.maxStoreBytes`). KV pages are nearly all of the store (about
/// 12 KB a token in q8 for SmolLM2-135M; an entry's text is a few hundred bytes), so the budget
/// counts pages. Past it, the entries answers used least recently drop their pages and keep
/// their text, vectors, names and metadata; the next answer that needs one computes its K/V
/// again and stores it again. Nothing the user gave is lost: a dropped entry costs one prefill
/// of its text on its next use. Photos keep their pages (their visual tokens cannot be computed
/// from text).
extension PersonalMemory {
    /// How the store's entries stand against the budget.
    public struct PageSummary: Sendable, Equatable {
        /// Entries whose pages are stored.
        public let pagedEntries: Int
        /// Entries that hold only their text, until their next use.
        public let textOnlyEntries: Int
        /// Bytes of stored pages.
        public let pageBytes: Int
    }

    /// The entries with and without pages, and the pages' bytes.
    public var pageSummary: PageSummary {
        index.withLock { PageSummary(pagedEntries: $0.paged.count, textOnlyEntries: $0.textOnly.count, pageBytes: $0.pageBytes) }
    }

    /// Past the budget, pages are dropped down to this fraction of it, so that the writes right
    /// after do not each drop an entry.
    static let budgetLowWater = 0.95

    /// `records` with their pages: those of text-only entries are computed again, behind the
    /// shared prefix, and stored again (then the budget is met again, sparing `records`).
    /// Call with `work` held.
    /// - Throws: what encoding or the store throws.
    func withPages(_ records: [EntryRecord]) throws -> [EntryRecord] {
        guard records.contains(where: { !$0.hasPages }) else { return records }
        let restored = try records.map { r -> EntryRecord in
            guard !r.hasPages else { return r }
            let (tokens, kv) = try encoder.encode(r.encodedText)
            var fresh = encoder.record(text: r.text, promptText: r.promptText, tokenCount: tokens.count, kind: r.kind, name: r.name,
                                       aliases: r.aliases, sourceDigest: r.sourceDigest, metadata: r.metadata, blockTokens: r.blockTokens,
                                       dtype: model.config.headDim % 32 == 0 ? r.dtype : .fp16)
            fresh.id = r.id
            fresh.createdMilliseconds = r.createdMilliseconds
            let saved = try store.restorePages(fresh, kv: kv)
            index.withLock { $0.account(saved) }
            return saved
        }
        try keepWithinBudget(sparing: Set(records.map(\.id)))
        return restored
    }

    /// Drops the pages of the least recently used entries (not `sparing`, not photos) until
    /// the pages are within the budget's low-water mark, 256 entries to a transaction: a crash
    /// in between leaves each entry whole, with its pages or text-only.
    /// - Throws: `StoreError` from a write; the entries dropped before it stay dropped.
    func keepWithinBudget(sparing: Set<UInt64> = []) throws {
        guard let budget = options.maxStoreBytes else { return }
        let victims: [UInt64] = index.withLock { index in
            guard index.pageBytes > budget else { return [] }
            var excess = index.pageBytes - Int(Double(budget) * Self.budgetLowWater)
            let candidates = index.paged.keys.filter { !index.pinned.contains($0) && !sparing.contains($0) }
                .sorted { (index.lastUse[$0] ?? 0, $0) < (index.lastUse[$1] ?? 0, $1) }
            var out: [UInt64] = []
            for id in candidates where excess > 0 {
                out.append(id)
                excess -= index.paged[id] ?? 0
            }
            return out
        }
        for start in stride(from: 0, to: victims.count, by: 256) {
            let dropped = try store.dropPages(ids: Array(victims[start..<min(start + 256, victims.count)]))
            index.withLock { index in for r in dropped { index.account(r) } }
        }
    }

    /// After a write that stored pages: the write is done whatever happens here, and a budget
    /// not met now is met at the next write or the next start.
    func keepWithinBudgetAfterWrite() {
        try? keepWithinBudget()
    }

    /// Notes that an answer used these entries now (in memory and in the store). Recency only
    /// orders what is dropped first, so a failed write of it is passed over.
    func noteUse(_ ids: [UInt64]) {
        guard options.maxStoreBytes != nil, !ids.isEmpty else { return }
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        index.withLock { index in for id in ids where index.lastUse[id] != nil { index.lastUse[id] = now } }
        try? store.noteUse(ids: ids, at: now)
    }
}
