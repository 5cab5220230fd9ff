import Foundation
import XCTest
@testable import JarvisEngine

/// all-MiniLM-L6-v2 against sentence-transformers (fixture: tools/make_embedder_fixtures.py):
/// the same WordPiece ids, and embeddings with cosine ≥ 0.9999.
final class TextEmbedderTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { let text: String; let ids: [Int32]; let embedding_f32_le: String }
        let max_seq_length: Int
        let cases: [Case]
    }

    static let shared: Result<TextEmbedder, Error> = Result {
        try TextEmbedder(directory: ModelFiles.directory() + "/" + ModelFiles.defaultTextEmbedder)
    }

    func fixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "minilm_embeddings", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testTokenIdsMatchHuggingFace() throws {
        let embedder = try Self.shared.get()
        let f = try fixture()
        XCTAssertEqual(embedder.config.maxTokens, f.max_seq_length)
        var mismatches: [String] = []
        for c in f.cases where embedder.tokenizer.encode(c.text, maxTokens: f.max_seq_length) != c.ids {
            mismatches.append("\(c.text.prefix(60).debugDescription): got \(embedder.tokenizer.encode(c.text, maxTokens: f.max_seq_length).prefix(20)), want \(c.ids.prefix(20))")
        }
        XCTAssertEqual(mismatches, [], "\(mismatches.count) of \(f.cases.count) differ")
    }

    func testEmbeddingsMatchSentenceTransformers() throws {
        let embedder = try Self.shared.get()
        let f = try fixture()
        XCTAssertGreaterThanOrEqual(f.cases.count, 50)
        var worst: Float = 1
        for c in f.cases {
            let raw = try XCTUnwrap(Data(base64Encoded: c.embedding_f32_le))
            let want = raw.withUnsafeBytes { b in (0..<b.count / 4).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
            let got = embedder.embed(tokens: c.ids)
            XCTAssertEqual(got.count, 384)
            let dot = zip(got, want).reduce(0) { $0 + $1.0 * $1.1 }
            let cosine = dot / (want.reduce(0) { $0 + $1 * $1 }.squareRoot() * got.reduce(0) { $0 + $1 * $1 }.squareRoot())
            worst = min(worst, cosine)
            XCTAssertGreaterThanOrEqual(cosine, 0.9999, c.text.prefix(60).debugDescription)
        }
        print("MiniLM against sentence-transformers: lowest cosine over \(f.cases.count) sentences = \(worst)")
    }

    func testSimilarMeaningsAreCloser() throws {
        let e = try Self.shared.get()
        let q = e.embed("What is my dog's name?")
        let dog = e.embed("My dog is called Biscuit.")
        let code = e.embed("The garage door code is 4417.")
        func cos(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        XCTAssertEqual(Double(cos(q, q)), 1, accuracy: 1e-5)
        XCTAssertGreaterThan(cos(q, dog), cos(q, code) + 0.2)
    }

    func testDamagedSafetensorsAreRefusedWithTheirName() throws {
        let dir = try makeTempDir("safetensors")
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ header: String, data: Int = 16, declaredLength: UInt64? = nil) throws -> String {
            var bytes = withUnsafeBytes(of: (declaredLength ?? UInt64(header.utf8.count)).littleEndian) { Array($0) }
            bytes += Array(header.utf8) + [UInt8](repeating: 0, count: data)
            let url = dir.appendingPathComponent("\(UUID().uuidString).safetensors")
            try Data(bytes).write(to: url)
            return url.path
        }
        let ok = try write(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#)
        XCTAssertEqual(try SafetensorsFile(path: ok).floats("a", shape: [2, 2]), [0, 0, 0, 0])
        let cases: [(String, String)] = [
            (try write("{}", declaredLength: 1 << 40), "exceeds the file"),
            (try write("{not json"), "not valid JSON"),
            (try write(#"{"a":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]}}"#), "past the end"),
            (try write(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#), "needs 12 bytes"),
            (try write(#"{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}}"#), "dtype Q9"),
        ]
        for (path, words) in cases {
            XCTAssertThrowsError(try SafetensorsFile(path: path)) { error in
                XCTAssertTrue("\(error)".contains(path) && "\(error)".contains(words), "\(error)")
            }
        }
        XCTAssertThrowsError(try SafetensorsFile(path: ok).floats("a", shape: [4])) {
            XCTAssertEqual(($0 as? EngineError)?.code, .modelMismatch)
        }
    }
}
