import JarvisEngine
import JarvisStore

extension StoreReader {
    /// The K/V of a stored entry as attention runs over its pages, in place in the memory map,
    /// placed at absolute position `placedAt` of the logical cache: one run per block of
    /// tokens. Nothing is copied; the runs are valid only inside this read transaction.
    /// - Throws: `StoreError` if a page is missing or damaged, `.invalidArgument` if the entry
    ///   was stored for another model shape.
    public func runs(for record: EntryRecord, placedAt position: Int, model: ModelConfig) throws -> [KVRun] {
        guard record.layers == model.layers, record.kvHeads == model.kvHeads, record.headDim == model.headDim else {
            throw StoreError(.invalidArgument, "entry \(record.id) was stored for a model of another shape (\(record.layers) layers × \(record.kvHeads) KV heads × \(record.headDim)); re-encode it")
        }
        var runs: [KVRun] = []
        runs.reserveCapacity(record.blockCount)
        for block in 0..<record.blockCount {
            var keys: [UnsafeRawPointer] = [], values: [UnsafeRawPointer] = []
            var keyScales: [UnsafePointer<UInt16>] = [], valueScales: [UnsafePointer<UInt16>] = []
            var first = 0, count = 0
            for layer in 0..<record.layers {
                let page = try page(entry: record.id, layer: layer, block: block)
                guard page.dtype == record.dtype, page.kvHeads == record.kvHeads, page.headDim == record.headDim else {
                    throw StoreError(.corrupt, "entry \(record.id), layer \(layer), block \(block): the page's format does not match the entry's record")
                }
                first = page.firstPosition
                count = page.tokenCount
                for h in 0..<record.kvHeads {
                    keys.append(page.rows(head: h, values: false))
                    values.append(page.rows(head: h, values: true))
                    if page.dtype == .q8 {
                        keyScales.append(page.scales(head: h, values: false))
                        valueScales.append(page.scales(head: h, values: true))
                    }
                }
            }
            let format: KVRun.Format = record.dtype == .q8 ? .q8(keyScales: keyScales, valueScales: valueScales) : .fp16
            runs.append(KVRun(tokenCount: count, computedPosition: first, placedPosition: position + block * record.blockTokens,
                              keys: keys, values: values, format: format))
        }
        return runs
    }
}

/// What an answer attends to before its own tokens: the shared prefix, then stored entries'
/// pages placed one after another, read in place. Valid only inside the read transaction it was
/// built in. Ask and the benchmarks build it here, and nowhere else.
public struct StoredContext {
    /// Attention runs: the prefix's, then each entry's blocks.
    public let runs: [KVRun]
    /// The position after the last entry, where the question starts.
    public let nextPosition: Int

    /// Lays out `entries` after `prefix`, in order.
    /// - Throws: `StoreError` if a page is missing or damaged or an entry has another shape.
    public init(prefix: KVCache, entries: [EntryRecord], reader: StoreReader, model: ModelConfig) throws {
        var runs = [prefix.run(0..<prefix.count)], position = prefix.count
        for r in entries {
            runs += try reader.runs(for: r, placedAt: position, model: model)
            position += r.tokenCount
        }
        self.runs = runs
        nextPosition = position
    }
}

extension EntryKV {
    /// The K/V of a segment handed out by the engine; the layouts are the same.
    public init(_ segment: KVSegment) {
        self.init(keys: segment.keys, values: segment.values)
    }
}
