import Foundation
import JarvisEngine
import JarvisImage
import JarvisStore
import XCTest
@testable import JarvisMemory

/// Photos through the memory, on the shipped models and the drawn test photos: mining gives
/// well-formed regions that later photos are made distinct from; a photo is remembered with
/// its note, regions and descriptors; a question that carries a photo finds it; forgetting
/// removes it all.
final class PhotoMemoryTests: XCTestCase {
    static let photos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("JarvisEngineTests/Fixtures/photos")

    nonisolated(unsafe) static var focus: ImageFocusModel?

    func miner() throws -> PatchMiner {
        if Self.focus == nil { Self.focus = try ImageFocusModel(path: ModelFiles.path(of: ModelFiles.defaultImageFocus)) }
        return PatchMiner(model: Self.focus!)
    }

    /// A memory on the shipped language model with a store in `dir`, without drafting.
    func shippedMemory(in dir: URL, imageFocusPath: String) throws -> PersonalMemory {
        let (model, tok) = try StoredRunsTests.shared.get()
        var options = PersonalMemory.Options()
        options.draftMetadata = false
        return try PersonalMemory(model: model, tokenizer: tok, gguf: GGUFFile(path: model.path), embedder: PersonalMemoryTests.embedder.get(),
                                  store: PersonalStore(directory: dir.path), imageFocusPath: imageFocusPath, options: options)
    }

    func photo(_ name: String) throws -> RGBImage { try ImageDecoder.load(path: Self.photos.appendingPathComponent(name).path) }

    func testMinedRegionsAreWellFormedAndTheBankSteersThem() throws {
        let m = try miner()
        let image = try photo("mug_badge.png")
        let analysis = m.analyze(image)
        XCTAssertEqual(analysis.views.count, 1 + m.parameters.tiles * m.parameters.tiles)
        let plain = m.mine(analysis, image: image)
        XCTAssertEqual(plain.regions.count, m.parameters.maxRegions)
        for r in plain.regions {
            XCTAssertGreaterThanOrEqual(r.rect.x, 0)
            XCTAssertGreaterThanOrEqual(r.rect.y, 0)
            XCTAssertLessThanOrEqual(r.rect.x + r.rect.width, image.width)
            XCTAssertLessThanOrEqual(r.rect.y + r.rect.height, image.height)
            XCTAssertEqual(r.descriptor.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-4, "unit descriptors")
            XCTAssertEqual(r.patch.count, m.model.dim)
        }
        for (i, a) in plain.regions.enumerated() {
            for b in plain.regions[(i + 1)...] { XCTAssertLessThanOrEqual(a.rect.iou(b.rect), m.parameters.maxOverlap) }
        }
        XCTAssertEqual(plain.regions.map(\.score), plain.regions.map(\.score).sorted(by: >), "best first")
        // The same call gives the same regions (no hidden state).
        XCTAssertEqual(m.mine(analysis, image: image).regions, plain.regions)
        // With its own best region in the bank (as if an earlier photo had it), that region is
        // no longer novel and mining moves elsewhere.
        let steered = m.mine(analysis, image: image, bank: [plain.regions[0].patch])
        XCTAssertNotEqual(steered.regions.first?.rect, plain.regions[0].rect)
    }

    /// A lawn with one small red-and-white tag: plain surfaces are in the background bank, so
    /// the tag is what mining finds.
    func testASmallDetailOnAPlainSurfaceIsFound() throws {
        let m = try miner()
        XCTAssertEqual(m.background.count, 2 * m.model.grid * m.model.grid)
        XCTAssertEqual(m.background[0].reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-4)
        var state: UInt64 = 7
        var pixels = [UInt8](repeating: 0, count: 400 * 300 * 3)
        for i in 0..<400 * 300 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let n = Int(state >> 58)       // 0..<64
            pixels[3 * i] = UInt8(60 + n / 3); pixels[3 * i + 1] = UInt8(130 + n / 2); pixels[3 * i + 2] = UInt8(50 + n / 4)
        }
        for y in 180..<212 { for x in 260..<292 {
            let white = (x - 260) / 8 % 2 == (y - 180) / 8 % 2
            let i = (y * 400 + x) * 3
            pixels[i] = white ? 250 : 220; pixels[i + 1] = white ? 250 : 20; pixels[i + 2] = white ? 250 : 30
        } }
        let result = m.mine(RGBImage(width: 400, height: 300, pixels: pixels))
        let tag = PatchMiner.Rect(x: 260, y: 180, width: 32, height: 32)
        let covering = try XCTUnwrap(result.regions.firstIndex { $0.rect.intersection(tag) * 2 >= 32 * 32 }, "\(result.regions.map(\.rect))")
        XCTAssertEqual(covering, 0, "the tag is the best region")
    }

    /// Specks and strips are mined without trouble: regions (if any) inside the photo,
    /// descriptors whole.
    func testOddShapesAreMinedSafely() throws {
        let m = try miner()
        for (w, h) in [(1, 1), (3, 2000), (2000, 3), (20, 20)] {
            let image = RGBImage(width: w, height: h, pixels: (0..<w * h * 3).map { UInt8(truncatingIfNeeded: $0 * 37) })
            let r = m.mine(image)
            XCTAssertEqual(r.global.count, m.model.dim, "\(w)×\(h)")
            XCTAssertLessThanOrEqual(r.regions.count, m.parameters.maxRegions)
            for region in r.regions {
                XCTAssertTrue(region.rect.x >= 0 && region.rect.y >= 0 && region.rect.width >= 1 && region.rect.height >= 1
                              && region.rect.x + region.rect.width <= w && region.rect.y + region.rect.height <= h, "\(w)×\(h): \(region.rect)")
            }
        }
    }

    func testRememberAPhotoAndFindItByTextAndByPhoto() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-photos-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = try shippedMemory(in: dir, imageFocusPath: ModelFiles.path(of: ModelFiles.defaultImageFocus))
        try m.remember(.note("My sister Ana lives in Lisbon."))
        var stages: [Int] = []
        let mug = try m.remember(MemoryItem(.photo(path: Self.photos.appendingPathComponent("mug_badge.png").path),
                                            metadata: ["note": "my favourite mug, a gift from Ana"]), progress: { done, _ in stages.append(done) })[0]
        let car = try m.remember(MemoryItem(.photo(path: Self.photos.appendingPathComponent("car_plate.png").path), name: "car",
                                            metadata: ["note": "our car, bought in Porto"]))[0]
        XCTAssertEqual(stages, [0, 1, 2, 3])
        XCTAssertEqual(mug.kind, "photo")
        XCTAssertTrue(mug.text.contains("favourite mug"), mug.text)
        XCTAssertEqual(mug.metadata["size"], "640×480")
        XCTAssertTrue(mug.metadata["visual_kv"]?.contains("vision-language model") ?? false)
        let record = try XCTUnwrap(try m.store.photo(id: mug.id))
        XCTAssertEqual(record.regions.count, 4)
        XCTAssertEqual(mug.metadata["regions"]?.split(separator: " ").count, 4)

        // A text question finds the photo by its note.
        XCTAssertEqual(try m.ask("Where did we buy our car?", maxTokens: 8).entries.first, car.id)
        // A question that carries a photo finds the photo it shows (re-framed and darker here).
        let image = try photo("car_plate.png")
        var again = image.cropped(x: 150, y: 150, width: 520, height: 260)
        again.pixels = again.pixels.map { UInt8(Double($0) * 0.9) }
        XCTAssertEqual(try m.rankPhotos(like: again).first?.id, car.id)
        XCTAssertEqual(try m.ask("What is this?", image: again, maxTokens: 8).entries.first, car.id)

        try m.forget("car")
        XCTAssertNil(try m.store.photo(id: car.id))
        XCTAssertEqual(try m.rankPhotos(like: image).map(\.id), [mug.id])
    }

    func testPhotosWithoutTheModelSayWhatToRun() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-nophotos-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = try shippedMemory(in: dir, imageFocusPath: dir.path + "/missing.onnx")
        XCTAssertThrowsError(try m.remember(MemoryItem(.photo(path: Self.photos.appendingPathComponent("mug_badge.png").path)))) { error in
            XCTAssertEqual((error as? MemoryError)?.code, .unsupported)
            XCTAssertTrue("\(error)".contains("scripts/setup"), "\(error)")
        }
        XCTAssertEqual(try m.store.count(), 0)
        // A file that is not an image is refused before any model is needed.
        XCTAssertThrowsError(try m.remember(MemoryItem(.photo(path: #filePath)))) { XCTAssertEqual(($0 as? ImageError)?.code, .invalidImage) }
    }

    static let engineFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("JarvisEngineTests/Fixtures")

    /// With a vision-language model configured (here the tiny random SmolVLM of the engine's
    /// fixtures, whose decoder is then the memory's model), a photo's entry holds the KV of its
    /// visual tokens — the whole photo and each mined region, one frame each — behind its note,
    /// and a question with a photo shows the model that photo's visual tokens.
    func testVisualKVWithSmolVLM() throws {
        let vision = try Idefics3Vision(mmproj: GGUFFile(path: Self.engineFixtures.appendingPathComponent("vlm/mmproj-tiny-idefics3-F32.gguf").path))
        // <fake_token_around_image><global-img>, the frame's <image> tokens, <fake_token_around_image>.
        try checkVisualKV(languageModel: "vlm/tiny-idefics3-F32.gguf", vision: vision, tokensPerView: vision.config.tokensPerFrame + 3,
                          firstImageRow: 2)
    }

    /// The same under LLaVA-OneVision (its tiny random Qwen2 decoder as a GGUF, its vision
    /// tower, projector and newline from the Hugging Face checkpoint): each view is one image of
    /// a multi-image prompt, its base tile's n² rows and the newline.
    func testVisualKVWithLlavaOneVision() throws {
        let vision = try LlavaOneVisionVision(huggingFaceDirectory: Self.engineFixtures.appendingPathComponent("llava-ov/hf").path)
        try checkVisualKV(languageModel: "llava-ov/tiny-llava-ov-qwen2-F32.gguf", vision: vision,
                          tokensPerView: vision.config.grid * vision.config.grid + 1, firstImageRow: 0)
    }

    /// Remembers two photos under the same note with `vision`, whose decoder is
    /// `languageModel` (a path under the engine's fixtures): `tokensPerView` tokens per view,
    /// the first `<image>` row `firstImageRow` tokens after the note.
    func checkVisualKV(languageModel: String, vision: any VisionTower, tokensPerView: Int, firstImageRow: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-vlm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let gguf = try GGUFFile(path: Self.engineFixtures.appendingPathComponent(languageModel).path)
        let model = try Transformer(gguf: gguf)
        var options = PersonalMemory.Options()
        options.draftMetadata = false
        var drafting = options
        drafting.draftMetadata = true
        let m = try PersonalMemory(model: model, tokenizer: try BPETokenizer(gguf: gguf), gguf: gguf, embedder: PersonalMemoryTests.embedder.get(),
                                   store: PersonalStore(directory: dir.path + "/store"), imageFocusPath: ModelFiles.path(of: ModelFiles.defaultImageFocus),
                                   vision: vision, options: drafting)
        // Two different photos under the same file name and note.
        var paths: [String] = []
        for (i, name) in ["mug_badge.png", "car_plate.png"].enumerated() {
            let sub = dir.appendingPathComponent("p\(i)")
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Self.photos.appendingPathComponent(name), to: sub.appendingPathComponent("photo.png"))
            paths.append(sub.appendingPathComponent("photo.png").path)
        }
        let mug = try m.remember(MemoryItem(.photo(path: paths[0]), metadata: ["note": "my mug"]))[0]
        let car = try m.remember(MemoryItem(.photo(path: paths[1]), metadata: ["note": "my mug"]))[0]
        let regions = try XCTUnwrap(try m.store.photo(id: mug.id)).regions.count
        let textTokens = m.tokenizer.encode(mug.encodedText).count
        XCTAssertEqual(mug.tokenCount, textTokens + (1 + regions) * tokensPerView)
        XCTAssertTrue(mug.metadata["visual_kv"]?.hasPrefix("stored") ?? false, mug.metadata["visual_kv"] ?? "")
        // The model drafted a caption from the photo (the tiny random model's words are noise).
        XCTAssertNotNil(mug.metadata["caption"])
        // Same note, different photos: the text rows agree, the visual rows differ.
        try m.store.read { reader in
            let a = try reader.page(entry: mug.id, layer: 1, block: 0).keys(head: 0)
            let b = try reader.page(entry: car.id, layer: 1, block: 0).keys(head: 0)
            let hd = model.config.headDim
            func rows(_ p: UnsafePointer<UInt16>, _ r: Range<Int>) -> [UInt16] { Array(UnsafeBufferPointer(start: p + r.lowerBound * hd, count: r.count * hd)) }
            let image = textTokens + firstImageRow
            XCTAssertLessThan(image + 1, 64, "both rows lie in the first page")
            XCTAssertEqual(rows(a, 0..<textTokens), rows(b, 0..<textTokens), "the note's rows")
            XCTAssertNotEqual(rows(a, image..<image + 1), rows(b, image..<image + 1), "the first image token's row")
        }
        // A question with the photo runs with the photo's visual tokens in its prompt.
        let answer = try m.ask("What is this?", image: try photo("mug_badge.png"), maxTokens: 4)
        XCTAssertEqual(answer.entries.first, mug.id)
        XCTAssertGreaterThan(answer.tokens, 0)

        // A vision model for another decoder is refused with a message.
        let (smol, smolTok) = try StoredRunsTests.shared.get()
        XCTAssertThrowsError(try PersonalMemory(model: smol, tokenizer: smolTok, gguf: GGUFFile(path: smol.path), embedder: PersonalMemoryTests.embedder.get(),
                                                store: PersonalStore(directory: dir.path + "-other"), vision: vision, options: options)) {
            XCTAssertEqual(($0 as? MemoryError)?.code, .modelMismatch)
        }
        try? FileManager.default.removeItem(atPath: dir.path + "-other")
    }
}
