import Foundation
import XCTest
import JarvisEngine
import JarvisStore
@testable import JarvisMemory

/// remember / ask / forget / update end to end on the shipped models.
final class PersonalMemoryTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-pm-\(UUID().uuidString)")
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    static let embedder: Result<TextEmbedder, Error> = Result {
        try TextEmbedder(directory: ModelFiles.directory() + "/" + ModelFiles.defaultTextEmbedder)
    }

    func memory(draft: Bool = false, dtype: KVPageDType? = nil) throws -> PersonalMemory {
        try Self.open(dir, draft: draft, dtype: dtype)
    }

    /// A memory on the shipped models over the store in `dir`.
    static func open(_ dir: URL, draft: Bool = false, dtype: KVPageDType? = nil, budget: Int? = nil) throws -> PersonalMemory {
        let (model, tok) = try StoredRunsTests.shared.get()
        var options = PersonalMemory.Options()
        options.draftMetadata = draft
        if let dtype { options.dtype = dtype }
        options.maxStoreBytes = budget
        return try PersonalMemory(model: model, tokenizer: tok, gguf: GGUFFile(path: model.path), embedder: embedder.get(),
                                  store: PersonalStore(directory: dir.path), options: options)
    }

    func testRememberAskForget() throws {
        let m = try memory()
        let dog = try m.remember(.note("My dog is called Biscuit. He is a beagle."))[0]
        try m.remember(.note("The garage door code is 4417."))
        try m.remember(.note("My sister Ana lives in Lisbon."))
        var streamed = ""
        let a = try m.ask("What is my dog's name?") { streamed += $0 }
        XCTAssertTrue(a.text.contains("Biscuit"), a.text)
        XCTAssertEqual(a.entries.first, dog.id, "the answer names the entry it used")
        XCTAssertEqual(streamed.trimmingCharacters(in: .whitespacesAndNewlines), a.text)
        XCTAssertGreaterThan(a.timeToFirstToken, 0)

        let code = try m.ask("What is the garage door code?")
        XCTAssertTrue(code.text.contains("4417"), code.text)

        try m.forget(String(dog.id))
        XCTAssertNil(try m.lookup(String(dog.id)))
        XCTAssertFalse(try m.ask("What is my dog's name?").entries.contains(dog.id))
        XCTAssertThrowsError(try m.forget("nobody")) { XCTAssertEqual(($0 as? MemoryError)?.code, .notFound) }
    }

    func testAQuestionNothingRememberedIsAboutGetsTheDocumentedReply() throws {
        let m = try memory()
        try m.remember(.note("My dog is called Biscuit. He is a beagle."))
        try m.remember(.note("The garage door code is 4417."))
        for mode in [PersonalMemory.Mode.kv, .textRAG] {
            var streamed = ""
            let a = try m.ask("What is the boiling point of mercury?", mode: mode) { streamed += $0 }
            XCTAssertTrue(a.nothingRemembered, "\(mode): \(a.text)")
            XCTAssertEqual(a.text, PersonalMemory.nothingRemembered)
            XCTAssertEqual(streamed, a.text, "the reply streams like an answer")
            XCTAssertEqual(a.entries, [])
            XCTAssertEqual(a.tokens, 0)
        }
        // Mode none answers without notes by definition, so it generates.
        XCTAssertFalse(try m.ask("What is the boiling point of mercury?", mode: .none, maxTokens: 4).nothingRemembered)
        let code = try m.ask("What is the garage door code?")
        XCTAssertFalse(code.nothingRemembered)
        XCTAssertTrue(code.text.contains("4417"), code.text)
    }

    func testShortNotesComposeWithTheirLeadsRecomputed() throws {
        let m = try memory()
        let notes = ["My dog Biscuit is a beagle.", "My cat Luna is grey and sleeps all day.", "My parrot Kiwi says hello to everyone."]
        let saved = try (notes + ["The garage door code is 4417."]).map { try m.remember(.note($0))[0] }
        let a = try m.ask("What are the names of my pets?", maxTokens: 8)
        // Up to four entries by default; the three pet notes are all close to the question.
        XCTAssertGreaterThan(a.entries.count, 1, "several short notes answer together")
        XCTAssertLessThanOrEqual(a.entries.count, m.options.retrieveLimit)
        let tokens = Dictionary(uniqueKeysWithValues: saved.map { ($0.id, $0.tokenCount) })
        XCTAssertLessThanOrEqual(a.entries.map { tokens[$0]! }.reduce(0, +), m.options.tokenBudget)
        // Laid out best last (the answer lists them best first), every entry but the one laid
        // first is moved, and each moved one has its lead computed again.
        let moved = a.entries.dropLast().map { tokens[$0]! }
        XCTAssertEqual(a.recomputedTokens, moved.reduce(0) { $0 + min($1, m.options.composition.leadRecompute) })
    }

    func testKVAnswerEqualsTextAnswerForOneEntryAtItsPlace() throws {
        // One retrieved entry sits exactly where it was computed: reading its fp16 pages must
        // give the same tokens as prefilling its text.
        let m = try memory(dtype: .fp16)
        try m.remember(.note("The spare key is in the left drawer of the hall table."))
        let kv = try m.ask("Where is the spare key?", mode: .kv, maxTokens: 24)
        let text = try m.ask("Where is the spare key?", mode: .textRAG, maxTokens: 24)
        XCTAssertEqual(kv.entries.count, 1)
        XCTAssertEqual(kv.text, text.text)
    }

    func testEntriesKeepTheirPageFormatWhenTheDefaultChanges() throws {
        // A store written with fp16 pages, opened again under the default (q8): old entries
        // still answer from their fp16 pages, new ones are stored in the new format.
        let old = try memory(dtype: .fp16).remember(.note("The spare key is in the left drawer of the hall table."))[0]
        XCTAssertEqual(old.dtype, .fp16)
        let m = try memory()
        XCTAssertEqual(m.options.dtype, PersonalMemory.Options().dtype)
        XCTAssertNotEqual(m.options.dtype, .fp16)
        let new = try m.remember(.note("The garage door code is 4417."))[0]
        XCTAssertEqual(new.dtype, m.options.dtype)
        XCTAssertEqual(try m.lookup(String(old.id))?.dtype, .fp16)
        let a = try m.ask("Where is the spare key?", maxTokens: 24)
        XCTAssertEqual(a.entries, [old.id])
        XCTAssertTrue(a.text.lowercased().contains("drawer"), a.text)
        XCTAssertTrue(try m.ask("What is the garage door code?", maxTokens: 16).text.contains("4417"))
    }

    func testARememberGivesWayToAQuestionAndKeepsItsWork() throws {
        let m = try memory(draft: true)
        try m.remember(.note("The garage door code is 4417."))
        let long = (1...14).map { "Paragraph \($0) is about the garden: the roses, the apple tree and shed number \($0 * 11)." }
            .joined(separator: "\n\n")
        var checks = 0, answers: [String] = []
        // The third time the remember asks whether anything waits — between parts or inside a
        // draft — a question does; it must get the model (a remember holding it would hang here).
        let records = try m.remember(.note(long), giveWay: GiveWay(waiting: { checks += 1; return checks == 3 }, run: {
            answers.append((try? m.ask("What is the garage door code?", maxTokens: 24).text) ?? "failed")
        }))
        XCTAssertEqual(answers.count, 1)
        XCTAssertTrue(answers[0].contains("4417"), answers[0])
        XCTAssertGreaterThan(records.count, 1, "a text of several parts")
        XCTAssertEqual(records.map(\.text).joined(), long, "every part kept, in order, verbatim")
        XCTAssertEqual(m.retriever.count, 1 + records.count)
    }

    func testAPartForgottenWhileARememberGivesWayStaysForgotten() throws {
        let m = try memory()
        let long = (1...14).map { "Paragraph \($0) is about the garden: the roses, the apple tree and shed number \($0 * 11)." }
            .joined(separator: "\n\n")
        // Before the third part, waiting work forgets the first part, already committed.
        var checks = 0, forgotten: [UInt64] = []
        let records = try m.remember(.note(long), giveWay: GiveWay(waiting: { checks += 1; return checks == 3 }, run: {
            guard let first = try? m.store.list().first else { return }
            forgotten.append(first.id)
            _ = try? m.forget(String(first.id))
        }))
        XCTAssertEqual(forgotten.count, 1)
        XCTAssertEqual(records.first?.id, forgotten.first, "the part forgotten was this remember's first")
        XCTAssertNil(try m.store.entry(id: forgotten[0]))
        XCTAssertFalse(m.retriever.entryIDs.contains(forgotten[0]), "the index holds no entry the store has lost")
        XCTAssertEqual(Set(m.retriever.entryIDs), Set(try m.store.list().map(\.id)))
    }

    func testNamedFactsUpdatesAndUserFieldsWin() throws {
        let m = try memory(draft: true)
        let r = try m.remember(.fact(name: "Luna", aliases: ["the cat"], category: "pet", attributes: ["colour": "black", "eyes": "green"]))[0]
        XCTAssertEqual(r.metadata["category"], "pet", "the user's category wins over the drafted one")
        XCTAssertEqual(r.metadata["colour"], "black")
        XCTAssertEqual(try m.lookup("the cat")?.id, r.id)
        XCTAssertTrue(try m.ask("What colour are Luna's eyes?").text.lowercased().contains("green"))
        let u = try m.update("Luna", text: "Luna (pet). colour: black; eyes: amber.")
        XCTAssertEqual(u.id, r.id)
        XCTAssertEqual(u.name, "Luna")
        XCTAssertTrue(try m.ask("What colour are Luna's eyes?").text.lowercased().contains("amber"))
    }

    func testLongTextIsSplitUnderTheLimit() throws {
        let m = try memory()
        let text = (0..<40).map { "Item \($0) is stored in box \($0 * 3) on shelf \($0 % 4)." }.joined(separator: " ")
            + "\n\nA second paragraph about the attic."
        let saved = try m.remember(MemoryItem(.text(text), kind: .file))
        XCTAssertGreaterThan(saved.count, 2)
        XCTAssertTrue(saved.allSatisfy { $0.tokenCount <= m.options.maxEntryTokens })
        XCTAssertEqual(Set(saved.map(\.sourceDigest)).count, 1)
        XCTAssertTrue(saved.last!.text.contains("attic"))
        XCTAssertEqual(saved.map(\.text).joined(), text, "the entries are the text, cut")
    }

    func testRememberAFile() throws {
        let m = try memory()
        let url = dir.deletingLastPathComponent().appendingPathComponent("jarvis-note-\(UUID().uuidString).md")
        defer { try? FileManager.default.removeItem(at: url) }
        try "# Trip\n\nThe ferry to the island leaves at 7:40 from pier 3.".write(to: url, atomically: true, encoding: .utf8)
        let saved = try m.remember(MemoryItem(.file(path: url.path)))
        XCTAssertEqual(saved.first?.kind, "file")
        XCTAssertEqual(saved.first?.metadata["file"], url.lastPathComponent)
        XCTAssertEqual(saved.count, 1, "the heading stays with its section")
        XCTAssertEqual(saved[0].text, "# Trip\n\nThe ferry to the island leaves at 7:40 from pier 3.", "the entry is the file, exactly")
        XCTAssertEqual(saved[0].encodedText, "[\(url.lastPathComponent)]\n# Trip\n\nThe ferry to the island leaves at 7:40 from pier 3.\n")
        XCTAssertEqual(try m.ask("Which pier does the ferry leave from?", maxTokens: 8).entries, [saved[0].id])
        // A question over a file's chunk has the documents' lead; over notes alone, the notes'.
        let note = try m.remember(.note("The ferry ticket costs 12 euros."))[0]
        let q = "Which pier does the ferry leave from?"
        XCTAssertNotEqual(m.prompt.documentQuestionLead, m.prompt.questionLead)
        XCTAssertTrue(m.questionPrompt(q, over: [note, saved[0]]).rendered.hasPrefix(m.prompt.documentQuestionLead + q))
        XCTAssertTrue(m.questionPrompt(q, over: [note]).rendered.hasPrefix(m.prompt.questionLead + q))
        XCTAssertThrowsError(try m.remember(MemoryItem(.file(path: dir.deletingLastPathComponent().path)))) { XCTAssertTrue("\($0)".contains("not a file")) }
        XCTAssertThrowsError(try m.remember(MemoryItem(.file(path: "/dev/null/nope")))) { XCTAssertTrue("\($0)".contains("not a file")) }
    }

    func testStoreOfAnotherPromptIsRefused() throws {
        _ = try memory()
        let (model, tok) = try StoredRunsTests.shared.get()
        var options = PersonalMemory.Options()
        var prompt = AnswerPrompt(format: .chatML)
        prompt.system = "Another assistant."
        options.prompt = prompt
        XCTAssertThrowsError(try PersonalMemory(model: model, tokenizer: tok, gguf: GGUFFile(path: model.path), embedder: Self.embedder.get(),
                                                store: PersonalStore(directory: dir.path), options: options)) {
            XCTAssertEqual(($0 as? StoreError)?.code, .fingerprintMismatch)
        }
    }
}
