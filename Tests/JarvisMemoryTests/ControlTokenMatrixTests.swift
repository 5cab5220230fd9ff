import Foundation
import XCTest
import JarvisEngine
import JarvisImage
import JarvisStore
@testable import JarvisMemory

/// The control-token matrix at the memory layer, with the shipped model and a real store: every
/// special token of the shipped vocabulary (batched into one string) in every field a user
/// fills — note, name, alias, metadata key and value, file contents and file name, photo name
/// and note, updated text, question, chat question — is stored byte for byte, and the tokens
/// the memory feeds the model for it hold no special token but the prompt format's own markup.
///
/// Which tokens reach the model is read from the records (an entry's KV covers exactly
/// `tokenCount` tokens of its `encodedText`) and from the prompt builders the memory feeds the
/// model with (`AnswerPrompt.question`, `chatTurn`); the daemon-level round trip is
/// `JarvisEndToEndTests.ControlTokenSocketTests`.
final class ControlTokenMatrixTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-ctm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func testEverySpecialTokenInEveryFieldStaysText() throws {
        let (model, tok) = try StoredRunsTests.shared.get()
        let specials = tok.specialTokenTexts
        XCTAssertGreaterThan(specials.count, 10)
        let specialIDs = Set(specials.compactMap { tok.token(forText: $0) })
        XCTAssertEqual(specialIDs.count, specials.count)
        let all = specials.joined(separator: " ")

        var options = PersonalMemory.Options()
        options.draftMetadata = false
        let m = try PersonalMemory(model: model, tokenizer: tok, gguf: GGUFFile(path: model.path), embedder: PersonalMemoryTests.embedder.get(),
                                   store: PersonalStore(directory: dir.path + "/store"),
                                   imageFocusPath: ModelFiles.path(of: ModelFiles.defaultImageFocus), options: options)

        /// The entry's KV is that of its encoded text read as plain text: no special id, and
        /// more tokens than had its specials been parsed.
        func assertPlain(_ r: EntryRecord, _ field: String, file: StaticString = #filePath, line: UInt = #line) {
            let ids = tok.encode(r.encodedText)
            XCTAssertEqual(r.tokenCount, ids.count, "\(field): the stored KV covers the plain tokens", file: file, line: line)
            XCTAssertTrue(ids.allSatisfy { !specialIDs.contains($0) }, "\(field): a special token reached the model", file: file, line: line)
            XCTAssertGreaterThan(ids.count, tok.encode(r.encodedText, specials: .all).count, "\(field): holds specials to parse", file: file, line: line)
        }
        func bytes(_ s: String?) -> [UInt8]? { s.map { Array($0.utf8) } }

        // Note text, name, alias, metadata key and value.
        let note = "My locker code is 40 " + all + " and that is all."
        let name = "locker " + all, alias = "the locker " + all, key = "where " + all, value = "basement " + all
        let r = try XCTUnwrap(m.remember(.note(note, name: name, aliases: [alias], metadata: [key: value])).first)
        let stored = try XCTUnwrap(m.lookup(String(r.id)))
        XCTAssertEqual(bytes(stored.text), bytes(note))
        XCTAssertEqual(bytes(stored.name), bytes(name))
        XCTAssertEqual(stored.aliases.map(bytes), [bytes(alias)])
        XCTAssertEqual(bytes(stored.metadata[key]), bytes(value))
        XCTAssertEqual(try m.lookup(alias)?.id, r.id, "found by its alias, specials and all")
        assertPlain(stored, "note")

        // A file: its contents, its headings and its name (which go into the entry's text).
        // Names are short batches of specials: a file name and heading path longer than the
        // entry limit (160 tokens) on their own split the file into hundreds of pieces.
        var batches: [String] = [""]
        for t in specials where !t.contains("/") {
            if batches[batches.count - 1].utf8.count + t.utf8.count > 48 { batches.append("") }
            batches[batches.count - 1] += t
        }
        XCTAssertEqual(batches.joined().utf8.count, specials.filter { !$0.contains("/") }.joined().utf8.count)
        for (i, batch) in (batches + [""]).enumerated() {
            let fileName = "specials \(batch) \(i).md"
            let filePath = dir.appendingPathComponent(fileName).path
            let contents = batch.isEmpty ? "The markers are " + all + ".\n" : "# Tokens " + batch + "\n\nThe markers are " + batch + ".\n"
            try contents.write(toFile: filePath, atomically: true, encoding: .utf8)
            let fromFile = try m.remember(MemoryItem(.file(path: filePath)))
            XCTAssertEqual(bytes(fromFile.map(\.text).joined()), bytes(contents))
            XCTAssertEqual(bytes(fromFile.first?.metadata["file"]), bytes(fileName))
            for e in fromFile { assertPlain(e, "file"); XCTAssertTrue(e.encodedText.contains(fileName)) }
        }

        // A photo's name and note.
        let photo = PhotoMemoryTests.photos.appendingPathComponent("mug_badge.png").path
        let p = try XCTUnwrap(m.remember(MemoryItem(.photo(path: photo), name: "mug " + all, metadata: ["note": "a gift " + all])).first)
        XCTAssertEqual(bytes(p.text), bytes("Photo mug_badge.png: mug \(all): a gift \(all)"))
        XCTAssertEqual(bytes(p.metadata["note"]), bytes("a gift " + all))
        assertPlain(p, "photo")

        // An updated text.
        let updated = try m.update(String(r.id), text: "Moved: locker 41 " + all)
        XCTAssertEqual(bytes(updated.text), bytes("Moved: locker 41 " + all))
        assertPlain(updated, "update")

        // A question, a later chat turn and a chat history's answer: only the format's markup is
        // special, the same ids as for a plain question.
        let question = "What is my locker code? " + all
        let markup = tok.encode(m.prompt.question("What is my locker code?")).filter(specialIDs.contains)
        XCTAssertFalse(markup.isEmpty)
        XCTAssertEqual(tok.encode(m.prompt.question(question)).filter(specialIDs.contains), markup)
        XCTAssertEqual(tok.encode(m.prompt.chatTurn(question, first: false)).filter(specialIDs.contains),
                       tok.encode(m.prompt.chatTurn("What is my locker code?", first: false)).filter(specialIDs.contains))
        let history = m.prompt.chatTurn(question, first: false) + .text("An answer that says " + all) + m.prompt.answerEnd
        XCTAssertEqual(tok.encode(history).filter(specialIDs.contains),
                       tok.encode(m.prompt.chatTurn("q", first: false) + .text("a") + m.prompt.answerEnd).filter(specialIDs.contains))
        _ = try m.ask(question, maxTokens: 2)
        _ = try m.chat(question, session: "tokens", maxTokens: 2)
        let turn = try m.chat("And again? " + all, session: "tokens", maxTokens: 2)
        XCTAssertGreaterThan(turn.historyTokens, 0)
    }

    /// The other supported vocabulary: SmolVLM's (the tiny random Idefics3 fixture carries its
    /// tokenizer), with its prompt format, visual tokens and a drafted caption. Its specials in a
    /// note, name, alias, metadata, photo name and note and a question asked with a photo stay
    /// text; the ids the photo entry and the question are computed from hold exactly the image
    /// markup's and the format's specials.
    func testTheVisionLanguageVocabularyToo() throws {
        let vlm = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("JarvisEngineTests/Fixtures/vlm")
        let gguf = try GGUFFile(path: vlm.appendingPathComponent("tiny-idefics3-F32.gguf").path)
        let model = try Transformer(gguf: gguf), tok = try BPETokenizer(gguf: gguf)
        let vision = try Idefics3Vision(mmproj: GGUFFile(path: vlm.appendingPathComponent("mmproj-tiny-idefics3-F32.gguf").path))
        let specials = tok.specialTokenTexts
        let specialIDs = Set(specials.compactMap { tok.token(forText: $0) })
        XCTAssertEqual(specialIDs.count, specials.count)
        XCTAssertTrue(specials.contains("<end_of_utterance>") && specials.contains("<image>"), "\(specials)")
        let all = specials.joined(separator: " ")
        func bytes(_ s: String?) -> [UInt8]? { s.map { Array($0.utf8) } }

        var options = PersonalMemory.Options()
        options.draftMetadata = true
        let m = try PersonalMemory(model: model, tokenizer: tok, gguf: gguf, embedder: PersonalMemoryTests.embedder.get(),
                                   store: PersonalStore(directory: dir.path + "/vlm-store"),
                                   imageFocusPath: ModelFiles.path(of: ModelFiles.defaultImageFocus), vision: vision, options: options)

        // Names and aliases are keys, at most 511 bytes: they take the specials in batches.
        var batches: [String] = [""]
        for t in specials {
            if batches[batches.count - 1].utf8.count + t.utf8.count > 400 { batches.append("") }
            batches[batches.count - 1] += t + " "
        }
        let image = try ImageDecoder.load(path: PhotoMemoryTests.photos.appendingPathComponent("mug_badge.png").path)
        let markup = try m.photos.input(.text("- Photo mug.png: a mug\n"), views: [image]).ids.filter(specialIDs.contains)
        XCTAssertFalse(markup.isEmpty)
        for (i, batch) in batches.enumerated() {
            // A note with a name, an alias and metadata (split into entries if it is long).
            let note = i == 0 ? "My locker code is 40 " + all + " and that is all." : "Locker \(i) is by the door."
            let name = "locker \(i) " + batch, alias = "the locker \(i) " + batch, key = "where " + all, value = "basement " + all
            let saved = try m.remember(.note(note, name: name, aliases: [alias], metadata: [key: value]))
            XCTAssertEqual(bytes(saved.map(\.text).joined()), bytes(note))
            XCTAssertEqual(bytes(saved[0].name), bytes(name))
            XCTAssertEqual(saved[0].aliases.map(bytes), [bytes(alias)])
            XCTAssertEqual(bytes(saved[0].metadata[key]), bytes(value))
            for r in saved {
                let ids = tok.encode(r.encodedText)
                XCTAssertEqual(r.tokenCount, ids.count)
                XCTAssertTrue(ids.allSatisfy { !specialIDs.contains($0) })
            }

            // A photo's name and note: its KV is the note's plain tokens, then each view's image
            // block; the ids it was computed from hold only the image markup's specials. (One
            // photo: mining takes seconds in a debug build. Its note holds every special, its
            // name the first batch; the names above hold the rest.)
            guard i == 0 else { continue }
            let copy = dir.appendingPathComponent("mug\(i).png").path
            try FileManager.default.copyItem(atPath: PhotoMemoryTests.photos.appendingPathComponent("mug_badge.png").path, toPath: copy)
            let p = try XCTUnwrap(m.remember(MemoryItem(.photo(path: copy), name: "mug \(i) " + batch, metadata: ["note": "a gift " + all])).first)
            XCTAssertEqual(bytes(p.text), bytes("Photo mug\(i).png: mug \(i) \(batch): a gift \(all)"))
            XCTAssertNotNil(p.metadata["caption"], "the model drafted a caption")
            let regions = try XCTUnwrap(m.store.photo(id: p.id)).regions.count
            XCTAssertEqual(p.tokenCount, tok.encode(p.encodedText).count + (1 + regions) * (vision.config.tokensPerFrame + 3))
            XCTAssertEqual(try m.photos.input(.text(p.encodedText), views: [image]).ids.filter(specialIDs.contains), markup)
        }

        // A question asked with a photo: the ids `ask` feeds the model (not asked here: encoding
        // the photo again takes seconds in a debug build).
        let question = "What is this? " + all
        XCTAssertEqual(try m.photos.input(Prompt(), views: [image], after: m.prompt.question(question)).ids.filter(specialIDs.contains),
                       try m.photos.input(Prompt(), views: [image], after: m.prompt.question("What is this?")).ids.filter(specialIDs.contains))
    }
}
