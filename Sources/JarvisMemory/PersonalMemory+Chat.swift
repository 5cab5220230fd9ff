import Foundation
import JarvisEngine
import JarvisStore

// MARK: - Chat sessions

extension PersonalMemory {
    /// A chat session as `sessions()` lists it.
    public struct SessionInfo: Sendable, Equatable {
        public var name: String
        public var turns: Int
        /// Milliseconds since 1970.
        public var createdMilliseconds: Int64
        public var updatedMilliseconds: Int64
        /// Whether its KV is held in memory (else its next turn prefills its history again).
        public var live: Bool
    }

    /// Answers `question` as the next turn of the chat session `session`, streaming the
    /// answer's text through `onText`.
    ///
    /// The turn attends to the shared prefix, the entries retrieved for this question (their
    /// stored pages, as `ask` in `.kv` mode), the session's earlier turns (their KV, kept from
    /// turn to turn, so nothing earlier is prefilled again) and its own tokens. Afterwards the
    /// turn's prompt and answer join the history, and its text is saved in the store.
    ///
    /// When nothing remembered is about the question and the session has no history yet, the
    /// answer is `nothingRemembered`, as for `ask`; that turn still joins the history (so a
    /// first turn that tells something, "my sister is called Ana", can be referred to later).
    /// With history, a question without entries is answered from the conversation alone.
    /// A cancelled turn leaves the session as it was.
    /// - Parameter create: start the session if there is none of this name; when false, an
    ///   unknown name throws `.unknownSession`.
    /// - Throws: `MemoryError` (`.unknownSession`, `.sessionFull`, `.cancelled` …), `StoreError`,
    ///   `EngineError` as `ask`.
    public func chat(_ question: String, session name: String, create: Bool = true, maxTokens: Int = 96,
                     sampling: SamplingParameters = .greedy,
                     onText: (String) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> Answer {
        let start = ContinuousClock.now
        return try work.withLock {
            let conversation = try liveConversation(name, create: create)
            do {
                return try turn(question, conversation, maxTokens: maxTokens, sampling: sampling, start: start,
                                onText: onText, shouldStop: shouldStop)
            } catch {
                // A session that failed its first turn was never stored: it is not kept live either.
                if conversation.record.turns.isEmpty { conversations.remove(name) }
                throw error
            }
        }
    }

    /// One turn of `conversation`, with the model held.
    private func turn(_ question: String, _ conversation: Conversation, maxTokens: Int, sampling: SamplingParameters,
                      start: ContinuousClock.Instant, onText: (String) -> Void, shouldStop: () -> Bool) throws -> Answer {
        let name = conversation.record.name
        let hits = index.withLock { $0 }.retriever.retrieve(question: question, vector: embedder.embed(question),
                                                          limit: options.retrieveLimit, tokenBudget: options.tokenBudget).map(\.id)
        let records = try withPages(try laidOut(hits).compactMap { try store.entry(id: $0) })
        noteUse(records.map(\.id))
        let first = conversation.record.turns.isEmpty
        let turnPrompt = tokenizer.encode(prompt.chatTurn(question, first: first))
        let end = tokenizer.encode(prompt.answerEnd)
        let historyTokens = conversation.historyTokens
        guard historyTokens + turnPrompt.count + maxTokens + end.count <= options.sessionTokens else {
            throw MemoryError(.sessionFull, "session \"\(name)\" holds \(historyTokens) tokens of history and this turn could take it past its cap of \(options.sessionTokens): forget it or start another")
        }
        let nothing = records.isEmpty && first
        return try store.read { reader in
            let context = try answerer.context(records, composition: options.composition, reader: reader)
            let runs = context.runs + conversation.runs(placedAt: context.nextPosition)
            let base = context.nextPosition + historyTokens
            guard base + turnPrompt.count + maxTokens + end.count < model.config.contextLength else {
                throw MemoryError(.sessionFull, "session \"\(name)\" no longer fits the model's context of \(model.config.contextLength) tokens: forget it or start another")
            }
            let cache = KVCache(config: model.config, capacity: turnPrompt.count + maxTokens + end.count + 1, basePosition: base)
            var answer: Answer, tail: [Int32]
            if nothing {
                // Nothing is generated; the fixed reply still joins the history.
                onText(Self.nothingRemembered)
                answer = Answer(text: Self.nothingRemembered, entries: [], timeToFirstToken: seconds(start.duration(to: .now)),
                                tokens: 0, nothingRemembered: true)
                tail = turnPrompt + tokenizer.encode(.text(Self.nothingRemembered)) + end
            } else {
                let out = try answerer.generate(context: runs, cache: cache, prompt: turnPrompt, embeddings: nil, entries: hits,
                                                maxTokens: maxTokens, sampling: sampling, start: start,
                                                onText: onText, shouldStop: shouldStop)
                answer = out.answer
                // The decode loop feeds each token lazily: the last one drawn may not be in
                // the cache yet.
                let fed = cache.count - turnPrompt.count
                tail = Array(out.generated[fed...]) + end
            }
            _ = try model.prefill(tail, cache: cache, context: runs, logits: .none)
            answer.historyTokens = historyTokens
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var record = conversation.record
            record.turns.append(SessionRecord.Turn(question: question, answer: answer.text, entries: answer.entries))
            record.updatedMilliseconds = now
            try store.save(record)
            conversation.append(cache, turn: record.turns.last!, at: now)
            return answer
        }
    }

    /// Every chat session in the store, most recently used first. Does not wait for the model.
    /// - Throws: `StoreError` for a damaged record.
    public func sessions() throws -> [SessionInfo] {
        let live = Set(conversations.names)
        return try store.allSessions().map {
            SessionInfo(name: $0.name, turns: $0.turns.count, createdMilliseconds: $0.createdMilliseconds,
                        updatedMilliseconds: $0.updatedMilliseconds, live: live.contains($0.name))
        }
    }

    /// The chat session of this name, with its turns.
    /// - Throws: `.unknownSession`.
    public func session(named name: String) throws -> SessionRecord {
        guard let r = try store.session(named: name) else { throw Self.unknownSession(name) }
        return r
    }

    /// Forgets a chat session: its KV and its turns. Entries are untouched.
    /// - Throws: `.unknownSession`.
    @discardableResult
    public func forgetSession(_ name: String) throws -> SessionRecord {
        try work.withLock {
            guard let r = try store.session(named: name) else { throw Self.unknownSession(name) }
            conversations.remove(name)
            try store.deleteSession(named: name)
            return r
        }
    }

    /// The session's live state, prefilling its stored turns again if it is not held in
    /// memory; with the model held.
    private func liveConversation(_ name: String, create: Bool) throws -> Conversation {
        if let c = conversations.use(name) { return c }
        let record: SessionRecord
        if let stored = try store.session(named: name) {
            record = stored
        } else {
            guard create else { throw Self.unknownSession(name) }
            record = SessionRecord(name: name, createdMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        }
        let c = Conversation(record: record)
        try c.rebuild(prefix: encoder.prefix, model: model, prompt: prompt, tokenizer: tokenizer, limit: options.sessionTokens)
        conversations.add(c)
        return c
    }

    static func unknownSession(_ name: String) -> MemoryError {
        MemoryError(.unknownSession, "no chat session named \"\(name)\" (jarvisctl sessions lists them)")
    }
}
