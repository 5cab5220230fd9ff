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
        guard record.hasPages else {
            throw StoreError(.notFound, "entry \(record.id) is text-only: its pages were dropped to keep the store within its budget; compute them again first")
        }
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
                let rowBytes = page.dtype.rowBytes(dim: record.headDim), scalesPerRow = record.headDim / 32
                for h in 0..<record.kvHeads {
                    keys.append(page.rows(head: h, values: false) + skip * rowBytes)
                    values.append(page.rows(head: h, values: true) + skip * rowBytes)
                    switch page.dtype {
                    case .fp16: break
                    case .q8:
                        keyScales.append(page.scales(head: h, values: false) + skip * scalesPerRow)
                        valueScales.append(page.scales(head: h, values: true) + skip * scalesPerRow)
                    case .q4:
                        // Key parameters belong to the page's channels, not to rows: none are skipped.
                        keyScales.append(page.keyChannels(head: h))
                        valueScales.append(page.valueGroups(head: h) + skip * scalesPerRow * 2)
                    }
                }
            }
            let format: KVRun.Format = switch record.dtype {
            case .fp16: .fp16
            case .q8: .q8(keyScales: keyScales, valueScales: valueScales)
            case .q4: .q4(keyChannels: keyScales, valueGroups: valueScales)
            }
            runs.append(KVRun(tokenCount: count, computedPosition: computed, placedPosition: position + block * record.blockTokens + skip,
                              keys: keys, values: values, format: format))
        }
        return runs
    }
}

extension EntryKV {
    /// The K/V of a segment handed out by the engine; the layouts are the same.
    public init(_ segment: KVSegment) {
        self.init(keys: segment.keys, values: segment.values)
    }
}
