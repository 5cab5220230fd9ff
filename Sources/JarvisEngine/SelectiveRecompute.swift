import CJarvisKernels
import COpenBLAS

/// Entries composed after a context, with the K/V of the rows that deviate most computed
/// again (see `Transformer.blend`).
public struct BlendedRows: @unchecked Sendable {
    /// The composed rows, every layer: stored rows with their keys turned to where they are
    /// placed, and recomputed rows. Lend them with `cache.run(0..<cache.count)`.
    public let cache: KVCache
    /// Rows computed again in every layer.
    public let recomputed: Int
    /// Rows computed again in the first two layers, where the deviation is measured.
    public let checked: Int
}

extension Transformer {
    /// Composes stored rows after `context` and computes again, through every layer, the
    /// fraction `ratio` of them whose K/V deviate most from what a pass over the whole text
    /// would give (the idea of CacheBlend).
    ///
    /// Rows with a known token are run through the first layer and the second (the check
    /// layer) attending to the context and to every composed row before them; the squared
    /// distance between each row's recomputed and stored values at the check layer ranks them,
    /// and the top `ratio` go on through the later layers, attending to the context, to the
    /// recomputed rows and to the stored rows of the others. Every other row keeps its stored
    /// K/V from the third layer on. Ratio 1 is a prefill of the whole text behind `context`.
    /// - Parameters:
    ///   - runs: the rows to compose, placed one after another (any page format).
    ///   - tokens: per composed row, its token id, or nil where it is not known (visual
    ///     tokens): such a row keeps its stored K/V in every layer.
    ///   - context: rows before the composed ones (a shared prefix, an entry in place), read
    ///     as they are.
    ///   - ratio: in 0...1.
    /// - Throws: `.invalidArgument` if the runs are not consecutive or shaped for another
    ///   model, the tokens do not match the rows, or the ratio is outside 0...1.
    public func blend(_ runs: [KVRun], tokens: [Int32?], context: [KVRun], ratio: Double) throws -> BlendedRows {
        let c = config
        guard let start = runs.first?.placedPosition else {
            throw EngineError(.invalidArgument, "nothing to blend: no rows were given")
        }
        guard (0...1).contains(ratio) else {
            throw EngineError(.invalidArgument, "recompute ratio \(ratio) is outside 0...1")
        }
        let total = runs.reduce(0) { $0 + $1.tokenCount }
        guard tokens.count == total else {
            throw EngineError(.invalidArgument, "\(tokens.count) tokens were given for \(total) composed rows")
        }
        for case let t? in tokens where t < 0 || Int(t) >= c.vocabularySize {
            throw EngineError(.invalidArgument, "token id \(t) is outside the vocabulary (0..<\(c.vocabularySize))")
        }
        let cache = KVCache(config: c, capacity: total, basePosition: start)
        try check(count: 0, cache: cache, context: context)
        try cache.place(runs, config: c)

        let known = tokens.indices.filter { tokens[$0] != nil }
        let selectedCount = min(known.count, Int((ratio * Double(known.count)).rounded(.up)))
        guard selectedCount > 0 else { return BlendedRows(cache: cache, recomputed: 0, checked: 0) }
        let checkLayer = min(1, c.layers - 1), kvDim = c.kvHeads * c.headDim, batch = 512

        // The stored values of the check layer, before recomputing overwrites them.
        var stored = [UInt16](repeating: 0, count: known.count * kvDim)
        stored.withUnsafeMutableBufferPointer { sb in
            for (i, row) in known.enumerated() {
                for h in 0..<c.kvHeads {
                    (sb.baseAddress! + i * kvDim + h * c.headDim).update(from: cache.values(layer: checkLayer, head: h) + row * c.headDim, count: c.headDim)
                }
            }
        }
        var x = [Float](repeating: 0, count: known.count * c.dim)
        x.withUnsafeMutableBufferPointer { xb in
            for (i, row) in known.enumerated() { weights.embed(tokens[row]!, into: xb.baseAddress! + i * c.dim) }
            if c.embeddingScale != 1 { cblas_sscal(Int32(known.count * c.dim), c.embeddingScale, xb.baseAddress!, 1) }
            for b in stride(from: 0, to: known.count, by: batch) {
                let n = min(batch, known.count - b)
                runLayers(0..<checkLayer + 1, x: xb.baseAddress! + b * c.dim, n: n, rows: CacheRows(Array(known[b..<b + n])),
                          cache: cache, context: context)
            }
        }
        // Rank by the squared distance of the check layer's values, summed over heads.
        let deviation = known.indices.map { i -> Float in
            var d: Float = 0
            for h in 0..<c.kvHeads {
                let now = cache.values(layer: checkLayer, head: h) + known[i] * c.headDim
                for e in 0..<c.headDim {
                    let delta = jk_fp16_to_fp32(now[e]) - jk_fp16_to_fp32(stored[i * kvDim + h * c.headDim + e])
                    d += delta * delta
                }
            }
            return d
        }
        let chosen = known.indices.sorted { (deviation[$0], $1) > (deviation[$1], $0) }.prefix(selectedCount).sorted()
        let rows = chosen.map { known[$0] }
        var y = [Float](repeating: 0, count: rows.count * c.dim)
        for (j, i) in chosen.enumerated() { y[j * c.dim..<(j + 1) * c.dim] = x[i * c.dim..<(i + 1) * c.dim] }
        if checkLayer + 1 < c.layers {
            y.withUnsafeMutableBufferPointer { yb in
                for b in stride(from: 0, to: rows.count, by: batch) {
                    let n = min(batch, rows.count - b)
                    runLayers(checkLayer + 1..<c.layers, x: yb.baseAddress! + b * c.dim, n: n, rows: CacheRows(Array(rows[b..<b + n])),
                              cache: cache, context: context)
                }
            }
        }
        return BlendedRows(cache: cache, recomputed: rows.count, checked: known.count)
    }
}

extension KVCache {
    /// Fills the cache from `runs`, placed one after another from its first row: values decoded
    /// to fp16, keys turned from where they were computed to where they are placed
    /// (R(δ)·R(n)k = R(n+δ)k). Sets `count` to their rows.
    /// - Throws: `.invalidArgument` if the runs are not consecutive from `basePosition`, do not
    ///   fit, or are shaped for another model.
    func place(_ runs: [KVRun], config c: ModelConfig) throws {
        let cosT = Scratch(c.ropeDims / 2), sinT = Scratch(c.ropeDims / 2), row = Scratch(c.headDim)
        defer { cosT.free(); sinT.free(); row.free() }
        var next = 0
        for run in runs {
            guard run.placedPosition == basePosition + next, run.keys.count == c.layers * c.kvHeads, next + run.tokenCount <= capacity else {
                throw EngineError(.invalidArgument, "composed rows must be shaped for this model and placed one after another from position \(basePosition)")
            }
            for l in 0..<c.layers {
                // A pure rotation by δ (no magnitude), and none in a layer without RoPE.
                c.ropeTable(sliding: c.window(layer: l) != nil, position: run.positionDelta, cos: cosT.p, sin: sinT.p, magnitude: false)
                let rotates = c.rotates(layer: l) && run.positionDelta != 0
                for h in 0..<c.kvHeads {
                    let slot = l * c.kvHeads + h
                    let base = (h * capacity + next) * c.headDim
                    for i in 0..<run.tokenCount {
                        run.decode(slot: slot, row: i, values: false, headDim: c.headDim, into: row.p)
                        if rotates {
                            jk_rope_apply(row.p, 1, Int32(c.headDim), Int32(c.ropeDims), cosT.p, sinT.p, c.ropeIsNeox ? 1 : 0)
                        }
                        jk_fp32_to_fp16_row(row.p, keys[l] + base + i * c.headDim, Int64(c.headDim))
                        run.decode(slot: slot, row: i, values: true, headDim: c.headDim, into: row.p)
                        jk_fp32_to_fp16_row(row.p, values[l] + base + i * c.headDim, Int64(c.headDim))
                    }
                }
            }
            next += run.tokenCount
        }
        count = next
    }
}

extension KVRun {
    /// Row `row` of layer-head `slot` (keys, or values), decoded to `headDim` floats.
    func decode(slot: Int, row: Int, values: Bool, headDim hd: Int, into out: UnsafeMutablePointer<Float>) {
        let base = values ? self.values[slot] : keys[slot]
        func half(_ p: UnsafePointer<UInt16>, _ i: Int) -> Float { jk_fp16_to_fp32(p[i]) }
        switch format {
        case .fp16:
            jk_fp16_to_fp32_row(base.assumingMemoryBound(to: UInt16.self) + row * hd, out, Int64(hd))
        case .q8(let keyScales, let valueScales):
            let codes = base.assumingMemoryBound(to: Int8.self) + row * hd
            let scales = (values ? valueScales : keyScales)[slot] + row * (hd / 32)
            for d in 0..<hd { out[d] = Float(codes[d]) * half(scales, d / 32) }
        case .q4(let keyChannels, let valueGroups):
            let codes = base.assumingMemoryBound(to: UInt8.self) + row * hd / 2
            for d in 0..<hd {
                let code = Float(d % 2 == 0 ? codes[d / 2] & 15 : codes[d / 2] >> 4)
                if values {
                    let group = valueGroups[slot] + (row * (hd / 32) + d / 32) * 2
                    out[d] = half(group, 1) + half(group, 0) * code
                } else {
                    out[d] = half(keyChannels[slot], hd + d) + half(keyChannels[slot], d) * code
                }
            }
        }
    }
}
