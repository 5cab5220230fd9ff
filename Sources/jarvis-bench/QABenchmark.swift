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

    @Option(help: "Override the system text of the answer's prompt.")
    var system: String?

    @Option(name: .customLong("question-lead"), help: "Override the words before the question.")
    var questionLead: String?

    struct QASet: Decodable {
        struct Question: Decodable { let question: String; let answer: String; let memory: Int }
        struct Profile: Decodable { let id: Int; let memories: [String]; let questions: [Question] }
        let profiles: [Profile]
    }

    func run() throws {
        let set = try readBenchData(QASet.self, from: data)
        let (path, gguf, model, tok, embedder) = try options.memoryModels()
        let modes = PersonalMemory.Mode.allCases
        var correct: [PersonalMemory.Mode: Int] = [:], ttft: [PersonalMemory.Mode: [Double]] = [:]
        var questions = 0, recall1 = 0, recall5 = 0
        let chosen = Array(set.profiles.prefix(profiles ?? set.profiles.count))
        for (pi, profile) in chosen.enumerated() {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-qa-\(getpid())-\(pi)")
            defer { try? FileManager.default.removeItem(at: dir) }
            var o = PersonalMemory.Options()
            o.draftMetadata = draftMetadata
            if let retrieveLimit { o.retrieveLimit = retrieveLimit }
            var prompt = AnswerPrompt(format: PersonalMemory.format(tokenizer: tok, vision: nil))
            if let system { prompt.system = system.replacingOccurrences(of: "\\n", with: "\n") }
            if let questionLead { prompt.questionLead = questionLead.replacingOccurrences(of: "\\n", with: "\n") }
            o.prompt = prompt
            let memory = try PersonalMemory(model: model, tokenizer: tok, gguf: gguf, embedder: embedder,
                                            store: PersonalStore(directory: dir.path), options: o)
            var ids: [UInt64] = []
            for m in profile.memories { ids.append(try memory.remember(.note(m))[0].id) }
            for q in profile.questions {
                questions += 1
                let ranked = memory.retriever.rank(question: q.question, vector: embedder.embed(q.question)).map(\.id)
                if ranked.first == ids[q.memory] { recall1 += 1 }
                if ranked.prefix(5).contains(ids[q.memory]) { recall5 += 1 }
                for mode in modes {
                    let a = try memory.ask(q.question, mode: mode, maxTokens: maxTokens)
                    let ok = Self.matches(a.text, gold: q.answer)
                    if ok { correct[mode, default: 0] += 1 }
                    ttft[mode, default: []].append(a.timeToFirstToken)
                    if verbose {
                        FileHandle.standardError.write(Data("[\(mode.rawValue)] \(ok ? "ok " : "BAD") \(q.question) gold=\(q.answer) entries=\(a.entries.count) → \(a.text)\n".utf8))
                    }
                }
            }
            FileHandle.standardError.write(Data("profile \(pi + 1)/\(chosen.count): \(questions) questions so far, kv \(correct[.kv] ?? 0) right\n".utf8))
        }
        print("model: \(path)   threads: \(options.threads)   profiles: \(chosen.count)   questions: \(questions)   answers up to \(maxTokens) tokens, greedy")
        print("")
        print(pad("mode", 10) + pad("accuracy", 12) + "median TTFT")
        var accuracy: [PersonalMemory.Mode: Double] = [:], medianTTFT: [PersonalMemory.Mode: Double] = [:]
        for mode in modes {
            accuracy[mode] = 100 * Double(correct[mode] ?? 0) / Double(max(questions, 1))
            medianTTFT[mode] = median(ttft[mode] ?? [0])
            print(pad(mode.rawValue, 10) + pad(String(format: "%.1f%%", accuracy[mode]!), 12) + String(format: "%.1f ms", medianTTFT[mode]! * 1000))
        }
        print(String(format: "\nretrieval: recall@1 %.3f, recall@5 %.3f", Double(recall1) / Double(max(questions, 1)), Double(recall5) / Double(max(questions, 1))))
        let kv = accuracy[.kv]!, rag = accuracy[.textRAG]!, full = accuracy[.full]!
        print("\ntargets:")
        print(String(format: "  kv accuracy ≥ text-rag − 2 points:   %.1f vs %.1f  %@", kv, rag - 2, kv >= rag - 2 ? "met" : "NOT met"))
        print(String(format: "  kv accuracy ≥ full + 15 points:       %.1f vs %.1f  %@", kv, full + 15, kv >= full + 15 ? "met" : "NOT met"))
        let kt = medianTTFT[.kv]!, ft = medianTTFT[.full]!, rt = medianTTFT[.textRAG]!
        print(String(format: "  kv TTFT ≤ full / 10:                  %.1f vs %.1f ms  %@", kt * 1000, ft * 100, kt <= ft / 10 ? "met" : "NOT met"))
        print(String(format: "  kv TTFT ≤ text-rag / 3:               %.1f vs %.1f ms  %@", kt * 1000, rt * 1000 / 3, kt <= rt / 3 ? "met" : "NOT met"))
        if let nt = medianTTFT[.none] {
            // Every mode prefills the question; `none` does nothing else, so no mode can be faster.
            print(String(format: "    floor: none's TTFT is %.1f ms (the question's own prefill, which every mode pays)", nt * 1000))
        }
        print(String(format: "  recall@5 ≥ 0.95:                      %.3f  %@", Double(recall5) / Double(max(questions, 1)), Double(recall5) >= 0.95 * Double(questions) ? "met" : "NOT met"))
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
