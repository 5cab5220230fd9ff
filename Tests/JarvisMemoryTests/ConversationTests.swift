import Foundation
import XCTest
import JarvisEngine
import JarvisStore
@testable import JarvisMemory

/// Chat sessions on the shipped models: kept history, caps, eviction, cancelling.
final class ConversationTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-chat-\(UUID().uuidString)")
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func memory(_ configure: (inout PersonalMemory.Options) -> Void = { _ in }) throws -> PersonalMemory {
        let (model, tok) = try StoredRunsTests.shared.get()
        var options = PersonalMemory.Options()
        options.draftMetadata = false
        configure(&options)
        return try PersonalMemory(model: model, tokenizer: tok, gguf: GGUFFile(path: model.path), embedder: PersonalMemoryTests.embedder.get(),
                                  store: PersonalStore(directory: dir.path), options: options)
    }

    /// A turn over the kept KV of earlier turns answers exactly as the whole conversation
    /// prefilled at once (no entries, so nothing moves).
    func testKeptHistoryAnswersAsTheConversationPrefilledAtOnce() throws {
        let m = try memory()
        let first = try m.chat("My sister is called Ana.", session: "s")
        XCTAssertTrue(first.nothingRemembered)
        let second = try m.chat("What is my sister called?", session: "s", maxTokens: 16)
        XCTAssertFalse(second.nothingRemembered)
        XCTAssertEqual(second.entries, [])

        let p = m.prompt, tok = m.tokenizer
        let history = tok.encode(p.chatTurn("My sister is called Ana.", first: true) + .text(PersonalMemory.nothingRemembered) + p.answerEnd)
        XCTAssertEqual(second.historyTokens, history.count)
        let question = tok.encode(p.chatTurn("What is my sister called?", first: false))
        let cache = KVCache(config: m.model.config, capacity: history.count + question.count + 17, basePosition: m.encoder.prefix.count)
        var g = try Generator(model: m.model, cache: cache, context: [m.encoder.prefix.run(0..<m.encoder.prefix.count)],
                              prompt: history + question, stopTokens: tok.endOfGenerationTokens)
        let reference = try g.decode(tok, maxTokens: 16)
        XCTAssertEqual(second.text, reference.text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Turns are kept as text; a session evicted from memory, or opened by a new memory over
    /// the same store, is prefilled again from them.
    func testEvictionAndResumePrefillTheHistoryAgain() throws {
        var m = try memory { $0.liveSessions = 1 }
        try m.remember(MemoryItem(.text("My dog Rexford is a black labrador with a red collar.")))
        let a1 = try m.chat("What colour is Rexford's collar?", session: "a", maxTokens: 12)
        _ = try m.chat("Is Rexford a labrador?", session: "b", maxTokens: 12)
        XCTAssertEqual(try m.sessions().map { "\($0.name):\($0.turns):\($0.live)" }.sorted(), ["a:1:false", "b:1:true"])
        let a2 = try m.chat("And what colour is he?", session: "a", maxTokens: 12)
        XCTAssertGreaterThan(a2.historyTokens, a1.tokens, "the first turn was prefilled again")
        XCTAssertEqual(try m.sessions().first { $0.name == "a" }?.live, true)

        m = try memory { $0.liveSessions = 1 }
        XCTAssertThrowsError(try m.chat("Hello?", session: "c", create: false)) {
            XCTAssertEqual(($0 as? MemoryError)?.code, .unknownSession)
        }
        let a3 = try m.chat("Thanks.", session: "a", create: false, maxTokens: 4)
        XCTAssertGreaterThan(a3.historyTokens, a2.historyTokens)
        XCTAssertEqual(try m.session(named: "a").turns.map(\.question),
                       ["What colour is Rexford's collar?", "And what colour is he?", "Thanks."])
        try m.forgetSession("a")
        XCTAssertThrowsError(try m.session(named: "a")) { XCTAssertEqual(($0 as? MemoryError)?.code, .unknownSession) }
        XCTAssertThrowsError(try m.forgetSession("a")) { XCTAssertEqual(($0 as? MemoryError)?.code, .unknownSession) }
    }

    /// A cancelled turn leaves the session as it was; a session at its cap refuses a turn.
    func testCancelledTurnsAreNotKeptAndTheCapIsEnforced() throws {
        let m = try memory { $0.sessionTokens = 160 }
        _ = try m.chat("My sister is called Ana.", session: "s")
        var drawn = 0
        XCTAssertThrowsError(try m.chat("Tell me a long story about my sister.", session: "s", maxTokens: 40,
                                        shouldStop: { drawn += 1; return drawn > 3 })) {
            XCTAssertEqual(($0 as? EngineError)?.code, .cancelled)
        }
        XCTAssertEqual(try m.session(named: "s").turns.count, 1)
        let next = try m.chat("What is her name?", session: "s", maxTokens: 8)
        let afterFirst = next.historyTokens
        XCTAssertEqual(try m.session(named: "s").turns.count, 2)
        XCTAssertThrowsError(try m.chat("And her birthday?", session: "s", maxTokens: 96)) {
            XCTAssertEqual(($0 as? MemoryError)?.code, .sessionFull)
        }
        XCTAssertEqual(try m.session(named: "s").turns.count, 2, "the refused turn is not kept")
        XCTAssertGreaterThan(afterFirst, 0)
    }
}
