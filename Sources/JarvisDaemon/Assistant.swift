import Foundation
import JarvisEngine
import JarvisImage
import JarvisMemory
import JarvisProtocol
import JarvisStore
import Synchronization

/// The real request handler: the personal memory (model, embedder, store) behind the
/// inference queue. Model work (ask, remember, forget) runs on the queue in arrival order;
/// reads that need no model (list, show, status) are answered at once from the store.
public final class Assistant: RequestHandler, Sendable {
    public static let serverVersion = "jarvisd \(JarvisVersion.current)"

    public let config: DaemonConfig
    let memory: PersonalMemory
    let queue = InferenceQueue()
    let modelName: String
    let started = Date()
    /// (tokens, seconds of decoding) of recent answers, for `status`.
    private let recent = Mutex<[(Int, Double)]>([])

    /// Loads the model, the embedder and the store, re-encoding stored entries if they were
    /// computed under another model or prompt.
    /// - Parameter status: told what is happening, for systemd's STATUS= and the log.
    /// - Throws: `DaemonError` saying which file is missing or broken and what to do.
    public init(config: DaemonConfig, status: (String) -> Void = { _ in }) throws {
        self.config = config
        ComputeThreads.set(config.threads)
        let modelPath = config.modelPath
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw DaemonError(.modelError, "model file \(modelPath) is missing: run scripts/setup (or scripts/install) to fetch the default models, or point --models / JARVIS_MODELS at the directory that holds it")
        }
        do {
            status("loading \(modelPath)")
            let gguf = try GGUFFile(path: modelPath)
            let model = try Transformer(gguf: gguf)
            let tokenizer = try BPETokenizer(gguf: gguf)
            modelName = gguf.metadata["general.name"]?.string ?? (modelPath as NSString).lastPathComponent
            status("loading the text embedder")
            let embedder = try TextEmbedder(directory: config.models + "/" + ModelFiles.defaultTextEmbedder)
            status("opening the store \(config.store)")
            try FileManager.default.createDirectory(atPath: config.store, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let store = try PersonalStore(directory: config.store)
            var options = PersonalMemory.Options()
            options.retrieveLimit = config.retrieveLimit
            options.dtype = config.pageDType
            options.maxStoreBytes = config.maxStoreBytes
            let imageFocus = config.models + "/" + ModelFiles.defaultImageFocus
            var vision: (any VisionTower)?
            if let mmproj = config.mmprojPath {
                status("loading the vision tower \(mmproj)")
                vision = try Self.visionTower(mmproj)
            }
            status("answering in the \(PersonalMemory.format(tokenizer: tokenizer, vision: vision).name) chat format")
            do {
                memory = try PersonalMemory(model: model, tokenizer: tokenizer, gguf: gguf, embedder: embedder,
                                            store: store, imageFocusPath: imageFocus, vision: vision, options: options)
            } catch let e as StoreError where e.code == .fingerprintMismatch {
                // The entries were computed by another model or prompt: compute them again
                // from their text (resumable: each entry is its own transaction).
                let prompt = AnswerPrompt(format: PersonalMemory.format(tokenizer: tokenizer, vision: vision))
                let encoder = try EntryEncoder(model: model, tokenizer: tokenizer, gguf: gguf, prefix: prompt.prefix)
                try encoder.reencode(store) { done, total in status("re-encoding stored entries for this model: \(done)/\(total)") }
                memory = try PersonalMemory(model: model, tokenizer: tokenizer, gguf: gguf, embedder: embedder,
                                            store: store, imageFocusPath: imageFocus, vision: vision, options: options)
            }
        } catch let e as DaemonError {
            throw e
        } catch {
            throw DaemonError(error)
        }
    }

    /// The vision tower at `path`: a directory is a Hugging Face LLaVA-OneVision checkpoint
    /// (its vision tower, projector and newline), a file is SmolVLM's llama.cpp `mmproj` GGUF.
    static func visionTower(_ path: String) throws -> any VisionTower {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DaemonError(.modelError, "vision model \(path) is missing: give --mmproj a SmolVLM mmproj GGUF or a LLaVA-OneVision checkpoint directory")
        }
        guard isDirectory.boolValue else { return try Idefics3Vision(mmproj: GGUFFile(path: path)) }
        return try LlavaOneVisionVision(huggingFaceDirectory: path)
    }

    /// Lets queued work finish, stops the inference thread, and writes the index snapshot
    /// for the next start.
    /// - Throws: what writing the snapshot throws (the next start then builds from the store).
    public func stop() throws {
        queue.stop()
        try memory.writeIndexSnapshot()
    }

    public var queueDepth: Int { queue.depth }

    public func handle(_ body: Request.Body, token: CancellationToken,
                       emit: @escaping @Sendable (Reply.Event) -> Void) async throws -> Reply.Result {
        switch body {
        case .hello(let h):
            guard h.protocol == ProtocolCodec.version else {
                throw DaemonError(.unsupportedProtocol, "this server speaks protocol \(ProtocolCodec.version), not \(h.protocol)")
            }
            return .hello(HelloResult(protocol: ProtocolCodec.version, server: Self.serverVersion, model: modelName,
                                      fingerprint: memory.encoder.fingerprint))
        case .status:
            return .status(try status())
        case .list(let range):
            if let limit = range.limit, !(1...10_000).contains(limit) {
                throw DaemonError(.badRequest, "limit must be in 1...10000")
            }
            let page = try memory.store.list(after: range.after, limit: range.limit)
            return .entries(page.entries.map(Self.info), next: page.next)
        case .show(let ref):
            guard let r = try memory.lookup(ref.entry) else { throw notFound(ref.entry) }
            return .entry(Self.info(r))
        case .forget(let ref):
            let memory = self.memory
            let r = try await queue.run(token) { try memory.forget(ref.entry) }
            return .entry(Self.info(r))
        case .ask(let a):
            return .ask(try await ask(a, token: token, emit: emit))
        case .remember(let r):
            let (entries, known) = try await remember(r, token: token, emit: emit)
            return .entries(entries, known: known)
        case .search(let s):
            return .hits(try await search(s, token: token))
        case .update(let u):
            guard !u.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw DaemonError(.badRequest, "nothing to update to: the text is empty (forget removes an entry)")
            }
            guard let old = try memory.lookup(u.entry) else { throw notFound(u.entry) }
            // A photo's entry is its note plus regions, descriptors and visual KV, which a new
            // text would not carry over.
            guard old.kind != MemoryItem.Kind.photo.rawValue else {
                throw DaemonError(.badRequest, "entry \(old.id) is a photo: its text cannot be replaced without losing its regions and visual KV; forget it and remember the photo again with a new note")
            }
            let memory = self.memory
            let r = try await queue.run(token, priority: .bulk) { try memory.update(String(old.id), text: u.text) }
            return .entry(Self.info(r))
        case .sessions:
            return .sessions(try memory.sessions().map(Self.info))
        case .forgetSession(let ref):
            try Self.checkSessionName(ref.session)
            let memory = self.memory
            let r = try await queue.run(token) { try memory.forgetSession(ref.session) }
            return .session(SessionInfo(name: r.name, turns: r.turns.count, createdMs: r.createdMilliseconds,
                                        updatedMs: r.updatedMilliseconds, live: false))
        case .propose(let p):
            guard !p.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw DaemonError(.badRequest, "nothing to propose from: the text is empty")
            }
            // The embedder is the inference thread's, so the line waits its turn.
            let memory = self.memory
            return .proposal(try await queue.run(token) { try memory.propose(p.text) }.map(Self.info))
        case .backup(let b):
            return .backup(try await backup(b))
        case .cancel:
            throw DaemonError(.internalError, "cancel is answered by the connection")
        }
    }

    // MARK: - Ops

    func ask(_ a: Request.Ask, token: CancellationToken, emit: @escaping @Sendable (Reply.Event) -> Void) async throws -> AskResult {
        guard !a.question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw DaemonError(.badRequest, "the question is empty")
        }
        if let image = a.image { try Self.checkReadableFile(image) }
        if let session = a.session {
            try Self.checkSessionName(session)
            guard a.image == nil, (a.mode ?? .default) == .kv else {
                throw DaemonError(.badRequest, "a question in a session is asked in kv mode and without an image")
            }
        } else if a.resume != nil {
            throw DaemonError(.badRequest, "resume needs a session")
        }
        let mode = Self.memoryMode(a.mode ?? .default)
        let maxTokens = a.maxTokens ?? config.maxTokens
        guard (1...4096).contains(maxTokens) else { throw DaemonError(.badRequest, "max_tokens must be in 1...4096") }
        let temperature = a.temperature ?? 0
        guard temperature >= 0, temperature <= 5 else { throw DaemonError(.badRequest, "temperature must be in 0...5") }
        let memory = self.memory
        let answer = try await queue.run(token) {
            let sampling = SamplingParameters(temperature: Float(temperature), topK: temperature > 0 ? 40 : 0,
                                              seed: UInt64(Date().timeIntervalSince1970 * 1000))
            let start = Date()
            if let session = a.session {
                let answer = try memory.chat(a.question, session: session, create: a.resume != true, maxTokens: maxTokens, sampling: sampling,
                                             onText: { emit(.token($0)) }, shouldStop: { token.isCancelled })
                return (answer, Date().timeIntervalSince(start))
            }
            let photo = try a.image.map { try ImageDecoder.load(path: $0) }
            let answer = try memory.ask(a.question, image: photo, mode: mode, maxTokens: maxTokens, sampling: sampling,
                                        onText: { emit(.token($0)) }, shouldStop: { token.isCancelled })
            return (answer, Date().timeIntervalSince(start))
        }
        record(tokens: answer.0.tokens, seconds: answer.1 - answer.0.timeToFirstToken)
        return AskResult(answer: answer.0.text, entries: answer.0.entries, ttftMs: answer.0.timeToFirstToken * 1000,
                         tokens: answer.0.tokens, nothingRemembered: answer.0.nothingRemembered,
                         session: a.session, historyTokens: a.session == nil ? nil : answer.0.historyTokens)
    }

    /// Remembers what the request gives; with `skip_known`, an item whose source is stored
    /// already is not stored again, and the entries holding it come back with `known` true.
    func remember(_ r: Request.Remember, token: CancellationToken,
                  emit: @escaping @Sendable (Reply.Event) -> Void) async throws -> (entries: [EntryInfo], known: Bool) {
        let item = try Self.memoryItem(r)
        switch item.source {
        case .text(let text):
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw DaemonError(.badRequest, "nothing to remember: the text is empty")
            }
        case .file(let path), .photo(let path):
            try Self.checkReadableFile(path)
        }
        let stages = item.kind == .photo ? ["decoding", "looking at the photo", "mining its details", "stored"] : nil
        let memory = self.memory, skipKnown = r.skipKnown == true, queue = self.queue
        // A remember gives way to questions: when one is waiting, it runs on this thread between
        // two parts of the remember, or between two tokens of a metadata draft.
        return try await queue.run(token, priority: .bulk) { () throws -> (entries: [EntryInfo], known: Bool) in
            // Checked in the same job as the remember, after every remember queued before it:
            // a remember still running for a client that went away cannot slip in between.
            if skipKnown {
                let known = try memory.known(item)
                if !known.isEmpty { return (known.map(Self.info), true) }
            }
            let records = try memory.remember(item, progress: { done, total in
                emit(.progress(done: done, total: total, stage: stages.map { $0[min(done, 3)] } ?? "encoding"))
            }, shouldStop: { token.isCancelled }, giveWay: GiveWay(waiting: { queue.interactiveWaiting }, run: { queue.runInteractiveJobs() }))
            return (records.map(Self.info), false)
        }
    }

    /// A compacted copy of the store in `b.directory`, or in a new directory beside the store
    /// (`backups/YYYYMMDD-HHMMSS` next to it: under the systemd unit's sandbox the one place
    /// besides the store the daemon may write). LMDB copies in a read transaction, so asks and
    /// remembers go on meanwhile; the copy runs on a thread of its own, off the inference
    /// thread and off the shared pool. It cannot be cancelled once begun.
    func backup(_ b: Request.Backup) async throws -> BackupResult {
        let directory: String
        if let given = b.directory {
            guard given.hasPrefix("/") else { throw DaemonError(.badPath, "\(given) is not an absolute path") }
            directory = given
        } else {
            directory = try Self.newBackupDirectory(besides: memory.store.directory)
        }
        let store = memory.store
        let bytes = try await DedicatedThread.run(name: "jarvis-backup") { try store.backup(into: directory) }
        return BackupResult(directory: directory, bytes: bytes)
    }

    /// `backups/YYYYMMDD-HHMMSS` (UTC; `-2`, `-3`, … for more than one a second) in the store's
    /// parent directory, whose `backups` is created if need be; the directory itself is not.
    static func newBackupDirectory(besides store: String) throws -> String {
        let parent = (store as NSString).deletingLastPathComponent + "/backups"
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw DaemonError(.badPath, "cannot create \(parent) for backups: \(error.localizedDescription)")
        }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        let stem = parent + "/" + f.string(from: Date())
        var candidate = stem, n = 1
        while FileManager.default.fileExists(atPath: candidate) { n += 1; candidate = stem + "-\(n)" }
        return candidate
    }

    /// Entries ranked for the query by the retriever (no floor, no budget), best first, each
    /// with a snippet. Embedding the query uses the embedder, so it waits its turn on the queue.
    func search(_ s: Request.Search, token: CancellationToken) async throws -> [SearchHit] {
        guard !s.query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw DaemonError(.badRequest, "the query is empty")
        }
        let limit = s.limit ?? 10
        guard (1...100).contains(limit) else { throw DaemonError(.badRequest, "limit must be in 1...100") }
        let memory = self.memory
        let ranked = try await queue.run(token) {
            memory.retriever.rank(question: s.query, vector: memory.embedder.embed(s.query))
        }
        return try ranked.prefix(limit).compactMap { hit -> SearchHit? in
            // An entry forgotten since the ranking is left out.
            guard let r = try memory.store.entry(id: hit.id) else { return nil }
            return SearchHit(id: r.id, name: r.name, kind: r.kind, score: hit.score, cosine: Double(hit.cosine),
                             nameMatch: hit.nameMatch, snippet: SearchSnippet.make(r.text, query: s.query))
        }
    }

    /// The request as the memory's input: text, or a file or photo by path, with the fields the
    /// user gave.
    static func memoryItem(_ r: Request.Remember) throws -> MemoryItem {
        let kind: MemoryItem.Kind? = r.kind.map {
            switch $0 {
            case .note: .note
            case .fact: .fact
            case .file: .file
            case .photo: .photo
            }
        }
        let source: MemoryItem.Source
        if let path = r.path {
            source = kind == .photo ? .photo(path: path) : .file(path: path)
        } else {
            source = .text(r.text ?? "")
        }
        return try MemoryItem(source, kind: kind, name: r.name, aliases: r.aliases ?? [], metadata: r.metadata ?? [:])
    }

    func status() throws -> StatusResult {
        let tokensPerSecond = recent.withLock { r -> Double in
            let t = r.reduce(0) { $0 + $1.0 }, s = r.reduce(0) { $0 + $1.1 }
            return s > 0 ? Double(t) / s : 0
        }
        let pages = memory.pageSummary
        return StatusResult(model: modelName, entries: try memory.store.count(), storeBytes: memory.store.fileSize,
                            storeTokens: memory.storedTokens, pageBytes: pages.pageBytes, pagedEntries: pages.pagedEntries,
                            textOnlyEntries: pages.textOnlyEntries,
                            queueDepth: queue.depth, uptimeS: Date().timeIntervalSince(started),
                            tokensPerS: tokensPerSecond, config: config.effective)
    }

    // MARK: - Helpers

    private func record(tokens: Int, seconds: Double) {
        guard tokens > 1, seconds > 0 else { return }
        recent.withLock { r in
            r.append((tokens - 1, seconds))
            if r.count > 16 { r.removeFirst() }
        }
    }

    private func notFound(_ ref: String) -> DaemonError {
        DaemonError(.notFound, "no entry with id or name \"\(ref)\" (jarvisctl list shows them)")
    }

    /// A path a request names must be a readable regular file: not a directory, a device, a
    /// FIFO (which would block the queue) or something this user cannot read.
    static func checkReadableFile(_ path: String) throws {
        guard path.hasPrefix("/") else { throw DaemonError(.badPath, "\(path) is not an absolute path") }
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw DaemonError(.badPath, "\(path): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            let what = (st.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file"
            throw DaemonError(.badPath, "\(path) is \(what); remember takes regular files")
        }
        guard access(path, R_OK) == 0 else { throw DaemonError(.badPath, "\(path) is not readable") }
    }

    /// The memory's way of answering for a protocol mode.
    static func memoryMode(_ mode: AskMode) -> PersonalMemory.Mode {
        switch mode {
        case .kv: .kv
        case .textRAG: .textRAG
        case .full: .full
        case .none: .none
        }
    }

    /// A session name: 1 to 64 letters, digits, `.`, `_` or `-` (it names the session in
    /// commands and in the store).
    static func checkSessionName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...64).contains(name.count), name.allSatisfy(allowed.contains) else {
            throw DaemonError(.badRequest, "a session name is 1 to 64 letters, digits, '.', '_' or '-'")
        }
    }

    static func info(_ s: PersonalMemory.SessionInfo) -> SessionInfo {
        SessionInfo(name: s.name, turns: s.turns, createdMs: s.createdMilliseconds, updatedMs: s.updatedMilliseconds, live: s.live)
    }

    static func info(_ p: MemoryProposal) -> Proposal {
        let action: Proposal.Action = switch p.action {
        case .add: .add
        case .update: .update
        case .forget: .forget
        }
        return Proposal(action: action, text: p.text, entry: p.entry.map(info))
    }

    static func info(_ r: EntryRecord) -> EntryInfo {
        EntryInfo(id: r.id, name: r.name, aliases: r.aliases, kind: r.kind, createdMs: r.createdMilliseconds,
                  tokens: r.tokenCount, text: r.text, metadata: r.metadata)
    }
}
