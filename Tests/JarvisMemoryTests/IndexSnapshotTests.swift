import Foundation
import XCTest
import JarvisEngine
import JarvisStore
@testable import JarvisMemory

/// The index snapshot: read back it is the index built from the store, and it is used only for
/// the store exactly as it was written for.
final class IndexSnapshotTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-snapshot-\(UUID().uuidString)")
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func memory(budget: Int? = nil) throws -> PersonalMemory {
        try PersonalMemoryTests.open(dir, budget: budget)
    }

    /// Everything the index holds, compared field by field, and the rankings it gives.
    func assertSame(_ a: PersonalMemory.Index, _ b: PersonalMemory.Index, questions: [(String, [Float])], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.retriever.entryIDs, b.retriever.entryIDs, file: file, line: line)
        XCTAssertEqual(a.tokens, b.tokens, file: file, line: line)
        XCTAssertEqual(a.tokenCounts, b.tokenCounts, file: file, line: line)
        XCTAssertEqual(a.pageBytes, b.pageBytes, file: file, line: line)
        XCTAssertEqual(a.paged, b.paged, file: file, line: line)
        XCTAssertEqual(a.textOnly, b.textOnly, file: file, line: line)
        XCTAssertEqual(a.pinned, b.pinned, file: file, line: line)
        XCTAssertEqual(a.lastUse, b.lastUse, file: file, line: line)
        XCTAssertEqual(a.digests, b.digests, file: file, line: line)
        XCTAssertEqual(a.sources.mapValues { $0.sorted() }, b.sources.mapValues { $0.sorted() }, file: file, line: line)
        for (q, v) in questions {
            XCTAssertEqual(a.retriever.rank(question: q, vector: v), b.retriever.rank(question: q, vector: v), q, file: file, line: line)
            XCTAssertEqual(a.retriever.namedIDs(in: q), b.retriever.namedIDs(in: q), q, file: file, line: line)
        }
    }

    func testASnapshotReadsBackAsTheIndexAndOnlyForTheStoreItWasWrittenFor() throws {
        var questions: [(String, [Float])] = []
        let built: PersonalMemory.Index
        do {
            let m = try memory()
            try m.remember(.note("My dog is called Biscuit. He is a beagle.", name: "Biscuit", aliases: ["the dog"]))
            try m.remember(.note("The garage door code is 4417."))
            let gone = try m.remember(.note("A note to forget."))[0]
            try m.remember(MemoryItem(.text("# Trip\n\nThe ferry leaves at 7:40 from pier 3.\n\n## Hotel\n\nRoom 214, breakfast from 7.\n"),
                                      kind: .file, metadata: ["file": "trip.md"]))
            try m.forget(String(gone.id))   // a free slot in the retriever
            _ = try m.ask("What is the garage door code?", maxTokens: 4)
            for q in ["What is the garage door code?", "Where does the ferry leave?", "What breed is Biscuit?", "the dog"] {
                questions.append((q, try PersonalMemoryTests.embedder.get().embed(q)))
            }
            try m.writeIndexSnapshot()
            built = m.index.withLock { $0 }
        }
        let store = try PersonalStore(directory: dir.path)
        let read = try XCTUnwrap(IndexSnapshot.read(for: store))
        assertSame(read, built, questions: questions)
        // A memory opened on the store starts from it and answers as before.
        let again = try memory()
        assertSame(again.index.withLock { $0 }, built, questions: questions)
        XCTAssertTrue(try again.ask("What is the garage door code?", maxTokens: 16).text.contains("4417"))

        // Any change to an entry makes it stale: the next start builds from the store.
        try again.remember(.note("My sister Ana lives in Lisbon."))
        XCTAssertNil(IndexSnapshot.read(for: store))
        let rebuilt = try memory()
        XCTAssertEqual(rebuilt.retriever.count, 4)
        XCTAssertEqual(try rebuilt.ask("Where does my sister live?", maxTokens: 16).entries.count, 1)
    }

    func testABudgetsTextOnlyEntriesAndDamagedSnapshotsReadBackRight() throws {
        do {
            let m = try memory()
            for n in StoreBudgetTests.notes { try m.remember(.note(n)) }
        }
        let total = try memory().pageSummary.pageBytes
        let m = try memory(budget: total / 2)
        XCTAssertGreaterThan(m.pageSummary.textOnlyEntries, 0)
        try m.writeIndexSnapshot()
        let summary = m.pageSummary
        let store = try PersonalStore(directory: dir.path)
        let read = try XCTUnwrap(IndexSnapshot.read(for: store))
        assertSame(read, m.index.withLock { $0 }, questions: [])
        XCTAssertEqual(try memory(budget: total / 2).pageSummary, summary)

        // A snapshot cut short, or with a byte changed in its header, is not used.
        let path = IndexSnapshot.path(store)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 9).write(to: URL(fileURLWithPath: path))
        XCTAssertNil(IndexSnapshot.read(for: store))
        var changed = bytes
        changed[10] ^= 0x01
        try changed.write(to: URL(fileURLWithPath: path))
        XCTAssertNil(IndexSnapshot.read(for: store))
        XCTAssertEqual(try memory(budget: total / 2).pageSummary, summary, "built from the store instead")
    }
}
