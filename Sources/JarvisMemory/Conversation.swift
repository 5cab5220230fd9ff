import JarvisEngine
import JarvisStore

/// A chat session held live: its turns as text (what the store keeps) and their KV, so that a
/// new turn prefills only its own tokens.
///
/// The history is one cache per turn rather than one cache for all. A turn is computed right
/// after the entries retrieved for it, and those change from turn to turn, so its keys are
/// rotated for a position no later turn shares; one cache would need every earlier row rotated
/// again, or a gap of unused positions in front of the history. As separate caches each turn is
/// lent as its own `KVRun`, placed right after this turn's entries, and the engine rotates the
/// query by each run's `positionDelta` instead (the same mechanism that moves stored entries).
/// A session resumed from the store is prefilled again once, as one cache behind the prefix.
final class Conversation: @unchecked Sendable {
    var record: SessionRecord
    /// The turns' KV, oldest first: rows `0..<count` of each.
    private(set) var history: [KVCache] = []

    init(record: SessionRecord) { self.record = record }

    /// Positions the history takes.
    var historyTokens: Int { history.reduce(0) { $0 + $1.count } }

    /// The history as attention runs laid one after another from `position`.
    func runs(placedAt position: Int) -> [KVRun] {
        var p = position
        return history.map { cache in
            defer { p += cache.count }
            return cache.run(0..<cache.count, placedAt: p)
        }
    }

    /// Adds a finished turn: its KV (the turn's prompt, answer and closing markup) and its text.
    func append(_ cache: KVCache, turn: SessionRecord.Turn, at milliseconds: Int64) {
        history.append(cache)
        record.turns.append(turn)
        record.updatedMilliseconds = milliseconds
    }

    /// The tokens of a whole stored turn: its prompt, its answer as text, the answer's end.
    static func tokens(of turn: SessionRecord.Turn, first: Bool, prompt: AnswerPrompt, tokenizer: BPETokenizer) -> [Int32] {
        tokenizer.encode(prompt.chatTurn(turn.question, first: first) + .text(turn.answer) + prompt.answerEnd)
    }

    /// Prefills the stored turns again (a session resumed after the daemon restarted, or
    /// evicted from memory), as one cache computed right behind `prefix`. Turns that would
    /// take more than `limit` tokens are left out of the KV, oldest first; their text stays.
    func rebuild(prefix: KVCache, model: Transformer, prompt: AnswerPrompt, tokenizer: BPETokenizer, limit: Int) throws {
        var kept: [[Int32]] = []
        var total = 0
        for (i, turn) in record.turns.enumerated().reversed() {
            let t = Self.tokens(of: turn, first: i == 0, prompt: prompt, tokenizer: tokenizer)
            guard total + t.count <= limit else { break }
            kept.insert(t, at: 0)
            total += t.count
        }
        history = []
        guard total > 0 else { return }
        let cache = KVCache(config: model.config, capacity: total, basePosition: prefix.count)
        _ = try model.prefill(kept.flatMap { $0 }, cache: cache, context: [prefix.run(0..<prefix.count)], logits: .none)
        history = [cache]
    }
}
