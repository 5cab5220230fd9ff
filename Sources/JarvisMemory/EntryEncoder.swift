import JarvisEngine
import JarvisStore

/// Computes entries' K/V once, behind the shared prefix, for the store: the one place where an
/// entry's tokens meet the model. Also re-encodes a store written under another model or
/// prefix from the text kept with each entry.
public final class EntryEncoder: @unchecked Sendable {
    public let model: Transformer
    public let tokenizer: BPETokenizer
    /// The shared prefix's tokens and cache, computed once.
    public let prefixTokens: [Int32]
    public let prefix: KVCache
    /// Identifies `model` and the prefix; stored entries carry it.
    public let fingerprint: String

    /// Prefills the shared prefix.
    /// - Throws: `EngineError` if the prefix does not fit the model's context.
    public init(model: Transformer, tokenizer: BPETokenizer, gguf: GGUFFile, prefix prompt: Prompt) throws {
        self.model = model
        self.tokenizer = tokenizer
        prefixTokens = tokenizer.encode(prompt)
        prefix = KVCache(config: model.config, capacity: max(prefixTokens.count, 1))
        if !prefixTokens.isEmpty { try model.prefill(prefixTokens, cache: prefix, logits: .none) }
        fingerprint = ModelFingerprint.compute(model: gguf, prefix: prefixTokens)
    }

    /// The tokens of `text` (plain text: never control tokens) and their K/V, computed alone
    /// behind the prefix.
    public func encode(_ text: String) throws -> (tokens: [Int32], kv: EntryKV) {
        let tokens = tokenizer.encode(text)
        guard !tokens.isEmpty else { throw MemoryError(.invalidArgument, "nothing to remember: the text has no tokens") }
        let cache = KVCache(config: model.config, capacity: prefix.count + tokens.count)
        try cache.append(prefix.segment(0..<prefix.count))
        try model.prefill(tokens, cache: cache, logits: .none)
        return (tokens, EntryKV(cache.segment(prefix.count..<cache.count)))
    }

    /// Encodes an entry given as input embeddings (`n × dim`: text tokens' embeddings with
    /// image features in the places of image tokens) behind the shared prefix; returns its
    /// token count and K/V.
    public func encode(embeddings: [Float]) throws -> (tokenCount: Int, kv: EntryKV) {
        let n = embeddings.count / model.config.dim
        guard n > 0 else { throw MemoryError(.invalidArgument, "nothing to remember: no embeddings") }
        let cache = KVCache(config: model.config, capacity: prefix.count + n)
        try cache.append(prefix.segment(0..<prefix.count))
        try model.prefill(embeddings: embeddings, cache: cache, logits: .none)
        return (n, EntryKV(cache.segment(prefix.count..<cache.count)))
    }

    /// A record for `text` encoded by this encoder (id 0 until the store assigns one).
    public func record(text: String, promptText: String? = nil, tokenCount: Int, kind: String, name: String? = nil, aliases: [String] = [],
                       sourceDigest: String = "", metadata: [String: String] = [:], blockTokens: Int = 64,
                       dtype: KVPageDType = .fp16) -> EntryRecord {
        let c = model.config
        return EntryRecord(name: name, aliases: aliases, kind: kind, text: text, promptText: promptText, sourceDigest: sourceDigest, metadata: metadata,
                           tokenCount: tokenCount, positionBase: prefix.count, blockTokens: blockTokens,
                           layers: c.layers, kvHeads: c.kvHeads, headDim: c.headDim, dtype: dtype, fingerprint: fingerprint)
    }

    /// Re-encodes every entry of `store` not yet computed under this encoder's fingerprint,
    /// from its stored text, each in one transaction (an interrupted run resumes where it
    /// stopped), then binds the store to the new fingerprint. Text-only entries are left as
    /// they are: their pages are computed under the model of their next use.
    /// - Parameter progress: called after each entry with (done, total).
    /// - Returns: how many entries were re-encoded.
    @discardableResult
    public func reencode(_ store: PersonalStore, progress: (Int, Int) -> Void = { _, _ in }) throws -> Int {
        let stale = try store.list().filter { $0.fingerprint != fingerprint && $0.hasPages }
        for (i, old) in stale.enumerated() {
            let (tokens, kv) = try encode(old.encodedText)
            var r = record(text: old.text, promptText: old.promptText, tokenCount: tokens.count, kind: old.kind, name: old.name, aliases: old.aliases,
                           sourceDigest: old.sourceDigest, metadata: old.metadata, blockTokens: old.blockTokens, dtype: old.dtype)
            r.createdMilliseconds = old.createdMilliseconds
            try store.replace(id: old.id, with: r, kv: kv, vectors: try store.vectors(id: old.id) ?? [])
            progress(i + 1, stale.count)
        }
        try store.rebind(fingerprint: fingerprint)
        return stale.count
    }
}
