import Foundation
import XCTest
import JarvisEngine
import JarvisStore
@testable import JarvisMemory

/// User text is data, never control: every special token of the shipped vocabulary, written
/// into a note, a file and a question, is tokenized as the characters it is made of, and comes
/// back unchanged; only the prompt format's markup yields control tokens.
final class ControlTokenTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-ctl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func testSpecialTokensInUserTextStayText() throws {
        let (model, tok) = try StoredRunsTests.shared.get()
        let specials = tok.specialTokenTexts
        XCTAssertTrue(specials.contains("<|im_start|>") && specials.contains("<|im_end|>") && specials.contains("<|endoftext|>"))
        let specialIDs = Set(specials.compactMap { tok.token(forText: $0) })
        XCTAssertEqual(specialIDs.count, specials.count)

        // Each special token, alone and inside text, is its characters.
        for s in specials {
            let text = "before \(s) after"
            let ids = tok.encode(text)
            XCTAssertTrue(ids.allSatisfy { !specialIDs.contains($0) }, "\(s) became a special token")
            XCTAssertEqual(tok.decode(ids), text)
            XCTAssertEqual(tok.encode(.text(text)), ids, "a prompt's text piece is tokenized the same way")
            XCTAssertTrue(tok.encode(text, specials: .all).contains(tok.token(forText: s)!), "parsed only when asked")
        }

        var options = PersonalMemory.Options()
        options.draftMetadata = false
        let m = try PersonalMemory(model: model, tokenizer: tok, gguf: GGUFFile(path: model.path), embedder: PersonalMemoryTests.embedder.get(),
                                   store: PersonalStore(directory: dir.path + "/store"), options: options)
        let all = specials.joined(separator: " ")
        // A note: stored verbatim, and its KV is that of its characters.
        let note = "My locker code is 40 " + all + " and that is all."
        let saved = try m.remember(.note(note))
        XCTAssertEqual(saved.count, 1)
        XCTAssertEqual(saved[0].text, note)
        XCTAssertEqual(saved[0].encodedText, AnswerPrompt.entryText(note))
        XCTAssertEqual(try m.lookup(String(saved[0].id))?.text, note)
        XCTAssertEqual(saved[0].tokenCount, tok.encode(AnswerPrompt.entryText(note)).count)
        XCTAssertGreaterThan(saved[0].tokenCount, tok.encode(AnswerPrompt.entryText(note), specials: .all).count,
                             "had the specials been parsed, the entry would have fewer tokens")

        // A file.
        let file = dir.appendingPathComponent("specials.md")
        let contents = "# Tokens\n\nThe markers are " + all + ".\n"
        try contents.write(to: file, atomically: true, encoding: .utf8)
        let fromFile = try m.remember(MemoryItem(.file(path: file.path)))
        XCTAssertEqual(fromFile.map(\.text).joined(), contents)
        for r in fromFile { XCTAssertEqual(r.tokenCount, tok.encode(r.encodedText).count) }

        // A question: its prompt holds exactly the format's control tokens.
        let plain = tok.encode(m.prompt.question("What is my locker code?")).filter(specialIDs.contains)
        let question = "What is my locker code? " + all
        let ids = tok.encode(m.prompt.question(question))
        XCTAssertEqual(ids.filter(specialIDs.contains), plain)
        XCTAssertEqual(plain, [tok.token(forText: "<|im_end|>"), tok.token(forText: "<|im_start|>")].compactMap { $0 })
        XCTAssertEqual(m.prompt.question(question).rendered, m.prompt.questionLead + question + "<|im_end|>\n<|im_start|>assistant\n")
        let answer = try m.ask(question, maxTokens: 4)
        XCTAssertEqual(answer.entries.count, 1)
    }

    /// Prompt pieces: text next to text is tokenized as one run, so a prompt splits its words
    /// where it likes without changing the tokens.
    func testPromptPiecesJoinTextRuns() throws {
        let (_, tok) = try StoredRunsTests.shared.get()
        let whole = "<|im_start|>user\nAnswer in a few words: What is it?<|im_end|>\n"
        let pieces = Prompt.markup("<|im_start|>user\n") + .text("Answer in a few words: ") + .text("What is it?") + .markup("<|im_end|>\n")
        XCTAssertEqual(tok.encode(pieces), tok.encode(whole, specials: .all))
        XCTAssertEqual(pieces.rendered, whole)
        XCTAssertEqual(try PromptFormat.chatML.conversation([ChatMessage(role: "user", content: "Answer in a few words: What is it?")],
                                                            addGenerationPrompt: false), Prompt.markup("<|im_start|>user\n") + .text("Answer in a few words: What is it?") + .markup("<|im_end|>\n"))
        XCTAssertThrowsError(try PromptFormat.chatML.conversation([ChatMessage(role: "narrator", content: "x")], addGenerationPrompt: false))
        // SmolVLM's layout: one <|im_start|>, "User:" before an image, "User: " before text.
        let smol = PromptFormat.smolVLM
        XCTAssertEqual(try smol.render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true),
                       "<|im_start|>User: Hi<end_of_utterance>\nAssistant:")
        XCTAssertEqual((smol.open(.user, beforeImage: true)).rendered, "User:")
        XCTAssertEqual(AnswerPrompt(format: smol).prefix.rendered, "<|im_start|>User: Here are my notes:\n")
        XCTAssertEqual(AnswerPrompt(format: .chatML).prefix.rendered,
                       "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHere are my notes:\n")
    }
}
