import Foundation
import JarvisClient
import JarvisProtocol
import XCTest

/// `jarvisctl remember DIR` as a bulk import against the real jarvisd: killed half-way and run
/// again, it stores every file once; `--sync` replaces changed files and lists vanished ones;
/// `list` in pages covers the store.
final class BulkImportTests: XCTestCase {
    func entries(_ d: DaemonProcess) throws -> [EntryInfo] {
        let r = try d.ctl("list", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONDecoder().decode([EntryInfo].self, from: Data(r.stdout.utf8))
    }

    func testAnImportKilledHalfWayResumesWithoutDuplicates() throws {
        let d = try DaemonProcess(name: "bulk")
        try d.start()
        let folder = d.directory + "/notes"
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        var texts: [String: String] = [:]
        for i in 0..<24 {
            let path = folder + (i % 3 == 0 ? "/sub" : "") + String(format: "/note-%02d.md", i)
            texts[path] = "Note \(i): parcel \(i * 7) waits on shelf \(i % 5).\nCode: x\(i)-\(i * i)\r\n"
            try texts[path]!.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try "not a note".write(toFile: folder + "/ignored.bin", atomically: true, encoding: .utf8)

        // kill -9 once a few files are in.
        let run = Process()
        run.executableURL = URL(fileURLWithPath: try Programs.path("jarvisctl"))
        run.arguments = ["remember", "--socket", d.socket, folder]
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        let deadline = Date().addingTimeInterval(120)
        while try entries(d).count < 4, Date() < deadline { usleep(100_000) }
        kill(run.processIdentifier, SIGKILL)
        run.waitUntilExit()
        let partial = try entries(d).count
        XCTAssertGreaterThanOrEqual(partial, 4)
        XCTAssertLessThan(partial, 24, "killed before the end")

        // Run again: what is stored is skipped, the rest is stored, nothing twice.
        let again = try d.ctl("remember", folder)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("remembered already"), again.stdout)
        var stored = try entries(d)
        XCTAssertEqual(stored.count, 24)
        XCTAssertEqual(Dictionary(grouping: stored, by: { $0.metadata["path"] ?? "" }).mapValues { $0.map(\.text) },
                       texts.mapValues { [$0] }, "every file once, verbatim, with its path")
        XCTAssertEqual(try d.ctl("remember", folder).stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                       "24 items were remembered already (--again stores them anew)")

        // --sync: a changed file replaces its entry; a deleted one is listed and kept.
        let changed = folder + "/note-01.md", deleted = folder + "/sub/note-03.md"
        let oldID = try XCTUnwrap(stored.first { $0.metadata["path"] == changed }).id
        try "Note 1, rewritten: the parcel moved to shelf 9.".write(toFile: changed, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: deleted)
        let sync = try d.ctl("remember", "--sync", folder)
        XCTAssertEqual(sync.status, 0, sync.stderr)
        XCTAssertTrue(sync.stdout.contains("forgot 1 entry of changed files: \(oldID)"), sync.stdout)
        XCTAssertTrue(sync.stdout.contains("\(deleted) is gone; its entries stay"), sync.stdout)
        stored = try entries(d)
        XCTAssertEqual(stored.count, 24)
        XCTAssertEqual(stored.filter { $0.metadata["path"] == changed }.map(\.text), ["Note 1, rewritten: the parcel moved to shelf 9."])

        // list in pages: every entry once, in id order, with `next` until the last page.
        var paged: [UInt64] = [], after: String?
        repeat {
            let r = try d.ctl(["list", "--json", "--limit", "10"] + (after.map { ["--after", $0] } ?? []))
            XCTAssertEqual(r.status, 0, r.stderr)
            struct Page: Decodable { let entries: [EntryInfo]; let next: UInt64? }
            let page = try JSONDecoder().decode(Page.self, from: Data(r.stdout.utf8))
            XCTAssertLessThanOrEqual(page.entries.count, 10)
            paged += page.entries.map(\.id)
            after = page.next.map(String.init)
        } while after != nil
        XCTAssertEqual(paged, stored.map(\.id))

        // status: what the store costs per token, over the tokens the entries hold.
        let status = try JSONDecoder().decode(StatusResult.self, from: Data(try d.ctl("status", "--json").stdout.utf8))
        XCTAssertEqual(status.storeTokens, stored.reduce(0) { $0 + $1.tokens })
        XCTAssertEqual(status.bytesPerToken, Double(status.storeBytes) / Double(status.storeTokens), accuracy: 1e-6)

        // Bad input: a directory that is not there; a file that is not UTF-8 among good ones,
        // which are still stored.
        let missing = try d.ctl("remember", d.directory + "/no-such-folder")
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no-such-folder: no such file or directory"), missing.stderr)
        let mixed = d.directory + "/mixed"
        try FileManager.default.createDirectory(atPath: mixed, withIntermediateDirectories: true)
        try Data([0x4e, 0x6f, 0x74, 0x65, 0xff, 0xfe, 0x0a]).write(to: URL(fileURLWithPath: mixed + "/latin1.md"))
        try "A good note in a mixed folder.".write(toFile: mixed + "/good.md", atomically: true, encoding: .utf8)
        let bad = try d.ctl("remember", mixed)
        XCTAssertEqual(bad.status, 1, bad.stdout)
        XCTAssertTrue(bad.stderr.contains("latin1.md: not UTF-8 text"), bad.stderr)
        XCTAssertTrue(try entries(d).contains { $0.text == "A good note in a mixed folder." }, "the readable file is stored")
        XCTAssertEqual(d.stop(), 0)
    }
}
