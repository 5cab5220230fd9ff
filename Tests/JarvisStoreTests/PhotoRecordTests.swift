import Foundation
import XCTest
@testable import JarvisStore

/// Photo records beside their entries: written and read back exactly, in the entry's
/// transaction, kept by replace, removed with the entry; damaged bytes are reported.
final class PhotoRecordTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-photo-\(UUID().uuidString)")
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func sample(regions: Int = 3, dim: Int = 8) -> PhotoRecord {
        PhotoRecord(width: 640, height: 480,
                    regions: (0..<regions).map { .init(x: 10 * $0 - 5, y: 20 * $0, width: 72, height: 70 + $0, score: Float($0) / 3) },
                    dimension: dim, descriptors: (0..<(regions + 1) * dim).map { Float($0) * 0.25 - 3 },
                    patches: (0..<regions * dim).map { Float($0) * -0.5 })
    }

    func testPhotoRecordsLiveAndDieWithTheirEntry() throws {
        let store = try PersonalStore(directory: dir.path, initialMapSize: 1 << 20, maxMapSize: 1 << 30)
        let (r, kv) = PersonalStoreTests.sample(tokens: 5, name: "Mug")
        let photo = sample()
        let a = try store.add(r, kv: kv, vectors: [1, 2], photo: photo)
        let b = try store.add(PersonalStoreTests.sample(tokens: 4, seed: 2).0, kv: PersonalStoreTests.sample(tokens: 4, seed: 2).1, vectors: [])
        XCTAssertEqual(try store.photo(id: a.id), photo)
        XCTAssertNil(try store.photo(id: b.id), "notes have no photo record")
        XCTAssertEqual(try store.allPhotos(), [a.id: photo])
        XCTAssertEqual(photo.descriptorRows.count, 4)
        XCTAssertEqual(photo.patchRows.count, 3)

        // Re-encoding replaces the entry but keeps its photo record.
        let (r2, kv2) = PersonalStoreTests.sample(tokens: 9, name: "Mug", seed: 4)
        try store.replace(id: a.id, with: r2, kv: kv2, vectors: [3])
        XCTAssertEqual(try store.photo(id: a.id), photo)

        try store.delete(id: a.id)
        XCTAssertNil(try store.photo(id: a.id))
        XCTAssertTrue(try store.allPhotos().isEmpty)
    }

    func testInconsistentRecordsAreRefusedAndNothingIsWritten() throws {
        let store = try PersonalStore(directory: dir.path, initialMapSize: 1 << 20, maxMapSize: 1 << 30)
        var bad = sample()
        bad.patches.removeLast()
        let (r, kv) = PersonalStoreTests.sample(tokens: 5, name: "Mug")
        XCTAssertThrowsError(try store.add(r, kv: kv, vectors: [], photo: bad)) {
            XCTAssertEqual(($0 as? StoreError)?.code, .invalidArgument)
        }
        XCTAssertEqual(try store.count(), 0)
        XCTAssertNil(try store.entry(named: "Mug"))
    }

    func testDamagedBytesAreReportedNotTrusted() throws {
        let bytes = sample().encoded()
        XCTAssertEqual(try bytes.withUnsafeBytes { try PhotoRecord.decode($0) }, sample())
        for cut in [0, 3, 4, 19, 20, bytes.count - 1] {
            XCTAssertThrowsError(try Array(bytes.prefix(cut)).withUnsafeBytes { try PhotoRecord.decode($0) }, "cut at \(cut)") {
                XCTAssertEqual(($0 as? StoreError)?.code, .corrupt)
            }
        }
        var huge = bytes
        huge[12] = 0xFF; huge[13] = 0xFF    // region count far beyond the bytes present
        XCTAssertThrowsError(try huge.withUnsafeBytes { try PhotoRecord.decode($0) })
    }
}
