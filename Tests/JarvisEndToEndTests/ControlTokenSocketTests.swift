import Foundation
import JarvisClient
import JarvisEngine
import JarvisProtocol
import XCTest

/// Special tokens through the real socket: every special token of the shipped vocabulary (read
/// from the model's tokenizer, batched into one string) in every field a request carries comes
/// back byte for byte from `show` and `list`, and an entry's stored KV covers the plain
/// tokenization of its text: as many tokens as its characters make, more than had a special
/// been parsed. The daemon drafts metadata (its default), so the drafter reads the specials too.
/// (Which ids the prompts hold is checked in-process, where the prompt builders can be read:
/// `JarvisMemoryTests.ControlTokenMatrixTests`.)
final class ControlTokenSocketTests: XCTestCase {
    func testSpecialTokensInEveryFieldStayText() throws {
        let tok = try BPETokenizer(gguf: GGUFFile(path: ModelFiles.path(of: ModelFiles.defaultLanguageModel)))
        let specials = tok.specialTokenTexts
        XCTAssertTrue(specials.contains("<|im_start|>") && specials.contains("<|endoftext|>"))
        let all = specials.joined(separator: " ")
        func bytes(_ s: String?) -> [UInt8]? { s.map { Array($0.utf8) } }
        /// The entry's token count is that of its list item read as plain text.
        func assertPlain(_ e: EntryInfo, _ field: String, file: StaticString = #filePath, line: UInt = #line) {
            let item = "- " + e.text + (e.text.utf8.last == 0x0A ? "" : "\n")
            XCTAssertEqual(e.tokens, tok.encode(item).count, "\(field): the stored KV is of the plain tokens", file: file, line: line)
            XCTAssertGreaterThan(e.tokens, tok.encode(item, specials: .all).count, "\(field)", file: file, line: line)
        }

        let d = try DaemonProcess(name: "specials")
        try d.start()
        let c = try JarvisConnection(socketPath: d.socket)
        func remember(_ r: Request.Remember) throws -> EntryInfo {
            guard case .entries(let e, _, _) = try c.call(.remember(r)), let first = e.first else { throw XCTSkip("remember returned nothing") }
            return first
        }
        func show(_ ref: String) throws -> EntryInfo {
            guard case .entry(let e) = try c.call(.show(.init(entry: ref))) else { throw XCTSkip("show") }
            return e
        }

        // A note with a name, an alias and metadata.
        let note = "My locker code is 40 " + all + " and that is all."
        let name = "locker " + all, alias = "the locker " + all, key = "where " + all, value = "basement " + all
        let n = try remember(.init(text: note, name: name, aliases: [alias], metadata: [key: value]))
        for e in [n, try show(String(n.id)), try show(alias)] {
            XCTAssertEqual(e.id, n.id)
            XCTAssertEqual(bytes(e.text), bytes(note))
            XCTAssertEqual(bytes(e.name), bytes(name))
            XCTAssertEqual(e.aliases.map(bytes), [bytes(alias)])
            XCTAssertEqual(bytes(e.metadata[key]), bytes(value))
        }
        assertPlain(n, "note")

        // A file the daemon reads.
        let file = d.directory + "/specials.md"
        let contents = "The markers are " + all + ".\n"
        try contents.write(toFile: file, atomically: true, encoding: .utf8)
        let f = try remember(.init(path: file, kind: .file))
        XCTAssertEqual(bytes(try show(String(f.id)).text), bytes(contents))

        // A photo's name and note.
        let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("JarvisEngineTests/Fixtures/photos/mug_badge.png").path
        let p = try remember(.init(path: photo, name: "mug " + all, kind: .photo, metadata: ["note": "a gift " + all]))
        XCTAssertEqual(bytes(try show(String(p.id)).text), bytes("Photo mug_badge.png: mug \(all): a gift \(all)"))
        XCTAssertEqual(bytes(try show(String(p.id)).metadata["note"]), bytes("a gift " + all))
        assertPlain(p, "photo")

        // An updated text.
        let updatedText = "Moved: locker 41 " + all
        guard case .entry(let u) = try c.call(.update(.init(entry: String(n.id), text: updatedText))) else { return XCTFail("update") }
        XCTAssertEqual(bytes(try show(String(n.id)).text), bytes(updatedText))
        assertPlain(u, "update")

        // The list holds them all, byte for byte.
        guard case .entries(let listed, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }
        XCTAssertEqual(listed.map { bytes($0.text) }, [bytes(updatedText), bytes(contents), bytes(p.text)])

        // A question, a search query and a chat turn are answered, and the daemon goes on.
        let question = "What is my locker code? " + all
        guard case .ask = try c.call(.ask(.init(question: question, maxTokens: 4))) else { return XCTFail("ask") }
        guard case .hits(let hits) = try c.call(.search(.init(query: question))) else { return XCTFail("search") }
        XCTAssertEqual(hits.count, 3)
        guard case .ask = try c.call(.ask(.init(question: question, maxTokens: 4, session: "specials"))) else { return XCTFail("chat") }
        guard case .ask = try c.call(.ask(.init(question: "And again? " + all, maxTokens: 4, session: "specials"))) else { return XCTFail("chat") }
        XCTAssertEqual(d.stop(), 0, d.logText())
    }
}
