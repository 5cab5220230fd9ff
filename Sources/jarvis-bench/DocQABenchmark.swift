import ArgumentParser
import Foundation
import JarvisEngine
import JarvisMemory
import JarvisStore

/// `jarvis-bench docqa`: the document-QA set (bench/docqa: real freely licensed documents,
/// extractive questions written against them, see bench/docqa/SOURCES.md) remembered as files
/// in one store and asked with the retriever's best k entries forced, k = 1, 2, 4, 8: per k,
/// retrieval recall@k (every evidence span of the question lies in the k entries), kv and
/// text-rag accuracy, how often kv gives text-rag's answer, and median TTFT. With `--ask`, also
/// each question asked as `jarvisctl ask` does, at the product's settings: retrieval with its
/// floors, limit and token budget, and its composition.
struct DocQABenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docqa",
        abstract: "Document-QA: recall@k, kv and text-rag accuracy, answer agreement and TTFT at forced k.")

    @OptionGroup var options: ModelOptions

    @OptionGroup var wording: PromptOptions

    @Option(help: "Use only the first n documents and their questions (a quicker, smaller run).")
    var documents: Int?

    @Option(help: "Page format the entries are stored in: fp16, q8 or q4.")
    var dtype: PageFormat = .daemonDefault

    @Option(help: "The question set.")
    var data: String = "bench/docqa/questions.json"

    @Option(help: "The documents' directory.")
    var docs: String = "bench/docqa/docs"

    @Option(name: .customLong("k"), parsing: .upToNextOption, help: "Entries per answer (forced; default 1 2 4 8, none with --ask).")
    var forcedKs: [Int] = []

    @Flag(help: "Also ask every question as `ask` does at the product's settings (kv and text-rag over the entries retrieval chooses).")
    var ask = false

    @Option(name: .customLong("retrieve-limit"), help: "For --ask: most entries an answer rests on (default: the daemon's).")
    var retrieveLimit: Int?

    @Option(name: .customLong("token-budget"), help: "For --ask: most tokens of all the entries an answer rests on; the best one is used whatever its length (default: the daemon's).")
    var tokenBudget: Int?

    @Option(name: .customLong("lead"), parsing: .upToNextOption,
            help: "kv variants: tokens at the start of each moved entry computed again in place (0: none).")
    var leads: [Int] = [0]

    @Option(name: .customLong("blend"), parsing: .upToNextOption,
            help: "kv variants with CacheBlend-style selective recompute: the fraction of the moved entries' tokens computed again (e.g. 0.15).")
    var blends: [Double] = []

    @Option(name: .customLong("ape"), parsing: .upToNextOption,
            help: "kv variants with APE-style attention scaling of the entries, each as TEMPERATURE,SCALE (e.g. 0.9,0.5).")
    var apes: [String] = []

    @Option(name: .customLong("questions"), help: "Answer only every n-th question (a quicker, smaller run).")
    var every: Int = 1

    @Option(name: .customLong("chunk-tokens"), help: "Longest entry, in tokens.")
    var chunkTokens: Int = PersonalMemory.Options().maxEntryTokens

    @Option(name: .customLong("max-tokens"), help: "Longest answer, in tokens.")
    var maxTokens: Int = 32

    @Flag(name: .customLong("draft-metadata"), help: "Let the model draft metadata for every entry (slower).")
    var draftMetadata = false

    @Flag(help: "Print every question with each answer to standard error.")
    var verbose = false

    @Option(help: "Keep the encoded documents in this store and use it again on the next run with the same settings (the encoding is most of a run's time).")
    var store: String?

    @Option(help: "Write every answer, with the entries it rests on and their retrieval scores, as JSON lines to this file.")
    var dump: String?

    @Flag(name: .customLong("best-last"), help: "Also run kv and text-rag with the k entries in reverse order: the best one next to the question.")
    var bestLast = false

    @Flag(name: .customLong("only-best-last"), help: "Run only the reverse order (the best entry next to the question).")
    var onlyBestLast = false

    struct QASet: Decodable {
        struct Document: Decodable { let file: String }
        struct Question: Decodable { let id: String; let file: String; let question: String; let answer: String; let evidence: [String]; let type: String }
        let documents: [Document]
        let questions: [Question]
    }

    /// The forced entry counts to run.
    var ks: [Int] { forcedKs.isEmpty && !ask ? [1, 2, 4, 8] : forcedKs }

    func validate() throws {
        guard forcedKs.allSatisfy({ $0 > 0 }) else { throw ValidationError("--k takes positive entry counts") }
        guard (retrieveLimit ?? 1) > 0, (tokenBudget ?? 1) > 0 else { throw ValidationError("--retrieve-limit and --token-budget must be positive") }
        guard every > 0 else { throw ValidationError("--questions must be positive") }
        guard (documents ?? 1) > 0 else { throw ValidationError("--documents must be positive") }
        guard !leads.isEmpty, leads.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--lead takes token counts ≥ 0") }
        guard blends.allSatisfy({ $0 > 0 && $0 <= 1 }) else { throw ValidationError("--blend takes fractions in (0, 1], e.g. 0.15") }
        _ = try scalings()
    }

    /// The `--ape` pairs.
    func scalings() throws -> [(temperature: Float, scale: Float)] {
        try apes.map { pair in
            let parts = pair.split(separator: ",").compactMap { Float($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] > 0 else {
                throw ValidationError("--ape takes TEMPERATURE,SCALE pairs of positive numbers, e.g. 0.9,0.5 (got \(pair))")
            }
            return (parts[0], parts[1])
        }
    }

    func run() throws {
        let full = try readBenchData(QASet.self, from: data)
        let chosenDocuments = Array(full.documents.prefix(documents ?? full.documents.count))
        let set = QASet(documents: chosenDocuments, questions: full.questions.filter { q in chosenDocuments.contains { $0.file == q.file } })
        let (path, gguf, model, tok, embedder) = try options.memoryModels()
        let dir = store.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-docqa-\(getpid())")
        defer { if store == nil { try? FileManager.default.removeItem(at: dir) } }
        var o = PersonalMemory.Options()
        o.draftMetadata = draftMetadata
        o.dtype = dtype.dtype
        o.maxEntryTokens = chunkTokens
        if let retrieveLimit { o.retrieveLimit = retrieveLimit }
        if let tokenBudget { o.tokenBudget = tokenBudget }
        let prompt = wording.prompt(tokenizer: tok)
        o.prompt = prompt
        // A kept store says which settings it was encoded with; another setting means encoding again.
        let settings = dir.appendingPathComponent("docqa-settings.json")
        // (The entries are encoded after the prompt's prefix, so its system text is one of them.)
        struct KeptSettings: Encodable { let chunk_tokens: Int, draft_metadata: Bool, documents: Int, dtype: String, system: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let wanted = try encoder.encode(KeptSettings(chunk_tokens: chunkTokens, draft_metadata: draftMetadata, documents: set.documents.count,
                                                     dtype: dtype.description, system: prompt.system))
        let reuse = store != nil && (try? Data(contentsOf: settings)) == wanted
        if store != nil && !reuse { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let memory = try PersonalMemory(model: model, tokenizer: tok, gguf: gguf, embedder: embedder,
                                        store: PersonalStore(directory: dir.path), options: o)

        // Each document's entries and the byte range of the document each one is.
        var spans: [String: [(id: UInt64, range: Range<Int>)]] = [:], texts: [String: [UInt8]] = [:]
        let t0 = Date()
        var entryCount = 0
        let kept = reuse ? Dictionary(grouping: try memory.store.list(), by: { $0.metadata["file"] ?? "" }) : [:]
        for d in set.documents {
            let file = docs + "/" + d.file
            texts[d.file] = Array(try String(contentsOfFile: file, encoding: .utf8).utf8)
            let saved = reuse ? (kept[d.file] ?? []).sorted { $0.id < $1.id } : try memory.remember(MemoryItem(.file(path: file)))
            guard saved.flatMap({ Array($0.text.utf8) }) == texts[d.file] else {
                throw ValidationError("the kept store at \(dir.path) does not hold \(d.file) as it is now; remove the store")
            }
            var offset = 0
            spans[d.file] = saved.map { r in
                defer { offset += r.text.utf8.count }
                return (r.id, offset..<offset + r.text.utf8.count)
            }
            entryCount += saved.count
        }
        if store != nil { try wanted.write(to: settings) }
        let encodeSeconds = Date().timeIntervalSince(t0)
        let listed = try memory.store.list()
        let entryText = Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0.text) })
        let entryTokens = Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0.tokenCount) })
        let out = try dump.map { try JSONLines(path: $0) }

        /// One way of answering over the same k entries.
        struct Method: Hashable {
            let mode: PersonalMemory.Mode, composition: Composition, bestLast: Bool
            var name: String {
                var n = mode == .textRAG ? "text-rag" : "kv"
                if composition.blendRatio > 0 { n += " blend \(composition.blendRatio)" } else if composition.leadRecompute > 0 { n += " lead \(composition.leadRecompute)" }
                if composition.temperature != 1 || composition.scale != 1 { n += " ape \(composition.temperature),\(composition.scale)" }
                return n + (bestLast ? ", best last" : "")
            }
        }
        var methods: [Method] = []
        for bestLast in onlyBestLast ? [true] : bestLast ? [false, true] : [false] {
            methods.append(Method(mode: .textRAG, composition: .plain, bestLast: bestLast))
            methods += leads.map { Method(mode: .kv, composition: Composition(leadRecompute: $0), bestLast: bestLast) }
            methods += blends.map { Method(mode: .kv, composition: Composition(blendRatio: $0), bestLast: bestLast) }
            methods += try scalings().map { Method(mode: .kv, composition: Composition(temperature: $0.temperature, scale: $0.scale), bestLast: bestLast) }
        }
        struct Tally { var correct = 0, agree = 0, firstAgree = 0, lost = 0, recomputed = 0, entryTokens = 0; var ttft: [Double] = [] }
        struct Key: Hashable { let k: Int, method: Method }
        var tally: [Key: Tally] = [:], recalled: [Int: Int] = [:], declined = 0, caught = 0
        /// `--ask`: per mode, answers over what retrieval chose.
        struct Asked { var correct = 0, agree = 0, caught = 0, recalled = 0, entries = 0; var ttft: [Double] = [] }
        var asked: [PersonalMemory.Mode: Asked] = [:]
        let picked = set.questions.enumerated().filter { $0.offset % every == 0 }.map(\.element)
        let questions = picked.filter { $0.type != "unanswerable" }, unanswerable = picked.filter { $0.type == "unanswerable" }
        // The index does not change while questions are asked: one copy, one embedding per question.
        let retriever = memory.retriever
        for (n, q) in picked.enumerated() {
            let vector = embedder.embed(q.question)
            let hits = retriever.rank(question: q.question, vector: vector)
            let ranked = hits.map(\.id)
            let evidence = q.evidence.compactMap { e -> Range<Int>? in Self.find(Array(e.utf8), in: texts[q.file] ?? []) }
            let needed = Set((spans[q.file] ?? []).filter { s in evidence.contains { $0.overlaps(s.range) } }.map(\.id))
            let answerable = q.type != "unanswerable"
            // What ask would do by itself: nothing remembered is about the question.
            let nothing = retriever.retrieve(question: q.question, vector: vector).isEmpty
            if nothing { if answerable { declined += 1 } else { caught += 1 } }
            if ask {
                var reference: PersonalMemory.Answer?
                for mode in [PersonalMemory.Mode.textRAG, .kv] {
                    let a = try memory.ask(q.question, mode: mode, maxTokens: maxTokens)
                    var t = asked[mode] ?? Asked()
                    if answerable {
                        t.correct += QABenchmark.matches(a.text, gold: q.answer) ? 1 : 0
                        t.recalled += !needed.isEmpty && needed.isSubset(of: a.entries) ? 1 : 0
                        t.entries += a.entries.count
                        if !a.nothingRemembered { t.ttft.append(a.timeToFirstToken) }
                        if mode == .textRAG { reference = a } else { t.agree += a.text == reference?.text ? 1 : 0 }
                    } else {
                        t.caught += a.nothingRemembered ? 1 : 0
                    }
                    asked[mode] = t
                    if verbose { FileHandle.standardError.write(Data("[\(q.id) ask \(mode.rawValue)] entries=\(a.entries.count) \(a.text)\n".utf8)) }
                    if let out {
                        try out.write(["id": q.id, "type": q.type, "question": q.question, "gold": q.answer, "method": "ask \(mode.rawValue)",
                                       "answer": a.text, "nothing_remembered": a.nothingRemembered, "ttft": a.timeToFirstToken,
                                       "entries": a.entries.map { entryText[$0] ?? "" }] as [String: Any])
                    }
                }
            }
            for k in ks {
                let chosen = Array(ranked.prefix(k))
                if answerable { recalled[k, default: 0] += !needed.isEmpty && needed.isSubset(of: chosen) ? 1 : 0 }
                var line = "[\(q.id) k=\(k)] gold=\(q.answer)\n"
                var reference: [Bool: PersonalMemory.Answer] = [:]
                for m in methods {
                    let a = try memory.ask(q.question, entries: m.bestLast ? chosen.reversed() : chosen, mode: m.mode,
                                           composition: m.composition, maxTokens: maxTokens)
                    let ok = answerable && QABenchmark.matches(a.text, gold: q.answer)
                    var t = tally[Key(k: k, method: m)] ?? Tally()
                    if answerable {
                        t.correct += ok ? 1 : 0
                        t.lost += ok && nothing ? 1 : 0
                        if m.mode == .textRAG {
                            reference[m.bestLast] = a
                        } else {
                            t.agree += a.text == reference[m.bestLast]?.text ? 1 : 0
                            t.firstAgree += a.firstToken != nil && a.firstToken == reference[m.bestLast]?.firstToken ? 1 : 0
                        }
                        t.ttft.append(a.timeToFirstToken)
                        t.recomputed += a.recomputedTokens
                        t.entryTokens += chosen.reduce(0) { $0 + (entryTokens[$1] ?? 0) }
                    }
                    tally[Key(k: k, method: m)] = t
                    line += "  \(m.name) \(ok ? "ok " : "BAD") \(a.text)\n"
                    if let out {
                        let row: [String: Any] = [
                            "id": q.id, "type": q.type, "question": q.question, "gold": q.answer, "k": k, "method": m.name,
                            "answer": a.text, "ok": ok, "nothing_remembered": nothing, "first_token": a.firstToken.map(Int.init) ?? -1,
                            "recomputed_tokens": a.recomputedTokens, "ttft": a.timeToFirstToken,
                            "entries": (m.bestLast ? chosen.reversed() : chosen).map { entryText[$0] ?? "" },
                            "scores": hits.prefix(k).map { ["score": $0.score, "cosine": Double($0.cosine)] },
                        ]
                        try out.write(row)
                    }
                }
                if verbose { FileHandle.standardError.write(Data(line.utf8)) }
            }
            if (n + 1) % 20 == 0 {
                FileHandle.standardError.write(Data("\(n + 1)/\(picked.count) questions\n".utf8))
            }
        }
        guard !questions.isEmpty else { throw ValidationError("no answerable questions chosen") }
        let count = Double(questions.count)
        let sizes = listed.map(\.tokenCount).sorted()
        print("model: \(path)   threads: \(options.threads)   pages: \(dtype)   documents: \(set.documents.count)   entries: \(entryCount) (≤ \(chunkTokens) tokens; "
              + "median \(sizes[sizes.count / 2]), 10th percentile \(sizes[sizes.count / 10]))   "
              + (reuse ? "encoding kept from \(dir.path)" : "encoded in \(String(format: "%.0f", encodeSeconds)) s"))
        print("questions: \(questions.count) answerable and \(unanswerable.count) unanswerable (every \(every)), answers up to \(maxTokens) tokens, greedy; "
              + (onlyBestLast ? "k entries forced, best last" : "k entries forced in the retriever's order"))
        func percent(_ n: Int, of d: Double = count) -> String { String(format: "%.1f%%", 100 * Double(n) / max(d, 1)) }
        if !ks.isEmpty {
            print("")
            print(pad("k", 4) + pad("recall@k", 10) + pad("method", 28) + pad("accuracy", 10) + pad("agreement", 11) + pad("first token", 13)
                  + pad("median TTFT", 13) + pad("recomputed", 18) + "right but declined")
        }
        for k in ks {
            for (i, m) in methods.enumerated() {
                let t = tally[Key(k: k, method: m)] ?? Tally()
                print(pad(i == 0 ? "\(k)" : "", 4) + pad(i == 0 ? String(format: "%.3f", Double(recalled[k] ?? 0) / count) : "", 10)
                      + pad(m.name, 28) + pad(percent(t.correct), 10) + pad(m.mode == .textRAG ? "-" : percent(t.agree), 11)
                      + pad(m.mode == .textRAG ? "-" : percent(t.firstAgree), 13)
                      + pad(String(format: "%.0f ms", median(t.ttft) * 1000), 13)
                      + pad(String(format: "%.1f (%.1f%%)", Double(t.recomputed) / count, 100 * Double(t.recomputed) / Double(max(t.entryTokens, 1))), 18)
                      + percent(t.lost))
            }
        }
        if ask {
            print("\nAsked as `ask` does: at most \(memory.options.retrieveLimit) entries, the best one and others within \(memory.options.tokenBudget) tokens, "
                  + "\(memory.options.entryOrder.rawValue), kv lead \(memory.options.composition.leadRecompute)")
            print(pad("mode", 10) + pad("accuracy", 10) + pad("agreement", 11) + pad("recall", 9) + pad("entries", 9) + pad("median TTFT", 13) + "unanswerable caught")
            for mode in [PersonalMemory.Mode.textRAG, .kv] {
                let t = asked[mode] ?? Asked()
                print(pad(mode.rawValue, 10) + pad(percent(t.correct), 10) + pad(mode == .kv ? percent(t.agree) : "-", 11)
                      + pad(String(format: "%.3f", Double(t.recalled) / count), 9) + pad(String(format: "%.2f", Double(t.entries) / count), 9)
                      + pad(String(format: "%.0f ms", median(t.ttft) * 1000), 13) + "\(t.caught) of \(unanswerable.count)")
            }
            print("recall: every evidence span of the question lies in the entries retrieval chose; entries: how many, on average.")
        }
        print("\nagreement: the kv answer's text equals text-rag's over the same entries in the same order.")
        print("kv lead N: the first N tokens of each entry placed after others are computed again in place (EPIC-style); the rest is read from its pages.")
        print("first token: kv's first answer token is text-rag's (greedy: its top-1).")
        print("recomputed: entry tokens computed again per question (mean), and their share of the k entries' tokens.")
        print("kv blend R: CacheBlend-style; the moved entries' tokens run through layers 1-2, and the fraction R whose layer-2 values deviate most from the pages is computed again through every layer.")
        print("kv ape T,S: the question's and answer's attention logits to entry rows divided by T, their weights multiplied by S (APE-style).")
        print("best last: the k entries in reverse order, the retriever's best next to the question.")
        print("right but declined: answered right over the forced entries, but ask would have said it has nothing remembered (retrieval floor).")
        print(String(format: "nothing remembered (ask's retrieval floor %.2f): unanswerable caught %d of %d (%.1f%%); answerable declined %d of %d",
                     retriever.answerFloor, caught, unanswerable.count, 100 * Double(caught) / Double(max(unanswerable.count, 1)),
                     declined, questions.count))
    }

    /// Where `needle` first occurs in `haystack`, as a byte range.
    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard !needle.isEmpty, needle.count <= haystack.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<i + needle.count]) == needle {
            return i..<i + needle.count
        }
        return nil
    }
}
