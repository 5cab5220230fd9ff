import Foundation
import XCTest
import CJarvisKernels
@testable import JarvisEngine

/// Every dequantizer against the `gguf` package's reference on random blocks
/// (fixture: tools/make_dequant_fixtures.py), compared bit for bit.
final class DequantTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let type: String
            let type_id: UInt32
            let elements: Int
            let data: String
            let expected_f32_le: String
        }
        let cases: [Case]
    }

    func testEveryTypeMatchesReferenceBitForBit() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "dequant", withExtension: "json", subdirectory: "Fixtures"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let required: Set<String> = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
                                  "IQ4_NL", "IQ4_XS"]
        XCTAssertEqual(Set(fixture.cases.map(\.type)), required)

        for c in fixture.cases {
            let type = try XCTUnwrap(GGMLType(rawValue: c.type_id), c.type)
            XCTAssertTrue(type.canDequantize, c.type)
            let raw = try XCTUnwrap(Data(base64Encoded: c.data))
            XCTAssertEqual(raw.count, type.byteCount(elements: c.elements), "\(c.type): block size")
            let expected = try XCTUnwrap(Data(base64Encoded: c.expected_f32_le))
            var out = [Float](repeating: .nan, count: c.elements)
            let rc = raw.withUnsafeBytes { jk_dequantize(Int32(c.type_id), $0.baseAddress!, &out, Int64(c.elements)) }
            XCTAssertEqual(rc, 0, c.type)
            var mismatches = 0
            expected.withUnsafeBytes { e in
                for i in 0..<c.elements {
                    let want = UInt32(littleEndian: e.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    if out[i].bitPattern != want {
                        if mismatches < 5 {
                            XCTFail("\(c.type) element \(i): got \(out[i]) expected \(Float(bitPattern: want))")
                        }
                        mismatches += 1
                    }
                }
            }
            XCTAssertEqual(mismatches, 0, "\(c.type): \(mismatches) of \(c.elements) elements differ")
        }
    }

    func testUnsupportedTypeIsRefused() {
        var out = [Float](repeating: 0, count: 256)
        let raw = [UInt8](repeating: 0, count: 1024)
        XCTAssertEqual(jk_dequantize(Int32(GGMLType.iq2_xxs.rawValue), raw, &out, 256), -1)
    }

    func testHalfConversionRoundTripsEveryFiniteValue() {
        var widenFailures = 0, narrowFailures = 0
        for bits in 0...UInt16.max {
            let f = jk_fp16_to_fp32(bits)
            let reference = Float(Float16(bitPattern: bits))
            if f.isNaN != reference.isNaN || (!f.isNaN && f.bitPattern != reference.bitPattern) { widenFailures += 1 }
            if !f.isNaN && jk_fp32_to_fp16(f) != bits { narrowFailures += 1 }
        }
        XCTAssertEqual(widenFailures, 0)
        XCTAssertEqual(narrowFailures, 0)

        // The row functions (F16C where the CPU has it) agree with the scalar ones everywhere,
        // including the rounding of values between two halves.
        let all = (0...UInt16.max).map { $0 }
        var wide = [Float](repeating: 0, count: all.count)
        jk_fp16_to_fp32_row(all, &wide, Int64(all.count))
        // (NaN payloads may differ: F16C quiets signalling NaNs.)
        let mismatches = all.indices.filter { !wide[$0].isNaN && wide[$0].bitPattern != jk_fp16_to_fp32(all[$0]).bitPattern }
        XCTAssertEqual(mismatches, [])
        XCTAssertEqual(wide.filter(\.isNaN).count, all.filter { jk_fp16_to_fp32($0).isNaN }.count)
        let between = (0..<20_000).map { Float(bitPattern: UInt32($0) &* 214_013 &+ 2_531_011) }.filter(\.isFinite)
        var narrow = [UInt16](repeating: 0, count: between.count)
        jk_fp32_to_fp16_row(between, &narrow, Int64(between.count))
        XCTAssertEqual(narrow, between.map(jk_fp32_to_fp16))
        var rounded = between
        jk_round_fp16(&rounded, Int64(rounded.count))
        XCTAssertEqual(rounded.map(\.bitPattern), between.map { jk_fp16_to_fp32(jk_fp32_to_fp16($0)).bitPattern })
        // Round to nearest even at the halfway points, and overflow to infinity.
        XCTAssertEqual(jk_fp32_to_fp16(1 + 0x1p-11), Float16(1).bitPattern)
        XCTAssertEqual(jk_fp32_to_fp16(1 + 3 * 0x1p-11), Float16(1 + 2 * 0x1p-10).bitPattern)
        XCTAssertEqual(jk_fp32_to_fp16(70000), Float16.infinity.bitPattern)
        XCTAssertEqual(jk_fp32_to_fp16(0x1p-25), 0)
        XCTAssertEqual(jk_fp32_to_fp16(0x1.8p-25), 1)
    }
}
