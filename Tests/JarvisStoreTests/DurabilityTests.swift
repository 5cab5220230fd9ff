import Foundation
import XCTest
@testable import JarvisStore

/// kill -9 of a process in the middle of writing many entries: afterwards every acknowledged
/// entry reads back intact and no entry is partial.
final class DurabilityTests: XCTestCase {
    static let childVariable = "JARVIS_STORE_DURABILITY_CHILD"

    /// Not a test on its own: the child process of `testKillDashNineWhileWriting`, which runs
    /// this test binary again with only this test selected.
    func testChildWritesUntilKilled() throws {
        guard let path = ProcessInfo.processInfo.environment[Self.childVariable] else {
            throw XCTSkip("runs only as the child of testKillDashNineWhileWriting")
        }
        let store = try PersonalStore(directory: path, initialMapSize: 1 << 20)
        for i in 0..<100_000 {
            // ~0.5 MB per entry, so that most of the child's time is spent inside a write.
            let (r, kv) = PersonalStoreTests.sample(tokens: 600 + i % 50, layers: 4, name: "entry \(i)", seed: UInt16(i % 60000))
            let saved = try store.add(r, kv: kv, vectors: [Float(i)])
            // Acknowledge only after the commit returned.
            FileHandle.standardOutput.write(Data("ack \(saved.id) \(i)\n".utf8))
        }
    }

    func testKillDashNineWhileWriting() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-durability-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }

        // Read acknowledgements until 40 arrived, then kill without warning.
        var acked: [UInt64: Int] = [:]
        let child = try Self.killChild("testChildWritesUntilKilled", Self.childVariable, dir) { text in
            let line = text.split(separator: " ")
            if line.count == 3, line[0] == "ack", let id = UInt64(line[1]), let i = Int(line[2]) { acked[id] = i }
            return acked.count >= 40
        }
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        XCTAssertGreaterThanOrEqual(acked.count, 40, "the child should have acknowledged 40 entries")

        let store = try PersonalStore(directory: dir.path)
        let listed = try store.list()
        let ids = Set(listed.map(\.id))
        for id in acked.keys { XCTAssertTrue(ids.contains(id), "acknowledged entry \(id) is missing") }
        // Every entry present is whole: each page there and intact, contents as written.
        try store.read { reader in
            for r in listed {
                let i = Int(r.name!.split(separator: " ")[1])!
                let (_, kv) = PersonalStoreTests.sample(tokens: 600 + i % 50, layers: 4, seed: UInt16(i % 60000))
                for layer in 0..<r.layers {
                    for block in 0..<r.blockCount {
                        let page = try reader.page(entry: r.id, layer: layer, block: block)
                        let first = ((layer * r.kvHeads) * r.tokenCount + block * r.blockTokens) * r.headDim
                        XCTAssertEqual(page.keys(head: 0)[0], kv.keys[first], "entry \(r.id)")
                        XCTAssertEqual(page.values(head: r.kvHeads - 1)[page.tokenCount * r.headDim - 1],
                                       kv.values[first + ((r.kvHeads - 1) * r.tokenCount + page.tokenCount) * r.headDim - 1], "entry \(r.id)")
                    }
                }
                XCTAssertEqual(try store.vectors(id: r.id), [Float(i)])
            }
        }
        // And the store goes on working.
        XCTAssertNoThrow(try store.add(PersonalStoreTests.sample(tokens: 3).0, kv: PersonalStoreTests.sample(tokens: 3).1, vectors: []))
    }

    static let dropChildVariable = "JARVIS_STORE_DROP_CHILD"
    static let dropEntries = 400

    /// Not a test on its own: the child process of `testKillDashNineWhileDroppingPages`. Drops
    /// the pages of the store's entries eight to a transaction, acknowledging each committed
    /// batch, then waits to be killed.
    func testChildDropsPagesUntilKilled() throws {
        guard let path = ProcessInfo.processInfo.environment[Self.dropChildVariable] else {
            throw XCTSkip("runs only as the child of testKillDashNineWhileDroppingPages")
        }
        let store = try PersonalStore(directory: path)
        let records = try store.list()
        for start in stride(from: 0, to: records.count, by: 8) {
            let batch = records[start..<min(start + 8, records.count)].map(\.id)
            try store.dropPages(ids: batch)
            FileHandle.standardOutput.write(Data("dropped \(batch.map(String.init).joined(separator: ","))\n".utf8))
        }
        while true { sleep(1) }
    }

    static func dropSample(_ i: Int) -> (EntryRecord, EntryKV) {
        PersonalStoreTests.sample(tokens: 100 + i % 40, layers: 4, name: "entry \(i)", seed: UInt16(i))
    }

    /// kill -9 in the middle of dropping pages for the store budget: every entry is whole
    /// afterwards, either with all its pages as written or text-only with none, its text,
    /// names and vectors intact; acknowledged drops stay dropped.
    func testKillDashNineWhileDroppingPages() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-drop-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            let store = try PersonalStore(directory: dir.path)
            try store.addAll((0..<Self.dropEntries).map { i in
                let (r, kv) = Self.dropSample(i)
                return (r, kv, [Float(i)])
            })
        }

        var acked: Set<UInt64> = [], batches = 0
        let child = try Self.killChild("testChildDropsPagesUntilKilled", Self.dropChildVariable, dir) { line in
            if line.hasPrefix("dropped ") {
                batches += 1
                acked.formUnion(line.dropFirst(8).split(separator: ",").compactMap { UInt64($0) })
            }
            return batches >= 20
        }
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)
        XCTAssertGreaterThanOrEqual(batches, 20, "the child should have acknowledged 20 batches")

        let store = try PersonalStore(directory: dir.path)
        let listed = try store.list()
        XCTAssertEqual(listed.count, Self.dropEntries, "no entry is lost")
        var textOnly = 0
        try store.read { reader in
            for r in listed {
                let i = Int(r.name!.split(separator: " ")[1])!
                let (written, kv) = Self.dropSample(i)
                XCTAssertEqual(r.text, written.text)
                XCTAssertEqual(try store.entry(named: "entry \(i)")?.id, r.id)
                XCTAssertEqual(try store.vectors(id: r.id), [Float(i)])
                if acked.contains(r.id) { XCTAssertFalse(r.hasPages, "entry \(r.id)'s drop was acknowledged") }
                for layer in 0..<r.layers {
                    for block in 0..<written.blockCount {
                        if r.hasPages {
                            let page = try reader.page(entry: r.id, layer: layer, block: block)
                            let first = ((layer * r.kvHeads) * r.tokenCount + block * r.blockTokens) * r.headDim
                            XCTAssertEqual(page.keys(head: 0)[0], kv.keys[first], "entry \(r.id)")
                        } else {
                            XCTAssertThrowsError(try reader.page(entry: r.id, layer: layer, block: block), "text-only entry \(r.id) keeps a page")
                        }
                    }
                }
                if !r.hasPages { textOnly += 1 }
            }
        }
        XCTAssertGreaterThanOrEqual(textOnly, acked.count)
        // And the store goes on working: a dropped entry is restored.
        if let r = listed.first(where: { !$0.hasPages }) {
            var back = r
            back.textOnly = nil
            XCTAssertTrue(try store.restorePages(back, kv: Self.dropSample(Int(r.name!.split(separator: " ")[1])!).1).hasPages)
        }
    }

    /// Runs `test` of this class in a child process with `variable` set to `dir`, hands each
    /// line it prints to `line` until that returns true (or 60 s pass), then kills it with
    /// SIGKILL a random moment later — anywhere in its next step — and waits for it.
    static func killChild(_ test: String, _ variable: String, _ dir: URL, until line: (Substring) -> Bool) throws -> Process {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["JarvisStoreTests.DurabilityTests/" + test]
        child.environment = ProcessInfo.processInfo.environment.merging([variable: dir.path]) { $1 }
        let out = Pipe()
        child.standardOutput = out
        child.standardError = FileHandle.nullDevice
        try child.run()
        var buffer = "", done = false
        let deadline = Date().addingTimeInterval(60)
        while !done && Date() < deadline {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            buffer += String(decoding: data, as: UTF8.self)
            while !done, let nl = buffer.firstIndex(of: "\n") {
                done = line(buffer[..<nl])
                buffer = String(buffer[buffer.index(after: nl)...])
            }
        }
        usleep(UInt32.random(in: 0...3000))
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        return child
    }
}
