import Foundation
import JarvisEngine
import JarvisStore

/// Answers a question from the entries chosen for it: builds the context — the shared prefix,
/// then the entries' stored pages placed one after another (`kv`), or their text prefilled
/// again (the modes that exist to compare against it) — and runs the decode loop.
final class Answerer: Sendable {
    let encoder: EntryEncoder
    let store: PersonalStore

    init(encoder: EntryEncoder, store: PersonalStore) {
        self.encoder = encoder
        self.store = store
    }

    /// Generates the answer to `question` (its tokens, and input embeddings when it carries a
    /// photo's visual tokens) over `entries`, streaming its text through `onText`.
    /// - Parameter start: when the question arrived, for the time to first token.
    /// - Throws: `.cancelled` when `shouldStop` turns true, `.invalidArgument` if the notes'
    ///   text does not fit the context, `StoreError` for a damaged page.
    /// - Parameter composition: how kv puts the entries together.
    func answer(_ question: [Int32], embeddings: [Float]?, entries: [EntryRecord], mode: PersonalMemory.Mode, composition: Composition,
                maxTokens: Int, sampling: SamplingParameters, start: ContinuousClock.Instant,
                onText: (String) -> Void, shouldStop: () -> Bool) throws -> PersonalMemory.Answer {
        let model = encoder.model, tokenizer = encoder.tokenizer, prefix = encoder.prefix

        func generate(context: [KVRun], cache: KVCache, prompt: [Int32], embeddings: [Float]?) throws -> PersonalMemory.Answer {
            try self.generate(context: context, cache: cache, prompt: prompt, embeddings: embeddings, entries: entries.map(\.id),
                              maxTokens: maxTokens, sampling: sampling, start: start, onText: onText, shouldStop: shouldStop).answer
        }

        switch mode {
        case .kv:
            return try store.read { reader in
                let context = try self.context(entries, composition: composition, reader: reader)
                let cache = KVCache(config: model.config, capacity: question.count + maxTokens + 1, basePosition: context.nextPosition)
                var answer = try generate(context: context.runs, cache: cache, prompt: question, embeddings: embeddings)
                answer.recomputedTokens = context.recomputedTokens
                return answer
            }
        case .none, .textRAG, .full:
            let notes = entries.flatMap { tokenizer.encode($0.encodedText) }
            let prompt = notes + question
            guard prefix.count + prompt.count + maxTokens < model.config.contextLength else {
                throw MemoryError(.invalidArgument, "\(entries.count) notes (\(notes.count) tokens) do not fit the model's context of \(model.config.contextLength)")
            }
            let cache = KVCache(config: model.config, capacity: prompt.count + maxTokens + 1, basePosition: prefix.count)
            let embeddings = embeddings.map { notes.flatMap { model.embedding(of: $0) } + $0 }
            return try generate(context: [prefix.run(0..<prefix.count)], cache: cache, prompt: prompt, embeddings: embeddings)
        }
    }
}

extension Answerer {
    /// The shared prefix, then `entries`' pages in this order, put together as `composition`
    /// says. Valid only inside `reader`'s transaction.
    /// - Throws: `StoreError` for a missing or damaged page; what the model throws while
    ///   recomputing.
    func context(_ entries: [EntryRecord], composition: Composition, reader: StoreReader) throws -> StoredContext {
        let model = encoder.model, tokenizer = encoder.tokenizer
        let recompute = StoredContext.Recompute(lead: composition.leadRecompute, blendRatio: composition.blendRatio, model: model) {
            tokenizer.encode($0.encodedText)
        }
        return try StoredContext(prefix: encoder.prefix, entries: entries, reader: reader, model: model.config, recompute: recompute,
                                 temperature: composition.temperature, scale: composition.scale)
    }

    /// The decode loop every answer goes through: prefills `prompt` into `cache` behind
    /// `context` and generates up to `maxTokens` tokens, streaming their text through `onText`.
    /// Also returns the generated tokens (for a conversation's history).
    /// - Throws: `EngineError(.cancelled)` when `shouldStop` turns true, what the model throws.
    func generate(context: [KVRun], cache: KVCache, prompt: [Int32], embeddings: [Float]?, entries: [UInt64],
                  maxTokens: Int, sampling: SamplingParameters, start: ContinuousClock.Instant,
                  onText: (String) -> Void, shouldStop: () -> Bool) throws -> (answer: PersonalMemory.Answer, generated: [Int32]) {
        let tokenizer = encoder.tokenizer
        var g = try Generator(model: encoder.model, cache: cache, context: context, prompt: prompt, embeddings: embeddings,
                              sampler: Sampler(sampling), stopTokens: tokenizer.endOfGenerationTokens)
        let out = try g.decode(tokenizer, maxTokens: maxTokens, shouldStop: shouldStop, onText: onText)
        let answer = PersonalMemory.Answer(text: out.text.trimmingCharacters(in: .whitespacesAndNewlines), entries: entries,
                                           timeToFirstToken: seconds(start.duration(to: out.firstTokenAt ?? .now)), tokens: out.tokens,
                                           firstToken: g.generated.first)
        return (answer, g.generated)
    }
}

/// A duration in seconds.
func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
