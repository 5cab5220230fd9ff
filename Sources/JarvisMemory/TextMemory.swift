import Foundation
import JarvisEngine
import JarvisStore

/// Remembers text: splits it into entries under the token limit, lets the model draft metadata,
/// encodes each entry once behind the shared prefix, embeds it, and stores it. Also replaces one
/// entry's text. Holds no state of its own: the index is the caller's to update.
final class TextMemory: Sendable {
    let encoder: EntryEncoder
    let embedder: TextEmbedder
    let store: PersonalStore
    let drafter: MetadataDrafter
    let options: PersonalMemory.Options

    init(encoder: EntryEncoder, embedder: TextEmbedder, store: PersonalStore, drafter: MetadataDrafter, options: PersonalMemory.Options) {
        self.encoder = encoder
        self.embedder = embedder
        self.store = store
        self.drafter = drafter
        self.options = options
    }

    /// Stores `text` as one or more entries — exact spans of it, encoded under `file`'s name and
    /// their headings (see `DocumentChunker`) — each committed whole as soon as it is encoded. If
    /// a later part fails, or `shouldStop` turns true between parts (then it throws
    /// `.cancelled`), the parts already stored are deleted again in one transaction: a failed
    /// remember leaves nothing. The name and aliases go to the first entry. With `giveWay`,
    /// waiting work runs before each part and between the tokens of a metadata draft.
    /// - Returns: the stored records with their retrieval vectors.
    func remember(_ text: String, file: String?, kind: MemoryItem.Kind, name: String?, aliases: [String], metadata: [String: String],
                  progress: (Int, Int) -> Void, shouldStop: () -> Bool, giveWay: GiveWay? = nil) throws -> [(record: EntryRecord, vector: [Float])] {
        guard !text.allSatisfy(\.isWhitespace) else { throw MemoryError(.invalidArgument, "nothing to remember: the text is empty") }
        let file = file.map(label)
        let chunks = chunks(text, file: file)
        let digest = Self.digest(text)
        var saved: [(record: EntryRecord, vector: [Float])] = []
        do {
            for (i, (chunk, body)) in chunks.enumerated() {
                if shouldStop() {
                    throw MemoryError(.cancelled, "remember was cancelled after \(i) of \(chunks.count) parts; nothing was kept")
                }
                if let giveWay, giveWay.waiting() { giveWay.run() }
                var meta = options.draftMetadata ? try draft(chunk.text, shouldStop: shouldStop, giveWay: giveWay) : [:]
                meta.merge(metadata) { _, given in given }
                if let name { meta["name"] = name }
                let (tokens, kv) = try encoder.encode(body)
                let record = encoder.record(text: chunk.text, promptText: body, tokenCount: tokens.count, kind: kind.rawValue,
                                            name: i == 0 ? name : nil, aliases: i == 0 ? aliases : [], sourceDigest: digest,
                                            metadata: meta, dtype: options.dtype)
                // The vector, like the model, sees the chunk under its file name and headings.
                let path = AnswerPrompt.contextPath(chunk, file: file)
                let vector = embedder.embed(path.isEmpty ? chunk.text : path + "\n" + chunk.text)
                saved.append((try store.add(record, kv: kv, vectors: vector), vector))
                progress(i + 1, chunks.count)
            }
        } catch {
            // All of the text or none of it: take back the parts already stored.
            do {
                try store.delete(ids: saved.map(\.record.id))
            } catch let cleanup {
                throw StoreError(.lmdb, "\(error); and the \(saved.count) parts already stored could not be taken back (\(cleanup)): forget entries \(saved.map { String($0.record.id) }.joined(separator: ", "))")
            }
            throw error
        }
        return saved
    }

    /// The drafted metadata of `text`. Waiting work runs before any of the card's tokens: the
    /// draft keeps its own cache and logits meanwhile, and goes on where it was.
    private func draft(_ text: String, shouldStop: () -> Bool, giveWay: GiveWay?) throws -> [String: String] {
        try drafter.draft(text, shouldStop: {
            if let giveWay, giveWay.waiting() { giveWay.run() }
            return shouldStop()
        })
    }

    /// Replaces an entry's text (re-encoded, re-embedded, metadata drafted again) in one
    /// transaction; its id, name, aliases, kind, file and creation time stay.
    func update(_ old: EntryRecord, text: String) throws -> (record: EntryRecord, vector: [Float]) {
        let body = AnswerPrompt.entryText(DocumentChunker.Chunk(text: text, headings: [], tableHeader: nil), file: old.metadata["file"].map(label))
        let (tokens, kv) = try encoder.encode(body)
        var meta = options.draftMetadata ? try drafter.draft(text) : [:]
        meta.merge(old.metadata.filter { $0.key == "name" || !meta.keys.contains($0.key) }) { drafted, _ in drafted }
        var record = encoder.record(text: text, promptText: body, tokenCount: tokens.count, kind: old.kind, name: old.name, aliases: old.aliases,
                                    sourceDigest: Self.digest(text), metadata: meta, dtype: old.dtype)
        record.createdMilliseconds = old.createdMilliseconds
        let vector = embedder.embed(text)
        return (try store.replace(id: old.id, with: record, kv: kv, vectors: vector), vector)
    }

    /// The contents of a text file (.txt, .md, …).
    /// - Throws: `.invalidArgument` naming the file if it is not a regular UTF-8 text file or is
    ///   larger than `options.maxFileBytes`.
    func readTextFile(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw MemoryError(.invalidArgument, "\(path) is not a file")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= options.maxFileBytes else {
            throw MemoryError(.invalidArgument, "\(path) is \(size) bytes; files up to \(options.maxFileBytes) bytes can be remembered")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw MemoryError(.invalidArgument, "\(path) cannot be read as UTF-8 text")
        }
        return text
    }

    /// A file's name as its entries carry it: cut short (keeping its end) to at most half of
    /// `maxEntryTokens` with its brackets, so the text keeps at least half of each entry (the
    /// headings then get what is left of that half; see `DocumentChunker.context`).
    func label(_ file: String) -> String {
        let tokenizer = encoder.tokenizer, half = options.maxEntryTokens / 2
        let empty = DocumentChunker.Chunk(text: "", headings: [], tableHeader: nil)
        let short = DocumentChunker.shortened(file, keepingEnd: true) { tokenizer.encode(AnswerPrompt.entryText(empty, file: $0)).count <= half }
        return short.isEmpty ? "…" : short
    }

    /// The text cut into entries under `maxEntryTokens` (see `DocumentChunker`), each with
    /// the text its tokens come from.
    func chunks(_ text: String, file: String?) -> [(chunk: DocumentChunker.Chunk, prompt: String)] {
        let tokenizer = encoder.tokenizer
        let chunker = DocumentChunker(limit: options.maxEntryTokens) { tokenizer.encode(AnswerPrompt.entryText($0, file: file)).count }
        return chunker.chunks(of: text).map { ($0, AnswerPrompt.entryText($0, file: file)) }
    }

    /// A short digest of the source, to notice the same note remembered twice.
    static func digest(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "fnv1a64:" + String(h, radix: 16)
    }
}
