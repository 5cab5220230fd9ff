import Foundation
import XCTest
@testable import JarvisEngine

/// The GGUF reader: every metadata type, tensor alignment, and a clear error (never a crash)
/// for each way a file can be damaged.
final class GGUFFileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTempDir("gguf") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// The writer other tests build model files with: every value type and tensor alignment
    /// must read back through `GGUFFile`.
    func testGGUFWriterRoundTrip() throws {
        let values: [(String, GGUFValue)] = [
            ("u8", .uint8(200)), ("i8", .int8(-100)), ("u16", .uint16(60000)), ("i16", .int16(-30000)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-2_000_000_000)), ("f32", .float32(1.5)),
            ("bool", .bool(true)), ("str", .string("héllo 😀")), ("u64", .uint64(1 << 40)),
            ("i64", .int64(-(1 << 40))), ("f64", .float64(-2.25)),
            ("arr", .array([.int32(1), .int32(-2)])), ("strs", .array([.string("a"), .string("")])),
            ("nested", .array([.array([.uint8(1)]), .array([.uint8(2), .uint8(3)])])),
            ("general.alignment", .uint32(64)),
        ]
        let writer = GGUFWriter()
        for (k, v) in values { writer.add(key: k, value: v) }
        writer.add(key: "empty", emptyArrayOf: .float32)
        writer.addTensor(name: "a", shape: [3], floats: [1, 2, 3])
        writer.addTensor(name: "b", shape: [32, 2], type: .q8_0, data: (0..<68).map { UInt8($0) })
        let url = dir.appendingPathComponent("all.gguf")
        try writer.write(to: url)

        let gguf = try GGUFFile(path: url.path)
        XCTAssertEqual(gguf.version, 3)
        XCTAssertEqual(gguf.metadataKeys, values.map(\.0) + ["empty"])
        for (k, v) in values { XCTAssertEqual(gguf[k], v, k) }
        XCTAssertEqual(gguf["empty"], .array([]))
        XCTAssertEqual(gguf.alignment, 64)
        XCTAssertEqual(gguf.tensors.map(\.name), ["a", "b"])
        for t in gguf.tensors { XCTAssertEqual(t.fileOffset % 64, 0, t.name) }
        XCTAssertEqual(try gguf.dequantize(gguf.tensorsByName["a"]!), [1, 2, 3])
        let b = gguf.tensorsByName["b"]!
        XCTAssertEqual(b.shape, [32, 2])
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: gguf.data(of: b), count: b.byteCount)), (0..<68).map { UInt8($0) })
    }

    // MARK: - Damaged files

    /// A small valid file: one F32 tensor and one Q8_0 tensor.
    func validBytes() -> [UInt8] {
        GGUFWriter()
            .add(key: "general.architecture", value: .string("llama"))
            .addTensor(name: "a", shape: [4], floats: [1, 2, 3, 4])
            .addTensor(name: "b", shape: [32, 2], type: .q8_0, data: [UInt8](repeating: 1, count: 68))
            .bytes()
    }

    func expectError(_ bytes: [UInt8], _ code: EngineError.Code, mentioning words: [String],
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let url = dir.appendingPathComponent("bad-\(UUID().uuidString).gguf")
        try Data(bytes).write(to: url)
        do {
            _ = try GGUFFile(path: url.path)
            XCTFail("expected an error", file: file, line: line)
        } catch let e as EngineError {
            XCTAssertEqual(e.code, code, e.message, file: file, line: line)
            XCTAssertTrue(e.message.contains(url.path), "message must name the file: \(e.message)", file: file, line: line)
            for w in words {
                XCTAssertTrue(e.message.contains(w), "message should mention '\(w)': \(e.message)", file: file, line: line)
            }
        }
    }

    func testValidFileParses() throws {
        let url = dir.appendingPathComponent("ok.gguf")
        try Data(validBytes()).write(to: url)
        let g = try GGUFFile(path: url.path)
        XCTAssertEqual(g.tensors.count, 2)
        XCTAssertEqual(try g.dequantize(g.tensorsByName["a"]!), [1, 2, 3, 4])
    }

    func testTruncatedAtEveryHeaderOffset() throws {
        let bytes = validBytes()
        let headerEnd = bytes.count - 128   // the tensor data section is at most this large
        for cut in stride(from: 0, to: headerEnd, by: 7) {
            let url = dir.appendingPathComponent("cut-\(cut).gguf")
            try Data(bytes[0..<cut]).write(to: url)
            XCTAssertThrowsError(try GGUFFile(path: url.path), "cut at \(cut)") { error in
                XCTAssertTrue((error as? EngineError)?.message.contains(url.path) == true, "\(error)")
            }
        }
    }

    func testTruncatedTensorData() throws {
        let bytes = validBytes()
        try expectError(Array(bytes.dropLast(40)), .invalidFile, mentioning: ["past the end", "b"])
    }

    func testBadMagic() throws {
        var bytes = validBytes()
        bytes[0] = UInt8(ascii: "X")
        try expectError(bytes, .invalidFile, mentioning: ["magic"])
    }

    func testUnsupportedVersion() throws {
        let w = GGUFWriter().add(key: "k", value: .uint8(1))
        w.version = 1
        try expectError(w.bytes(), .unsupported, mentioning: ["version 1"])
        w.version = 4
        try expectError(w.bytes(), .unsupported, mentioning: ["version 4"])
    }

    func testTensorPastTheEnd() throws {
        let bytes = GGUFWriter()
            .addTensor(name: "far", shape: [4], type: .f32, data: [UInt8](repeating: 0, count: 16), offset: 1 << 20)
            .bytes()
        try expectError(bytes, .invalidFile, mentioning: ["far", "past the end"])
    }

    func testUnknownTensorType() throws {
        var bytes = GGUFWriter().addTensor(name: "t", shape: [4], floats: [0, 0, 0, 0]).bytes()
        // The type id (u32) follows name, dimension count and one dimension; find it after the name.
        let name = Array("t".utf8)
        let at = try XCTUnwrap(firstIndex(of: [UInt8(name.count), 0, 0, 0, 0, 0, 0, 0] + name, in: bytes))
        let typeOffset = at + 8 + name.count + 4 + 8
        bytes[typeOffset] = 99
        try expectError(bytes, .unsupported, mentioning: ["unknown type id 99", "t"])
    }

    func testWrongElementCount() throws {
        // 33 values cannot be Q8_0 blocks of 32.
        let bytes = GGUFWriter().addTensor(name: "odd", shape: [33], type: .q8_0, data: [UInt8](repeating: 0, count: 68)).bytes()
        try expectError(bytes, .invalidFile, mentioning: ["odd", "multiple of"])
    }

    func testHugeCountsAreRefusedBeforeAllocating() throws {
        var bytes: [UInt8] = Array("GGUF".utf8) + [3, 0, 0, 0]
        bytes += [UInt8](repeating: 0xFF, count: 8)   // tensor count 2^64-1
        bytes += [1, 0, 0, 0, 0, 0, 0, 0]
        try expectError(bytes, .invalidFile, mentioning: ["count"])
        // A string length far beyond the file.
        var s: [UInt8] = Array("GGUF".utf8) + [3, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 0, 0] + [1, 0, 0, 0, 0, 0, 0, 0]
        s += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]
        try expectError(s, .invalidFile, mentioning: ["truncated"])
    }

    func testModelLoaderNamesMissingTensorAndWrongShape() throws {
        let url = dir.appendingPathComponent("model.gguf")
        let w = TinyModel.writer(TinyModel.Config(architecture: "llama"))
        try w.write(to: url)
        XCTAssertNoThrow(try Transformer(path: url.path))

        // Drop a tensor: rebuild without blk.0.ffn_up.weight.
        let broken = TinyModel.writer(TinyModel.Config(architecture: "llama"), skipping: "blk.0.ffn_up.weight")
        let url2 = dir.appendingPathComponent("missing.gguf")
        try broken.write(to: url2)
        XCTAssertThrowsError(try Transformer(path: url2.path)) { error in
            let e = error as? EngineError
            XCTAssertEqual(e?.code, .modelMismatch)
            XCTAssertTrue(e?.message.contains("blk.0.ffn_up.weight") == true, "\(error)")
        }
    }

    func testUnsupportedTensorTypeIsNamedWithTheSupportedOnes() throws {
        // Rows of 256: IQ2_XXS blocks are 256 long.
        let c = TinyModel.Config(layers: 1, dim: 256, heads: 4, kvHeads: 2, ffnDim: 512)
        let url = dir.appendingPathComponent("iq2.gguf")
        let up = try XCTUnwrap(TinyModel.weights(c).first { $0.name == "blk.0.ffn_up.weight" })
        let bytes = GGMLType.iq2_xxs.byteCount(elements: up.values.count)
        try TinyModel.writer(c, skipping: up.name)
            .addTensor(name: up.name, shape: up.shape, type: .iq2_xxs, data: [UInt8](repeating: 0, count: bytes))
            .write(to: url)
        XCTAssertThrowsError(try Transformer(path: url.path)) { error in
            let e = error as? EngineError
            XCTAssertEqual(e?.code, .unsupported)
            for word in ["blk.0.ffn_up.weight", "IQ2_XXS", "Supported types", "Q4_K", "Q5_0", "IQ4_XS", "BF16"] {
                XCTAssertTrue(e?.message.contains(word) == true, "\(word) missing from: \(error)")
            }
        }
    }

    func testMissingFileSaysWhatToDo() {
        XCTAssertThrowsError(try ModelFiles.path(of: "nope.gguf", environment: ["JARVIS_MODELS": dir.path])) { error in
            XCTAssertTrue("\(error)".contains("scripts/setup"), "\(error)")
        }
        XCTAssertThrowsError(try GGUFFile(path: dir.path)) { error in
            XCTAssertEqual((error as? EngineError)?.code, .io)
        }
    }

    private func firstIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard needle.count <= hay.count else { return nil }
        for i in 0...(hay.count - needle.count) where Array(hay[i..<i + needle.count]) == needle { return i }
        return nil
    }
}
