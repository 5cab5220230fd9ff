import Foundation
import XCTest

/// jarvisctl's and jarvisd's help texts and jarvisctl's completion scripts, compared with
/// committed snapshots. After an intended change, regenerate them with
/// `JARVIS_UPDATE_SNAPSHOTS=1 swift test --filter SnapshotTests` and review the diff.
final class SnapshotTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots").path

    func check(_ program: String, _ arguments: [String], snapshot: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try Programs.run(try Programs.path(program), arguments, environment: ["COLUMNS": "100"])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        let path = Self.directory + "/" + snapshot
        if ProcessInfo.processInfo.environment["JARVIS_UPDATE_SNAPSHOTS"] == "1" {
            try FileManager.default.createDirectory(atPath: Self.directory, withIntermediateDirectories: true)
            try r.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
            return XCTFail("no snapshot \(path); create it with JARVIS_UPDATE_SNAPSHOTS=1", file: file, line: line)
        }
        if r.stdout != expected {
            let a = r.stdout.components(separatedBy: "\n"), b = expected.components(separatedBy: "\n")
            let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            XCTFail("\(snapshot) differs from line \(first + 1):\n  now:      \(first < a.count ? a[first] : "(end)")\n  snapshot: \(first < b.count ? b[first] : "(end)")",
                    file: file, line: line)
        }
    }

    func testHelpTexts() throws {
        try check("jarvisctl", ["--help"], snapshot: "jarvisctl-help.txt")
        for sub in ["ask", "chat", "sessions", "remember", "forget", "list", "show", "search", "update", "edit", "status", "backup", "export", "import", "models", "mcp"] {
            try check("jarvisctl", ["help", sub], snapshot: "jarvisctl-\(sub)-help.txt")
        }
        try check("jarvisd", ["--help"], snapshot: "jarvisd-help.txt")
    }

    func testCompletionScripts() throws {
        for shell in ["bash", "zsh", "fish"] {
            try check("jarvisctl", ["--generate-completion-script", shell], snapshot: "jarvisctl.\(shell)")
        }
    }

    /// Entry names complete from the daemon: the scripts call back into jarvisctl, which asks it.
    func testEntryNamesCompleteFromTheDaemon() throws {
        let d = try DaemonProcess(name: "complete")
        try d.start()
        XCTAssertEqual(try d.ctl("remember", "--name", "Rex", "--alias", "Rexie", "My dog Rex has a red collar.").status, 0)
        XCTAssertEqual(try d.ctl("remember", "--name", "Anna", "My sister Anna lives in Lisbon.").status, 0)
        // What the bash script runs for `jarvisctl forget R<TAB>`: word 2, cursor at offset 1 in it.
        let r = try d.ctl("---completion", "forget", "--", "positional@0", "2", "1", "jarvisctl", "forget", "R")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(Set(r.stdout.split(separator: "\n").map(String.init)), ["Rex", "Rexie"])
        d.stop()
    }
}
