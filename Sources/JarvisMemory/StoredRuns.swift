import JarvisEngine
import JarvisStore

extension StoreReader {
    /// The K/V of a stored entry as attention runs over its pages, in place in the memory map,
    /// placed at absolute position `placedAt` of the logical cache: one run per block of
    /// tokens. Nothing is copied; the runs are valid only inside this read transaction.
    /// - Throws: `StoreError` if a page is missing or damaged, `.invalidArgument` if the entry
    ///   was stored for another model shape.
    /// - Parameter first: the first of the entry's tokens to lend (those before it are left out).
    public func runs(for record: EntryRecord, placedAt position: Int, model: ModelConfig, from first: Int = 0) throws -> [KVRun] {
        guard record.layers == model.layers, record.kvHeads == model.kvHeads, record.headDim == model.headDim else {
            throw StoreError(.invalidArgument, "entry \(record.id) was stored for a model of another shape (\(record.layers) layers × \(record.kvHeads) KV heads × \(record.headDim)); re-encode it")
        }
        var runs: [KVRun] = []
        runs.reserveCapacity(record.blockCount)
        for block in first / record.blockTokens..<record.blockCount {
            // Rows of the first block that are left out.
            let skip = block == first / record.blockTokens ? first % record.blockTokens : 0
            var keys: [UnsafeRawPointer] = [], values: [UnsafeRawPointer] = []
            var keyScales: [UnsafePointer<UInt16>] = [], valueScales: [UnsafePointer<UInt16>] = []
            var computed = 0, count = 0
            for layer in 0..<record.layers {
                let page = try page(entry: record.id, layer: layer, block: block)
                guard page.dtype == record.dtype, page.kvHeads == record.kvHeads, page.headDim == record.headDim else {
                    throw StoreError(.corrupt, "entry \(record.id), layer \(layer), block \(block): the page's format does not match the entry's record")
                }
                computed = page.firstPosition + skip
                count = page.tokenCount - skip
                let rowBytes = record.headDim * (page.dtype == .fp16 ? 2 : 1), scalesPerRow = record.headDim / 32
                for h in 0..<record.kvHeads {
                    keys.append(page.rows(head: h, values: false) + skip * rowBytes)
                    values.append(page.rows(head: h, values: true) + skip * rowBytes)
                    if page.dtype == .q8 {
                        keyScales.append(page.scales(head: h, values: false) + skip * scalesPerRow)
                        valueScales.append(page.scales(head: h, values: true) + skip * scalesPerRow)
                    }
                }
            }
            let format: KVRun.Format = record.dtype == .q8 ? .q8(keyScales: keyScales, valueScales: valueScales) : .fp16
            runs.append(KVRun(tokenCount: count, computedPosition: computed, placedPosition: position + block * record.blockTokens + skip,
                              keys: keys, values: values, format: format))
        }
        return runs
    }
}

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
    public init(prefix: KVCache, entries: [EntryRecord], reader: StoreReader, model: ModelConfig,
                recompute: LeadRecompute? = nil) throws {
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
        self.runs = runs
        nextPosition = position
        recomputedTokens = recomputed
    }
}

extension EntryKV {
    /// The K/V of a segment handed out by the engine; the layouts are the same.
    public init(_ segment: KVSegment) {
        self.init(keys: segment.keys, values: segment.values)
    }
}
