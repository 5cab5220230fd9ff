import Foundation
import XCTest
import JarvisEngine

/// The fuzzers' seeds and every input that ever crashed a fuzzer, replayed through the same
/// parsers: each must parse or throw `EngineError`, never crash.
final class FuzzRegressionTests: XCTestCase {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz").path

    func files(_ dir: String) -> [String] {
        let path = Self.fuzz + "/" + dir
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { $0 != "README" }.sorted().map { path + "/" + $0 }
    }

    func testGGUFSeedsParseAndRegressionsFailCleanly() throws {
        let seeds = files("corpus/gguf")
        XCTAssertGreaterThanOrEqual(seeds.count, 3)
        for s in seeds {
            let g = try GGUFFile(path: s)
            XCTAssertFalse(g.tensors.isEmpty, s)
            XCTAssertEqual(g.metadata["seed.string"]?.string, "jarvis", s)
        }
        for r in files("regressions/fuzz-gguf") {
            do { _ = try GGUFFile(path: r) } catch is EngineError {} catch { XCTFail("\(r): \(error)") }
        }
    }

    func testSafetensorsSeedsParseAndRegressionsFailCleanly() throws {
        let seeds = files("corpus/safetensors")
        XCTAssertGreaterThanOrEqual(seeds.count, 2)
        for s in seeds { _ = try SafetensorsFile(path: s) }
        for r in files("regressions/fuzz-safetensors") {
            do { _ = try SafetensorsFile(path: r) } catch is EngineError {} catch { XCTFail("\(r): \(error)") }
        }
    }

    func testImageSeedsDecodeOrFailCleanlyAndRegressionsFailCleanly() throws {
        let seeds = files("corpus/images")
        XCTAssertGreaterThanOrEqual(seeds.count, 8)
        var decoded = 0
        for path in seeds + files("regressions/fuzz-image") {
            do { _ = try ImageDecoder.load(path: path); decoded += 1 } catch is EngineError {} catch { XCTFail("\(path): \(error)") }
        }
        XCTAssertGreaterThanOrEqual(decoded, 8, "the seeds are mostly valid images")
    }
}
