import Foundation
import XCTest
import JarvisEngine
import JarvisStore
@testable import JarvisMemory

final class EntryEncoderTests: XCTestCase {
    func testReencodeRebuildsEntriesForANewPrefix() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-reencode-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, tok) = try StoredRunsTests.shared.get()
        let gguf = try GGUFFile(path: model.path)
        let old = try EntryEncoder(model: model, tokenizer: tok, gguf: gguf, prefix: .markup("<|im_start|>system\nYou are Jarvis.<|im_end|>\n"))
        let new = try EntryEncoder(model: model, tokenizer: tok, gguf: gguf, prefix: .markup("<|im_start|>system\nYou are Jarvis, a careful assistant.<|im_end|>\n"))
        XCTAssertNotEqual(old.fingerprint, new.fingerprint)

        let store = try PersonalStore(directory: dir.path)
        try store.bind(fingerprint: old.fingerprint)
        let texts = ["Biscuit is the user's beagle.", "The garage code is 4417.", "Ana lives in Lisbon."]
        for (i, t) in texts.enumerated() {
            let (tokens, kv) = try old.encode(t)
            try store.add(old.record(text: t, tokenCount: tokens.count, kind: "note", name: "n\(i)"), kv: kv, vectors: [Float(i)])
        }
        XCTAssertThrowsError(try store.bind(fingerprint: new.fingerprint))

        var seen: [(Int, Int)] = []
        XCTAssertEqual(try new.reencode(store) { seen.append(($0, $1)) }, 3)
        XCTAssertEqual(seen.map(\.0), [1, 2, 3])
        XCTAssertNoThrow(try store.bind(fingerprint: new.fingerprint))
        XCTAssertEqual(try new.reencode(store), 0, "nothing left to do")

        // Every entry now holds exactly what the new encoder computes, at the new position.
        for r in try store.list() {
            XCTAssertEqual(r.fingerprint, new.fingerprint)
            XCTAssertEqual(r.positionBase, new.prefix.count)
            XCTAssertEqual(try store.vectors(id: r.id), [Float(r.id - 1)], "vectors kept")
            let (_, kv) = try new.encode(r.text)
            try store.read { reader in
                let page = try reader.page(entry: r.id, layer: 3, block: 0)
                let first = (3 * r.kvHeads + 1) * r.tokenCount * r.headDim
                XCTAssertEqual(Array(UnsafeBufferPointer(start: page.keys(head: 1), count: r.tokenCount * r.headDim)),
                               Array(kv.keys[first..<first + r.tokenCount * r.headDim]))
            }
        }
        XCTAssertEqual(try store.entry(named: "n1")?.text, texts[1])
    }
}
