import Foundation
import JarvisImage
import XCTest
@testable import JarvisEngine

/// LLaVA-OneVision against transformers on a tiny random-weight model
/// (tools/make_llava_ov_fixtures.py), loaded from its Hugging Face checkpoint. Three images
/// cover AnyRes: `wide` is unpadded (its aspect ratio is not its grid's), `large` fills a 3 × 3
/// grid and is resampled down (anyres_max_4), `small` is one tile. Each gives the reference
/// tiles (Pillow's bicubic, bit for bit), tile features, packed image features, and logits at
/// every position of its prompt.
final class LlavaOneVisionTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/llava-ov")
    static let model: Result<LlavaOneVisionModel, Error> = Result {
        try LlavaOneVisionModel(huggingFaceDirectory: LlavaOneVisionTests.dir.appendingPathComponent("hf").path)
    }
    static let cases = ["wide", "large", "small"]

    func reference(_ name: String) throws -> (st: SafetensorsFile, image: RGBImage) {
        let st = try SafetensorsFile(path: Self.dir.appendingPathComponent("reference.safetensors").path)
        return (st, try ImageDecoder.load(path: Self.dir.appendingPathComponent("image_\(name).png").path))
    }

    func floats(_ st: SafetensorsFile, _ name: String) throws -> [Float] {
        try st.floats(name, shape: try XCTUnwrap(st.tensors[name], name).shape)
    }

    func ints(_ st: SafetensorsFile, _ name: String) throws -> [Int32] {
        let t = try XCTUnwrap(st.tensors[name], name)
        let raw = UnsafeRawBufferPointer(rebasing: st.file.bytes[t.offset..<t.offset + t.byteCount])
        return (0..<t.elementCount).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) }.max() ?? 0 : .infinity
    }

    func testTilesMatchTheImageProcessor() throws {
        let model = try Self.model.get()
        let processor = LlavaOneVisionProcessor(config: model.vision.config)
        for name in Self.cases {
            let (st, image) = try reference(name)
            let size = try ints(st, "\(name).image_size")
            XCTAssertEqual(size.map(Int.init), [image.height, image.width], name)
            let (frames, rows, cols) = processor.tiles(for: image)
            let expected = try floats(st, "\(name).pixel_values")
            XCTAssertEqual(frames.count, 1 + rows * cols, name)
            // Same uint8 pixels after Pillow's bicubic, so the normalised values agree to rounding.
            XCTAssertLessThanOrEqual(maxDifference(frames.flatMap { $0 }, expected), 1e-6, "\(name): pixel values")
        }
    }

    func testFeaturesAndLogitsMatchTransformers() throws {
        let model = try Self.model.get()
        let processor = LlavaOneVisionProcessor(config: model.vision.config)
        var resampled = 0, unpadded = 0
        for name in Self.cases {
            let (st, image) = try reference(name)
            let (frames, _, _) = processor.tiles(for: image)
            let tiles = frames.flatMap(model.vision.tileFeatures)
            let tDiff = maxDifference(tiles, try floats(st, "\(name).tile_features"))
            XCTAssertLessThan(tDiff, 5e-5, "\(name): tile features")

            let features = model.vision.features(for: image)
            let expected = try floats(st, "\(name).image_features")
            let fDiff = maxDifference(features, expected)
            XCTAssertLessThan(fDiff, 5e-5, "\(name): packed image features")
            let packing = processor.packing(height: image.height, width: image.width)
            if packing.outHeight != packing.height { resampled += 1 }
            if packing.top + packing.left > 0 { unpadded += 1 }

            let ids = try ints(st, "\(name).input_ids")
            XCTAssertEqual(ids.filter { $0 == model.imageTokenID }.count, processor.tokens(height: image.height, width: image.width), name)
            let embeddings = try model.embeddings(for: ids, images: [image])
            let cache = KVCache(config: model.text.config, capacity: ids.count)
            let logits = try model.text.prefill(embeddings: embeddings, cache: cache, logits: .all)
            let lDiff = maxDifference(logits, try floats(st, "\(name).logits"))
            XCTAssertLessThanOrEqual(lDiff, 1e-3, "\(name): logits max |Δ| over all \(ids.count) positions")
            print("\(name): \(frames.count) tiles, \(expected.count / model.text.config.dim) image tokens; max |Δ| tile features \(tDiff), "
                  + "packed \(fDiff), logits \(lDiff)")
        }
        XCTAssertEqual(resampled, 1, "one case goes through the anyres_max resampling")
        XCTAssertGreaterThanOrEqual(unpadded, 1, "a case has padding cut off")
    }

    /// Several images in one prompt (`wide` and `large`): transformers' multi-image path, each
    /// image padded to a square of the mean colour and seen as one tile, its n² rows and the
    /// newline. A wrong count of `<image>` tokens is refused.
    func testSeveralImagesMatchTransformers() throws {
        let model = try Self.model.get()
        let st = try reference("wide").st
        let images = try ["wide", "large"].map { try reference($0).image }
        let processor = LlavaOneVisionProcessor(config: model.vision.config)
        XCTAssertLessThanOrEqual(maxDifference(images.flatMap(processor.squareTile), try floats(st, "multi.pixel_values")), 1e-6, "pixel values")
        let n = model.vision.config.grid * model.vision.config.grid, d = model.text.config.dim
        let blocks = images.map(model.vision.imageBlock)
        XCTAssertEqual(blocks[0].markup, String(repeating: "<image>", count: n + 1))
        XCTAssertEqual(Array(blocks[0].features.suffix(d)), model.vision.newline)
        XCTAssertLessThan(maxDifference(blocks.flatMap(\.features), try floats(st, "multi.image_features")), 5e-5, "image features")
        let ids = try ints(st, "multi.input_ids")
        let embeddings = try model.embeddings(for: ids, images: images)
        let logits = try model.text.prefill(embeddings: embeddings, cache: KVCache(config: model.text.config, capacity: ids.count), logits: .all)
        let lDiff = maxDifference(logits, try floats(st, "multi.logits"))
        XCTAssertLessThanOrEqual(lDiff, 1e-3, "logits over all \(ids.count) positions")
        print("multi: \(images.count) images, \(ids.count) tokens; logits max |Δ| \(lDiff)")
        XCTAssertThrowsError(try model.embeddings(for: Array(ids.dropLast(n + 5)), images: images)) {
            XCTAssertEqual(($0 as? EngineError)?.code, .invalidArgument)
        }
    }

    /// The grid choice and token counts of the real model's settings (384-pixel tiles of
    /// 27 × 27 patches, grids up to 6 × 6, anyres_max_9). The expected values are what
    /// transformers 4.57.6 gives (`select_best_resolution` and
    /// `LlavaOnevisionProcessor._get_number_of_features`).
    func testPackingOfTheRealModelsSettings() throws {
        var c = try Self.model.get().vision.config
        c.tileSize = 384; c.patchSize = 14; c.maxTiles = 9
        c.gridPinpoints = (1...6).flatMap { h in (1...6).map { w in .init(height: 384 * h, width: 384 * w) } }
        let p = LlavaOneVisionProcessor(config: c)
        // 640 × 480: a 2 × 2 grid, 7 rows of padding cut above and below, not resampled.
        XCTAssertEqual(p.bestResolution(height: 480, width: 640), .init(height: 768, width: 768))
        let photo = p.packing(height: 480, width: 640)
        XCTAssertEqual([photo.top, photo.height, photo.width, photo.outHeight, photo.outWidth], [7, 40, 54, 40, 54])
        XCTAssertEqual(p.tokens(height: 480, width: 640), 2929)
        // 1920 × 1080: a 3 × 5 grid, unpadded to 75 × 135, then resampled to 60 × 108.
        XCTAssertEqual(p.bestResolution(height: 1080, width: 1920), .init(height: 1152, width: 1920))
        let wide = p.packing(height: 1080, width: 1920)
        XCTAssertEqual([wide.top, wide.height, wide.width, wide.outHeight, wide.outWidth], [3, 75, 135, 60, 108])
        XCTAssertEqual(p.tokens(height: 1080, width: 1920), 7269)
    }

    /// The same checkpoint in two shards with an index, as transformers saves a large model,
    /// gives the same logits bit for bit; an index naming a shard elsewhere is refused.
    func testAShardedCheckpointLoadsTheSame() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llava-ov-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let hf = Self.dir.appendingPathComponent("hf")
        for name in try FileManager.default.contentsOfDirectory(atPath: hf.path) where name != "model.safetensors" {
            try FileManager.default.copyItem(at: hf.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let whole = try SafetensorsFile(path: hf.appendingPathComponent("model.safetensors").path)
        let names = whole.tensors.keys.sorted()
        var map: [String: String] = [:]
        for (i, part) in [names.filter { !$0.hasPrefix("language_model.") }, names.filter { $0.hasPrefix("language_model.") }].enumerated() {
            let shard = "model-0000\(i + 1)-of-00002.safetensors"
            try Self.writeSafetensors(part.map { (name: $0, tensor: whole.tensors[$0]!) }, from: whole, to: dir.appendingPathComponent(shard))
            for name in part { map[name] = shard }
        }
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map]).write(to: index)

        let model = try Self.model.get(), sharded = try LlavaOneVisionModel(huggingFaceDirectory: dir.path)
        let (st, image) = try reference("small")
        let ids = try ints(st, "small.input_ids")
        func logits(_ m: LlavaOneVisionModel) throws -> [Float] {
            try m.text.prefill(embeddings: m.embeddings(for: ids, images: [image]), cache: KVCache(config: m.text.config, capacity: ids.count), logits: .all)
        }
        XCTAssertEqual(try logits(sharded), try logits(model))

        try JSONSerialization.data(withJSONObject: ["weight_map": ["image_newline": "../model.safetensors"]]).write(to: index)
        XCTAssertThrowsError(try LlavaOneVisionModel(huggingFaceDirectory: dir.path)) {
            XCTAssertEqual(($0 as? EngineError)?.code, .invalidFile)
        }
    }

    /// Writes `tensors` (raw bytes from `source`) as a safetensors file.
    static func writeSafetensors(_ tensors: [(name: String, tensor: SafetensorsFile.Tensor)], from source: SafetensorsFile, to url: URL) throws {
        var header: [String: Any] = [:], data = Data(), offset = 0
        for (name, t) in tensors {
            header[name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.byteCount]]
            data.append(contentsOf: source.file.bytes[t.offset..<t.offset + t.byteCount])
            offset += t.byteCount
        }
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(data)
        try out.write(to: url)
    }

    func testCheckpointsItCannotReadAreRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llava-ov-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try LlavaOneVisionModel(huggingFaceDirectory: dir.path)) {
            XCTAssertEqual(($0 as? EngineError)?.code, .io)
            XCTAssertTrue("\($0)".contains("config.json"), "\($0)")
        }
        try Data(#"{"model_type": "idefics3"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try LlavaOneVisionModel(huggingFaceDirectory: dir.path)) {
            XCTAssertEqual(($0 as? EngineError)?.code, .unsupported)
            XCTAssertTrue("\($0)".contains("idefics3"), "\($0)")
        }
        // The real checkpoint with one setting changed: each refusal names the setting.
        let hf = Self.dir.appendingPathComponent("hf")
        for name in try FileManager.default.contentsOfDirectory(atPath: hf.path) where name != "config.json" {
            try FileManager.default.copyItem(at: hf.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: hf.appendingPathComponent("config.json"))) as? [String: Any])
        let changes: [(key: String, value: Any, code: EngineError.Code)] = [
            ("vision_feature_layer", 7, .unsupported), ("vision_feature_select_strategy", "default", .unsupported),
            ("projector_hidden_act", "relu", .unsupported), ("vision_aspect_ratio", "anyres_max_0", .unsupported),
            ("image_grid_pinpoints", [[32, 40]], .modelMismatch),
        ]
        for change in changes {
            var changed = config
            changed[change.key] = change.value
            try JSONSerialization.data(withJSONObject: changed).write(to: dir.appendingPathComponent("config.json"))
            XCTAssertThrowsError(try LlavaOneVisionModel(huggingFaceDirectory: dir.path), change.key) {
                XCTAssertEqual(($0 as? EngineError)?.code, change.code, "\(change.key): \($0)")
                XCTAssertTrue("\($0)".contains(change.key), "\($0)")
            }
        }
    }
}
