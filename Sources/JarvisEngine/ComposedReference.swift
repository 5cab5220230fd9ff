import CJarvisKernels

extension Transformer {
    /// The slow reference for composed caches: copies every context run into one fresh cache,
    /// rewriting each run's keys to the position it is placed at (the key-side rotation that
    /// `prefill(_:cache:context:)` avoids), then prefills `tokens` behind it in the ordinary way.
    /// For tests and benchmarks; it copies every row.
    /// - Parameter context: runs placed one after another from position 0.
    /// - Throws: `.invalidArgument` if the runs do not tile `0 ..< total` in order.
    public func prefillRewritingKeys(_ tokens: [Int32], context: [KVRun], logits: Logits = .last) throws -> [Float] {
        let c = config
        let total = context.reduce(0) { $0 + $1.tokenCount }
        let cache = KVCache(config: c, capacity: total + tokens.count)
        var row = 0
        let cosT = Scratch(c.ropeDims / 2), sinT = Scratch(c.ropeDims / 2), key = Scratch(c.headDim)
        defer { cosT.free(); sinT.free(); key.free() }
        for run in context {
            guard run.placedPosition == row, run.keys.count == c.layers * c.kvHeads, case .fp16 = run.format else {
                throw EngineError(.invalidArgument, "reference composition needs fp16 runs placed one after another from 0 and shaped for this model")
            }
            for l in 0..<c.layers {
                // A pure rotation by δ (no magnitude), and none in a layer without RoPE.
                c.ropeTable(sliding: c.window(layer: l) != nil, position: run.positionDelta, cos: cosT.p, sin: sinT.p, magnitude: false)
                let rotates = c.rotates(layer: l)
                for h in 0..<c.kvHeads {
                    let slot = l * c.kvHeads + h
                    let base = (h * cache.capacity + row) * c.headDim
                    for i in 0..<run.tokenCount {
                        // R(δ)·R(n)k = R(n+δ)k: turn the stored key to its placed position.
                        jk_fp16_to_fp32_row(run.keys[slot].assumingMemoryBound(to: UInt16.self) + i * c.headDim, key.p, Int64(c.headDim))
                        if rotates { jk_rope_apply(key.p, 1, Int32(c.headDim), Int32(c.ropeDims), cosT.p, sinT.p, c.ropeIsNeox ? 1 : 0) }
                        jk_fp32_to_fp16_row(key.p, cache.keys[l] + base + i * c.headDim, Int64(c.headDim))
                    }
                    (cache.values[l] + base).update(from: run.values[slot].assumingMemoryBound(to: UInt16.self), count: run.tokenCount * c.headDim)
                }
            }
            row += run.tokenCount
        }
        cache.count = total
        return try prefill(tokens, cache: cache, logits: logits)
    }
}
