import Foundation
import XCTest
import JarvisEngine
@testable import JarvisMemory

/// Chunks are exact spans: over a corpus of Markdown (tables, fenced code, links, lists), CRLF
/// text, non-Latin scripts and emoji, notes full of passwords and URLs, and the real documents
/// of the docqa set, the chunks concatenate to the text byte for byte, fit the limit with their
/// context, and keep structure.
final class DocumentChunkerTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let markdown = """
        # Jarvis field notes

        [![build](https://travis-ci.org/x/y.svg)](https://travis-ci.org/x/y) A short intro with a [link](https://example.org/a?b=c&d=e).

        ## Network

        The router is at 192.168.1.1 and the admin password is Tr0ub4dor.3!x?yes — keep it safe. The guest network is called pine-cone.

        | device | address | owner |
        |---|---|---|
        \((1...30).map { "| laptop-\($0) | 192.168.1.\($0 + 10) | person \($0) |" }.joined(separator: "\n"))

        ## Install

        1. Download the archive from https://example.org/downloads/jarvis-0.6.tar.gz and check it.
        2. Unpack it:
           ```sh
           tar xf jarvis-0.6.tar.gz
           ```
        3. Run `scripts/setup`, then `scripts/demo`.

        ```swift
        \((1...40).map { "let value\($0) = compute(\($0)) // line \($0) of a long listing" }.joined(separator: "\n"))
        ```

        - first item of a list that says something about the setup
        - second item, with a URL https://docs.example.org/install#linux
          that goes on over a second line
        - third item

        ## License

        ISC
        """

    static let crlf = (1...25).map { "Line \($0): the quick brown fox jumps over the lazy dog.\r\n" }.joined() + "\r\nLast paragraph, CRLF to the end.\r\n"

    static let scripts = """
        日本語の文章です。東京は日本の首都です。京都には古いお寺がたくさんあります。\(String(repeating: "富士山はとても高い山です。", count: 12))

        Русский текст: Москва — столица России. \(String(repeating: "Санкт-Петербург стоит на Неве. ", count: 10))

        Emoji: 🏳️‍🌈 👩🏽‍💻 🇵🇹 \(String(repeating: "🎉🎂 party time! ", count: 20))

        العربية: القاهرة عاصمة مصر.
        """

    static let longNote = "My accounts. " + (1...30).map {
        "Account \($0): user jdoe\($0)@example.com, password Pa$$w0rd.\($0)!x?yes, server https://srv\($0).example.net:8443/login?next=/home, IP 10.0.\($0).1."
    }.joined(separator: " ") + " [![badge](https://img.shields.io/x)](https://travis-ci.org/a/b)"

    func chunker(limit: Int, file: String?) throws -> DocumentChunker {
        let (_, tok) = try StoredRunsTests.shared.get()
        return DocumentChunker(limit: limit) { tok.encode(AnswerPrompt.entryText($0, file: file)).count }
    }

    func corpus() throws -> [(name: String, text: String)] {
        var docs = [("markdown.md", Self.markdown), ("crlf.txt", Self.crlf), ("scripts.txt", Self.scripts), ("note", Self.longNote)]
        let dir = Self.repository.appendingPathComponent("bench/docqa/docs")
        for name in ["tabulate-readme.md", "diskcache-readme.rst", "simplejson-changes.txt", "lark-readme.md"] {
            docs.append((name, try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)))
        }
        return docs
    }

    func testChunksAreExactSpansUnderTheLimit() throws {
        for (name, text) in try corpus() {
            for limit in [64, 160] {
                let c = try chunker(limit: limit, file: name)
                let chunks = c.chunks(of: text)
                XCTAssertEqual(Array(chunks.map(\.text).joined().utf8), Array(text.utf8), "\(name) at \(limit): the chunks give the text back")
                for (i, chunk) in chunks.enumerated() {
                    XCTAssertLessThanOrEqual(c.tokens(chunk), limit, "\(name) at \(limit), chunk \(i): \(chunk.text.prefix(80).debugDescription)")
                    XCTAssertFalse(chunk.text.isEmpty)
                    if i < chunks.count - 1, let last = chunk.text.split(whereSeparator: \.isNewline).last(where: { !$0.allSatisfy(\.isWhitespace) }) {
                        XCTAssertNil(DocumentChunker.heading(last), "\(name) at \(limit): chunk \(i) ends with a heading")
                    }
                }
                // Small chunks are ones no neighbour could take.
                for (i, chunk) in chunks.enumerated() where chunks.count > 1 && c.tokens(chunk) < c.small {
                    let before = i > 0 ? c.tokens(.init(text: chunks[i - 1].text + chunk.text, headings: chunks[i - 1].headings, tableHeader: chunks[i - 1].tableHeader)) : .max
                    let after = i + 1 < chunks.count ? c.tokens(.init(text: chunk.text + chunks[i + 1].text, headings: chunk.headings, tableHeader: chunk.tableHeader)) : .max
                    XCTAssertTrue(before > limit && after > limit, "\(name) at \(limit): chunk \(i) is small (\(c.tokens(chunk)) tokens) but fits with a neighbour")
                }
            }
        }
    }

    func testWordsURLsAndPasswordsAreNeverCut() throws {
        let c = try chunker(limit: 64, file: nil)
        let chunks = c.chunks(of: Self.markdown + "\n\n" + Self.longNote).map(\.text)
        XCTAssertGreaterThan(chunks.count, 5)
        for whole in ["192.168.1.1", "Tr0ub4dor.3!x?yes", "https://travis-ci.org/x/y.svg", "[![build]", "Pa$$w0rd.17!x?yes",
                      "https://srv29.example.net:8443/login?next=/home", "10.0.30.1."] {
            XCTAssertTrue(chunks.contains { $0.contains(whole) }, "\(whole) was cut")
        }
        // Every cut falls on white space or a line end.
        for (a, b) in zip(chunks, chunks.dropFirst()) {
            XCTAssertTrue(a.last!.isWhitespace || b.first!.isWhitespace, "cut inside a word: …\(a.suffix(20).debugDescription) | \(b.prefix(20).debugDescription)…")
        }
    }

    func testStructureIsKept() throws {
        let c = try chunker(limit: 160, file: "notes.md")
        let chunks = c.chunks(of: Self.markdown)
        // A heading starts its chunk (or sits in one that began small) and its section follows.
        let license = try XCTUnwrap(chunks.first { $0.text.contains("## License") })
        XCTAssertTrue(license.text.contains("ISC"))
        // The table is cut between rows, and every chunk that continues it repeats its header.
        let rows = chunks.filter { $0.text.contains("| laptop-") }
        XCTAssertGreaterThan(rows.count, 1)
        for chunk in rows.dropFirst() {
            XCTAssertEqual(chunk.tableHeader, "| device | address | owner |\n|---|---|---|\n")
            XCTAssertTrue(chunk.text.hasPrefix("| laptop-"), chunk.text.prefix(40).debugDescription)
            XCTAssertEqual(chunk.headings, ["Jarvis field notes", "Network"])
            XCTAssertTrue(AnswerPrompt.entryText(chunk, file: "notes.md").hasPrefix("[notes.md › Jarvis field notes › Network]\n| device | address | owner |\n"))
        }
        XCTAssertTrue(rows.allSatisfy { $0.text.split(separator: "\n").allSatisfy { !$0.hasPrefix("| laptop-") || $0.hasSuffix("|") } }, "rows are whole")
        // The short fenced block stays in one chunk; the long one is cut between lines.
        XCTAssertTrue(chunks.contains { $0.text.contains("```sh\n   tar xf jarvis-0.6.tar.gz\n   ```") })
        let listing = chunks.filter { $0.text.contains("let value") }
        XCTAssertGreaterThan(listing.count, 1)
        for chunk in listing { XCTAssertTrue(chunk.text.split(separator: "\n").allSatisfy { !$0.hasPrefix("let value") || $0.hasSuffix("listing") }) }
        XCTAssertEqual(listing.last?.headings, ["Jarvis field notes", "Install"])
        // A short note is one chunk, exactly itself.
        XCTAssertEqual(c.chunks(of: "My dog is Rex.").map(\.text), ["My dog is Rex."])
        XCTAssertEqual(AnswerPrompt.entryText("My dog is Rex."), "- My dog is Rex.\n")
    }

    func testLongNamesAndHeadingsLeaveRoomForText() throws {
        let (_, tok) = try StoredRunsTests.shared.get()
        let limit = 160
        let words = (1...60).map { "section\($0)" }.joined(separator: " ")
        let paragraph = (1...40).map { "Line \($0) of the notes says the value is \($0 * 7)." }.joined(separator: " ")
        let text = "# \(words)\n\n## \(words) two\n\n### \(words) three\n\n\(paragraph)\n\n# \(String(repeating: "very long heading ", count: 80))\n\n\(paragraph)\n"
        // A file name is cut to half the limit, keeping its end (as `TextMemory.label` does).
        let file = String(repeating: "a-very-long-file-name-", count: 20) + "notes.md"
        let empty = DocumentChunker.Chunk(text: "", headings: [], tableHeader: nil)
        let label = DocumentChunker.shortened(file, keepingEnd: true) { tok.encode(AnswerPrompt.entryText(empty, file: $0)).count <= limit / 2 }
        XCTAssertTrue(label.hasPrefix("…") && label.hasSuffix("-notes.md"), label)
        XCTAssertLessThanOrEqual(tok.encode(AnswerPrompt.entryText(empty, file: label)).count, limit / 2)
        XCTAssertEqual(DocumentChunker.shortened("notes.md", keepingEnd: true) { _ in true }, "notes.md")
        // Under that name, or a short one, the chunks are the text, each with a fair share of it.
        for name in [label, "notes.md"] {
            let c = DocumentChunker(limit: limit) { tok.encode(AnswerPrompt.entryText($0, file: name)).count }
            let chunks = c.chunks(of: text)
            XCTAssertEqual(Array(chunks.map(\.text).joined().utf8), Array(text.utf8), "the chunks give the text back")
            for chunk in chunks {
                XCTAssertLessThanOrEqual(c.tokens(chunk), limit)
                XCTAssertLessThanOrEqual(c.tokens(.init(text: "", headings: chunk.headings, tableHeader: nil)), limit / 2, "the context takes at most half")
            }
            // A few tens of chunks, not hundreds of slivers.
            let textTokens = tok.encode(text).count
            XCTAssertLessThanOrEqual(chunks.count, textTokens / (limit / 8) + 4, "\(name): \(chunks.count) chunks for \(textTokens) tokens")
            if name == "notes.md" {
                // With room for headings, the innermost is the one kept, cut short.
                let last = try XCTUnwrap(chunks.last?.headings.last)
                XCTAssertTrue(last.hasPrefix("very long heading") && last.hasSuffix("…"), last)
            }
        }
    }
}
