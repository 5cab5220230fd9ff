import ArgumentParser
import Foundation
import JarvisEngine
import JarvisMemory
import JarvisStore

/// `jarvis-bench chat`: time to first token of a chat turn with ten earlier turns, when their KV
/// is kept live against when they are prefilled again from their text (a session resumed after
/// a restart, or evicted from memory).
struct ChatBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat turn TTFT with 10 turns of history: kept KV vs re-prefilling the turns.")

    @OptionGroup var options: ModelOptions

    @Option(help: "Earlier turns before the timed one.")
    var turns: Int = 10

    @Option(help: "Tokens each earlier answer may take.")
    var answerTokens: Int = 48

    static let notes = [
        "My sister Ana lives in Porto and works at a bookshop near the river.",
        "My dog Rexford is a black labrador with a red collar; he eats at 7 and at 18.",
        "The spare key for the blue bicycle lock is in the top drawer of the desk.",
        "My gym locker is number 40, in the basement next to the sauna.",
    ]
    static let questions = [
        "Where does my sister live?", "What does she do there?", "What colour is my dog?", "When does he eat?",
        "Where is the spare bicycle key?", "Which drawer exactly?", "What is my locker number?", "Where is the locker?",
        "What is my dog's collar like?", "Who works at a bookshop?", "Which city is Ana in?", "Is Rexford a labrador?",
    ]

    func validate() throws {
        guard (1...11).contains(turns) else { throw ValidationError("--turns must be in 1...11") }
        guard answerTokens > 0 else { throw ValidationError("--answer-tokens must be positive") }
    }

    func run() throws {
        let m = try options.memoryModels()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-bench-chat-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try PersonalStore(directory: dir)
        var o = PersonalMemory.Options()
        o.draftMetadata = false
        o.liveSessions = 2 * options.repetitions + 1
        let memory = try PersonalMemory(model: m.model, tokenizer: m.tokenizer, gguf: m.gguf, embedder: m.embedder, store: store, options: o)
        for n in Self.notes { try memory.remember(MemoryItem(.text(n))) }

        // The conversation every measurement starts from: `turns` turns, kept live.
        for q in Self.questions.prefix(turns) { _ = try memory.chat(q, session: "base", maxTokens: answerTokens) }
        let base = try memory.session(named: "base")
        let timed = Self.questions[turns]
        var live: [Double] = [], reprefilled: [Double] = [], liveHistory = 0, reprefillHistory = 0
        for r in 0..<options.repetitions {
            // Kept KV: a copy of all but the last turn, brought live by answering the last
            // turn's question again (untimed), then the timed turn.
            var copy = base
            copy.name = "live-\(r)"
            copy.turns.removeLast()
            try store.save(copy)
            _ = try memory.chat(base.turns.last!.question, session: copy.name, create: false, maxTokens: answerTokens)
            let a = try memory.chat(timed, session: copy.name, create: false, maxTokens: 8)
            live.append(a.timeToFirstToken)
            liveHistory = a.historyTokens

            // Re-prefilled: the same turns from the store, not live; the timed turn prefills them first.
            copy = base
            copy.name = "text-\(r)"
            try store.save(copy)
            let b = try memory.chat(timed, session: copy.name, create: false, maxTokens: 8)
            reprefilled.append(b.timeToFirstToken)
            reprefillHistory = b.historyTokens
        }
        print("model: \(m.path)")
        print("threads: \(options.threads)   entries: \(Self.notes.count)   earlier turns: \(turns) (answers up to \(answerTokens) tokens)   repetitions: \(options.repetitions) (median)")
        print(pad("history", 26) + pad("history tokens", 16) + "TTFT")
        print(pad("kept KV (live session)", 26) + pad(String(liveHistory), 16) + String(format: "%.1f ms", median(live) * 1000))
        print(pad("re-prefilled from text", 26) + pad(String(reprefillHistory), 16) + String(format: "%.1f ms", median(reprefilled) * 1000))
        print(String(format: "speed-up: %.1f×", median(reprefilled) / median(live)))
    }
}
