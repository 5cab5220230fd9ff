import Foundation
import JarvisEngine
import XCTest

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

    func testONNXSeedsParseAndRegressionsFailCleanly() throws {
        let seeds = files("corpus/onnx")
        XCTAssertGreaterThanOrEqual(seeds.count, 3)
        for s in seeds {
            let m = try ONNXModel(path: s)
            XCTAssertFalse(m.nodes.isEmpty, s)
        }
        let kinds = try ONNXModel(path: Self.fuzz + "/corpus/onnx/attributes.onnx")
        XCTAssertEqual(kinds.opset, 17)
        XCTAssertEqual(kinds.initializers["f32"]?.floats(), [1.0, -2.5, 3.25])
        XCTAssertEqual(kinds.initializers["i64"]?.floats(), [4, -1])
        XCTAssertEqual(kinds.initializers["i32"]?.floats(), [1, 2, 3, -4])
        XCTAssertEqual(kinds.initializers["u8"]?.floats(), [0, 1, 200, 255])
        XCTAssertEqual(kinds.initializers["f64"]?.floats(), [0.5, 1e-9])
        XCTAssertEqual(kinds.initializers["h16"]?.floats(), [1.5, -0.25])
        let ln = try XCTUnwrap(kinds.nodes.first { $0.opType == "LayerNormalization" })
        XCTAssertEqual(ln.int("axis"), -1)
        XCTAssertEqual(ln.float("epsilon"), 1e-6)
        XCTAssertEqual(kinds.nodes.first { $0.opType == "Conv" }?.ints("strides"), [2, 2])
        for r in files("regressions/fuzz-onnx") {
            do { _ = try ONNXModel(path: r) } catch is EngineError {} catch { XCTFail("\(r): \(error)") }
        }
    }
}
