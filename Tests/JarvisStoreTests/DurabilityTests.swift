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

        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["JarvisStoreTests.DurabilityTests/testChildWritesUntilKilled"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.childVariable: dir.path]) { $1 }
        let out = Pipe()
        child.standardOutput = out
        child.standardError = FileHandle.nullDevice
        try child.run()

        // Read acknowledgements until 40 arrived, then kill without warning.
        var acked: [UInt64: Int] = [:]
        var buffer = ""
        let deadline = Date().addingTimeInterval(60)
        while acked.count < 40 && Date() < deadline {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            buffer += String(decoding: data, as: UTF8.self)
            while let nl = buffer.firstIndex(of: "\n") {
                let line = buffer[..<nl].split(separator: " ")
                buffer = String(buffer[buffer.index(after: nl)...])
                if line.count == 3, line[0] == "ack", let id = UInt64(line[1]), let i = Int(line[2]) { acked[id] = i }
            }
        }
        usleep(UInt32.random(in: 0...3000))   // land anywhere in the next write
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
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
}
