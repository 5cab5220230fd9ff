import Foundation
import XCTest
@testable import JarvisEngine

/// Composing a logical cache [prefix | entry 1 | … | entry k | question] from caches computed
/// separately, with entries moved by query-side rotation instead of rewriting their keys.
final class CompositionTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try makeTempDir("composition") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    /// One tiny model per rotary variant: adjacent pairs, NeoX halves with biases, NeoX after
    /// qwen3's head norms (head size 32, not 64 / 4), and Llama 3's scaled frequencies.
    static let families: [TinyModel.Config] = [
        .init(architecture: "llama"), .init(architecture: "qwen2"), .init(architecture: "qwen3", statedHeadDim: 32),
        .init(architecture: "llama", ropeFactors: TinyModel.llama3Factors),
    ]
    func name(_ c: TinyModel.Config) -> String { c.architecture + (c.ropeFactors == nil ? "" : " + rope_freqs") }

    /// Computes `entry` alone behind `prefix` (at the canonical position right after it).
    func entryCache(_ model: Transformer, prefix: KVCache, _ entry: [Int32]) throws -> KVCache {
        let cache = KVCache(config: model.config, capacity: prefix.count + entry.count)
        try cache.append(prefix.segment(0..<prefix.count))
        try model.prefill(entry, cache: cache, logits: .none)
        return cache
    }

    /// (a) One entry at its canonical position: identical, bit for bit, to prefilling
    /// prefix + entry + question in one pass (same rows, same summation order). Tolerance: 0.
    func checkCanonical(_ model: Transformer, prefix: [Int32], entry: [Int32], question: [Int32]) throws {
        let p = KVCache(config: model.config, capacity: prefix.count)
        try model.prefill(prefix, cache: p, logits: .none)
        let e = try entryCache(model, prefix: p, entry)
        let q = KVCache(config: model.config, capacity: question.count, basePosition: prefix.count + entry.count)
        let composed = try model.prefill(question, cache: q, context: [p.run(0..<prefix.count), e.run(prefix.count..<e.count)])
        let onePass = try model.prefill(prefix + entry + question, cache: KVCache(config: model.config, capacity: 512))
        XCTAssertEqual(composed, onePass)
    }

    func testCanonicalPlacementIsExactOnTinyModels() throws {
        // Quantized weights: their products are computed row by row, so a row's result does
        // not depend on which batch it came in (OpenBLAS's fp32 GEMM does not promise that).
        for var c in Self.families {
            c.weightType = .q8_0
            let model = try TinyModel.load(c, in: dir)
            try checkCanonical(model, prefix: [1, 5, 9, 2], entry: [40, 41, 42, 43, 44, 45], question: [7, 8, 9, 10, 11])
        }
    }

    func testCanonicalPlacementIsExactOnTheShippedModel() throws {
        let gguf = try GGUFFile(path: shippedModelPath())
        let model = try Transformer(gguf: gguf), tok = try BPETokenizer(gguf: gguf)
        let prefix = tok.encode("<|im_start|>system\nYou are Jarvis, the user's personal assistant.<|im_end|>\n", specials: .all)
        let entry = tok.encode("The user's dog is called Biscuit and is a three-year-old beagle.\n")
        let question = tok.encode("<|im_start|>user\nWhat is my dog's name?<|im_end|>\n<|im_start|>assistant\n", specials: .all)
        try checkCanonical(model, prefix: prefix, entry: entry, question: question)
    }

    /// APE-style scaling of a run's attention: a scale of 1 and bias of 0 change nothing, bit
    /// for bit; a bias of log 2 weighs the run as if its rows were there twice (softmax weights
    /// 2·e^s = e^s + e^s), so it must give the logits of the run lent twice. Tolerance: rounding
    /// of a different summation order, 1e-3 on logits of magnitude ~10.
    func testAttentionScalingOfARun() throws {
        let model = try TinyModel.load(.init(architecture: "llama", weightType: .q8_0), in: dir)
        let prefix: [Int32] = [1, 5, 9, 2], entry: [Int32] = [40, 41, 42, 43, 44, 45], question: [Int32] = [7, 8, 9, 10, 11]
        let p = KVCache(config: model.config, capacity: prefix.count)
        try model.prefill(prefix, cache: p, logits: .none)
        let e = try entryCache(model, prefix: p, entry)
        // The question sits right after the entry in every layout (two copies of a run at the
        // same place see the question from the same distance).
        func logits(_ context: [KVRun]) throws -> [Float] {
            try model.prefill(question, cache: KVCache(config: model.config, capacity: question.count,
                                                       basePosition: prefix.count + entry.count), context: context)
        }
        let head = p.run(0..<prefix.count), run = e.run(prefix.count..<e.count)
        var same = run
        same.logitScale = 1
        same.logitBias = 0
        XCTAssertEqual(try logits([head, same]), try logits([head, run]))

        var doubled = run
        doubled.logitBias = log(2)
        let biased = try logits([head, doubled])
        XCTAssertLessThan(maxDiff(biased, try logits([head, run, run])), 1e-3)
        XCTAssertGreaterThan(maxDiff(biased, try logits([head, run])), 1e-3, "the bias changes the answer's logits")
    }

    /// (b) An entry computed alone at position p and placed at q, against the same entry
    /// computed at q. Keys differ only by rotation, so the gap is rounding: the keys are fp16
    /// after rotation by different angles. Tolerance: 2e-2 on logits of magnitude ~10. Measured
    /// here 7.0e-3 to 1.6e-2 across the four rotary variants (llama + rope_freqs the widest), and
    /// 4e-3 to 1.3e-2 over other factors and moves; the gap wanders with the rounding, not with
    /// the factors. A query turned without the factors is off by 1.9 (FamilyParityTests).
    func testEntryMovedFromPToQMatchesEntryComputedAtQ() throws {
        for c in Self.families {
            let model = try TinyModel.load(c, in: dir), arch = name(c)
            let entry: [Int32] = [30, 31, 32, 33, 34, 35, 36], question: [Int32] = [3, 4, 5, 6]
            let p = 0, q = 57
            let atP = KVCache(config: model.config, capacity: entry.count, basePosition: p)
            try model.prefill(entry, cache: atP, logits: .none)
            let atQ = KVCache(config: model.config, capacity: entry.count, basePosition: q)
            try model.prefill(entry, cache: atQ, logits: .none)

            let moved = try model.prefill(question, cache: KVCache(config: model.config, capacity: 8, basePosition: q + entry.count),
                                          context: [atP.run(0..<entry.count, placedAt: q)])
            let native = try model.prefill(question, cache: KVCache(config: model.config, capacity: 8, basePosition: q + entry.count),
                                           context: [atQ.run(0..<entry.count)])
            let d = maxDiff(moved, native)
            XCTAssertLessThan(d, 2e-2, "\(arch): max |Δlogit| = \(d)")
            XCTAssertEqual(Sampler.argmax(moved), Sampler.argmax(native))
        }
    }

    /// (c) k = 3 entries laid out one after another (two of them moved), against the slow path
    /// that rewrites every moved key to its placed position. Tolerance: 2e-2 on logits spanning
    /// about ±12, i.e. ~1e-3 of the range: both paths round keys to fp16 (relative 2^-11), after
    /// rotations by different routes.
    func testThreeEntriesMatchTheKeyRewritingReference() throws {
        for c in Self.families {
            let model = try TinyModel.load(c, in: dir), arch = name(c)
            let prefix: [Int32] = [1, 2, 3]
            let entries: [[Int32]] = [[10, 11, 12, 13, 14], [20, 21, 22, 23, 24, 25, 26, 27], [30, 31, 32, 33]]
            let question: [Int32] = [50, 51, 52, 53, 54, 55]
            let p = KVCache(config: model.config, capacity: prefix.count)
            try model.prefill(prefix, cache: p, logits: .none)
            var runs = [p.run(0..<prefix.count)]
            var caches: [KVCache] = []
            var position = prefix.count
            for e in entries {
                let c = try entryCache(model, prefix: p, e)
                caches.append(c)
                runs.append(c.run(prefix.count..<c.count, placedAt: position))
                position += e.count
            }
            XCTAssertEqual(runs.map(\.positionDelta), [0, 0, 5, 13])
            let composed = try model.prefill(question, cache: KVCache(config: model.config, capacity: 8, basePosition: position),
                                             context: runs, logits: .all)
            let reference = try model.prefillRewritingKeys(question, context: runs, logits: .all)
            let d = maxDiff(composed, reference)
            XCTAssertLessThan(d, 2e-2, "\(arch): max |Δlogit| = \(d)")
            XCTAssertEqual(Sampler.argmax(Array(composed.suffix(model.config.vocabularySize))),
                           Sampler.argmax(Array(reference.suffix(model.config.vocabularySize))))
            // Entries never see each other: the entry caches were not touched by composing.
            for (c, e) in zip(caches, entries) { XCTAssertEqual(c.count, prefix.count + e.count) }
        }
    }

    /// (c) on the shipped model: three remembered facts, two moved. The quantized model
    /// re-rounds activations to 8 bits, which magnifies fp16-level key differences (llama.cpp's
    /// own logits move by up to 0.56 between an fp16 and an fp32 cache). Tolerance: 1.0 on
    /// logits spanning about ±25, the same greedy token, and 4 of the top 5 shared.
    func testThreeEntriesOnTheShippedModel() throws {
        let gguf = try GGUFFile(path: shippedModelPath())
        let model = try Transformer(gguf: gguf), tok = try BPETokenizer(gguf: gguf)
        let prefix = tok.encode("<|im_start|>system\nYou are Jarvis. Use the user's notes below.<|im_end|>\n", specials: .all)
        let entries = ["Note: my dog is called Biscuit.\n", "Note: my sister Ana lives in Lisbon and teaches piano.\n",
                       "Note: the garage code is 4417.\n"].map { tok.encode($0) }
        let question = tok.encode("<|im_start|>user\nWhere does my sister live?<|im_end|>\n<|im_start|>assistant\n", specials: .all)
        let p = KVCache(config: model.config, capacity: prefix.count)
        try model.prefill(prefix, cache: p, logits: .none)
        var runs = [p.run(0..<prefix.count)], caches: [KVCache] = [], position = prefix.count
        for e in entries {
            let c = try entryCache(model, prefix: p, e)
            caches.append(c)
            runs.append(c.run(prefix.count..<c.count, placedAt: position))
            position += e.count
        }
        let composed = try model.prefill(question, cache: KVCache(config: model.config, capacity: question.count, basePosition: position), context: runs)
        let reference = try model.prefillRewritingKeys(question, context: runs)
        let d = maxDiff(composed, reference)
        print("shipped model, 3 entries: max |composed − key-rewriting reference| = \(d)")
        XCTAssertLessThan(d, 1.0)
        XCTAssertEqual(Sampler.argmax(composed), Sampler.argmax(reference))
        let top = { (l: [Float]) in Set(l.indices.sorted { l[$0] > l[$1] }.prefix(5)) }
        XCTAssertGreaterThanOrEqual(top(composed).intersection(top(reference)).count, 4)
    }

    func testContextRunsMustComeBeforeTheCache() throws {
        let model = try TinyModel.load(.init(), in: dir)
        let a = KVCache(config: model.config, capacity: 4)
        try model.prefill([1, 2, 3], cache: a, logits: .none)
        let q = KVCache(config: model.config, capacity: 4, basePosition: 2)
        XCTAssertThrowsError(try model.prefill([5], cache: q, context: [a.run(0..<3)])) {
            XCTAssertTrue("\($0)".contains("does not come before"), "\($0)")
        }
        let other = try TinyModel.load(.init(layers: 1), in: dir)
        let b = KVCache(config: other.config, capacity: 4)
        try other.prefill([1, 2], cache: b, logits: .none)
        XCTAssertThrowsError(try model.prefill([5], cache: KVCache(config: model.config, capacity: 4, basePosition: 2), context: [b.run(0..<2)]))
    }
}
