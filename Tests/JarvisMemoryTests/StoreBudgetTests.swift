import Foundation
import XCTest
import JarvisEngine
import JarvisStore
@testable import JarvisMemory

/// The store budget on the shipped models: past `maxStoreBytes` the entries used least recently
/// keep only their text; an answer that needs one computes its pages again and answers exactly
/// as it would have with the pages kept.
final class StoreBudgetTests: XCTestCase {
    var dirs: [URL] = []
    override func tearDown() { for d in dirs { try? FileManager.default.removeItem(at: d) } }

    func memory(_ name: String, budget: Int?) throws -> PersonalMemory {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-budget-\(name)-\(getpid())")
        if !dirs.contains(dir) { dirs.append(dir) }
        return try PersonalMemoryTests.open(dir, budget: budget)
    }

    static let notes = ["My dog is called Biscuit. He is a beagle.", "The garage door code is 4417.",
                        "My sister Ana lives in Lisbon.", "The spare key is in the left drawer of the hall table."]

    func testLeastRecentlyUsedEntriesDropTheirPagesAndAnswerAsBeforeWhenUsed() throws {
        let free = try memory("free", budget: nil)
        let kept = try Self.notes.map { try free.remember(.note($0))[0] }
        let total = free.pageSummary.pageBytes
        XCTAssertEqual(total, kept.map(\.pageBytes).reduce(0, +))
        XCTAssertEqual(free.pageSummary, .init(pagedEntries: 4, textOnlyEntries: 0, pageBytes: total))

        // Room for about half of the pages.
        let budget = total / 2
        let m = try memory("tight", budget: budget)
        let saved = try Self.notes.map { try m.remember(.note($0))[0] }
        var summary = m.pageSummary
        XCTAssertLessThanOrEqual(summary.pageBytes, budget)
        XCTAssertGreaterThan(summary.textOnlyEntries, 0)
        XCTAssertEqual(summary.pagedEntries + summary.textOnlyEntries, 4)
        XCTAssertFalse(try XCTUnwrap(m.lookup(String(saved[0].id))).hasPages, "the oldest, never used, went first")
        XCTAssertTrue(try XCTUnwrap(m.lookup(String(saved[3].id))).hasPages, "the newest keeps its pages")
        for (r, note) in zip(saved, Self.notes) {
            XCTAssertEqual(try m.lookup(String(r.id))?.text, note, "the text stays, byte for byte")
        }

        // The dog's entry is text-only: the answer computes its pages again and is the same
        // answer, from the same entry, as with nothing dropped.
        let question = "What is my dog's name?"
        let reference = try free.ask(question, maxTokens: 24)
        let a = try m.ask(question, maxTokens: 24)
        XCTAssertEqual(a.text, reference.text)
        XCTAssertEqual(a.entries, [saved[0].id])
        let dog = try XCTUnwrap(m.lookup(String(saved[0].id)))
        XCTAssertTrue(dog.hasPages)
        XCTAssertEqual(dog.tokenCount, saved[0].tokenCount)
        XCTAssertEqual(dog.createdMilliseconds, saved[0].createdMilliseconds)
        summary = m.pageSummary
        XCTAssertLessThanOrEqual(summary.pageBytes, budget, "the budget holds after the pages came back")
        XCTAssertNotNil(try m.store.lastUse()[saved[0].id], "the use is kept in the store")

        // Asked again, it answers from its stored pages, the same.
        XCTAssertEqual(try m.ask(question, maxTokens: 24).text, reference.text)
    }

    func testALowerBudgetIsMetWhenTheMemoryOpensAndNoBudgetDropsNothing() throws {
        do {
            let m = try memory("open", budget: nil)
            for n in Self.notes { try m.remember(.note(n)) }
            XCTAssertEqual(m.pageSummary.textOnlyEntries, 0)
        }
        let total = try memory("open", budget: nil).pageSummary.pageBytes
        let m = try memory("open", budget: total / 4)
        XCTAssertLessThanOrEqual(m.pageSummary.pageBytes, total / 4)
        XCTAssertGreaterThanOrEqual(m.pageSummary.textOnlyEntries, 2)
        // Without a budget the text-only entries stay text-only until used; nothing else changes.
        let again = try memory("open", budget: nil)
        XCTAssertEqual(again.pageSummary, m.pageSummary)
        XCTAssertTrue(try again.ask("What is the garage door code?", maxTokens: 16).text.contains("4417"))
    }
}
