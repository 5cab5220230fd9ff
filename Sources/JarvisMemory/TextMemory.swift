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

    /// Stores `text` as one or more entries, each committed whole as soon as it is encoded. If
    /// a later part fails, or `shouldStop` turns true between parts (then it throws
    /// `.cancelled`), the parts already stored are deleted again in one transaction: a failed
    /// remember leaves nothing. The name and aliases go to the first entry.
    /// - Returns: the stored records with their retrieval vectors.
    func remember(_ text: String, kind: MemoryItem.Kind, name: String?, aliases: [String], metadata: [String: String],
                  progress: (Int, Int) -> Void, shouldStop: () -> Bool) throws -> [(record: EntryRecord, vector: [Float])] {
        let chunks = split(text)
        guard !chunks.isEmpty else { throw MemoryError(.invalidArgument, "nothing to remember: the text is empty") }
        let digest = Self.digest(text)
        var saved: [(record: EntryRecord, vector: [Float])] = []
        do {
            for (i, chunk) in chunks.enumerated() {
                if shouldStop() {
                    throw MemoryError(.cancelled, "remember was cancelled after \(i) of \(chunks.count) parts; nothing was kept")
                }
                var meta = options.draftMetadata ? try drafter.draft(chunk) : [:]
                meta.merge(metadata) { _, given in given }
                if let name { meta["name"] = name }
                let body = AnswerPrompt.entryText(chunk)
                let (tokens, kv) = try encoder.encode(body)
                let record = encoder.record(text: body, tokenCount: tokens.count, kind: kind.rawValue, name: i == 0 ? name : nil,
                                            aliases: i == 0 ? aliases : [], sourceDigest: digest, metadata: meta, dtype: options.dtype)
                let vector = embedder.embed(chunk)
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

    /// Replaces an entry's text (re-encoded, re-embedded, metadata drafted again) in one
    /// transaction; its id, name, aliases, kind and creation time stay.
    func update(_ old: EntryRecord, text: String) throws -> (record: EntryRecord, vector: [Float]) {
        let body = AnswerPrompt.entryText(text)
        let (tokens, kv) = try encoder.encode(body)
        var meta = options.draftMetadata ? try drafter.draft(text) : [:]
        meta.merge(old.metadata.filter { $0.key == "name" || !meta.keys.contains($0.key) }) { drafted, _ in drafted }
        var record = encoder.record(text: body, tokenCount: tokens.count, kind: old.kind, name: old.name, aliases: old.aliases,
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

    /// Splits text into chunks under `maxEntryTokens`: paragraphs, then sentences, then words.
    func split(_ text: String) -> [String] {
        let limit = options.maxEntryTokens
        func fits(_ s: String) -> Bool { encoder.tokenizer.encode(AnswerPrompt.entryText(s)).count <= limit }
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

    /// A short digest of the source, to notice the same note remembered twice.
    static func digest(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "fnv1a64:" + String(h, radix: 16)
    }
}
