import CJarvisKernels
import Foundation
import XCTest
import JarvisEngine
import JarvisStore
@testable import JarvisMemory

/// Entries stored as pages and read back in place give the same attention as the caches
/// they came from, and reading them allocates nothing in proportion to their size.
final class StoredRunsTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-memory-\(UUID().uuidString)")
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    static let shared: Result<(Transformer, BPETokenizer), Error> = Result {
        let gguf = try GGUFFile(path: ModelFiles.path(of: ModelFiles.defaultLanguageModel))
        return (try Transformer(gguf: gguf), try BPETokenizer(gguf: gguf))
    }

    func encoder(_ prefixText: String) throws -> EntryEncoder {
        let (model, tok) = try Self.shared.get()
        return try EntryEncoder(model: model, tokenizer: tok, gguf: GGUFFile(path: model.path), prefix: .markup(prefixText))
    }

    /// Encodes `text` behind the encoder's prefix and stores it with block size `block`.
    func remember(_ text: String, in store: PersonalStore, with encoder: EntryEncoder, block: Int = 64) throws -> EntryRecord {
        let (tokens, kv) = try encoder.encode(text)
        return try store.add(encoder.record(text: text, tokenCount: tokens.count, kind: "note", blockTokens: block), kv: kv, vectors: [])
    }

    func testStoredEntryAnswersExactlyLikeOnePass() throws {
        let (model, tok) = try Self.shared.get()
        let store = try PersonalStore(directory: dir.path)
        let enc = try encoder("<|im_start|>system\nYou are Jarvis. Use the user's notes.<|im_end|>\n")
        let prefixTokens = enc.prefixTokens, prefix = enc.prefix
        let note = "Note: my sister Ana lives in Lisbon and teaches piano at the conservatory on Thursdays.\n"
        // Small blocks, so that the entry spans several pages per layer.
        let record = try remember(note, in: store, with: enc, block: 8)
        XCTAssertGreaterThan(record.blockCount, 2)
        let question = tok.encode("<|im_start|>user\nWhere does my sister live?<|im_end|>\n<|im_start|>assistant\n", specials: .all)

        let fromStore = try store.read { reader in
            let runs = try [prefix.run(0..<prefix.count)] + reader.runs(for: record, placedAt: prefixTokens.count, model: model.config)
            let q = KVCache(config: model.config, capacity: question.count, basePosition: prefixTokens.count + record.tokenCount)
            return try model.prefill(question, cache: q, context: runs)
        }
        let onePass = try model.prefill(prefixTokens + tok.encode(note) + question, cache: KVCache(config: model.config, capacity: 256))
        XCTAssertEqual(fromStore, onePass, "pages read in place must give bit-identical logits")
    }

    /// The question's logits over a real note stored in fp16 and in `dtype`, read from the store.
    func logitsOfANoteInFp16And(_ dtype: KVPageDType) throws -> (fp16: [Float], other: [Float]) {
        let (model, tok) = try Self.shared.get()
        let store = try PersonalStore(directory: dir.path)
        let enc = try encoder("<|im_start|>system\nYou are Jarvis. Use the user's notes.<|im_end|>\n")
        let note = "Note: my sister Ana lives in Lisbon and teaches piano at the conservatory on Thursdays.\n"
        let (tokens, kv) = try enc.encode(note)
        let fp16 = try store.add(enc.record(text: note, tokenCount: tokens.count, kind: "note"), kv: kv, vectors: [])
        let other = try store.add(enc.record(text: note, tokenCount: tokens.count, kind: "note", dtype: dtype), kv: kv, vectors: [])
        let question = tok.encode("<|im_start|>user\nWhere does my sister live?<|im_end|>\n<|im_start|>assistant\n", specials: .all)
        func answer(_ r: EntryRecord) throws -> [Float] {
            try store.read { reader in
                let runs = try [enc.prefix.run(0..<enc.prefix.count)] + reader.runs(for: r, placedAt: enc.prefix.count, model: model.config)
                return try model.prefill(question, cache: KVCache(config: model.config, capacity: question.count, basePosition: enc.prefix.count + r.tokenCount), context: runs)
            }
        }
        return (try answer(fp16), try answer(other))
    }

    func testEightBitEntryAnswersCloseToFp16() throws {
        let (a, b) = try logitsOfANoteInFp16And(.q8)
        let d = zip(a, b).map { abs($0 - $1) }.max()!
        print("8-bit pages against fp16: max |Δlogit| = \(d)")
        XCTAssertGreaterThan(d, 0, "8-bit pages are not the fp16 ones")
        // Tolerance: 1.5 on logits spanning about ±25 (8-bit values carry ~0.4% error, which the
        // model's own 8-bit activations then amplify); the same greedy token.
        XCTAssertLessThan(d, 1.5)
        XCTAssertEqual(Sampler.argmax(a), Sampler.argmax(b))
    }

    func testFourBitEntryOfARealNoteAnswersNearFp16() throws {
        let (a, b) = try logitsOfANoteInFp16And(.q4)
        let d = zip(a, b).map { abs($0 - $1) }.max()!
        print("4-bit pages of a real note against fp16: max |Δlogit| = \(d)")
        XCTAssertGreaterThan(d, 0, "4-bit pages are not the fp16 ones")
        // Tolerance: 3 on logits spanning about ±25. Whether answers hold is the QA benches' figure.
        XCTAssertLessThan(d, 3)
    }

    func testReadingEntriesDoesNotCopyThem() throws {
        let (model, tok) = try Self.shared.get()
        let store = try PersonalStore(directory: dir.path)
        let enc = try encoder("<|im_start|>system\nYou are Jarvis.<|im_end|>\n")
        let prefixTokens = enc.prefixTokens, prefix = enc.prefix
        var records: [EntryRecord] = []
        for i in 0..<16 {
            let text = (0..<6).map { "Fact \(i).\($0): the user's item number \(i * 10 + $0) is kept in drawer \($0 + i)." }.joined(separator: " ")
            records.append(try remember(text, in: store, with: enc))
        }
        let question = tok.encode("<|im_start|>user\nWhere is item 42?<|im_end|>\n<|im_start|>assistant\n", specials: .all)
        let entryBytes = records.reduce(0) { $0 + $1.tokenCount * $1.layers * $1.kvHeads * $1.headDim * 4 }
        XCTAssertGreaterThan(entryBytes, 20 << 20)

        /// Asks over the first k entries; returns how far resident memory peaked above where it
        /// started, and whether every row the engine was given lies inside the store's map.
        func ask(_ k: Int) throws -> (peak: Int, inMap: Bool) {
            Self.resetPeakResident()
            let before = Self.resident()
            var inMap = true
            try store.read { reader in
                var runs = [prefix.run(0..<prefix.count)]
                var position = prefixTokens.count
                for r in records.prefix(k) {
                    let entryRuns = try reader.runs(for: r, placedAt: position, model: model.config)
                    let map = Self.mapping(of: dir.appendingPathComponent("data.mdb").path)
                    for run in entryRuns {
                        for p in run.keys + run.values where !(map?.contains(UInt(bitPattern: p)) ?? false) { inMap = false }
                    }
                    runs += entryRuns
                    position += r.tokenCount
                }
                let q = KVCache(config: model.config, capacity: question.count, basePosition: position)
                _ = try model.prefill(question, cache: q, context: runs)
            }
            return (Self.peakResident() - before, inMap)
        }
        _ = try ask(16)   // fault the pages in once, so both measurements start warm
        let one = try ask(1), sixteen = try ask(16)
        print("resident memory peak above start: k=1 \(one.peak >> 10) KiB, k=16 \(sixteen.peak >> 10) KiB; the 16 entries hold \(entryBytes >> 20) MiB of K/V")
        XCTAssertTrue(one.inMap && sixteen.inMap, "every K/V row the engine reads must point into the store's memory map")
        // Reading in place adds only scratch, the same for k=1 and k=16; a copy would add the
        // entries' size.
        XCTAssertLessThan(sixteen.peak, entryBytes / 4)
        XCTAssertLessThan(abs(sixteen.peak - one.peak), 8 << 20)
    }

    /// The address range where `path` is mapped into this process, from /proc/self/maps.
    static func mapping(of path: String) -> ClosedRange<UInt>? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        var lo: UInt?, hi: UInt?
        for line in maps.split(separator: "\n") where line.hasSuffix(path) {
            let range = line.split(separator: " ")[0].split(separator: "-")
            guard range.count == 2, let a = UInt(range[0], radix: 16), let b = UInt(range[1], radix: 16) else { continue }
            lo = min(lo ?? a, a)
            hi = max(hi ?? b, b)
        }
        guard let lo, let hi else { return nil }
        return lo...(hi - 1)
    }

    static func statusField(_ name: String) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb << 10
    }
    static func resident() -> Int { statusField("VmRSS") }
    static func peakResident() -> Int { statusField("VmHWM") }
    /// Sets the peak-resident mark (VmHWM) to the current resident size.
    static func resetPeakResident() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    /// The shipped model, a store, an encoder under a short system prompt, and two notes of
    /// which the second answers the spare-key question.
    func twoNotes() throws -> (Transformer, BPETokenizer, PersonalStore, EntryEncoder, [String]) {
        let (model, tok) = try Self.shared.get()
        return (model, tok, try PersonalStore(directory: dir.path),
                try encoder("<|im_start|>system\nYou are Jarvis. Use the user's notes.<|im_end|>\n"),
                ["- My sister Ana lives in Lisbon and teaches piano on Thursdays.\n",
                 "- The spare key is in the left drawer of the hall table, under the maps.\n"])
    }

    /// Computing a moved entry's lead again: recomputing all of it gives the one-pass logits
    /// (it then attends to the entry before it, as text would); recomputing none is the plain
    /// layout; a part in between lends the rest of the entry from its pages, from the right row.
    func testLeadRecomputeOfAMovedEntry() throws {
        let (model, tok, store, enc, notes) = try twoNotes()
        // Small blocks, so that a lead of 11 tokens ends inside the second page.
        let records = try notes.map { try remember($0, in: store, with: enc, block: 8) }
        let question = tok.encode("<|im_start|>user\nWhere is the spare key?<|im_end|>\n<|im_start|>assistant\n", specials: .all)
        let onePass = try model.prefill(enc.prefixTokens + notes.flatMap { tok.encode($0) } + question,
                                        cache: KVCache(config: model.config, capacity: 256))
        func logits(lead: Int) throws -> (logits: [Float], recomputed: Int) {
            try store.read { reader in
                let recompute = StoredContext.Recompute(lead: lead, model: model) { tok.encode($0.text) }
                let context = try StoredContext(prefix: enc.prefix, entries: records, reader: reader, model: model.config, recompute: recompute)
                XCTAssertEqual(context.runs.reduce(0) { $0 + $1.tokenCount }, enc.prefixTokens.count + records.reduce(0) { $0 + $1.tokenCount })
                let cache = KVCache(config: model.config, capacity: question.count, basePosition: context.nextPosition)
                return (try model.prefill(question, cache: cache, context: context.runs), context.recomputedTokens)
            }
        }
        func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }
        let all = try logits(lead: records[1].tokenCount)
        XCTAssertEqual(all.recomputed, records[1].tokenCount, "only the moved entry is computed again")
        XCTAssertLessThan(maxDifference(all.logits, onePass), 1e-3)
        let none = try logits(lead: 0), part = try logits(lead: 11)
        XCTAssertEqual(none.recomputed, 0)
        XCTAssertEqual(part.recomputed, 11)
        XCTAssertGreaterThan(maxDifference(none.logits, onePass), 1e-2, "without cross-entry attention the moved entry differs")
        XCTAssertLessThan(maxDifference(part.logits, onePass), maxDifference(none.logits, onePass), "a lead brings it closer")
    }

    /// CacheBlend over moved entries: a ratio of 1 computes every moved token again and gives
    /// the one-pass logits; 0 is the plain layout, bit for bit; a part in between, the tokens
    /// whose values deviate most, brings it closer.
    func testBlendOfMovedEntries() throws {
        let (model, tok) = try Self.shared.get()
        let store = try PersonalStore(directory: dir.path)
        let enc = try encoder("<|im_start|>system\nYou are Jarvis. Use the user's notes.<|im_end|>\n")
        let notes = ["- My sister Ana lives in Lisbon and teaches piano on Thursdays.\n",
                     "- The spare key is in the left drawer of the hall table, under the maps.\n",
                     "- Ana's piano lessons moved to the conservatory in March.\n"]
        let records = try notes.map { try remember($0, in: store, with: enc, block: 8) }
        let moved = records.dropFirst().reduce(0) { $0 + $1.tokenCount }
        let question = tok.encode("<|im_start|>user\nWhere does Ana teach piano?<|im_end|>\n<|im_start|>assistant\n", specials: .all)
        let onePass = try model.prefill(enc.prefixTokens + notes.flatMap { tok.encode($0) } + question,
                                        cache: KVCache(config: model.config, capacity: 256))
        func logits(_ recompute: StoredContext.Recompute?) throws -> (logits: [Float], recomputed: Int, checked: Int) {
            try store.read { reader in
                let context = try StoredContext(prefix: enc.prefix, entries: records, reader: reader, model: model.config, recompute: recompute)
                XCTAssertEqual(context.nextPosition, enc.prefixTokens.count + records.reduce(0) { $0 + $1.tokenCount })
                let cache = KVCache(config: model.config, capacity: question.count, basePosition: context.nextPosition)
                return (try model.prefill(question, cache: cache, context: context.runs), context.recomputedTokens, context.checkedTokens)
            }
        }
        func blend(_ ratio: Double) throws -> (logits: [Float], recomputed: Int, checked: Int) {
            try logits(StoredContext.Recompute(blendRatio: ratio, model: model) { tok.encode($0.text) })
        }
        func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }
        let plain = try logits(nil)
        let all = try blend(1), none = try blend(0), part = try blend(0.25)
        XCTAssertEqual(all.recomputed, moved, "every token of the moved entries, and only those, is computed again")
        XCTAssertEqual(all.checked, moved)
        XCTAssertLessThan(maxDifference(all.logits, onePass), 1e-3)
        XCTAssertEqual(none.logits, plain.logits, "ratio 0 is the plain layout, bit for bit")
        XCTAssertEqual(none.recomputed, 0)
        XCTAssertEqual(part.recomputed, Int((0.25 * Double(moved)).rounded(.up)))
        XCTAssertEqual(part.checked, moved)
        XCTAssertGreaterThan(maxDifference(plain.logits, onePass), 1e-2, "without cross-entry attention the moved entries differ")
        XCTAssertLessThan(maxDifference(part.logits, onePass), maxDifference(plain.logits, onePass), "a partial blend brings it closer")
        print("blend max |Δlogit| against one pass: plain \(maxDifference(plain.logits, onePass)), 0.25 \(maxDifference(part.logits, onePass)), 1 \(maxDifference(all.logits, onePass))")
    }

    /// The blend reads stored rows of every page format into one cache, keys turned to where
    /// they are placed: with nothing recomputed it attends as the pages lent in place do.
    func testBlendReadsEveryPageFormat() throws {
        let (model, tok, store, enc, notes) = try twoNotes()
        let question = tok.encode("<|im_start|>user\nWhere is the spare key?<|im_end|>\n<|im_start|>assistant\n", specials: .all)
        for dtype in [KVPageDType.fp16, .q8, .q4] {
            let records = try notes.map { note -> EntryRecord in
                let (tokens, kv) = try enc.encode(note)
                return try store.add(enc.record(text: note, tokenCount: tokens.count, kind: "note", blockTokens: 8, dtype: dtype), kv: kv, vectors: [])
            }
            try store.read { reader in
                let first = try reader.runs(for: records[0], placedAt: enc.prefix.count, model: model.config)
                let moved = try reader.runs(for: records[1], placedAt: enc.prefix.count + records[0].tokenCount, model: model.config)
                let context = [enc.prefix.run(0..<enc.prefix.count)] + first
                let blended = try model.blend(moved, tokens: Array(repeating: nil, count: records[1].tokenCount), context: context, ratio: 1)
                XCTAssertEqual(blended.recomputed, 0, "rows without tokens are kept as stored")
                let next = enc.prefix.count + records[0].tokenCount + records[1].tokenCount
                func answer(_ runs: [KVRun]) throws -> [Float] {
                    try model.prefill(question, cache: KVCache(config: model.config, capacity: question.count, basePosition: next), context: runs)
                }
                let lent = try answer(context + moved), placed = try answer(context + [blended.cache.run(0..<blended.cache.count)])
                let d = zip(lent, placed).map { abs($0 - $1) }.max()!
                // Only the fp16 rounding of decoded values and turned keys differs, which the
                // quantized model's 8-bit activations magnify (see CompositionTests'
                // key-rewriting reference on the shipped model): the same tolerance, 1.0 on
                // logits spanning about ±25, and the same greedy token.
                print("blend, \(dtype) pages placed against lent: max |Δlogit| = \(d)")
                XCTAssertLessThan(d, 1.0, "\(dtype)")
                XCTAssertEqual(Sampler.argmax(lent), Sampler.argmax(placed), "\(dtype)")
            }
        }
    }
}
