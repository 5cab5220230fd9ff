import Foundation
import XCTest
@testable import JarvisEngine

/// The decoder on tiny random models in the real file format: against a plain reference for
/// both architectures, and the KV cache as an interface (prefill behind a cache, segments).
final class TransformerTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try makeTempDir("transformer") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    let tokens: [Int32] = [3, 17, 42, 8, 8, 60, 1, 79, 25, 33, 12, 5, 70, 44, 2, 9, 11, 64, 30, 7]

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    func checkAgainstReference(_ c: TinyModel.Config, tolerance: Float = 2e-3) throws {
        let model = try TinyModel.load(c, in: dir)
        XCTAssertEqual(model.config.architecture.rawValue, c.architecture)
        XCTAssertEqual(model.config.ropeIsNeox, c.neox)
        XCTAssertEqual(model.config.headDim, c.headDim)
        let cache = KVCache(config: model.config, capacity: 64)
        let logits = try model.prefill(tokens, cache: cache, logits: .all)
        let reference = TinyModel.referenceLogits(c, tokens: tokens, weights: try TinyModel.storedWeights(of: model))
        XCTAssertEqual(logits.count, tokens.count * c.vocab)
        var worst: Float = 0
        for (t, ref) in reference.enumerated() {
            worst = max(worst, maxDiff(Array(logits[t * c.vocab..<(t + 1) * c.vocab]), ref))
        }
        // fp32 against a Double reference; both round K, V, q and weights to fp16 identically
        // up to the last bit, so the gap is accumulated float error.
        XCTAssertLessThan(worst, tolerance, "\(c.architecture): max |engine − reference| = \(worst)")
    }

    func testLlamaMatchesReference() throws { try checkAgainstReference(.init(architecture: "llama")) }
    func testLlamaSeparateOutputMatchesReference() throws { try checkAgainstReference(.init(architecture: "llama", tiedOutput: false)) }
    func testQwen2WithBiasesAndNeoxRopeMatchesReference() throws { try checkAgainstReference(.init(architecture: "qwen2")) }
    /// Measured 2.3e-3 (llama 1.1e-3, qwen2 1.6e-3, on logits of the same ±16): the head norms
    /// hand the fp16 rounding of q and k unit-RMS vectors scaled by weights up to 1.3, in 32-wide
    /// heads, so a value the engine (from fp32) and the reference (from Double) round to
    /// neighbouring halves moves the scores more.
    func testQwen3WithHeadNormsAndStatedHeadSizeMatchesReference() throws {
        try checkAgainstReference(.init(architecture: "qwen3", statedHeadDim: 32), tolerance: 3e-3)
    }
    func testLlamaWithRopeFrequencyFactorsMatchesReference() throws {
        try checkAgainstReference(.init(architecture: "llama", ropeFactors: TinyModel.llama3Factors))
    }

    /// Every product type keeps its weights in the mapping (no fp32 copy) and the logits follow
    /// the stored weights; the stored weights follow the source (the test quantizers are sane).
    func testQuantizedWeightsStayCloseToReference() throws {
        func check(_ c: TinyModel.Config) throws {
            let type = c.weightType
            let model = try TinyModel.load(c, in: dir)
            XCTAssertEqual(model.denseWeightBytes, 0, "\(type) weights should stay quantized")
            let stored = try TinyModel.storedWeights(of: model)
            let source = try XCTUnwrap(TinyModel.weights(c).first { $0.name == "blk.0.ffn_up.weight" }).values
            let error = zip(stored["blk.0.ffn_up.weight"]!, source).map { Double(abs($0 - $1)) }.reduce(0, +)
            XCTAssertLessThan(error, 0.35 * source.map { Double(abs($0)) }.reduce(0, +), "\(type) quantizer")
            let logits = try model.prefill(tokens, cache: KVCache(config: model.config, capacity: 64))
            let ref = TinyModel.referenceLogits(c, tokens: tokens, weights: stored).last!
            // 8-bit activations against exact ones: a few percent of the logit range.
            XCTAssertLessThan(maxDiff(logits, ref), 0.05 * (ref.max()! - ref.min()!), "\(type)")
            XCTAssertEqual(Sampler.argmax(logits), Sampler.argmax(ref), "\(type)")
        }
        for type in [GGMLType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_nl, .f16, .bf16] {
            try check(TinyModel.Config(weightType: type))
        }
        // The K-types need rows of 256: a wider tiny model.
        for type in [GGMLType.q4_K, .q6_K, .q2_K, .q3_K, .q5_K, .iq4_xs] {
            try check(TinyModel.Config(layers: 1, dim: 256, heads: 4, kvHeads: 2, ffnDim: 512, weightType: type))
        }
    }

    func testPrefillBehindACacheEqualsOnePass() throws {
        let model = try TinyModel.load(.init(), in: dir)
        let whole = try model.prefill(tokens, cache: KVCache(config: model.config, capacity: 64))
        let cache = KVCache(config: model.config, capacity: 64)
        try model.prefill(Array(tokens[0..<7]), cache: cache, logits: .none)
        XCTAssertEqual(cache.count, 7)
        try model.prefill(Array(tokens[7..<12]), cache: cache, logits: .none)
        let parts = try model.prefill(Array(tokens[12...]), cache: cache)
        XCTAssertEqual(cache.count, tokens.count)
        XCTAssertLessThan(maxDiff(whole, parts), 1e-4)
    }

    func testTokenByTokenEqualsOnePass() throws {
        let model = try TinyModel.load(.init(architecture: "qwen2"), in: dir)
        let all = try model.prefill(tokens, cache: KVCache(config: model.config, capacity: 64), logits: .all)
        let cache = KVCache(config: model.config, capacity: 64)
        for (i, t) in tokens.enumerated() {
            let l = try model.prefill([t], cache: cache)
            let row = Array(all[i * model.config.vocabularySize..<(i + 1) * model.config.vocabularySize])
            XCTAssertLessThan(maxDiff(l, row), 1e-4, "position \(i)")
        }
    }

    func testSegmentHandedOutAndBackGivesTheSameContinuation() throws {
        let model = try TinyModel.load(.init(), in: dir)
        let prefix = Array(tokens[0..<4]), entry = Array(tokens[4..<10]), question = Array(tokens[10...])

        let original = KVCache(config: model.config, capacity: 64)
        try model.prefill(prefix + entry, cache: original, logits: .none)
        let segment = original.segment(4..<10)
        XCTAssertEqual(segment.tokenCount, 6)
        XCTAssertEqual(segment.basePosition, 4)
        XCTAssertEqual(segment.keys.count, model.config.layers * model.config.kvHeads * 6 * model.config.headDim)

        let rebuilt = KVCache(config: model.config, capacity: 64)
        try model.prefill(prefix, cache: rebuilt, logits: .none)
        try rebuilt.append(segment)
        XCTAssertEqual(rebuilt.count, 10)
        XCTAssertEqual(rebuilt.segment(0..<10), original.segment(0..<10))

        let a = try model.prefill(question, cache: original)
        let b = try model.prefill(question, cache: rebuilt)
        XCTAssertEqual(a, b)
    }

    func testCacheLayoutIsHeadMajorFp16AfterRotation() throws {
        // The documented layout: key of (layer, head, position) at (head * capacity + position) * headDim,
        // rotated for its position. Position 0 has no rotation, so its key equals the projection.
        let c = TinyModel.Config()
        let model = try TinyModel.load(c, in: dir)
        let cache = KVCache(config: model.config, capacity: 8)
        try model.prefill([5], cache: cache, logits: .none)
        let w = try TinyModel.storedWeights(of: model)
        let x = (0..<c.dim).map { Double(w["token_embd.weight"]![5 * c.dim + $0]) }
        let norm = w["blk.0.attn_norm.weight"]!
        let s = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(c.dim) + 1e-5).squareRoot()
        let h = x.indices.map { x[$0] * s * Double(norm[$0]) }
        let wk = w["blk.0.attn_k.weight"]!
        for head in 0..<c.kvHeads {
            let keys = cache.keys(layer: 0, head: head)
            for d in 0..<c.headDim {
                let row = head * c.headDim + d
                let want = (0..<c.dim).reduce(0.0) { $0 + Double(wk[row * c.dim + $1]) * h[$1] }
                XCTAssertEqual(Double(Float(Float16(bitPattern: keys[d]))), want, accuracy: 2e-3 * max(1, abs(want)))
            }
        }
    }

    func testBadRequestsAreRefused() throws {
        let model = try TinyModel.load(.init(), in: dir)
        let cache = KVCache(config: model.config, capacity: 4)
        XCTAssertThrowsError(try model.prefill([80], cache: cache)) { XCTAssertEqual(($0 as? EngineError)?.code, .invalidArgument) }
        XCTAssertThrowsError(try model.prefill([-1], cache: cache)) { XCTAssertEqual(($0 as? EngineError)?.code, .invalidArgument) }
        XCTAssertThrowsError(try model.prefill([1, 2, 3, 4, 5], cache: cache)) { XCTAssertTrue("\($0)".contains("context full")) }
        XCTAssertEqual(cache.count, 0, "a refused request leaves the cache as it was")
        try model.prefill([1, 2, 3], cache: cache, logits: .none)
        let seg = cache.segment(0..<3)
        XCTAssertThrowsError(try cache.append(seg)) { XCTAssertTrue("\($0)".contains("computed at position 0"), "\($0)") }
        let big = KVCache(config: model.config, capacity: 8)
        try model.prefill([1, 2, 3, 4, 5], cache: big, logits: .none)
        let small = KVCache(config: model.config, capacity: 4)
        try model.prefill([1], cache: small, logits: .none)
        XCTAssertThrowsError(try small.append(big.segment(1..<5))) { XCTAssertTrue("\($0)".contains("full"), "\($0)") }
        let other = KVCache(config: try TinyModel.load(.init(layers: 1), in: dir).config, capacity: 8)
        XCTAssertThrowsError(try other.append(seg)) { XCTAssertTrue("\($0)".contains("does not match")) }
    }

    func testGeneratorStopsAtStopTokenAndWhenFull() throws {
        let model = try TinyModel.load(.init(), in: dir)
        // Whatever greedy picks first becomes the stop token: nothing is generated.
        let first = Sampler.argmax(try model.prefill([1, 2, 3], cache: KVCache(config: model.config, capacity: 8)))
        var g = try Generator(model: model, cache: KVCache(config: model.config, capacity: 8), prompt: [1, 2, 3], stopTokens: [first])
        XCTAssertNil(try g.next())
        // No stop tokens: generation ends when the cache is full (capacity 8, prompt 3).
        var h = try Generator(model: model, cache: KVCache(config: model.config, capacity: 8), prompt: [1, 2, 3], stopTokens: [])
        var n = 0
        while try h.next() != nil { n += 1 }
        XCTAssertEqual(n, 6)
        XCTAssertThrowsError(try Generator(model: model, cache: KVCache(config: model.config, capacity: 8), prompt: [], stopTokens: []))
    }
}
