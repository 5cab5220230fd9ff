import Foundation
import XCTest
@testable import JarvisEngine

/// Golden ids from llama.cpp (tools/make_tokenizer_fixtures.py).
private struct TokenizerFixture: Decodable {
    struct Case: Decodable {
        let text: String
        let special: Bool
        let ids: [Int32]
    }
    struct PreCase: Decodable {
        let text: String
        let ids: [Int32]
    }
    let llama_cpp_python: String
    let cases: [Case]
    let pre_tokenizers: [String: [PreCase]]
    let letter_pair_merge_count: Int
    let letter_pair_merges: [String: [PreCase]]

    static func load() throws -> TokenizerFixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "tokenizer_smollm2", withExtension: "json", subdirectory: "Fixtures"),
                                "Fixtures/tokenizer_smollm2.json is missing: run tools/make_tokenizer_fixtures.py")
        return try JSONDecoder().decode(TokenizerFixture.self, from: Data(contentsOf: url))
    }
}

final class TokenizerTests: XCTestCase {
    /// Loaded once: the vocabulary is 49k tokens and 49k merges.
    private static let shared: Result<(GGUFFile, BPETokenizer), Error> = Result {
        let gguf = try GGUFFile(path: shippedModelPath())
        return (gguf, try BPETokenizer(gguf: gguf))
    }

    private func tokenizer() throws -> BPETokenizer { try Self.shared.get().1 }

    private func describe(_ ids: [Int32]) -> String { "[" + ids.map(String.init).joined(separator: ", ") + "]" }

    // MARK: - Parity with llama.cpp

    func testEncodeMatchesLlamaCpp() throws {
        let tok = try tokenizer()
        let fixture = try TokenizerFixture.load()
        XCTAssertGreaterThanOrEqual(fixture.cases.count, 220)
        XCTAssertTrue(fixture.cases.contains { !$0.special }, "fixture has no parse_special=false cases")
        var mismatches: [String] = []
        for c in fixture.cases {
            let ids = tok.encode(c.text, specials: c.special ? .all : .userDefined)
            if ids != c.ids {
                mismatches.append("\(c.text.debugDescription) special=\(c.special)\n  llama.cpp: \(describe(c.ids))\n  ours:      \(describe(ids))")
            }
        }
        XCTAssert(mismatches.isEmpty, "\(mismatches.count) of \(fixture.cases.count) differ from llama-cpp-python \(fixture.llama_cpp_python):\n" + mismatches.joined(separator: "\n"))
    }

    /// The same vocabulary under the other pre-tokenizers, against llama.cpp given the same
    /// metadata with another `tokenizer.ggml.pre`.
    func testOtherPreTokenizersMatchLlamaCpp() throws {
        let gguf = try Self.shared.get().0
        let fixture = try TokenizerFixture.load()
        XCTAssertEqual(Set(fixture.pre_tokenizers.keys), ["gpt-2", "llama-bpe", "qwen2", "gpt-4o"])
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (pre, cases) in fixture.pre_tokenizers.sorted(by: { $0.key < $1.key }) {
            let writer = GGUFWriter()
            for key in gguf.metadataKeys {
                writer.add(key: key, value: key == "tokenizer.ggml.pre" ? .string(pre) : gguf.metadata[key]!)
            }
            let url = dir.appendingPathComponent("vocab-\(pre).gguf")
            try writer.write(to: url)
            let tok = try BPETokenizer(gguf: GGUFFile(path: url.path))
            XCTAssertEqual(tok.preTokenizerName, pre)
            var mismatches: [String] = []
            for c in cases {
                let ids = tok.encode(c.text, specials: .all)
                if ids != c.ids {
                    mismatches.append("\(c.text.debugDescription)\n  llama.cpp: \(describe(c.ids))\n  ours:      \(describe(ids))")
                }
            }
            XCTAssert(mismatches.isEmpty, "pre-tokenizer \(pre): \(mismatches.count) of \(cases.count) differ:\n" + mismatches.joined(separator: "\n"))
        }
    }

    /// The same vocabulary with only letter-pair merges (every two ASCII letters whose pair is a
    /// token), so that a word's tokens are pairs from its start and the ids show where the
    /// pre-tokenizer cut: the shipped merges hide many cuts, giving the same ids either way.
    func testWordBoundariesMatchLlamaCpp() throws {
        let gguf = try Self.shared.get().0
        let fixture = try TokenizerFixture.load()
        let tokens = Set(try XCTUnwrap(gguf["tokenizer.ggml.tokens"]?.array).compactMap(\.string))
        let letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".map(String.init)
        let merges = letters.flatMap { a in letters.compactMap { b in tokens.contains(a + b) ? "\(a) \(b)" : nil } }
        XCTAssertEqual(merges.count, fixture.letter_pair_merge_count)
        XCTAssertEqual(Set(fixture.letter_pair_merges.keys), ["llama-bpe", "gpt-4o"])
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (pre, cases) in fixture.letter_pair_merges.sorted(by: { $0.key < $1.key }) {
            let writer = GGUFWriter()
            for key in gguf.metadataKeys {
                switch key {
                case "tokenizer.ggml.pre": writer.add(key: key, value: .string(pre))
                case "tokenizer.ggml.merges": writer.add(key: key, value: .array(merges.map { .string($0) }))
                default: writer.add(key: key, value: gguf.metadata[key]!)
                }
            }
            let url = dir.appendingPathComponent("pairs-\(pre).gguf")
            try writer.write(to: url)
            let tok = try BPETokenizer(gguf: GGUFFile(path: url.path))
            let mismatches = cases.filter { tok.encode($0.text, specials: .all) != $0.ids }.map(\.text.debugDescription)
            XCTAssert(mismatches.isEmpty, "pre-tokenizer \(pre) with letter-pair merges: \(mismatches.count) of \(cases.count) differ: \(mismatches)")
        }
        // The two pre-tokenizers cut these differently (at case changes, after contractions,
        // slashes after punctuation), and the ids show it.
        let gpt4o = Dictionary(uniqueKeysWithValues: fixture.letter_pair_merges["gpt-4o", default: []].map { ($0.text, $0.ids) })
        let llama3 = Dictionary(uniqueKeysWithValues: fixture.letter_pair_merges["llama-bpe", default: []].map { ($0.text, $0.ids) })
        for text in ["camelCaseIdentifier snake_case_identifier kebab-case-identifier SCREAMING_CASE", "don't can't won't shouldn't",
                     "path/to/file/ a//b\n/ ?/\n"] {
            XCTAssertNotEqual(gpt4o[text], llama3[text], text)
        }
    }

    func testDecodeInvertsEncode() throws {
        let tok = try tokenizer()
        let fixture = try TokenizerFixture.load()
        var failures: [String] = []
        for c in fixture.cases {
            let back = tok.decode(tok.encode(c.text, specials: c.special ? .all : .userDefined))
            if back != c.text { failures.append("\(c.text.debugDescription) -> \(back.debugDescription)") }
        }
        XCTAssert(failures.isEmpty, "decode(encode(s)) != s for:\n" + failures.joined(separator: "\n"))
    }

    // MARK: - Vocabulary

    func testShippedVocabulary() throws {
        let tok = try tokenizer()
        XCTAssertEqual(tok.vocabularySize, 49152)
        XCTAssertEqual(tok.bos, 1)
        XCTAssertEqual(tok.eos, 2)
        XCTAssertFalse(tok.addsBOS)
        XCTAssertEqual(tok.preTokenizerName, "smollm")
        XCTAssertEqual(tok.token(forText: "<|im_start|>"), 1)
        XCTAssertEqual(tok.token(forText: "<|im_end|>"), 2)
        XCTAssertEqual(tok.token(forText: "<|endoftext|>"), 0)
        XCTAssertNil(tok.token(forText: "no such token, surely"))
        XCTAssertTrue(tok.isControl(1))
        XCTAssertFalse(tok.isControl(tok.encode("Hello")[0]))
    }

    func testEndOfGeneration() throws {
        let tok = try tokenizer()
        XCTAssertTrue(tok.isEndOfGeneration(tok.eos))
        XCTAssertTrue(tok.isEndOfGeneration(2))  // <|im_end|>
        XCTAssertTrue(tok.isEndOfGeneration(0))  // <|endoftext|>
        XCTAssertFalse(tok.isEndOfGeneration(1))  // <|im_start|>
        for t in tok.encode("Hello, world! 123\n") {
            XCTAssertFalse(tok.isEndOfGeneration(t), "token \(t)")
        }
    }

    func testSpecialTokensOnlyWhenAsked() throws {
        let tok = try tokenizer()
        XCTAssertEqual(tok.encode("<|im_start|>user\nhi<|im_end|>", specials: .all).first, 1)
        XCTAssertEqual(tok.encode("<|im_start|>user\nhi<|im_end|>", specials: .all).last, 2)
        let plain = tok.encode("<|im_start|>")
        XCTAssertGreaterThan(plain.count, 1)
        XCTAssertFalse(plain.contains(1))
        XCTAssertEqual(tok.decode(plain), "<|im_start|>")
        XCTAssertEqual(tok.encode(""), [])
    }

    func testPieces() throws {
        let tok = try tokenizer()
        XCTAssertEqual(tok.piece(1), Array("<|im_start|>".utf8))
        let world = tok.encode(" world")
        XCTAssertEqual(world.count, 1)
        XCTAssertEqual(tok.piece(world[0]), Array(" world".utf8))
        XCTAssertEqual(tok.piece(-1), [])
        XCTAssertEqual(tok.piece(Int32(tok.vocabularySize)), [])
        // A multi-byte character split over byte tokens: each piece alone is not valid UTF-8.
        let ids = tok.encode("🏳️‍🌈")
        XCTAssertEqual(ids.flatMap(tok.piece), Array("🏳️‍🌈".utf8))
    }

    // MARK: - Streaming text

    func testStreamDecoderHoldsSplitSequences() {
        let text = "aé中😀z"
        var decoder = UTF8StreamDecoder()
        var out = ""
        var emittedAfter: [String] = []
        for b in Array(text.utf8) {
            let s = decoder.append([b])
            emittedAfter.append(s)
            out += s
        }
        out += decoder.finish()
        XCTAssertEqual(out, text)
        // "é" is 2 bytes, "中" 3, "😀" 4: nothing comes out until each is complete.
        XCTAssertEqual(emittedAfter, ["a", "", "é", "", "", "中", "", "", "", "😀", "z"])
        XCTAssertEqual(decoder.pendingByteCount, 0)
    }

    func testStreamDecoderInvalidAndUnfinishedInput() {
        var decoder = UTF8StreamDecoder()
        // A stray continuation byte and an impossible lead byte are replaced at once.
        XCTAssertEqual(decoder.append([0x80, 0x41, 0xFF]), "\u{FFFD}A\u{FFFD}")
        // E0 must be followed by A0...BF: E0 80 can never complete, so it is not held.
        XCTAssertEqual(decoder.append([0xE0, 0x80]), "\u{FFFD}\u{FFFD}")
        XCTAssertEqual(decoder.pendingByteCount, 0)
        // A valid but unfinished sequence is held, and replaced if the stream ends there.
        XCTAssertEqual(decoder.append([0xF0, 0x9F]), "")
        XCTAssertEqual(decoder.pendingByteCount, 2)
        XCTAssertEqual(decoder.finish(), "\u{FFFD}")
        XCTAssertEqual(decoder.pendingByteCount, 0)
        // An unfinished sequence interrupted by ASCII.
        XCTAssertEqual(decoder.append([0xE4, 0xB8]), "")
        XCTAssertEqual(decoder.append([0x41]), "\u{FFFD}A")
    }

    func testStreamingTokenPiecesRebuildsText() throws {
        let tok = try tokenizer()
        for text in ["Hello 👨‍👩‍👧‍👦 你好 🇫🇷 नमस्ते café", "<|im_start|>user\n😀<|im_end|>"] {
            var decoder = UTF8StreamDecoder()
            var out = ""
            for t in tok.encode(text) { out += decoder.append(tok.piece(t)) }
            out += decoder.finish()
            XCTAssertEqual(out, text)
        }
    }

    // MARK: - Chat templates

    func testChatMLDetectedAndRendered() throws {
        let tok = try tokenizer()
        XCTAssertEqual(tok.promptFormat, .chatML)
        let messages = [
            ChatMessage(role: "system", content: "You are Jarvis."),
            ChatMessage(role: "user", content: "What time is it?"),
        ]
        let prompt = try tok.chatFormat().render(messages, addGenerationPrompt: true)
        XCTAssertEqual(prompt, "<|im_start|>system\nYou are Jarvis.<|im_end|>\n<|im_start|>user\nWhat time is it?<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(try PromptFormat.chatML.render([messages[1]], addGenerationPrompt: false),
                       "<|im_start|>user\nWhat time is it?<|im_end|>\n")
        // No system message is invented when the caller gives none.
        XCTAssertEqual(try PromptFormat.chatML.render([], addGenerationPrompt: true), "<|im_start|>assistant\n")
        let ids = tok.encode(prompt, specials: .all)
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(ids.filter { $0 == 1 }.count, 3)
        XCTAssertEqual(ids.filter { $0 == 2 }.count, 2)
    }

    /// The templates of released models (Llama 3.1 and 3.2, Qwen2.5, Qwen3, SmolLM3, Gemma 2,
    /// Phi-3.5), as llama.cpp's pinned source keeps them (tools/make_family_chat_fixtures.py).
    func testReleasedModelsTemplatesAreRecognised() throws {
        struct Fixture: Decodable {
            struct Template: Decodable { let model, format, template: String }
            let templates: [Template]
        }
        let url = try XCTUnwrap(Bundle.module.url(forResource: "chat_templates", withExtension: "json", subdirectory: "Fixtures"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.templates.count, 7)
        for t in fixture.templates {
            XCTAssertEqual(PromptFormat(jinja: t.template).map { "\($0)" }, t.format, t.model)
        }
    }

    func testChatTemplateDetection() throws {
        XCTAssertEqual(PromptFormat(jinja: "{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}"), .chatML)
        XCTAssertEqual(PromptFormat(jinja: "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>' }}"), .llama3)
        XCTAssertNil(PromptFormat(jinja: "[INST] {{ content }} [/INST]"))
        XCTAssertEqual(
            try PromptFormat.llama3.render([ChatMessage(role: "user", content: "  hi \n")], addGenerationPrompt: true),
            "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        let message = ChatMessage(role: "user", content: "hé")
        XCTAssertEqual(try JSONDecoder().decode(ChatMessage.self, from: JSONEncoder().encode(message)), message)
    }

    // MARK: - Errors

    /// A minimal tokenizer file: three byte tokens and one merge, with the given overrides.
    private func tinyTokenizerFile(in dir: URL, model: String = "gpt2", pre: String = "gpt-2",
                                   merges: Bool = true, chatTemplate: String? = nil) throws -> String {
        let writer = GGUFWriter()
            .add(key: "general.architecture", value: .string("llama"))
            .add(key: "tokenizer.ggml.model", value: .string(model))
            .add(key: "tokenizer.ggml.pre", value: .string(pre))
            .add(key: "tokenizer.ggml.tokens", value: .array(["<|endoftext|>", "a", "b", "ab", "Ġ"].map(GGUFValue.string)))
            .add(key: "tokenizer.ggml.token_type", value: .array([3, 1, 1, 1, 1].map(GGUFValue.int32)))
            .add(key: "tokenizer.ggml.eos_token_id", value: .uint32(0))
        if merges { writer.add(key: "tokenizer.ggml.merges", value: .array([.string("a b")])) }
        if let chatTemplate { writer.add(key: "tokenizer.chat_template", value: .string(chatTemplate)) }
        let url = dir.appendingPathComponent("tiny-\(UUID().uuidString).gguf")
        try writer.write(to: url)
        return url.path
    }

    private func assertEngineError(_ code: EngineError.Code, mentioning path: String, _ body: () throws -> Void,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? EngineError else {
                return XCTFail("expected EngineError, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(e.code, code, "\(e)", file: file, line: line)
            XCTAssertTrue(e.message.contains(path), "message does not name the file: \(e.message)", file: file, line: line)
        }
    }

    func testTinyTokenizerFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tok = try BPETokenizer(gguf: GGUFFile(path: tinyTokenizerFile(in: dir)))
        XCTAssertEqual(tok.vocabularySize, 5)
        XCTAssertNil(tok.bos)
        XCTAssertEqual(tok.eos, 0)
        XCTAssertNil(tok.promptFormat)
        XCTAssertEqual(tok.encode("abba<|endoftext|>", specials: .all), [3, 2, 1, 0])
        // " a": the space is "Ġ" (4) and has no merge with "a"; "c" has no token at all.
        XCTAssertEqual(tok.encode(" ab c"), [4, 3, 4])
        XCTAssertThrowsError(try tok.chatFormat()) { error in
            XCTAssertEqual((error as? EngineError)?.code, .unsupported)
        }
    }

    func testUnsupportedTokenizerModel() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try tinyTokenizerFile(in: dir, model: "t5")
        assertEngineError(.unsupported, mentioning: path) { _ = try BPETokenizer(gguf: GGUFFile(path: path)) }
        // The message names the model and what is supported.
        XCTAssertThrowsError(try BPETokenizer(gguf: GGUFFile(path: path))) { error in
            let message = (error as? EngineError)?.message ?? ""
            for word in ["\"t5\"", "\"gpt2\"", "\"llama\""] { XCTAssertTrue(message.contains(word), message) }
        }
    }

    func testUnsupportedPreTokenizer() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try tinyTokenizerFile(in: dir, pre: "deepseek-coder")
        assertEngineError(.unsupported, mentioning: path) { _ = try BPETokenizer(gguf: GGUFFile(path: path)) }
    }

    func testMissingMerges() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try tinyTokenizerFile(in: dir, merges: false)
        assertEngineError(.modelMismatch, mentioning: path) { _ = try BPETokenizer(gguf: GGUFFile(path: path)) }
    }

}
