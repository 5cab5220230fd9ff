extension Transformer {
    /// The slow reference for composed caches: copies every context run into one fresh cache,
    /// rewriting each run's keys to the position it is placed at (the key-side rotation that
    /// `prefill(_:cache:context:)` avoids), then prefills `tokens` behind it in the ordinary way.
    /// For tests and benchmarks; it copies every row (`KVCache.place`).
    /// - Parameter context: runs placed one after another from position 0.
    /// - Throws: `.invalidArgument` if the runs do not tile `0 ..< total` in order.
    public func prefillRewritingKeys(_ tokens: [Int32], context: [KVRun], logits: Logits = .last) throws -> [Float] {
        let c = config
        let total = context.reduce(0) { $0 + $1.tokenCount }
        let cache = KVCache(config: c, capacity: total + tokens.count)
        try cache.place(context, config: c)
        return try prefill(tokens, cache: cache, logits: logits)
    }
}
