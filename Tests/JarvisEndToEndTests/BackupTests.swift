import Foundation
import JarvisClient
import JarvisProtocol
import XCTest

/// `jarvisctl backup DIR` against the real jarvisd: a compacted copy taken while the daemon
/// serves, which a second daemon then serves entry for entry; targets that cannot be used and a
/// full disk get clear errors and leave nothing behind.
final class BackupTests: XCTestCase {
    /// Notes whose text must survive byte for byte.
    static let awkwardTexts = [
        "Line one\nline two\n\tindented with a tab\n",
        "The router password is Tr0ub4dor&3!\"'`$HOME \\n not a newline",
        "Docs at https://example.com/a/b?c=d&e=%20f#frag, mirror at ftp://mirror.example.org/",
        "Dinner with Ana 🍝🇵🇹 at 19:30 — café « Au Lapin » (naïve résumé, e\u{301} decomposed)",
        "Windows notes\r\nsecond line\r\n\r\nlast line",
    ]

    /// Each entry of `b` is the same as the one of `a` at its place: id, name, aliases, kind,
    /// creation time, token count, metadata, and text byte for byte.
    static func assertSame(_ a: [EntryInfo], _ b: [EntryInfo], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.id), b.map(\.id), file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(Array(x.text.utf8), Array(y.text.utf8), "entry \(x.id)'s text", file: file, line: line)
            XCTAssertEqual(x, y, file: file, line: line)
        }
    }

    /// Remembers the test's entries: named notes with aliases and metadata, a fact, a file of
    /// two parts and the awkward texts.
    static func rememberEntries(_ c: JarvisConnection) throws -> [EntryInfo] {
        var stored: [EntryInfo] = []
        func remember(_ r: Request.Remember) throws {
            guard case .entries(let e, _, _) = try c.call(.remember(r)) else { return XCTFail("remember") }
            stored += e
        }
        try remember(.init(text: "My dog Rex has a red collar and a tag with my number.", name: "Rex", aliases: ["the dog", "Rexie"],
                           metadata: ["category": "pet", "colour": "red"]))
        try remember(.init(text: "Ana (sister). city: Porto; job: bookshop.", name: "Ana", kind: .fact, metadata: ["category": "person", "city": "Porto"]))
        try remember(.init(text: "# Trip\n\nThe ferry leaves at 7:40 from pier 3.\n\n## Hotel\n\nRoom 214, breakfast from 7.\n", kind: .file,
                           metadata: ["file": "trip.md"]))
        for text in awkwardTexts { try remember(.init(text: text)) }
        return stored
    }

    func testABackupTakenWhileServingIsServedEntryForEntry() throws {
        let d = try DaemonProcess(name: "backup")
        try d.start()
        let c = try JarvisConnection(socketPath: d.socket)
        _ = try Self.rememberEntries(c)
        guard case .entries(let before, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }

        // The backup is taken while an ask is being answered on another connection.
        let asker = try JarvisConnection(socketPath: d.socket)
        let ask = try asker.send(.ask(.init(question: "What colour is Rex's collar?", maxTokens: 48)))
        let target = d.directory + "/backups/first"
        try FileManager.default.createDirectory(atPath: d.directory + "/backups", withIntermediateDirectories: true)
        var r = try d.ctl("backup", "--json", target)
        XCTAssertEqual(r.status, 0, r.stderr)
        let result = try JSONDecoder().decode(BackupResult.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(result.directory, target)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["data.mdb"], "no temporary file is left")
        XCTAssertEqual(result.bytes, try FileManager.default.attributesOfItem(atPath: target + "/data.mdb")[.size] as? Int)
        var answered = false
        while !answered {
            let reply = try asker.receive()
            guard reply.id == ask else { continue }
            switch reply.event {
            case .done(.ask(let a)): XCTAssertFalse(a.entries.isEmpty); answered = true
            case .done, .error: return XCTFail("the ask during the backup ended with \(reply.event)")
            default: continue
            }
        }
        // Written after the backup: not in it.
        guard case .entries(let later, _, _) = try c.call(.remember(.init(text: "Remembered after the backup: the spare key is under the mat."))) else {
            return XCTFail("remember after the backup")
        }

        // The same target again, a file, a relative path and a missing parent are refused, and
        // leave nothing behind.
        r = try d.ctl("backup", target)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("already holds a store") && r.stderr.contains("[bad_path]"), r.stderr)
        let file = d.directory + "/backups/a-file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        r = try d.ctl("backup", file)
        XCTAssertTrue(r.stderr.contains("not a directory") && r.stderr.contains("[bad_path]"), r.stderr)
        for (path, fragment) in [("relative/dir", "absolute"), (d.directory + "/no/such/parent", "must exist")] {
            XCTAssertThrowsError(try c.call(.backup(.init(directory: path)))) { e in
                XCTAssertEqual((e as? ClientError)?.code, .server(.badPath), "\(e)")
                XCTAssertTrue("\(e)".contains(fragment), "\(e)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: d.directory + "/backups").sorted(), ["a-file", "first"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["data.mdb"])

        // A second daemon on the backup serves every entry as it was, and answers from it.
        let restored = try DaemonProcess(name: "restored")
        restored.process.arguments = restored.process.arguments!.map { $0 == restored.store ? target : $0 }
        try restored.start()
        let rc = try JarvisConnection(socketPath: restored.socket)
        guard case .entries(let after, _, _) = try rc.call(.list(.all)) else { return XCTFail("list of the restored store") }
        Self.assertSame(before, after)
        for e in before {
            guard case .entry(let shown) = try rc.call(.show(.init(entry: String(e.id)))) else { return XCTFail("show") }
            Self.assertSame([e], [shown])
        }
        XCTAssertFalse(after.contains { $0.id == later[0].id })
        guard case .ask(let a) = try rc.call(.ask(.init(question: "What colour is Rex's collar?", maxTokens: 8))) else { return XCTFail("ask") }
        XCTAssertTrue(a.entries.contains(before[0].id), "\(a.entries)")
        XCTAssertEqual(restored.stop(), 0, restored.logText())
        XCTAssertEqual(d.stop(), 0, d.logText())
    }

    /// A backup onto a small file system that fills up: `no_space`, nothing left there, and the
    /// store goes on serving; a backup with room then succeeds.
    func testABackupOntoAFullDiskFailsCleanly() throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-backup-full-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        let mount = try Programs.run("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint])
        guard mount.status == 0 else { throw XCTSkip("cannot mount a small tmpfs here (needs root): \(mount.stderr)") }
        defer { _ = try? Programs.run("/bin/umount", [mountPoint]) }

        let d = try DaemonProcess(name: "backupfull")
        try d.start()
        let c = try JarvisConnection(socketPath: d.socket)
        // About 20 tokens a note: one page a layer, 30 pages of at least 4 KiB (q4, the default),
        // so 24 notes take more than 3 MiB against the 2 MiB there.
        for i in 0..<24 {
            _ = try c.call(.remember(.init(text: "Note \(i): the parcel for flat \(i) is at the front desk, on shelf \(i % 5), behind the plant.")))
        }
        guard case .entries(let before, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }

        let target = mountPoint + "/jarvis"
        let r = try d.ctl("backup", target)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("[no_space]") && r.stderr.contains("full"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mountPoint), [], "nothing is left on the full disk")

        // Still serving, unchanged, and writable.
        guard case .entries(let after, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }
        Self.assertSame(before, after)
        guard case .ask(let a) = try c.call(.ask(.init(question: "Where is the parcel for flat 3?", maxTokens: 8))) else { return XCTFail("ask") }
        XCTAssertFalse(a.entries.isEmpty)
        _ = try c.call(.remember(.init(text: "After the failed backup: the bins go out on Tuesday.")))
        // Without a directory: a new one beside the store, which the daemon can always write.
        let r2 = try d.ctl("backup", "--json")
        XCTAssertEqual(r2.status, 0, r2.stderr)
        let b = try JSONDecoder().decode(BackupResult.self, from: Data(r2.stdout.utf8))
        XCTAssertTrue(b.directory.hasPrefix(d.directory + "/backups/2"), b.directory)
        XCTAssertGreaterThan(b.bytes, 2 << 20)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: b.directory), ["data.mdb"])
        guard case .backup(let again) = try c.call(.backup(.init())) else { return XCTFail("backup") }
        XCTAssertNotEqual(again.directory, b.directory, "a second backup gets a directory of its own")
        XCTAssertEqual(d.stop(), 0, d.logText())
    }
}
