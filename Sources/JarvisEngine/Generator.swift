/// Generates tokens one at a time from a model, a cache and a sampler: a synchronous iterator.
/// Wrap it in an `AsyncStream` at the edge if a caller wants one; the model itself always runs
/// on the caller's thread.
public struct Generator {
    public let model: Transformer
    public let cache: KVCache
    public let context: [KVRun]
    public private(set) var sampler: Sampler
    /// Tokens that end generation (end of turn, end of text).
    public let stopTokens: Set<Int32>
    /// Generated tokens so far.
    public private(set) var generated: [Int32] = []
    private var pendingLogits: [Float]
    private var unfed: Int32?
    private var finished = false

    /// Prefills `prompt` behind whatever `cache` already holds, attending also to `context`
    /// (rows lent from elsewhere, see `Transformer.prefill(_:cache:context:logits:)`) for the
    /// prompt and every generated token.
    /// - Throws: `EngineError` if the prompt does not fit in the cache or has a bad token.
    public init(model: Transformer, cache: KVCache, context: [KVRun] = [], prompt: [Int32],
                sampler: Sampler = Sampler(), stopTokens: Set<Int32>) throws {
        try self.init(model: model, cache: cache, context: context, prompt: prompt, embeddings: nil, sampler: sampler, stopTokens: stopTokens)
    }

    /// As above, with the prompt given as input embeddings (`prompt.count × dim`; a
    /// vision-language prompt whose image tokens carry image features). `prompt` still names
    /// the tokens, for the sampler's repetition history.
    public init(model: Transformer, cache: KVCache, context: [KVRun] = [], prompt: [Int32], embeddings: [Float]?,
                sampler: Sampler = Sampler(), stopTokens: Set<Int32>) throws {
        guard !prompt.isEmpty else { throw EngineError(.invalidArgument, "empty prompt") }
        self.model = model
        self.cache = cache
        self.context = context
        self.sampler = sampler
        self.stopTokens = stopTokens
        for t in prompt { self.sampler.accept(t) }
        if let embeddings {
            guard embeddings.count == prompt.count * model.config.dim else {
                throw EngineError(.invalidArgument, "\(embeddings.count) embedding values for a prompt of \(prompt.count) tokens")
            }
            pendingLogits = try model.prefill(embeddings: embeddings, cache: cache, context: context, logits: .last)
        } else {
            pendingLogits = try model.prefill(prompt, cache: cache, context: context, logits: .last)
        }
    }

    /// Logits the next token will be drawn from.
    public var logits: [Float] { pendingLogits }

    /// The next token, or nil once a stop token is drawn (it is not returned) or the cache is
    /// full. A returned token is fed to the model lazily, on the following call, so stopping
    /// after the last wanted token costs no extra forward pass.
    public mutating func next() throws -> Int32? {
        if finished { return nil }
        if let t = unfed {
            pendingLogits = try model.prefill([t], cache: cache, context: context, logits: .last)
            unfed = nil
        }
        let token = sampler.sample(pendingLogits)
        if stopTokens.contains(token) {
            finished = true
            return nil
        }
        generated.append(token)
        sampler.accept(token)
        if cache.count >= cache.capacity { finished = true } else { unfed = token }
        return token
    }
}

/// What `Generator.decode` produced.
public struct Decoded: Sendable {
    /// The tokens' text (bytes that never formed valid UTF-8 become U+FFFD).
    public var text: String
    /// Tokens drawn (a stop token is not counted).
    public var tokens: Int
    /// When the first token was drawn, if any was.
    public var firstTokenAt: ContinuousClock.Instant?
}

extension Generator {
    /// The decode loop: draws up to `maxTokens` tokens and hands their text to `onText` as soon
    /// as it forms whole characters.
    /// - Parameters:
    ///   - stopBefore: ends generation before a token for which it is true (that token is not kept).
    ///   - shouldStop: asked before every token; when it turns true the loop throws `.cancelled`.
    /// - Throws: `EngineError(.cancelled)`, or what the model throws.
    public mutating func decode(_ tokenizer: BPETokenizer, maxTokens: Int, stopBefore: (Int32) -> Bool = { _ in false },
                                shouldStop: () -> Bool = { false }, onText: (String) -> Void = { _ in }) throws -> Decoded {
        var stream = UTF8StreamDecoder(), out = Decoded(text: "", tokens: 0)
        while out.tokens < maxTokens {
            if shouldStop() { throw EngineError(.cancelled, "generation was cancelled after \(out.tokens) tokens") }
            guard let t = try next(), !stopBefore(t) else { break }
            if out.firstTokenAt == nil { out.firstTokenAt = .now }
            out.tokens += 1
            let piece = stream.append(tokenizer.piece(t))
            out.text += piece
            if !piece.isEmpty { onText(piece) }
        }
        let tail = stream.finish()
        out.text += tail
        if !tail.isEmpty { onText(tail) }
        return out
    }
}
