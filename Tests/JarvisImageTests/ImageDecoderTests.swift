import Foundation
@testable import JarvisImage
import XCTest

/// JPEG and PNG decoding against Pillow's pixels (tools/make_image_fixtures.py): every EXIF
/// orientation, gray, palette with transparency, alpha, 16-bit, interlaced, progressive; and
/// the files that must be refused, each with its error code, before any large allocation.
final class ImageDecoderTests: XCTestCase {
    struct Case: Decodable {
        let file: String
        let width: Int?, height: Int?
        let pixels: String?
        let exact: Bool?
        let error: String?
    }

    func fixtures() throws -> (dir: URL, cases: [Case]) {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "expected", withExtension: "json", subdirectory: "Fixtures/images"))
        return (url.deletingLastPathComponent(), try JSONDecoder().decode([Case].self, from: Data(contentsOf: url)))
    }

    func testDecodedPixelsMatchPillow() throws {
        let (dir, cases) = try fixtures()
        var checked = 0
        for c in cases where c.error == nil {
            let image = try ImageDecoder.load(path: dir.appendingPathComponent(c.file).path)
            XCTAssertEqual(image.width, c.width, c.file)
            XCTAssertEqual(image.height, c.height, c.file)
            let want = [UInt8](try Data(contentsOf: dir.appendingPathComponent(try XCTUnwrap(c.pixels))))
            XCTAssertEqual(image.pixels.count, want.count, c.file)
            guard image.pixels.count == want.count else { continue }
            let diffs = zip(image.pixels, want).map { abs(Int($0) - Int($1)) }
            let mean = Double(diffs.reduce(0, +)) / Double(diffs.count)
            if c.exact == true {
                // Alpha over white may round differently by one level; everything else is exact.
                XCTAssertLessThanOrEqual(diffs.max()!, c.file.contains("rgba") ? 1 : 0, c.file)
            } else {
                // Pillow's bundled libjpeg-turbo against the system's: same IDCT, tiny differences.
                XCTAssertLessThanOrEqual(diffs.max()!, 8, c.file)
                XCTAssertLessThan(mean, 1.0, c.file)
            }
            checked += 1
        }
        XCTAssertEqual(checked, 16)
    }

    func testEveryOrientationComesOutUpright() throws {
        let (dir, _) = try fixtures()
        // The scene is red top-left, green top-right, blue bottom-left, yellow bottom-right.
        for o in 1...8 {
            let image = try ImageDecoder.load(path: dir.appendingPathComponent("orientation-\(o).jpg").path)
            XCTAssertEqual(image.width, 40, "orientation \(o)")
            XCTAssertEqual(image.height, 30, "orientation \(o)")
            let tl = image[10, 7], tr = image[30, 7], bl = image[10, 22], br = image[30, 22]
            XCTAssertGreaterThan(tl.r, 180, "orientation \(o): top left should be red")
            XCTAssertLessThan(tl.g, 80, "orientation \(o)")
            XCTAssertGreaterThan(tr.g, 160, "orientation \(o): top right should be green")
            XCTAssertLessThan(tr.r, 80, "orientation \(o)")
            XCTAssertGreaterThan(bl.b, 180, "orientation \(o): bottom left should be blue")
            XCTAssertGreaterThan(br.r, 180, "orientation \(o): bottom right should be yellow")
            XCTAssertGreaterThan(br.g, 180, "orientation \(o)")
        }
    }

    func testBadFilesAreRefusedWithTheirCode() throws {
        let (dir, cases) = try fixtures()
        var refused = 0
        for c in cases {
            guard let code = c.error else { continue }
            XCTAssertThrowsError(try ImageDecoder.load(path: dir.appendingPathComponent(c.file).path), c.file) { error in
                let e = error as? ImageError
                XCTAssertEqual(e?.code.rawValue, code, "\(c.file): \(error)")
                XCTAssertTrue(e?.message.contains(c.file) ?? false, "the message names the file: \(error)")
            }
            refused += 1
        }
        XCTAssertEqual(refused, 6)
    }

    func testABombHeaderIsRefusedBeforeAnyAllocation() throws {
        let (dir, _) = try fixtures()
        let path = dir.appendingPathComponent("bomb-100000x100000.png").path
        XCTAssertThrowsError(try ImageDecoder.load(path: path)) { error in
            XCTAssertEqual((error as? ImageError)?.code, .tooLarge)
            XCTAssertTrue("\(error)".contains("100000×100000"), "\(error)")
        }
        // The same limit applies to small images when it is set lower, and to the file size.
        let small = dir.appendingPathComponent("rgb.png").path
        XCTAssertThrowsError(try ImageDecoder.load(path: small, limits: .init(maxFileBytes: 1 << 20, maxPixels: 100, maxSide: 100))) {
            XCTAssertEqual(($0 as? ImageError)?.code, .tooLarge)
        }
        XCTAssertThrowsError(try ImageDecoder.load(path: small, limits: .init(maxFileBytes: 1 << 20, maxPixels: 1 << 20, maxSide: 39))) {
            XCTAssertEqual(($0 as? ImageError)?.code, .tooLarge)
        }
        XCTAssertThrowsError(try ImageDecoder.load(path: small, limits: .init(maxFileBytes: 100, maxPixels: 1 << 20, maxSide: 100))) {
            XCTAssertEqual(($0 as? ImageError)?.code, .tooLarge)
        }
        XCTAssertNoThrow(try ImageDecoder.load(path: small, limits: .init(maxFileBytes: 1 << 20, maxPixels: 1200, maxSide: 40)))
    }

    func testPathsThatAreNotImageFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try ImageDecoder.load(path: dir.path)) { XCTAssertEqual(($0 as? ImageError)?.code, .invalidImage) }
        XCTAssertThrowsError(try ImageDecoder.load(path: "/dev/null")) { XCTAssertEqual(($0 as? ImageError)?.code, .invalidImage) }
        XCTAssertThrowsError(try ImageDecoder.load(path: dir.appendingPathComponent("missing.jpg").path)) {
            XCTAssertEqual(($0 as? ImageError)?.code, .io)
        }
        let empty = dir.appendingPathComponent("empty.png")
        _ = FileManager.default.createFile(atPath: empty.path, contents: Data())
        XCTAssertThrowsError(try ImageDecoder.load(path: empty.path)) { XCTAssertEqual(($0 as? ImageError)?.code, .invalidImage) }
    }

    func testExifParserSurvivesMalformedBlocks() {
        // A well-formed little- and big-endian IFD with the orientation tag.
        let le: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]
        let be: [UInt8] = [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(ExifOrientation.parse(le), 6)
        XCTAssertEqual(ExifOrientation.parse(be), 8)
        // Every truncation, an IFD offset past the end, a huge entry count, a bad value.
        for n in 0..<20 { XCTAssertNil(ExifOrientation.parse(Array(le.prefix(n))), "truncated at \(n)") }
        var far = le; far[4] = 0xFF; far[5] = 0xFF; far[6] = 0xFF; far[7] = 0x7F
        XCTAssertNil(ExifOrientation.parse(far))
        var many = le; many[8] = 0xFF; many[9] = 0xFF
        XCTAssertEqual(ExifOrientation.parse(many), 6, "the first entry is still read; the rest run off the end")
        var bad = le; bad[18] = 9
        XCTAssertNil(ExifOrientation.parse(bad))
        var state: UInt64 = 5
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 17 }
        for _ in 0..<2000 {
            let junk = (0..<Int(next() % 64)).map { _ in UInt8(truncatingIfNeeded: next()) }
            _ = ExifOrientation.parse([0x49, 0x49, 42, 0] + junk)
        }
    }

    /// The fuzzer's seeds and every input that ever crashed it decode or fail with ImageError.
    func fuzzFiles(_ dir: String) -> [String] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/" + dir).path
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0 != "README" }.sorted().map { path + "/" + $0 }
    }

    func testImageSeedsDecodeOrFailCleanlyAndRegressionsFailCleanly() throws {
        let seeds = fuzzFiles("corpus/images")
        XCTAssertGreaterThanOrEqual(seeds.count, 8)
        var decoded = 0
        for path in seeds + fuzzFiles("regressions/fuzz-image") {
            do { _ = try ImageDecoder.load(path: path); decoded += 1 } catch is ImageError {} catch { XCTFail("\(path): \(error)") }
        }
        XCTAssertGreaterThanOrEqual(decoded, 8, "the seeds are mostly valid images")
    }
}
