import ArgumentParser
import Foundation
import JarvisEngine
import JarvisMemory
import JarvisStore

/// `jarvis-bench qa`: the personal-QA set (bench/personal_qa.json, made by
/// tools/make_personal_qa.py) answered in every mode on the shipped model: accuracy, median
/// time to first token, and retrieval recall.
struct QABenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qa",
        abstract: "Personal-QA accuracy and TTFT per mode (none, text-rag, full, kv), and retrieval recall@1/@5.")

    @OptionGroup var options: ModelOptions

    @Option(help: "The QA set.")
    var data: String = "bench/personal_qa.json"

    @Option(help: "Page format the entries are stored in: fp16, q8 or q4.")
    var dtype: PageFormat = .daemonDefault

    @Option(help: "Profiles to run (all by default).")
    var profiles: Int?

    @Option(name: .customLong("max-tokens"), help: "Longest answer, in tokens.")
    var maxTokens: Int = 32

    @Flag(name: .customLong("draft-metadata"), help: "Let the model draft metadata for every memory (slower).")
    var draftMetadata = false

    @Flag(help: "Print every question with each mode's answer to standard error.")
    var verbose = false

    @Option(name: .customLong("retrieve-limit"), help: "Most entries an answer rests on.")
    var retrieveLimit: Int?

    @Option(name: .customLong("token-budget"), help: "Most tokens of all the entries an answer rests on (the best one is used whatever its length).")
    var tokenBudget: Int?

    @Option(help: "Where the best of several entries sits: best-last (next to the question) or best-first.")
    var order: PersonalMemory.EntryOrder?

    @Option(name: .customLong("blend"), help: "kv composes its entries with CacheBlend-style selective recompute of this fraction of the moved entries' tokens (e.g. 0.2).")
    var blend: Double?

    @Option(name: .customLong("lead"), help: "kv recomputes this many tokens at the start of each entry placed after another (EPIC-style).")
    var lead: Int?

    @Option(name: .customLong("answer-floor"), help: "Cosine of the first-ranked entry below which a question has nothing remembered behind it (0: answer every question).")
    var answerFloor: Float?

    @OptionGroup var wording: PromptOptions

    @Option(parsing: .upToNextOption, help: "Modes to run (all by default): none, text-rag, full, kv.")
    var modes: [String] = PersonalMemory.Mode.allCases.map(\.rawValue)

    @Option(help: "Write every answer, with the entries it rests on and the retriever's top five, as JSON lines to this file.")
    var dump: String?

    struct QASet: Decodable {
        struct Question: Decodable {
            let question: String; let answer: String
            /// The memory that answers it, or the memories that answer it together.
            let memory: Int?; let memories: [Int]?
            let unanswerable: Bool?
            var needed: [Int] { memories ?? [memory].compactMap { $0 } }
            var category: String { unanswerable == true ? "unanswerable" : needed.count > 1 ? "two" : "single" }
        }
        struct Profile: Decodable { let id: Int; let memories: [String]; let questions: [Question] }
        let profiles: [Profile]
    }

    /// The memory's options with this run's overrides (all but the prompt).
    var settings: PersonalMemory.Options {
        var o = PersonalMemory.Options()
        o.draftMetadata = draftMetadata
        o.dtype = dtype.dtype
        if let retrieveLimit { o.retrieveLimit = retrieveLimit }
        if let tokenBudget { o.tokenBudget = tokenBudget }
        if let order { o.entryOrder = order }
        if let answerFloor { o.answerFloor = answerFloor }
        if let blend { o.composition.blendRatio = blend }
        if let lead { o.composition.leadRecompute = lead }
        return o
    }

    func run() throws {
        let set = try readBenchData(QASet.self, from: data)
        let (path, gguf, model, tok, embedder) = try options.memoryModels()
        let modes = try self.modes.map { name in
            guard let m = PersonalMemory.Mode(rawValue: name) else { throw ValidationError("unknown mode \(name): none, text-rag, full or kv") }
            return m
        }
        struct Key: Hashable { let mode: PersonalMemory.Mode, category: String }
        var correct: [Key: Int] = [:], asked: [String: Int] = [:], ttft: [PersonalMemory.Mode: [Double]] = [:]
        var declinedAnswerable: [PersonalMemory.Mode: Int] = [:]
        var recall1 = 0, recall5 = 0
        let out = try dump.map { try JSONLines(path: $0) }
        let chosen = Array(set.profiles.prefix(profiles ?? set.profiles.count))
        for (pi, profile) in chosen.enumerated() {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-qa-\(getpid())-\(pi)")
            defer { try? FileManager.default.removeItem(at: dir) }
            var o = settings
            o.prompt = wording.prompt(tokenizer: tok)
            let memory = try PersonalMemory(model: model, tokenizer: tok, gguf: gguf, embedder: embedder,
                                            store: PersonalStore(directory: dir.path), options: o)
            var ids: [UInt64] = []
            for m in profile.memories { ids.append(try memory.remember(.note(m))[0].id) }
            let texts = Dictionary(uniqueKeysWithValues: zip(ids, profile.memories))
            for q in profile.questions {
                asked[q.category, default: 0] += 1
                let top = Array(memory.retriever.rank(question: q.question, vector: embedder.embed(q.question)).prefix(5))
                let needed = Set(q.needed.map { ids[$0] })
                if !needed.isEmpty {
                    if needed.isSubset(of: top.prefix(needed.count).map(\.id)) { recall1 += 1 }
                    if needed.isSubset(of: top.map(\.id)) { recall5 += 1 }
                }
                for mode in modes {
                    let a = try memory.ask(q.question, mode: mode, maxTokens: maxTokens)
                    let ok = q.unanswerable == true ? a.nothingRemembered : Self.matches(a.text, gold: q.answer)
                    if ok { correct[Key(mode: mode, category: q.category), default: 0] += 1 }
                    if q.unanswerable != true && a.nothingRemembered { declinedAnswerable[mode, default: 0] += 1 }
                    if !a.nothingRemembered { ttft[mode, default: []].append(a.timeToFirstToken) }  // generated answers only
                    if verbose {
                        FileHandle.standardError.write(Data("[\(mode.rawValue)] \(ok ? "ok " : "BAD") \(q.question) gold=\(q.answer) entries=\(a.entries.count) → \(a.text)\n".utf8))
                    }
                    if let out {
                        let line: [String: Any] = [
                            "profile": profile.id, "question": q.question, "gold": q.answer, "category": q.category, "mode": mode.rawValue,
                            "answer": a.text, "ok": ok, "nothing_remembered": a.nothingRemembered,
                            "entries": a.entries.map { texts[$0] ?? "" }, "needed": q.needed.map { profile.memories[$0] },
                            "top": top.map { ["text": texts[$0.id] ?? "", "score": $0.score, "cosine": Double($0.cosine)] as [String: Any] },
                        ]
                        try out.write(line)
                    }
                }
            }
            let done = asked.values.reduce(0, +)
            FileHandle.standardError.write(Data("profile \(pi + 1)/\(chosen.count): \(done) questions so far\n".utf8))
        }
        let answerable = (asked["single"] ?? 0) + (asked["two"] ?? 0)
        print("model: \(path)   threads: \(options.threads)   pages: \(dtype)   profiles: \(chosen.count)   questions: \(asked["single"] ?? 0) single-memory, "
              + "\(asked["two"] ?? 0) two-memory, \(asked["unanswerable"] ?? 0) unanswerable   answers up to \(maxTokens) tokens, greedy")
        let o = settings, c = o.composition
        print("entries per answer: at most \(o.retrieveLimit), the best one and others within \(o.tokenBudget) tokens, \(o.entryOrder.rawValue)"
              + "   kv composition: " + (c.blendRatio > 0 ? "CacheBlend-style recompute of \(c.blendRatio) of the moved entries' tokens"
                                           : c.leadRecompute > 0 ? "first \(c.leadRecompute) tokens of each moved entry recomputed" : "plain"))
        print("")
        print(pad("mode", 10) + pad("single", 9) + pad("two", 9) + pad("answerable", 12) + pad("unanswerable", 14) + "median TTFT")
        func percent(_ n: Int, of d: Int) -> Double { 100 * Double(n) / Double(max(d, 1)) }
        var accuracy: [PersonalMemory.Mode: Double] = [:], medianTTFT: [PersonalMemory.Mode: Double] = [:]
        for mode in modes {
            let c = { correct[Key(mode: mode, category: $0)] ?? 0 }
            accuracy[mode] = percent(c("single") + c("two"), of: answerable)
            medianTTFT[mode] = median(ttft[mode] ?? [0])
            let row = pad(mode.rawValue, 10) + pad(String(format: "%.1f%%", percent(c("single"), of: asked["single"] ?? 0)), 9)
                + pad(String(format: "%.1f%%", percent(c("two"), of: asked["two"] ?? 0)), 9)
                + pad(String(format: "%.1f%%", accuracy[mode]!), 12)
                + pad(String(format: "%.1f%%", percent(c("unanswerable"), of: asked["unanswerable"] ?? 0)), 14)
            print(row + String(format: "%.1f ms", medianTTFT[mode]! * 1000))
        }
        print("\nunanswerable: the share answered with the nothing-remembered reply; answerable questions given it: "
              + modes.map { "\($0.rawValue) \(declinedAnswerable[$0] ?? 0)" }.joined(separator: ", "))
        print(String(format: "retrieval (answerable): recall@n %.3f (all needed memories among the first n, n = how many are needed), recall@5 %.3f",
                     Double(recall1) / Double(max(answerable, 1)), Double(recall5) / Double(max(answerable, 1))))
        // Each target is printed when the modes it compares ran.
        print("\ntargets:")
        func target(_ text: String, _ value: String, _ met: Bool) { print("  " + pad(text, 38) + value + (met ? "  met" : "  NOT met")) }
        if let kv = accuracy[.kv], let rag = accuracy[.textRAG] {
            target("kv accuracy ≥ text-rag − 1 point:", String(format: "%.1f vs %.1f", kv, rag - 1), kv >= rag - 1)
        }
        if let kv = accuracy[.kv], let full = accuracy[.full] {
            target("kv accuracy ≥ full + 15 points:", String(format: "%.1f vs %.1f", kv, full + 15), kv >= full + 15)
        }
        if modes.contains(.kv) {
            let caught = percent(correct[Key(mode: .kv, category: "unanswerable")] ?? 0, of: asked["unanswerable"] ?? 0)
            target("kv unanswerable caught ≥ 80%:", String(format: "%.1f%%", caught), caught >= 80)
        }
        if let kt = medianTTFT[.kv], let ft = medianTTFT[.full] {
            target("kv TTFT ≤ full / 10:", String(format: "%.1f vs %.1f ms", kt * 1000, ft * 100), kt <= ft / 10)
        }
        if let kt = medianTTFT[.kv], let rt = medianTTFT[.textRAG] {
            target("kv TTFT ≤ text-rag / 3:", String(format: "%.1f vs %.1f ms", kt * 1000, rt * 1000 / 3), kt <= rt / 3)
        }
        if let nt = medianTTFT[.none] {
            // Every mode prefills the question; `none` does nothing else, so no mode can be faster.
            print(String(format: "    floor: none's TTFT is %.1f ms (the question's own prefill, which every mode pays)", nt * 1000))
        }
        let r5 = Double(recall5) / Double(max(answerable, 1))
        target("recall@5 ≥ 0.95:", String(format: "%.3f", r5), r5 >= 0.95)
    }

    /// Normalized match: lower-case, punctuation dropped; the gold answer's words appear, in
    /// order and adjacent, among the answer's words.
    static func matches(_ answer: String, gold: String) -> Bool {
        func words(_ s: String) -> [String] { s.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init) }
        let a = words(answer), g = words(gold)
        guard !g.isEmpty, g.count <= a.count else { return false }
        for i in 0...(a.count - g.count) where Array(a[i..<i + g.count]) == g { return true }
        return false
    }

}

extension PersonalMemory.EntryOrder: ExpressibleByArgument {}
