import Foundation
import JarvisClient
import JarvisProtocol
import XCTest

/// `jarvisctl search`, `update` and `edit` against the real jarvisd with the shipped model.
final class SearchEditTests: XCTestCase {
    /// Remembers `text` (with `name`) and returns the new entry's id.
    func remember(_ d: DaemonProcess, _ text: String, name: String? = nil) throws -> UInt64 {
        let r = try d.ctl(["remember", "--json"] + (name.map { ["--name", $0] } ?? []) + [text])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(try JSONDecoder().decode([EntryInfo].self, from: Data(r.stdout.utf8)).first).id
    }

    func show(_ d: DaemonProcess, _ entry: String) throws -> EntryInfo {
        let r = try d.ctl("show", "--json", entry)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONDecoder().decode(EntryInfo.self, from: Data(r.stdout.utf8))
    }

    func search(_ d: DaemonProcess, _ arguments: String...) throws -> [SearchHit] {
        let r = try d.ctl(["search", "--json"] + arguments)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONDecoder().decode([SearchHit].self, from: Data(r.stdout.utf8))
    }

    func testSearchRanksEntriesWithScoresAndSnippets() throws {
        let d = try DaemonProcess(name: "search")
        try d.start()
        let locker = try remember(d, "My gym locker is number 40, down in the basement next to the sauna.")
        let anna = try remember(d, "My sister Anna moved to Porto in May; she works at a bookshop.", name: "Anna")
        let wifi = try remember(d, "The wifi password at the cabin is on the fridge, written on a yellow note.")

        var hits = try search(d, "gym", "locker")
        XCTAssertEqual(hits.map(\.id).first, locker)
        XCTAssertEqual(Set(hits.map(\.id)), [locker, anna, wifi])
        XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >), "best first")
        XCTAssertTrue(hits[0].snippet.contains("locker"), hits[0].snippet)
        XCTAssertFalse(hits[0].nameMatch)

        // A query that names an entry puts it first, marked as such.
        hits = try search(d, "--limit", "1", "where", "does", "Anna", "live")
        XCTAssertEqual(hits.map(\.id), [anna])
        XCTAssertTrue(hits[0].nameMatch)
        XCTAssertEqual(hits[0].name, "Anna")

        // For people: a table with the scores.
        let r = try d.ctl("search", "wifi password")
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertTrue(lines.first?.hasPrefix("ID") == true && lines.first?.contains("SCORE") == true, r.stdout)
        XCTAssertTrue(lines.dropFirst().first?.hasPrefix("\(wifi) ") == true, r.stdout)

        // An empty query is refused by the daemon, with its code; so is a limit out of range,
        // which jarvisctl itself already refuses as bad usage.
        let empty = try d.ctl("search", "  ")
        XCTAssertEqual(empty.status, 1)
        XCTAssertTrue(empty.stderr.contains("[bad_request]"), empty.stderr)
        XCTAssertEqual(try d.ctl("search", "--limit", "0", "gym").status, 64)
        let c = try JarvisConnection(socketPath: d.socket)
        for limit in [0, 101] {
            XCTAssertThrowsError(try c.call(.search(.init(query: "gym", limit: limit)))) { error in
                XCTAssertEqual((error as? ClientError)?.code, .server(.badRequest), "\(error)")
            }
        }
        XCTAssertEqual(try search(d, "gym").count, 3, "the daemon still serves")
        XCTAssertEqual(d.stop(), 0, d.logText())
    }

    func testUpdateReplacesTheTextAndKeepsTheEntry() throws {
        let d = try DaemonProcess(name: "update")
        try d.start()
        let id = try remember(d, "My sister Anna lives in Lisbon.", name: "Anna")
        _ = try remember(d, "The ferry to the island leaves at 7:40 from pier 3.")
        let before = try show(d, "Anna")

        let r = try d.ctl("update", "Anna", "My sister Anna moved to Porto in May.")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("updated \(id) \"Anna\""), r.stdout)
        let after = try show(d, String(id))
        XCTAssertEqual(after.text, "My sister Anna moved to Porto in May.")
        XCTAssertEqual(after.name, "Anna")
        XCTAssertEqual(after.createdMs, before.createdMs)
        // Re-embedded: the new text is what search finds.
        XCTAssertEqual(try search(d, "who moved to Porto").first?.id, id)

        // Unknown entries and empty text leave everything as it was.
        let unknown = try d.ctl("update", "Bob", "anything")
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("[not_found]"), unknown.stderr)
        let empty = try d.ctl("update", "Anna", " ")
        XCTAssertEqual(empty.status, 1)
        XCTAssertTrue(empty.stderr.contains("[bad_request]"), empty.stderr)
        XCTAssertEqual(try show(d, "Anna").text, after.text)

        // A photo's entry is refused: a new text would drop its regions and visual KV.
        let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("JarvisEngineTests/Fixtures/photos/mug_badge.png").path
        XCTAssertEqual(try d.ctl("remember", "--name", "mug", "--note", "a gift from Ana", photo).status, 0)
        let photoBefore = try show(d, "mug")
        let refused = try d.ctl("update", "mug", "a plain note now")
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("is a photo") && refused.stderr.contains("[bad_request]"), refused.stderr)
        XCTAssertEqual(try show(d, "mug"), photoBefore)
        XCTAssertEqual(d.stop(), 0, d.logText())
    }

    /// An editor script: `body` runs with the entry's file as $1.
    func editor(_ d: DaemonProcess, _ name: String, _ body: String) throws -> String {
        let path = d.directory + "/" + name
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    func edit(_ d: DaemonProcess, _ entry: String, with editor: String) throws -> Programs.Run {
        try Programs.run(try Programs.path("jarvisctl"), ["edit", entry],
                         environment: ["JARVIS_SOCKET": d.socket, "EDITOR": editor, "VISUAL": ""])
    }

    func testEditOpensTheEditorAndUpdatesOnlyOnSuccess() throws {
        let d = try DaemonProcess(name: "edit")
        try d.start()
        let id = try remember(d, "My gym locker is number 40.", name: "locker")

        // The editor sees the verbatim text; what it saves becomes the entry (its added final
        // newline dropped, as the text had none).
        let seen = d.directory + "/seen.txt"
        var r = try edit(d, "locker", with: try editor(d, "renumber.sh", "cp \"$1\" '\(seen)'; printf 'My gym locker is number 41.\\n' > \"$1\""))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: seen, encoding: .utf8), "My gym locker is number 40.")
        XCTAssertTrue(r.stdout.contains("updated \(id) \"locker\""), r.stdout)
        XCTAssertEqual(try show(d, "locker").text, "My gym locker is number 41.")

        // An editor that fails: nothing changes, whatever it wrote.
        r = try edit(d, "locker", with: try editor(d, "fail.sh", "printf 'garbage' > \"$1\"; exit 3"))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("exited with status 3") && r.stderr.contains("entry \(id) is unchanged"), r.stderr)
        XCTAssertEqual(try show(d, "locker").text, "My gym locker is number 41.")

        // Saved without a change (or only a final newline added): nothing to do, said so.
        r = try edit(d, String(id), with: try editor(d, "same.sh", "printf '\\n' >> \"$1\""))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("entry \(id) is unchanged"), r.stdout)
        XCTAssertEqual(try show(d, "locker").text, "My gym locker is number 41.")

        // Changed by someone else while the editor was open: that change stays, and the
        // edited text is kept in its file.
        r = try edit(d, "locker", with: try editor(d, "race.sh", """
            JARVIS_SOCKET='\(d.socket)' '\(try Programs.path("jarvisctl"))' update locker 'My gym locker is number 42.' >/dev/null || exit 9
            printf 'My gym locker is number 43.' > "$1"
            """))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("entry \(id) changed while it was being edited"), r.stderr)
        XCTAssertEqual(try show(d, "locker").text, "My gym locker is number 42.")
        let kept = try XCTUnwrap(r.stderr.components(separatedBy: "kept in ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(try String(contentsOfFile: kept, encoding: .utf8), "My gym locker is number 43.")
        try? FileManager.default.removeItem(atPath: (kept as NSString).deletingLastPathComponent)

        // An unknown entry: the editor never runs.
        let marker = d.directory + "/ran"
        r = try edit(d, "nothing-by-this-name", with: try editor(d, "mark.sh", "touch '\(marker)'"))
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("[not_found]"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
        XCTAssertEqual(d.stop(), 0, d.logText())
    }
}

extension DaemonProcess {
    /// Runs jarvisctl against this daemon, with the arguments as an array.
    func ctl(_ arguments: [String]) throws -> Programs.Run {
        try Programs.run(try Programs.path("jarvisctl"), arguments, environment: ["JARVIS_SOCKET": socket])
    }
}
