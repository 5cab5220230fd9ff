import Foundation
import XCTest
@testable import JarvisEngine

/// The shipped SmolLM2 against llama.cpp (fixture: tools/make_llama_fixtures.py, llama-cpp-python
/// 0.3.36): identical greedy tokens, and nearly the same last-position logits.
final class ModelParityTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let prompt: String
            let text: String
            let prompt_ids: [Int32]
            let greedy_ids: [Int32]
            let top_ids: [Int32]
            let top_logits: [Float]
        }
        let gen_tokens: Int
        let cases: [Case]
    }

    static let model: Result<(Transformer, BPETokenizer), Error> = Result {
        ComputeThreads.set(2)
        let gguf = try GGUFFile(path: shippedModelPath())
        return (try Transformer(gguf: gguf), try BPETokenizer(gguf: gguf))
    }

    func loadFixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "llama_cpp_smollm2", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testGreedyGenerationMatchesLlamaCpp() throws {
        let (model, tokenizer) = try Self.model.get()
        let fixture = try loadFixture()
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 10)
        for c in fixture.cases {
            let cache = KVCache(config: model.config, capacity: c.prompt_ids.count + fixture.gen_tokens + 1)
            var generator = try Generator(model: model, cache: cache, prompt: c.prompt_ids,
                                          stopTokens: tokenizer.endOfGenerationTokens)
            var ids: [Int32] = []
            while ids.count < fixture.gen_tokens, let t = try generator.next() { ids.append(t) }
            XCTAssertEqual(ids, c.greedy_ids, "\(c.prompt): got \(tokenizer.decode(ids).debugDescription), llama.cpp \(tokenizer.decode(c.greedy_ids).debugDescription)")
        }
    }

    func testLastLogitsAgreeWithLlamaCpp() throws {
        let (model, _) = try Self.model.get()
        let fixture = try loadFixture()
        var worst: Float = 0
        for c in fixture.cases {
            let cache = KVCache(config: model.config, capacity: c.prompt_ids.count)
            let logits = try model.prefill(c.prompt_ids, cache: cache)
            let ours = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(10).map { Int32($0) }
            let overlap = Set(ours).intersection(c.top_ids.prefix(10)).count
            XCTAssertGreaterThanOrEqual(overlap, 9, "\(c.prompt): top-10 \(ours) vs llama.cpp \(Array(c.top_ids.prefix(10)))")
            for (id, want) in zip(c.top_ids, c.top_logits) {
                worst = max(worst, abs(logits[Int(id)] - want))
            }
        }
        print("max |logit - llama.cpp logit| over the top-40 tokens of \(fixture.cases.count) prompts: \(worst)")
        // Not a bit-exactness claim: llama.cpp multiplies with 8-bit-quantized activations, we in fp32.
        XCTAssertLessThan(worst, 1.0)
    }

    func testPromptTokensMatchOurTokenizer() throws {
        let (_, tokenizer) = try Self.model.get()
        for c in try loadFixture().cases {
            XCTAssertEqual(tokenizer.encode(c.text, specials: .all), c.prompt_ids, c.prompt)
        }
    }
}
