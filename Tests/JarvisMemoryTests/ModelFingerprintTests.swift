import Foundation
import XCTest
import JarvisEngine
import JarvisStore
@testable import JarvisMemory

final class ModelFingerprintTests: XCTestCase {
    func testFingerprintFollowsWeightsAndPrefix() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-fp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try GGUFFile(path: ModelFiles.path(of: ModelFiles.defaultLanguageModel))
        let a = ModelFingerprint.compute(model: original, prefix: [1, 2, 3])
        XCTAssertEqual(a, ModelFingerprint.compute(model: try GGUFFile(path: original.path), prefix: [1, 2, 3]))
        XCTAssertNotEqual(a, ModelFingerprint.compute(model: original, prefix: [1, 2, 4]), "another system prompt")

        // The same file with one weight byte changed is another model.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: original.path)))
        bytes[bytes.count - 100] ^= 1
        let changed = dir.appendingPathComponent("changed.gguf")
        try Data(bytes).write(to: changed)
        let b = ModelFingerprint.compute(model: try GGUFFile(path: changed.path), prefix: [1, 2, 3])
        XCTAssertNotEqual(a, b)

        // A store written under one refuses the other, saying what to do.
        let store = try PersonalStore(directory: dir.appendingPathComponent("store").path)
        try store.bind(fingerprint: a)
        XCTAssertThrowsError(try store.bind(fingerprint: b)) { error in
            XCTAssertEqual((error as? StoreError)?.code, .fingerprintMismatch)
            XCTAssertTrue("\(error)".contains("re-encode"), "\(error)")
        }
    }

    /// Entries stored under a Llama 3 model before the engine applied its frequency factors
    /// carry the bare file fingerprint; the model's fingerprint now differs, so they are
    /// re-encoded rather than read with keys rotated the old way. Other models keep theirs.
    func testFrequencyFactorsMarkTheFingerprint() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("JarvisEngineTests/Fixtures/families")
        let llama3 = try GGUFFile(path: fixtures.appendingPathComponent("llama3.gguf").path)
        let marked = ModelFingerprint.compute(model: llama3, prefix: [1])
        XCTAssertTrue(marked.hasPrefix("gguf:") && marked.hasSuffix(":1/rope_freqs"), marked)
        let qwen3 = try GGUFFile(path: fixtures.appendingPathComponent("qwen3.gguf").path)
        XCTAssertFalse(ModelFingerprint.compute(model: qwen3, prefix: [1]).contains("rope_freqs"))
    }
}
