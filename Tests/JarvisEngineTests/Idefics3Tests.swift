import Foundation
import JarvisImage
import XCTest
@testable import JarvisEngine

/// SmolVLM (Idefics3) against transformers on a tiny random-weight model
/// (tools/make_vlm_fixtures.py): the same prompt with an image, loaded from llama.cpp's GGUF
/// pair and from the Hugging Face checkpoint, gives the reference image features (after the
/// vision tower and connector) and logits at every position within 1e-3.
final class Idefics3Tests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/vlm")

    struct Case {
        let ids: [Int32]
        let frames: [[Float]]
        let features: [Float]
        let logits: [Float]
    }

    static func reference(_ name: String) throws -> Case {
        let st = try SafetensorsFile(path: Self.dir.appendingPathComponent("reference.safetensors").path)
        let idsTensor = try XCTUnwrap(st.tensors["\(name).input_ids"])
        let raw = UnsafeRawBufferPointer(rebasing: st.file.bytes[idsTensor.offset..<idsTensor.offset + idsTensor.byteCount])
        let ids = (0..<idsTensor.elementCount).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        let pv = try XCTUnwrap(st.tensors["\(name).pixel_values"])
        let pixels = try st.floats("\(name).pixel_values", shape: pv.shape)
        let frameSize = pv.shape.dropFirst().reduce(1, *)
        let frames = (0..<pv.shape[0]).map { Array(pixels[$0 * frameSize..<($0 + 1) * frameSize]) }
        let f = try XCTUnwrap(st.tensors["\(name).image_features"]), l = try XCTUnwrap(st.tensors["\(name).logits"])
        return Case(ids: ids, frames: frames, features: try st.floats("\(name).image_features", shape: f.shape),
                    logits: try st.floats("\(name).logits", shape: l.shape))
    }

    func check(_ model: Idefics3Model, _ label: String) throws {
        for name in ["split", "single"] {
            let c = try Self.reference(name)
            let features = c.frames.flatMap { model.vision.encode(frame: $0) }
            XCTAssertEqual(features.count, c.features.count, "\(label) \(name)")
            let fDiff = zip(features, c.features).map { abs($0 - $1) }.max() ?? .infinity
            // fp32 throughout; the erf-for-tanh GELU mistake would show here as ~5e-4.
            XCTAssertLessThan(fDiff, 5e-5, "\(label) \(name): image features max |Δ|")

            let embeddings = try model.embeddings(for: c.ids, frames: c.frames)
            let cache = KVCache(config: model.text.config, capacity: c.ids.count)
            let logits = try model.text.prefill(embeddings: embeddings, cache: cache, logits: .all)
            XCTAssertEqual(logits.count, c.logits.count)
            let lDiff = zip(logits, c.logits).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(lDiff, 1e-3, "\(label) \(name): logits max |Δ| over all \(c.ids.count) positions")
            print("\(label) \(name): features max |Δ| \(fDiff), logits max |Δ| \(lDiff)")
        }
    }

    func testGGUFPairMatchesTransformers() throws {
        let model = try Idefics3Model(languageModel: Self.dir.appendingPathComponent("tiny-idefics3-F32.gguf").path,
                                      mmproj: Self.dir.appendingPathComponent("mmproj-tiny-idefics3-F32.gguf").path)
        XCTAssertEqual(model.imageTokenID, 298)
        XCTAssertEqual(model.vision.config.tokensPerFrame, 16)
        try check(model, "gguf")
    }

    func testHuggingFaceCheckpointMatchesTransformers() throws {
        let model = try Idefics3Model(huggingFaceDirectory: Self.dir.appendingPathComponent("hf").path)
        XCTAssertEqual(model.imageTokenID, 298)
        XCTAssertEqual(model.vision.config.longestEdge, 128)
        try check(model, "safetensors")
    }

    func testAMismatchedPromptIsRefused() throws {
        let model = try Idefics3Model(huggingFaceDirectory: Self.dir.appendingPathComponent("hf").path)
        let c = try Self.reference("single")
        XCTAssertThrowsError(try model.embeddings(for: c.ids, frames: c.frames + c.frames)) {
            XCTAssertEqual(($0 as? EngineError)?.code, .invalidArgument)
        }
    }
}

/// The processor against transformers' Idefics3 processor on the fixture images: the crops,
/// the Lanczos global view and the expanded prompt's token ids.
final class Idefics3ProcessorTests: XCTestCase {
    func testFramesAndPromptMatchTheReferenceProcessor() throws {
        let model = try Idefics3Model(languageModel: Idefics3Tests.dir.appendingPathComponent("tiny-idefics3-F32.gguf").path,
                                      mmproj: Idefics3Tests.dir.appendingPathComponent("mmproj-tiny-idefics3-F32.gguf").path)
        let tokenizer = try BPETokenizer(gguf: GGUFFile(path: Idefics3Tests.dir.appendingPathComponent("tiny-idefics3-F32.gguf").path))
        let processor = Idefics3Processor(config: model.vision.config)
        for (name, file, edge, grid) in [("split", "image_split.png", 128, (1, 2)), ("single", "image_single.png", 64, (0, 0))] {
            let c = try Idefics3Tests.reference(name)
            let image = try ImageDecoder.load(path: Idefics3Tests.dir.appendingPathComponent(file).path)
            let (frames, rows, cols) = processor.frames(for: image, longestEdge: edge)
            XCTAssertEqual(rows, grid.0, name)
            XCTAssertEqual(cols, grid.1, name)
            XCTAssertEqual(frames.count, c.frames.count, name)
            for (i, (got, want)) in zip(frames, c.frames).enumerated() {
                XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), "\(name) frame \(i): pixel values bit for bit")
            }
            let ids = tokenizer.encode(processor.prompt(question: "What is in this image?", rows: rows, cols: cols))
            XCTAssertEqual(ids, c.ids, "\(name): expanded prompt")
        }
    }

    /// Strips, specks and extreme aspect ratios still give whole frames and a matching prompt.
    func testOddShapesGiveWholeFrames() throws {
        let model = try Idefics3Model(huggingFaceDirectory: Idefics3Tests.dir.appendingPathComponent("hf").path)
        let processor = Idefics3Processor(config: model.vision.config)
        let m = model.vision.config.imageSize
        for (w, h) in [(1, 1), (1, 3000), (3000, 1), (2, 129), (65, 64), (500, 7)] {
            let image = RGBImage(width: w, height: h, pixels: [UInt8](repeating: 90, count: w * h * 3))
            for edge in [m, model.vision.config.longestEdge] {
                let (frames, rows, cols) = processor.frames(for: image, longestEdge: edge)
                XCTAssertTrue(frames.allSatisfy { $0.count == 3 * m * m }, "\(w)×\(h) at \(edge)")
                XCTAssertEqual(frames.count, rows == 0 ? 1 : rows * cols + 1, "\(w)×\(h) at \(edge)")
                let images = processor.imageText(rows: rows, cols: cols).components(separatedBy: "<image>").count - 1
                XCTAssertEqual(images, frames.count * model.vision.config.tokensPerFrame)
            }
        }
    }
}
