import Foundation
import XCTest
@testable import JarvisStore

/// `PersonalStore.backup(into:)`: LMDB's compacting copy, opened as a store of its own.
final class StoreBackupTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-backup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func testTheCopyIsCompactedAndHoldsEveryPage() throws {
        let store = try PersonalStore(directory: dir.path + "/store", initialMapSize: 1 << 20, maxMapSize: 1 << 30)
        var all: [(EntryRecord, EntryKV)] = []
        for i in 0..<40 {
            let (r, kv) = PersonalStoreTests.sample(tokens: 300, name: "entry \(i)", seed: UInt16(i))
            all.append((try store.add(r, kv: kv, vectors: [Float(i)]), kv))
        }
        let kept = all.enumerated().filter { $0.offset % 10 == 0 }.map(\.element)
        try store.delete(ids: all.enumerated().filter { $0.offset % 10 != 0 }.map(\.element.0.id))
        let target = dir.path + "/backup"
        let bytes = try store.backup(into: target)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["data.mdb"])
        XCTAssertEqual(bytes, try FileManager.default.attributesOfItem(atPath: target + "/data.mdb")[.size] as? Int)
        // 36 of 40 entries were deleted: their pages are free in the store and left out of the copy.
        XCTAssertLessThan(bytes * 3, store.fileSize, "the copy is compacted")

        // Refused targets leave things as they were.
        XCTAssertThrowsError(try store.backup(into: target)) { XCTAssertEqual(($0 as? StoreError)?.code, .badPath) }
        XCTAssertThrowsError(try store.backup(into: target + "/data.mdb")) { XCTAssertEqual(($0 as? StoreError)?.code, .badPath) }
        XCTAssertThrowsError(try store.backup(into: dir.path + "/missing/backup")) { XCTAssertEqual(($0 as? StoreError)?.code, .badPath) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["backup", "store"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["data.mdb"])

        let copy = try PersonalStore(directory: target)
        XCTAssertEqual(try copy.list(), try store.list())
        XCTAssertEqual(try copy.entry(named: "entry 10")?.id, kept[1].0.id)
        try copy.read { reader in
            for (r, kv) in kept {
                XCTAssertEqual(try copy.vectors(id: r.id), [Float(r.id - 1)])
                for layer in 0..<r.layers {
                    for block in 0..<r.blockCount {
                        let page = try reader.page(entry: r.id, layer: layer, block: block)
                        let n = page.tokenCount * r.headDim
                        for h in 0..<r.kvHeads {
                            let start = ((layer * r.kvHeads + h) * r.tokenCount + block * r.blockTokens) * r.headDim
                            XCTAssertEqual(Array(UnsafeBufferPointer(start: page.keys(head: h), count: n)), Array(kv.keys[start..<start + n]))
                            XCTAssertEqual(Array(UnsafeBufferPointer(start: page.values(head: h), count: n)), Array(kv.values[start..<start + n]))
                        }
                    }
                }
            }
        }
    }
}
