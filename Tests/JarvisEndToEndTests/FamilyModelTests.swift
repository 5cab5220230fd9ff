import Foundation
import JarvisProtocol
import XCTest

/// jarvisd on the tiny random model of every family (Tests/JarvisEngineTests/Fixtures/families,
/// from tools/make_family_fixtures.py, with a byte-level test vocabulary and no chat template, so
/// ChatML), then llama3, qwen3 and smollm3 again with their released models' chat templates and
/// turn tokens (tools/make_family_chat_fixtures.py), and phi3 and gemma3 with SentencePiece
/// vocabularies and their own chat formats (Fixtures/spm, from
/// tools/make_spm_tokenizer_fixtures.py), one after another on one store: each start announces
/// the chat format it recognised, re-encodes
/// the entries stored under the model before, answers a question from the remembered note,
/// and gives the note back byte for byte. (A random model's words mean nothing; what is checked
/// is that it loads, answers to the end, and rests the answer on the note.)
final class FamilyModelTests: XCTestCase {
    /// Each model and the chat format jarvisd should answer in.
    static let families = [("families/llama3", "ChatML"), ("families/qwen2", "ChatML"), ("families/qwen3", "ChatML"),
                           ("families/smollm3", "ChatML"), ("families/phi3", "ChatML"), ("families/gemma3", "ChatML"),
                           ("families/llama3_chat", "Llama 3"), ("families/qwen3_chat", "Qwen3"), ("families/smollm3_chat", "SmolLM3"),
                           ("spm/phi3_spm", "Phi-3"), ("spm/gemma3_spm", "Gemma")]

    func testEveryFamilyAnswersFromARememberedNote() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("JarvisEngineTests/Fixtures")
        let note = "Cabin wifi: pine-cone-42 <|im_start|> café 🍕"
        var previous: DaemonProcess?
        var owner: DaemonProcess?  // holds the directory, which goes with it
        for (i, (family, format)) in Self.families.enumerated() {
            let model = fixtures.appendingPathComponent("\(family).gguf").path
            let d = try DaemonProcess(name: String(family.split(separator: "/").last!), extraArguments: ["--model", model], reusing: previous)
            try d.start()
            XCTAssertTrue(d.startMessages.contains("STATUS=answering in the \(format) chat format"), "\(family): \(d.startMessages)")
            if i == 0 {
                let r = try d.ctl("remember", "--name", "wifi", note)
                XCTAssertEqual(r.status, 0, "\(family): \(r.stderr)")
            } else {
                XCTAssertTrue(d.startMessages.contains { $0.contains("re-encoding stored entries") },
                              "\(family): the entry computed under \(Self.families[i - 1].0) was not re-encoded: \(d.startMessages)")
            }
            var r = try d.ctl("ask", "--json", "--max-tokens", "6", "Cabin wifi password?")
            XCTAssertEqual(r.status, 0, "\(family): \(r.stderr)\n\(d.logText())")
            let answer = try JSONDecoder().decode(AskResult.self, from: Data(r.stdout.utf8))
            XCTAssertEqual(answer.entries, [1], family)
            XCTAssertGreaterThan(answer.tokens, 0, family)
            r = try d.ctl("show", "--json", "wifi")
            XCTAssertEqual(r.status, 0, "\(family): \(r.stderr)")
            let entry = try JSONDecoder().decode(EntryInfo.self, from: Data(r.stdout.utf8))
            XCTAssertEqual(Array(entry.text.utf8), Array(note.utf8), family)
            XCTAssertEqual(d.stop(), 0, "\(family): \(d.logText())")
            previous = d
            owner = owner ?? d
        }
        withExtendedLifetime(owner) {}
    }
}
