import ArgumentParser
import Foundation
import JarvisEngine
import JarvisMemory
import JarvisStore

/// `jarvis-bench docqa`: the document-QA set (bench/docqa: real freely licensed documents,
/// extractive questions written against them, see bench/docqa/SOURCES.md) remembered as files
/// in one store and asked with the retriever's best k entries forced, k = 1, 2, 4, 8: per k,
/// retrieval recall@k (every evidence span of the question lies in the k entries), kv and
/// text-rag accuracy, how often kv gives text-rag's answer, and median TTFT.
struct DocQABenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docqa",
        abstract: "Document-QA: recall@k, kv and text-rag accuracy, answer agreement and TTFT at forced k.")

    @OptionGroup var options: ModelOptions

    @Option(help: "The question set.")
    var data: String = "bench/docqa/questions.json"

    @Option(help: "The documents' directory.")
    var docs: String = "bench/docqa/docs"

    @Option(name: .customLong("k"), parsing: .upToNextOption, help: "Entries per answer (forced).")
    var ks: [Int] = [1, 2, 4, 8]

    @Option(name: .customLong("lead"), parsing: .upToNextOption,
            help: "kv variants: tokens at the start of each moved entry computed again in place (0: none).")
    var leads: [Int] = [0]

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

    struct QASet: Decodable {
        struct Document: Decodable { let file: String }
        struct Question: Decodable { let id: String; let file: String; let question: String; let answer: String; let evidence: [String]; let type: String }
        let documents: [Document]
        let questions: [Question]
    }

    func validate() throws {
        guard ks.allSatisfy({ $0 > 0 }), !ks.isEmpty else { throw ValidationError("--k takes positive entry counts") }
        guard every > 0 else { throw ValidationError("--questions must be positive") }
        guard !leads.isEmpty, leads.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--lead takes token counts ≥ 0") }
    }

    func run() throws {
        let set = try readBenchData(QASet.self, from: data)
        let (path, gguf, model, tok, embedder) = try options.memoryModels()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-docqa-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = PersonalMemory.Options()
        o.draftMetadata = draftMetadata
        o.maxEntryTokens = chunkTokens
        let memory = try PersonalMemory(model: model, tokenizer: tok, gguf: gguf, embedder: embedder,
                                        store: PersonalStore(directory: dir.path), options: o)

        // Each document's entries and the byte range of the document each one is.
        var spans: [String: [(id: UInt64, range: Range<Int>)]] = [:], texts: [String: [UInt8]] = [:]
        let t0 = Date()
        var entryCount = 0
        for d in set.documents {
            let file = docs + "/" + d.file
            let saved = try memory.remember(MemoryItem(.file(path: file)))
            var offset = 0
            spans[d.file] = saved.map { r in
                defer { offset += r.text.utf8.count }
                return (r.id, offset..<offset + r.text.utf8.count)
            }
            texts[d.file] = Array(try String(contentsOfFile: file, encoding: .utf8).utf8)
            entryCount += saved.count
        }
        let encodeSeconds = Date().timeIntervalSince(t0)

        struct Tally { var correct = 0, agree = 0, recalled = 0; var ttft: [Double] = [] }
        struct Key: Hashable { let k: Int, lead: Int }
        var kv: [Key: Tally] = [:], rag: [Int: Tally] = [:], recalled: [Int: Int] = [:]
        let questions = set.questions.enumerated().filter { $0.offset % every == 0 && $0.element.type != "unanswerable" }.map(\.element)
        for (n, q) in questions.enumerated() {
            let ranked = memory.retriever.rank(question: q.question, vector: embedder.embed(q.question)).map(\.id)
            let evidence = q.evidence.compactMap { e -> Range<Int>? in Self.find(Array(e.utf8), in: texts[q.file] ?? []) }
            let needed = Set((spans[q.file] ?? []).filter { s in evidence.contains { $0.overlaps(s.range) } }.map(\.id))
            for k in ks {
                let chosen = Array(ranked.prefix(k))
                let b = try memory.ask(q.question, entries: chosen, mode: .textRAG, maxTokens: maxTokens)
                let okB = QABenchmark.matches(b.text, gold: q.answer)
                rag[k, default: Tally()].correct += okB ? 1 : 0
                rag[k, default: Tally()].ttft.append(b.timeToFirstToken)
                recalled[k, default: 0] += !needed.isEmpty && needed.isSubset(of: chosen) ? 1 : 0
                var line = "[\(q.id) k=\(k)] gold=\(q.answer)\n  text-rag \(okB ? "ok " : "BAD") \(b.text)\n"
                for lead in leads {
                    let a = try memory.ask(q.question, entries: chosen, mode: .kv, leadRecompute: lead, maxTokens: maxTokens)
                    let okA = QABenchmark.matches(a.text, gold: q.answer)
                    kv[Key(k: k, lead: lead), default: Tally()].correct += okA ? 1 : 0
                    kv[Key(k: k, lead: lead), default: Tally()].agree += a.text == b.text ? 1 : 0
                    kv[Key(k: k, lead: lead), default: Tally()].ttft.append(a.timeToFirstToken)
                    line += "  kv lead \(lead) \(okA ? "ok " : "BAD") \(a.text)\n"
                }
                if verbose { FileHandle.standardError.write(Data(line.utf8)) }
            }
            if (n + 1) % 20 == 0 {
                FileHandle.standardError.write(Data("\(n + 1)/\(questions.count) questions\n".utf8))
            }
        }
        guard !questions.isEmpty else { throw ValidationError("no answerable questions chosen") }
        let count = Double(questions.count)
        print("model: \(path)   threads: \(options.threads)   documents: \(set.documents.count)   entries: \(entryCount) (≤ \(chunkTokens) tokens)   encoded in \(String(format: "%.0f", encodeSeconds)) s")
        print("questions: \(questions.count) answerable (every \(every)), answers up to \(maxTokens) tokens, greedy; k entries forced in the retriever's order")
        print("")
        print(pad("k", 4) + pad("recall@k", 10) + pad("method", 16) + pad("accuracy", 10) + pad("agreement", 11) + "median TTFT")
        func percent(_ n: Int) -> String { String(format: "%.1f%%", 100 * Double(n) / count) }
        for k in ks {
            let b = rag[k] ?? Tally()
            print(pad("\(k)", 4) + pad(String(format: "%.3f", Double(recalled[k] ?? 0) / count), 10) + pad("text-rag", 16)
                  + pad(percent(b.correct), 10) + pad("-", 11) + String(format: "%.0f ms", median(b.ttft) * 1000))
            for lead in leads {
                let a = kv[Key(k: k, lead: lead)] ?? Tally()
                print(pad("", 14) + pad(lead == 0 ? "kv" : "kv lead \(lead)", 16) + pad(percent(a.correct), 10)
                      + pad(percent(a.agree), 11) + String(format: "%.0f ms", median(a.ttft) * 1000))
            }
        }
        print("\nagreement: the kv answer's text equals text-rag's over the same entries in the same order.")
        print("kv lead N: the first N tokens of each entry placed after others are computed again in place (EPIC-style); the rest is read from its pages.")
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
