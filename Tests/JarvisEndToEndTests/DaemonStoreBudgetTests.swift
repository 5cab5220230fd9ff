import Foundation
import JarvisProtocol
import XCTest

/// `max-store-bytes` through the real jarvisd and jarvisctl: past the budget the least recently
/// used entries keep only their text, `status` counts them, an answer that needs one gets it
/// back, and the state survives a restart.
final class DaemonStoreBudgetTests: XCTestCase {
    static let notes = ["My dog is called Biscuit. He is a beagle.", "The garage door code is 4417.",
                        "My sister Ana lives in Lisbon.", "The spare key is in the left drawer of the hall table."]

    func status(_ d: DaemonProcess) throws -> StatusResult {
        let r = try d.ctl("status", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONDecoder().decode(StatusResult.self, from: Data(r.stdout.utf8))
    }

    func testPastTheBudgetEntriesKeepTheirTextAndAnswerWhenUsed() throws {
        // A ~15-token q8 note is ~180 KiB of pages for SmolLM2-135M: 400 KiB holds two of four.
        let budget = 400 << 10
        let d = try DaemonProcess(name: "budget", extraArguments: ["--max-store-bytes", "400K"])
        try d.start()
        for note in Self.notes { XCTAssertEqual(try d.ctl("remember", note).status, 0) }
        let s = try status(d)
        XCTAssertEqual(s.config["max-store-bytes"], "400K")
        XCTAssertEqual(s.entries, 4)
        XCTAssertEqual(s.pagedEntries + s.textOnlyEntries, 4)
        XCTAssertGreaterThan(s.textOnlyEntries, 0)
        XCTAssertGreaterThan(s.pageBytes, 0)
        XCTAssertLessThanOrEqual(s.pageBytes, budget)
        let text = try d.ctl("status")
        XCTAssertTrue(text.stdout.contains("text-only until next used"), text.stdout)

        // Every text comes back as given, pages or not.
        let list = try d.ctl("list", "--json")
        for note in Self.notes { XCTAssertTrue(list.stdout.contains(note), "\(note) in \(list.stdout)") }

        // The oldest note went first; asking about it brings its pages back.
        let a = try d.ctl("ask", "What is my dog's name?")
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains("Biscuit"), a.stdout)
        let after = try status(d)
        XCTAssertLessThanOrEqual(after.pageBytes, budget)
        XCTAssertEqual(after.pagedEntries + after.textOnlyEntries, 4)

        // A restart finds the same split.
        XCTAssertEqual(d.stop(), 0)
        let again = try DaemonProcess(name: "budget-again", extraArguments: ["--max-store-bytes", "400K"], reusing: d)
        try again.start()
        let restarted = try status(again)
        XCTAssertEqual(restarted.pagedEntries, after.pagedEntries)
        XCTAssertEqual(restarted.textOnlyEntries, after.textOnlyEntries)
        XCTAssertEqual(restarted.pageBytes, after.pageBytes)
        XCTAssertTrue(try again.ctl("ask", "What is the garage door code?").stdout.contains("4417"))
    }
}
