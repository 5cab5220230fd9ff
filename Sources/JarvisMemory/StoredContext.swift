import Foundation
import JarvisEngine
import JarvisStore

/// What an answer attends to before its own tokens: the shared prefix, then stored entries'
/// pages placed one after another, read in place. Valid only inside the read transaction it was
/// built in. Ask and the benchmarks build it here, and nowhere else.
///
/// Each entry was computed alone behind the prefix. Placed after others, its first tokens act
/// as a second attention sink; with `LeadRecompute` those few tokens are computed again in
/// place, attending to the prefix and the entries before them (the idea of EPIC), and the rest
/// of the entry is read from its pages as before.
public struct StoredContext {
    /// Computing again the first tokens of each entry that does not sit where it was computed.
    public struct LeadRecompute {
        /// Tokens computed again at the start of each moved entry.
        public var tokens: Int
        let model: Transformer
        /// The entry's token ids, or nil when they cannot be had again (visual tokens).
        let tokenize: (EntryRecord) -> [Int32]?

        public init(tokens: Int, model: Transformer, tokenize: @escaping (EntryRecord) -> [Int32]?) {
            self.tokens = tokens
            self.model = model
            self.tokenize = tokenize
        }
    }

    /// Attention runs: the prefix's, then each entry's blocks (and recomputed leads).
    public let runs: [KVRun]
    /// The position after the last entry, where the question starts.
    public let nextPosition: Int
    /// Tokens computed again while building the context.
    public let recomputedTokens: Int

    /// Lays out `entries` after `prefix`, in order.
    /// - Throws: `StoreError` if a page is missing or damaged or an entry has another shape;
    ///   what the model throws while recomputing.
    /// - Parameters:
    ///   - temperature, scale: APE-style scaling of the attention that later tokens pay to the
    ///     entries' rows (see `Composition`); the prefix and recomputed leads' own computation
    ///     are not scaled.
    public init(prefix: KVCache, entries: [EntryRecord], reader: StoreReader, model: ModelConfig,
                recompute: LeadRecompute? = nil, temperature: Float = 1, scale: Float = 1) throws {
        var runs = [prefix.run(0..<prefix.count)], position = prefix.count, recomputed = 0
        for r in entries {
            if let lead = recompute, lead.tokens > 0, position != r.positionBase, let ids = lead.tokenize(r), ids.count == r.tokenCount {
                let m = min(lead.tokens, r.tokenCount)
                let cache = KVCache(config: model, capacity: m, basePosition: position)
                try lead.model.prefill(Array(ids[0..<m]), cache: cache, context: runs, logits: .none)
                runs.append(cache.run(0..<m))
                if m < r.tokenCount { runs += try reader.runs(for: r, placedAt: position, model: model, from: m) }
                recomputed += m
            } else {
                runs += try reader.runs(for: r, placedAt: position, model: model)
            }
            position += r.tokenCount
        }
        if temperature != 1 || scale != 1 {
            for i in runs.indices.dropFirst() {
                runs[i].logitScale = 1 / temperature
                runs[i].logitBias = Float(log(Double(scale)))
            }
        }
        self.runs = runs
        nextPosition = position
        recomputedTokens = recomputed
    }
}
