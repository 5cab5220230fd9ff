import Foundation
import JarvisEngine
import JarvisStore

/// What an answer attends to before its own tokens: the shared prefix, then stored entries'
/// pages placed one after another, read in place. Valid only inside the read transaction it was
/// built in. Ask and the benchmarks build it here, and nowhere else.
///
/// Each entry was computed alone behind the prefix. Placed after others, its first tokens act
/// as a second attention sink; with a `Recompute` lead those few tokens are computed again in
/// place, attending to the prefix and the entries before them (the idea of EPIC), and the rest
/// of the entry is read from its pages as before. With a blend ratio, the entries from the first
/// moved one on are composed into one cache whose most deviating tokens are computed again
/// through every layer (CacheBlend, `Transformer.blend`).
public struct StoredContext {
    /// What is computed again of the entries that do not sit where they were computed.
    public struct Recompute {
        /// Tokens computed again at the start of each moved entry (EPIC-style).
        public var lead: Int
        /// The fraction of the moved entries' tokens computed again CacheBlend-style
        /// (`Transformer.blend`); above 0, it replaces the lead.
        public var blendRatio: Double
        let model: Transformer
        /// The entry's token ids, or nil when they cannot be had again (visual tokens).
        let tokenize: (EntryRecord) -> [Int32]?

        public init(lead: Int = 0, blendRatio: Double = 0, model: Transformer, tokenize: @escaping (EntryRecord) -> [Int32]?) {
            self.lead = lead
            self.blendRatio = blendRatio
            self.model = model
            self.tokenize = tokenize
        }

        /// The entry's token ids, if they can be had again and match its rows.
        func ids(of r: EntryRecord) -> [Int32]? {
            tokenize(r).flatMap { $0.count == r.tokenCount ? $0 : nil }
        }
    }

    /// Attention runs: the prefix's, then each entry's blocks (and recomputed leads).
    public let runs: [KVRun]
    /// The position after the last entry, where the question starts.
    public let nextPosition: Int
    /// Tokens computed again while building the context (through every layer).
    public let recomputedTokens: Int
    /// Tokens run through the first two layers to choose them (blend only).
    public let checkedTokens: Int

    /// Lays out `entries` after `prefix`, in order.
    /// - Throws: `StoreError` if a page is missing or damaged or an entry has another shape;
    ///   what the model throws while recomputing.
    /// - Parameters:
    ///   - temperature, scale: APE-style scaling of the attention that later tokens pay to the
    ///     entries' rows (see `Composition`); the prefix and recomputed leads' own computation
    ///     are not scaled.
    public init(prefix: KVCache, entries: [EntryRecord], reader: StoreReader, model: ModelConfig,
                recompute: Recompute? = nil, temperature: Float = 1, scale: Float = 1) throws {
        var runs = [prefix.run(0..<prefix.count)], position = prefix.count, recomputed = 0, checked = 0
        // With a blend, every entry from the first moved one on is composed and blended as one.
        var blended: [KVRun] = [], blendTokens: [Int32?] = []
        for r in entries {
            let moved = position != r.positionBase
            if let re = recompute, re.blendRatio > 0, moved || !blended.isEmpty {
                blended += try reader.runs(for: r, placedAt: position, model: model)
                blendTokens += re.ids(of: r).map { $0.map(Optional.some) } ?? Array(repeating: nil, count: r.tokenCount)
            } else if let re = recompute, re.lead > 0, moved, let ids = re.ids(of: r) {
                let m = min(re.lead, r.tokenCount)
                let cache = KVCache(config: model, capacity: m, basePosition: position)
                try re.model.prefill(Array(ids[0..<m]), cache: cache, context: runs, logits: .none)
                runs.append(cache.run(0..<m))
                if m < r.tokenCount { runs += try reader.runs(for: r, placedAt: position, model: model, from: m) }
                recomputed += m
            } else {
                runs += try reader.runs(for: r, placedAt: position, model: model)
            }
            position += r.tokenCount
        }
        if let re = recompute, !blended.isEmpty {
            let b = try re.model.blend(blended, tokens: blendTokens, context: runs, ratio: re.blendRatio)
            runs.append(b.cache.run(0..<b.cache.count))
            recomputed += b.recomputed
            checked = b.checked
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
        checkedTokens = checked
    }
}
