import Foundation
import JarvisClient
import JarvisProtocol
import XCTest

/// `jarvisctl export` and `jarvisctl import` against the real jarvisd: every entry comes back
/// into an empty store with its text byte for byte, its name, aliases, kind and metadata; a
/// second import adds nothing; a line that does not parse stops the import by its number and
/// keeps what came before it.
final class ExportImportTests: XCTestCase {
    static let photos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("JarvisEngineTests/Fixtures/photos")

    /// What an import keeps of an entry: everything but its id, creation time and token count
    /// (which the current model decides).
    struct Kept: Equatable {
        let text: [UInt8]
        let name: String?
        let aliases: [String]
        let kind: String
        let metadata: [String: String]
        init(_ e: EntryInfo) {
            text = Array(e.text.utf8); name = e.name; aliases = e.aliases; kind = e.kind; metadata = e.metadata
        }
    }

    func testExportThenImportIntoAnEmptyStoreKeepsEveryEntry() throws {
        let d = try DaemonProcess(name: "export")
        try d.start()
        let c = try JarvisConnection(socketPath: d.socket)
        _ = try BackupTests.rememberEntries(c)
        var r = try d.ctl("remember", "--name", "mug", "--alias", "the gift mug", "--note", "a gift from Ana",
                          Self.photos.appendingPathComponent("mug_badge.png").path)
        XCTAssertEqual(r.status, 0, r.stderr)
        guard case .entries(let before, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }
        XCTAssertTrue(before.contains { $0.kind == "photo" } && before.contains { $0.kind == "file" } && before.contains { $0.kind == "fact" })

        let export = d.directory + "/memories.jsonl"
        r = try d.ctl("export", export)
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOfFile: export, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, before.count + 2, "a header, one line per entry, and the final newline")
        XCTAssertEqual(try MemoryExport.header(String(lines[0])).entries, before.count)
        // No model state: nothing about tokens or fingerprints.
        XCTAssertFalse(text.contains("\"tokens\"") || text.contains("fingerprint"))
        let photoLine = try MemoryExport.entry(String(try XCTUnwrap(lines.first { $0.contains("\"kind\":\"photo\"") })))
        XCTAssertEqual(photoLine.photo, Self.photos.appendingPathComponent("mug_badge.png").path)
        // Standard output gets the same entries.
        r = try d.ctl("export")
        XCTAssertEqual(r.stdout.split(separator: "\n").dropFirst(), lines.dropFirst().filter { !$0.isEmpty }[...])
        XCTAssertEqual(d.stop(), 0, d.logText())

        // An empty store, by another daemon.
        let fresh = try DaemonProcess(name: "import")
        try fresh.start()
        r = try fresh.ctl("import", export)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("imported \(before.count) entries, skipped 0"), r.stdout)
        let fc = try JarvisConnection(socketPath: fresh.socket)
        guard case .entries(let after, _, _) = try fc.call(.list(.all)) else { return XCTFail("list after import") }
        XCTAssertEqual(after.map(Kept.init), before.map(Kept.init))
        for t in BackupTests.awkwardTexts {
            XCTAssertTrue(after.contains { Array($0.text.utf8) == Array(t.utf8) }, "\(t.debugDescription) came back")
        }

        // Importing again adds nothing.
        r = try fresh.ctl("import", export)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("imported 0 entries, skipped \(before.count)"), r.stdout)
        guard case .entries(let again, _, _) = try fc.call(.list(.all)) else { return XCTFail("list") }
        XCTAssertEqual(again.map(\.id), after.map(\.id))
        XCTAssertEqual(fresh.stop(), 0, fresh.logText())
    }

    func testABadLineStopsTheImportAndKeepsTheLinesBeforeIt() throws {
        let d = try DaemonProcess(name: "badline")
        try d.start()
        let header = try MemoryExport.line(MemoryExport.Header(entries: 4, exportedMs: 0))
        func entry(_ text: String, name: String? = nil) throws -> String {
            try MemoryExport.line(MemoryExport.Entry(id: nil, name: name, aliases: [], kind: "note", createdMs: nil, text: text,
                                                     metadata: [:], photo: nil))
        }
        let good1 = try entry("The spare key is under the blue flower pot.", name: "key")
        let good2 = try entry("The wifi password is on the fridge.")
        let good3 = try entry("Bins go out on Tuesday night.")
        let file = d.directory + "/broken.jsonl"
        // Windows line ends and a blank line are read; line 5 is cut short.
        let broken = [header, good1, "", good2, String(good3.prefix(20)), good3].joined(separator: "\r\n") + "\r\n"
        try broken.write(toFile: file, atomically: true, encoding: .utf8)

        var r = try d.ctl("import", file)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("line 5: does not parse"), r.stderr)
        XCTAssertTrue(r.stderr.contains("imported 2, skipped 0"), r.stderr)
        let c = try JarvisConnection(socketPath: d.socket)
        guard case .entries(let kept, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }
        XCTAssertEqual(kept.map(\.text), ["The spare key is under the blue flower pot.", "The wifi password is on the fridge."])
        XCTAssertEqual(kept.first?.name, "key")

        // Fixed, it imports the rest and skips what is there.
        try broken.replacingOccurrences(of: String(good3.prefix(20)) + "\r\n", with: "").write(toFile: file, atomically: true, encoding: .utf8)
        r = try d.ctl("import", file)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("imported 1 entries, skipped 2"), r.stdout)

        // Not an export at all, a wrong kind, a photo without its file: named by line.
        for (lines, fragment) in [(["{\"hello\": 1}"], "line 1: not a Jarvis export"),
                                  ([header, "{\"kind\": \"poem\", \"text\": \"x\"}"], "line 2: does not parse: kind must be one of"),
                                  ([header, "{\"kind\": \"note\"}"], "line 2: does not parse: the entry has no \"text\""),
                                  ([header, "{\"kind\": \"photo\", \"text\": \"Photo gone.jpg\", \"photo\": \"/nowhere/gone.jpg\"}"], "line 2: /nowhere/gone.jpg")] {
            r = try d.ctl("import", "-", input: lines.joined(separator: "\n") + "\n")
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains(fragment), "\(fragment): \(r.stderr)")
        }
        guard case .entries(let all, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }
        XCTAssertEqual(all.count, 3)
        XCTAssertEqual(d.stop(), 0, d.logText())
    }
}
