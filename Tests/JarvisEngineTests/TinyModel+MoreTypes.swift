import Foundation
@testable import JarvisEngine

/// Round-to-nearest quantizers for the types TinyModel.quantize does not write itself (Q5_0,
/// Q5_1, IQ4_NL, Q2_K, Q3_K, Q5_K, IQ4_XS, F16, BF16): enough to make valid test tensors whose
/// values follow the source. Tests compare against the stored values, dequantized.
extension TinyModel {
    static func quantizeMore(_ x: [Float], to type: GGMLType) -> [UInt8] {
        var out: [UInt8] = []
        func half(_ f: Float) { withUnsafeBytes(of: Float16(f).bitPattern.littleEndian) { out += $0 } }
        func clamp(_ v: Float, _ lo: Int, _ hi: Int) -> Int { v.isFinite ? max(lo, min(hi, Int(v.rounded()))) : 0 }
        /// The index of the IQ4_NL value nearest to v.
        func nearest(_ v: Float) -> Int {
            (0..<16).min { abs(iq4nlValues[$0] - v) < abs(iq4nlValues[$1] - v) }!
        }
        /// Nibbles of 32 values: value l in the low half of byte l, value l + 16 in the high half.
        func nibbles(_ q: [Int]) -> [UInt8] { (0..<16).map { UInt8((q[$0] & 0x0F) | (q[$0 + 16] & 0x0F) << 4) } }
        /// Bit e of the 32-bit word: bit 4 of value e.
        func highBits(_ q: [Int]) -> [UInt8] {
            let bits = q.enumerated().reduce(UInt32(0)) { $0 | UInt32(($1.element >> 4) & 1) << UInt32($1.offset) }
            return withUnsafeBytes(of: bits.littleEndian, Array.init)
        }
        switch type {
        case .f16: return x.flatMap { withUnsafeBytes(of: Float16($0).bitPattern.littleEndian, Array.init) }
        case .bf16: return x.flatMap { withUnsafeBytes(of: UInt16($0.bitPattern >> 16).littleEndian, Array.init) }
        case .q5_0, .q5_1, .iq4_nl:
            for b in stride(from: 0, to: x.count, by: 32) {
                let v = Array(x[b..<b + 32])
                let extreme = v.max(by: { abs($0) < abs($1) })!
                switch type {
                case .q5_0:
                    let d = Float(Float16(extreme / -16))
                    let q = v.map { clamp($0 / d + 16, 0, 31) }
                    half(d); out += highBits(q) + nibbles(q)
                case .q5_1:
                    let lo = v.min()!, d = Float(Float16((v.max()! - lo) / 31))
                    let q = v.map { clamp(($0 - Float(Float16(lo))) / d, 0, 31) }
                    half(d); half(lo); out += highBits(q) + nibbles(q)
                default:
                    let d = Float(Float16(extreme / -127))
                    half(d); out += nibbles(v.map { nearest($0 / d) })
                }
            }
            return out
        case .q2_K, .q3_K, .q5_K, .iq4_xs:
            for b in stride(from: 0, to: x.count, by: 256) {
                let v = Array(x[b..<b + 256])
                let groups16 = (0..<16).map { Array(v[16 * $0..<16 * $0 + 16]) }
                let groups32 = (0..<8).map { Array(v[32 * $0..<32 * $0 + 32]) }
                switch type {
                case .q2_K:
                    let mins = groups16.map { -min(0, $0.min()!) }
                    let scales = groups16.indices.map { (groups16[$0].max()! + mins[$0]) / 3 }
                    let d = Float(Float16(scales.max()! / 15)), dmin = Float(Float16(mins.max()! / 15))
                    let sc = scales.map { clamp($0 / d, 0, 15) }, mn = mins.map { clamp($0 / dmin, 0, 15) }
                    let q = (0..<256).map { e in clamp((v[e] + dmin * Float(mn[e / 16])) / (d * Float(sc[e / 16])), 0, 3) }
                    out += (0..<16).map { UInt8(sc[$0] | mn[$0] << 4) }
                    for j in 0..<2 { for l in 0..<32 { out.append(UInt8((0..<4).reduce(0) { $0 | q[128 * j + 32 * $1 + l] << (2 * $1) })) } }
                    half(d); half(dmin)
                case .q3_K:
                    let scales = groups16.map { $0.map { abs($0) }.max()! / 4 }
                    let d = Float(Float16(scales.max()! / 31))
                    let sc = scales.map { clamp($0 / d, -32, 31) }
                    let q = (0..<256).map { e in clamp(v[e] / (d * Float(sc[e / 16])), -4, 3) }
                    var hmask = [UInt8](repeating: 0, count: 32)
                    for e in 0..<256 where q[e] >= 0 { hmask[e % 32] |= UInt8(1 << (e / 32)) }
                    out += hmask
                    for j in 0..<2 { for l in 0..<32 { out.append(UInt8((0..<4).reduce(0) { $0 | ((q[128 * j + 32 * $1 + l] + 4) & 3) << (2 * $1) })) } }
                    var packed = [UInt8](repeating: 0, count: 12)
                    for g in 0..<16 {
                        let s = sc[g] + 32
                        packed[g % 8] |= UInt8((s & 0x0F) << (4 * (g / 8)))
                        packed[8 + g % 4] |= UInt8((s >> 4) << (2 * (g / 4)))
                    }
                    out += packed
                    half(d)
                case .q5_K:
                    let mins = groups32.map { -min(0, $0.min()!) }
                    let scales = groups32.indices.map { (groups32[$0].max()! + mins[$0]) / 31 }
                    let d = Float(Float16(scales.max()! / 63)), dmin = Float(Float16(mins.max()! / 63))
                    let sc = scales.map { clamp($0 / d, 0, 63) }, mn = mins.map { clamp($0 / dmin, 0, 63) }
                    let q = (0..<256).map { e in clamp((v[e] + dmin * Float(mn[e / 32])) / (d * Float(sc[e / 32])), 0, 31) }
                    half(d); half(dmin)
                    var packed = [UInt8](repeating: 0, count: 12)
                    for j in 0..<4 {
                        packed[j] = UInt8(sc[j] | ((sc[j + 4] >> 4) << 6))
                        packed[j + 4] = UInt8(mn[j] | ((mn[j + 4] >> 4) << 6))
                        packed[j + 8] = UInt8((sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4))
                    }
                    out += packed
                    out += (0..<32).map { l in UInt8((0..<8).reduce(0) { $0 | ((q[32 * $1 + l] >> 4) & 1) << $1 }) }
                    for p in 0..<4 { for l in 0..<32 { out.append(UInt8((q[64 * p + l] & 0x0F) | (q[64 * p + 32 + l] & 0x0F) << 4)) } }
                default:
                    let scales = groups32.map { g in g.max(by: { abs($0) < abs($1) })! / -127 }
                    let d = Float(Float16(scales.map { abs($0) }.max()! / 31))
                    let sc = scales.map { clamp($0 / d, -32, 31) }
                    half(d)
                    let ls = sc.map { $0 + 32 }       // stored 6-bit scales
                    var high = 0
                    for j in 0..<8 { high |= (ls[j] >> 4) << (2 * j) }
                    out += [UInt8(high & 0xFF), UInt8(high >> 8)]
                    for j in 0..<4 { out.append(UInt8((ls[2 * j] & 0x0F) | (ls[2 * j + 1] & 0x0F) << 4)) }
                    for j in 0..<8 {
                        let step = d * Float(sc[j])
                        out += nibbles(groups32[j].map { step == 0 ? 8 : nearest($0 / step) })
                    }
                }
            }
            return out
        default:
            fatalError("TinyModel cannot quantize to \(type)")
        }
    }

    /// The sixteen values an IQ4_NL / IQ4_XS index picks (ggml's kvalues_iq4nl).
    static let iq4nlValues: [Float] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]
}
