import Foundation
import XCTest
import CJarvisKernels
@testable import JarvisEngine

/// The C kernels: every CPU-feature level gives the same bits, any thread count gives the same
/// bits, and the quantized products agree with dequantize-then-multiply.
final class KernelTests: XCTestCase {
    override func tearDown() {
        // Back to the best levels the CPU has, as ComputeThreads selects them.
        _ = jk_select_matmul_kernels(2)
        _ = jk_select_attention_kernels(1)
        jk_select_exp_kernels(1)
        ComputeThreads.set(1)
    }

    var rng = SplitMix64(seed: 99)
    func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in Float(rng.nextUnitDouble() * 2 - 1) * scale } }

    func matmul(_ type: GGMLType, _ w: [UInt8], rows: Int, cols: Int, _ x: [Float], n: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: n * rows)
        let prepared = prepare(type, x)
        jk_matmul_quantized(Int32(type.rawValue), w, Int32(rows), Int32(cols), prepared, Int32(n), &y, Int64(rows))
        return y
    }

    /// The activations in the format the kernel for `type` reads.
    func prepare(_ type: GGMLType, _ x: [Float]) -> [UInt8] {
        let format = jk_activation_format(Int32(type.rawValue))
        var out = [UInt8](repeating: 0, count: Int(jk_activation_bytes(format, Int64(x.count))))
        jk_prepare_activations(format, x, &out, Int64(x.count))
        return out
    }

    /// The values a prepared activation row stands for, and for Q8 blocks the stored
    /// d·Σq of each 32 (Q8_1's sum, rounded through fp16).
    func preparedValues(_ type: GGMLType, _ x: [Float]) -> (values: [Double], sums: [Double]) {
        let raw = prepare(type, x)
        return raw.withUnsafeBytes { p in
            switch Int(jk_activation_format(Int32(type.rawValue))) {
            case Int(JK_ACTIVATIONS_Q8):
                let blocks = Array(p.bindMemory(to: jk_block_q8.self))
                let values = blocks.flatMap { b in withUnsafeBytes(of: b.qs) { $0.map { Double(b.d) * Double(Int8(bitPattern: $0)) } } }
                return (values, blocks.map { Double($0.s) })
            case Int(JK_ACTIVATIONS_Q8K):
                let blocks = Array(p.bindMemory(to: jk_block_q8k.self))
                return (blocks.flatMap { b in withUnsafeBytes(of: b.qs) { $0.map { Double(b.d) * Double(Int8(bitPattern: $0)) } } }, [])
            default:
                return (p.bindMemory(to: Float.self).map(Double.init), [])
            }
        }
    }

    /// Byte offsets of the fp16 scale fields in a block of each type.
    static let halfFields: [GGMLType: [Int]] = [
        .q4_0: [0], .q4_1: [0, 2], .q5_0: [0], .q5_1: [0, 2], .q8_0: [0], .iq4_nl: [0],
        .q2_K: [80, 82], .q3_K: [108], .q4_K: [0, 2], .q5_K: [0, 2], .q6_K: [208], .iq4_xs: [0],
    ]
    /// Every type with a product kernel.
    static let kernelTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl,
                                          .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs, .f16, .bf16]

    /// Random blocks of `type`: random bytes (so every pattern of values and sub-scales occurs)
    /// with each fp16 scale field set to a small random value; random 16-bit floats for F16/BF16.
    func randomBlocks(_ type: GGMLType, elements: Int) -> [UInt8] {
        switch type {
        case .f16: return randoms(elements).flatMap { v in withUnsafeBytes(of: Float16(v).bitPattern.littleEndian, Array.init) }
        case .bf16: return randoms(elements).flatMap { v in withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian, Array.init) }
        default:
            let (perBlock, bytes) = type.blockLayout
            var out = (0..<elements / perBlock * bytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for b in 0..<elements / perBlock {
                for f in Self.halfFields[type]! {
                    let h = Float16(Float(rng.nextUnitDouble() * 2 - 1) * 0.02).bitPattern
                    out[b * bytes + f] = UInt8(h & 0xFF)
                    out[b * bytes + f + 1] = UInt8(h >> 8)
                }
            }
            return out
        }
    }

    func quantizeQ8K(_ x: [Float]) -> [jk_block_q8k] {
        var blocks = [jk_block_q8k](repeating: jk_block_q8k(), count: x.count / 256)
        jk_quantize_q8k(x, &blocks, Int64(x.count))
        return blocks
    }

    /// The Q8_K quantizer gives the same blocks at every CPU level, including where the largest
    /// magnitude comes twice with opposite signs (the first one's sign sets the scale's), and
    /// for a block of zeros.
    func testQ8KBlocksAreTheSameAtEveryLevel() {
        var x = randoms(4 * 256, scale: 3)
        x[256 + 40] = -7; x[256 + 200] = 7            // block 1: -7 first
        x[512 + 10] = 7; x[512 + 100] = -7            // block 2: +7 first
        for i in 768..<1024 { x[i] = 0 }               // block 3: zeros
        func bytes(_ level: Int32) -> [UInt8] {
            _ = jk_select_matmul_kernels(level)
            return quantizeQ8K(x).flatMap { b in withUnsafeBytes(of: b) { Array($0) } }
        }
        let portable = bytes(0), avx2 = bytes(1)
        _ = jk_select_matmul_kernels(2)
        XCTAssertEqual(portable, avx2)
        let blocks = quantizeQ8K(x)
        XCTAssertEqual(blocks[1].d, 7 / 127, accuracy: 1e-6, "scale from -7, the first of the two")
        XCTAssertEqual(blocks[2].d, -7 / 127, accuracy: 1e-6, "scale from +7, the first of the two")
        XCTAssertEqual(blocks[3].d, 0)
    }

    /// Q4_K and Q6_K on their blocks against the dequantized weights times the dequantized
    /// Q8_K activations, in Double; and the Q8_K blocks themselves (values, sums of 16).
    func testKQuantProductsAgreeWithDequantizedOnes() {
        let rows = 37, cols = 512, n = 6
        let x = randoms(n * cols, scale: 3)
        let blocks = quantizeQ8K(x)
        var xq = [Double](repeating: 0, count: n * cols)
        for (b, blk) in blocks.enumerated() {
            let qs = withUnsafeBytes(of: blk.qs) { Array($0.bindMemory(to: Int8.self)) }
            let sums = withUnsafeBytes(of: blk.bsums) { Array($0.bindMemory(to: Int16.self)) }
            XCTAssertEqual(qs.map { abs(Int($0)) }.max(), 127, "the largest magnitude maps to ±127")
            for j in 0..<16 { XCTAssertEqual(Int(sums[j]), qs[16 * j..<16 * j + 16].reduce(0) { $0 + Int($1) }) }
            for e in 0..<256 {
                xq[b * 256 + e] = Double(blk.d) * Double(qs[e])
                XCTAssertEqual(xq[b * 256 + e], Double(x[b * 256 + e]), accuracy: Double(abs(blk.d)) * 0.5 + 1e-6)
            }
        }
        for type in [GGMLType.q4_K, .q6_K] {
            let source = randoms(rows * cols, scale: 0.5)
            let w = TinyModel.quantize(source, to: type)
            XCTAssertEqual(w.count, type.byteCount(elements: rows * cols))
            var wf = [Float](repeating: 0, count: rows * cols)
            XCTAssertEqual(jk_dequantize(Int32(type.rawValue), w, &wf, Int64(rows * cols)), 0)
            // The test quantizer is sane: every weight within a few percent of the range.
            XCTAssertLessThan(zip(wf, source).map { abs($0 - $1) }.max()!, type == .q4_K ? 0.05 : 0.02, "\(type) quantizer")
            let y = matmul(type, w, rows: rows, cols: cols, x, n: n)
            for t in 0..<n {
                for r in 0..<rows {
                    var want = 0.0, scale = 0.0
                    for e in 0..<cols {
                        let term = Double(wf[r * cols + e]) * xq[t * cols + e]
                        want += term
                        scale += abs(term)
                    }
                    XCTAssertEqual(Double(y[t * rows + r]), want, accuracy: 1e-5 * max(scale, 1), "\(type) row \(r) token \(t)")
                }
            }
        }
    }

    /// Every kernel against its dequantized weights times the values its activations stand
    /// for, in Double, over shapes with one row, odd row counts, and one to five tokens (tiles
    /// of four and a remainder), and 24 tokens (tiles of eight; for the K-quants one of sixteen
    /// and one of eight). Tolerance 1e-5 of Σ|wᵢxᵢ|: the integer parts are exact and the
    /// float sums run over at most a few dozen terms. Q4_1/Q5_1 add m · s with Q8_1's stored s.
    func testEveryKernelAgreesWithDequantizeThenMultiply() {
        for type in Self.kernelTypes {
            let block = jk_activation_format(Int32(type.rawValue)) == Int32(JK_ACTIVATIONS_Q8K) ? 256 : 32
            for (rows, blocks, n) in [(1, 1, 1), (37, 3, 5), (19, 2, 4), (13, 2, 24)] {
                let cols = blocks * block
                let w = randomBlocks(type, elements: rows * cols)
                XCTAssertEqual(w.count, type.byteCount(elements: rows * cols))
                var wf = [Float](repeating: .nan, count: rows * cols)
                XCTAssertEqual(jk_dequantize(Int32(type.rawValue), w, &wf, Int64(rows * cols)), 0, "\(type)")
                let x = randoms(n * cols, scale: 3)
                let (xq, sums) = preparedValues(type, x)
                let y = matmul(type, w, rows: rows, cols: cols, x, n: n)
                let hasMinimum = type == .q4_1 || type == .q5_1
                for t in 0..<n {
                    for r in 0..<rows {
                        var want = 0.0, scale = 0.0
                        for e in 0..<cols {
                            let term = Double(wf[r * cols + e]) * xq[t * cols + e]
                            want += term
                            scale += abs(term)
                        }
                        if hasMinimum {
                            // ggml multiplies the block minimum by s, not by the sum of the values.
                            let bytes = type.blockLayout.bytes
                            for b in 0..<cols / 32 {
                                let at = (r * cols / 32 + b) * bytes + 2
                                let m = Double(Float(Float16(bitPattern: UInt16(w[at]) | UInt16(w[at + 1]) << 8)))
                                let exact = xq[(t * cols + b * 32)..<(t * cols + b * 32 + 32)].reduce(0, +)
                                want += m * (sums[t * cols / 32 + b] - exact)
                            }
                        }
                        XCTAssertEqual(Double(y[t * rows + r]), want, accuracy: 1e-5 * max(scale, 1e-3),
                                       "\(type) \(rows)×\(cols) row \(r) token \(t)")
                    }
                }
            }
        }
    }

    /// 4-bit attention (keys per channel, values per 32), in both of its orders: the portable and
    /// AVX2 paths give the same bits, and both match the dequantized rows multiplied in Double.
    /// The weighted sum lands in the state's slots; whichever slot takes it, the end of the sum
    /// adds them all. 150 rows leave remainders after the tiled order's blocks of 8 and 32 rows.
    func testFourBitAttentionMatchesItsDequantizedRows() {
        let hd = 64, n = 150, start = 5
        let q = randoms(hd).map { Float(Float16($0)) }
        let kCodes = (0..<n * hd / 2).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let vCodes = (0..<n * hd / 2).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let channels = (randoms(hd).map { abs($0) / 8 } + randoms(hd)).map { Float16($0).bitPattern }
        let groups = (0..<n * hd / 32).flatMap { _ in [Float16(abs(randoms(1)[0]) / 8).bitPattern, Float16(randoms(1)[0]).bitPattern] }
        let p = randoms(n).map { abs($0) / 75 }
        func f(_ h: UInt16) -> Double { Double(Float(Float16(bitPattern: h))) }
        func code(_ codes: [UInt8], _ row: Int, _ d: Int) -> Double {
            let byte = codes[row * hd / 2 + d / 2]
            return Double(d % 2 == 0 ? byte & 15 : byte >> 4)
        }
        for order in [Int32(JK_ORDER_TILED), Int32(JK_ORDER_VECTOR)] {
            var results: [[UInt32]] = []
            for level in [0, 1] {
                jk_select_attention_q4_kernels(Int32(level))
                var s = [Float](repeating: 0, count: n), state = [Float](repeating: 0, count: 64 * hd), o = [Float](repeating: 0, count: hd)
                jk_attn_scores_q4(q, 1, kCodes, channels, Int32(n), Int32(hd), 0.125, &s, Int32(n), order)
                jk_attn_mix_rows_q4(&state, 1, p, Int32(n), vCodes, groups, Int32(n), Int32(hd), Int32(start), order)
                jk_attn_mix_end(state, Int32(hd), &o, order)
                for j in 0..<n {
                    let want = (0..<hd).reduce(0.0) { $0 + Double(q[$1]) * (f(channels[hd + $1]) + f(channels[$1]) * code(kCodes, j, $1)) } * 0.125
                    XCTAssertEqual(Double(s[j]), want, accuracy: 1e-4, "score \(j), order \(order), level \(level)")
                }
                for d in 0..<hd {
                    let want = (0..<n).reduce(0.0) { sum, j in
                        let g = (j * hd / 32 + d / 32) * 2
                        return sum + Double(p[j]) * (f(groups[g + 1]) + f(groups[g]) * code(vCodes, j, d))
                    }
                    XCTAssertEqual(Double(o[d]), want, accuracy: 1e-4, "value dimension \(d), order \(order), level \(level)")
                }
                results.append((s + o).map(\.bitPattern))
            }
            XCTAssertEqual(results[0], results[1], "4-bit attention, order \(order), portable vs AVX2")
        }
        jk_select_attention_q4_kernels(1)
    }

    /// The queries of a task are scored and mixed in one pass over the rows (in groups of six in
    /// the tiled order, of eight and six for 4-bit pages, of four in the vector order, then the
    /// rest): every score and every weighted sum has the bits of that query alone, in each page
    /// format, order and CPU level.
    /// 13 and 42 rows leave remainders after the groups of eight rows that are reduced together
    /// (and of sixteen, in the 4-bit keys' pairs of blocks), 150 after the 64-row blocks that
    /// several queries widen once and read (8-bit rows), and off the slots' 16-row turns (the
    /// rows start at 3); nine queries leave remainders after every group size.
    func testSeveralQueriesAttendAsEachAlone() {
        let hd = 64
        for n in [13, 42, 150] {
            let k16 = randoms(n * hd).map { Float16($0).bitPattern }, v16 = randoms(n * hd).map { Float16($0).bitPattern }
            let k8 = randoms(n * hd).map { Int8($0 * 127) }, v8 = randoms(n * hd).map { Int8($0 * 127) }
            let s8 = randoms(n * hd / 32).map { Float16(abs($0) / 50).bitPattern }
            let k4 = (0..<n * hd / 2).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let v4 = (0..<n * hd / 2).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let channels = (randoms(hd).map { abs($0) / 8 } + randoms(hd)).map { Float16($0).bitPattern }
            let groups = (0..<n * hd / 32).flatMap { _ in [Float16(abs(randoms(1)[0]) / 8).bitPattern, Float16(randoms(1)[0]).bitPattern] }
            for m in 1...9 {
                let q = randoms(m * hd).map { Float(Float16($0)) }
                let p = randoms(m * n).map { Float(Float16(abs($0) / 75)) }
                for order in [Int32(JK_ORDER_TILED), Int32(JK_ORDER_VECTOR)] {
                    for level in [0, 1] {
                        _ = jk_select_attention_kernels(Int32(level))
                        jk_select_attention_q8_kernels(Int32(level))
                        jk_select_attention_q4_kernels(Int32(level))
                        // Scores then weighted sums of m queries, in one call or one call each.
                        func attend(_ together: Bool, scores: (UnsafePointer<Float>, Int32, UnsafeMutablePointer<Float>) -> Void,
                                    mix: (UnsafeMutablePointer<Float>, Int32, UnsafePointer<Float>) -> Void) -> [UInt32] {
                            var s = [Float](repeating: 0, count: m * n), state = [Float](repeating: 0, count: m * 64 * hd)
                            var o = [Float](repeating: 0, count: m * hd)
                            q.withUnsafeBufferPointer { qb in
                                s.withUnsafeMutableBufferPointer { sb in
                                    if together { scores(qb.baseAddress!, Int32(m), sb.baseAddress!) } else {
                                        for i in 0..<m { scores(qb.baseAddress! + i * hd, 1, sb.baseAddress! + i * n) }
                                    }
                                }
                            }
                            p.withUnsafeBufferPointer { pb in
                                state.withUnsafeMutableBufferPointer { st in
                                    if together { mix(st.baseAddress!, Int32(m), pb.baseAddress!) } else {
                                        for i in 0..<m { mix(st.baseAddress! + i * 64 * hd, 1, pb.baseAddress! + i * n) }
                                    }
                                    for i in 0..<m { jk_attn_mix_end(st.baseAddress! + i * 64 * hd, Int32(hd), &o[i * hd], order) }
                                }
                            }
                            return (s + o).map(\.bitPattern)
                        }
                        let formats: [(String, (UnsafePointer<Float>, Int32, UnsafeMutablePointer<Float>) -> Void,
                                       (UnsafeMutablePointer<Float>, Int32, UnsafePointer<Float>) -> Void)] = [
                            ("fp16", { jk_attn_scores_f16($0, $1, k16, Int32(n), Int32(hd), 0.125, $2, Int32(n), order) },
                             { jk_attn_mix_rows($0, $1, $2, Int32(n), v16, Int32(n), Int32(hd), 3, order) }),
                            ("q8", { jk_attn_scores_q8($0, $1, k8, s8, Int32(n), Int32(hd), 0.125, $2, Int32(n), order) },
                             { jk_attn_mix_rows_q8($0, $1, $2, Int32(n), v8, s8, Int32(n), Int32(hd), 3, order) }),
                            ("q4", { jk_attn_scores_q4($0, $1, k4, channels, Int32(n), Int32(hd), 0.125, $2, Int32(n), order) },
                             { jk_attn_mix_rows_q4($0, $1, $2, Int32(n), v4, groups, Int32(n), Int32(hd), 3, order) }),
                        ]
                        for (name, scores, mix) in formats {
                            XCTAssertEqual(attend(true, scores: scores, mix: mix), attend(false, scores: scores, mix: mix),
                                           "\(name), \(m) queries, \(n) rows, order \(order), level \(level)")
                        }
                    }
                }
            }
        }
        _ = jk_select_attention_kernels(1)
        jk_select_attention_q8_kernels(1)
        jk_select_attention_q4_kernels(1)
    }

    func testEveryCPULevelGivesTheSameBits() {
        // One token takes the decode path (four rows at a time, eight for Q4_K, then the rest one
        // by one); six take the tiles of four tokens; 29 take three tiles of eight (for Q4_K and
        // Q6_K one of sixteen and one of eight), then one of four and one token. 47 rows leave a
        // remainder after the groups of three, four, six and eight rows, also when the rows are
        // split between threads.
        for type in Self.kernelTypes {
            for n in [1, 6, 29] {
                let cols = jk_activation_format(Int32(type.rawValue)) == Int32(JK_ACTIVATIONS_Q8K) ? 512 : 192
                let rows = 47
                let w = randomBlocks(type, elements: rows * cols)
                let x = randoms(n * cols, scale: 2)
                var results: [[Float]] = []
                for level in [0, 1, 2] {
                    _ = jk_select_matmul_kernels(Int32(level))
                    results.append(matmul(type, w, rows: rows, cols: cols, x, n: n))
                }
                XCTAssertEqual(results[0].map(\.bitPattern), results[1].map(\.bitPattern), "\(type) portable vs AVX2, \(n) tokens")
                XCTAssertEqual(results[0].map(\.bitPattern), results[2].map(\.bitPattern), "\(type) portable vs VNNI, \(n) tokens")
            }
        }

        let hd = 64, n2 = 150
        let q = randoms(hd).map { Float(Float16($0)) }
        let k = randoms(n2 * hd).map { Float16($0).bitPattern }
        let v = randoms(n2 * hd).map { Float16($0).bitPattern }
        let p = randoms(n2).map { Float(Float16(abs($0) / 75)) }
        for order in [Int32(JK_ORDER_TILED), Int32(JK_ORDER_VECTOR)] {
            var scores: [[UInt32]] = [], mixes: [[UInt32]] = []
            for level in [0, 1] {
                _ = jk_select_attention_kernels(Int32(level))
                var s = [Float](repeating: 0, count: n2), o = [Float](repeating: 0, count: hd)
                jk_attn_scores_f16(q, 1, k, Int32(n2), Int32(hd), 0.125, &s, Int32(n2), order)
                jk_attn_accumulate_f16(p, v, Int32(n2), Int32(hd), &o, order)
                scores.append(s.map(\.bitPattern)); mixes.append(o.map(\.bitPattern))
            }
            XCTAssertEqual(scores[0], scores[1], "scores, order \(order)")
            XCTAssertEqual(mixes[0], mixes[1], "weighted sum, order \(order)")
        }

        let k8 = randoms(n2 * hd).map { Int8($0 * 127) }, v8 = randoms(n2 * hd).map { Int8($0 * 127) }
        let s8 = randoms(n2 * hd / 32).map { Float16(abs($0) / 50).bitPattern }
        for order in [Int32(JK_ORDER_TILED), Int32(JK_ORDER_VECTOR)] {
            var results: [[UInt32]] = []
            for level in [0, 1] {
                jk_select_attention_q8_kernels(Int32(level))
                var s = [Float](repeating: 0, count: n2), state = [Float](repeating: 0, count: 64 * hd), o = [Float](repeating: 0, count: hd)
                jk_attn_scores_q8(q, 1, k8, s8, Int32(n2), Int32(hd), 0.125, &s, Int32(n2), order)
                jk_attn_mix_rows_q8(&state, 1, p, Int32(n2), v8, s8, Int32(n2), Int32(hd), 3, order)
                jk_attn_mix_end(state, Int32(hd), &o, order)
                results.append((s + o).map(\.bitPattern))
            }
            XCTAssertEqual(results[0], results[1], "8-bit attention, order \(order)")
        }
        jk_select_attention_q8_kernels(1)

        var logits = randoms(203, scale: 20)
        for masked in [5, 40, 200] { logits[masked] = -.infinity }   // in whole groups of 16 and in the last, partial one
        let gate = randoms(512, scale: 12), up = randoms(512)
        var outs: [[UInt32]] = []
        for level in [0, 1] {
            jk_select_exp_kernels(Int32(level))
            var s = logits, g = gate
            jk_softmax(&s, Int32(s.count))
            jk_swiglu(&g, up, Int32(g.count))
            outs.append((s + g).map(\.bitPattern))
        }
        XCTAssertEqual(outs[0], outs[1], "softmax and SwiGLU")
    }

    func testInt8RowProductsAreExactOnEveryPath() {
        defer { jk_select_vector_search_kernels(1) }
        for (dim, n) in [(384, 9), (40, 9), (7, 9), (40, 9001)] {
            // Extremes included: every row holds ±127 somewhere.
            func value(_ i: Int, prime: Int) -> Int8 { Int8((i * prime) % 255 - 127) }
            let rows: [Int8] = (0..<n * dim).map { i -> Int8 in i % 11 == 0 ? (i % 2 == 0 ? 127 : -127) : value(i, prime: 7919) }
            let q: [Int8] = (0..<dim).map { d -> Int8 in d % 5 == 0 ? -127 : value(d, prime: 104_729) }
            var expected = [Int32](repeating: 0, count: n)
            for j in 0..<n { for d in 0..<dim { expected[j] += Int32(rows[j * dim + d]) * Int32(q[d]) } }
            for level in [0, 1] {
                jk_select_vector_search_kernels(Int32(level))
                var out = [Int32](repeating: -1, count: n)
                jk_dot_i8_rows(rows, Int64(n), Int32(dim), q, &out)
                XCTAssertEqual(out, expected, "dim \(dim), level \(level)")
            }
        }
    }

    func testSignPrefilterAndGatheredProductsAreTheSameOnEveryPath() {
        defer { jk_select_vector_search_kernels(1) }
        for (dim, n) in [(384, 40), (40, 9), (7, 9), (384, 40_000)] {
            func value(_ i: Int, prime: Int) -> Int8 { Int8((i * prime) % 255 - 127) }
            let codes: [Int8] = (0..<n * dim).map { i -> Int8 in i % 13 == 0 ? 0 : value(i, prime: 7919) }
            let q: [Int8] = (0..<dim).map { d -> Int8 in d % 5 == 0 ? -127 : value(d, prime: 104_729) }
            let rowBytes = Int(jk_sign_row_bytes(Int32(dim)))
            XCTAssertEqual(rowBytes, (dim + 31) / 32 * 4)
            var bits = [UInt8](repeating: 0xFF, count: n * rowBytes), portable = bits
            jk_sign_bits_i8(codes, Int64(n), Int32(dim), &bits)
            jk_select_vector_search_kernels(0)
            jk_sign_bits_i8(codes, Int64(n), Int32(dim), &portable)
            jk_select_vector_search_kernels(1)
            XCTAssertEqual(bits, portable, "sign bits, dim \(dim)")
            var expected = [Int32](repeating: 0, count: n)
            for j in 0..<n {
                for d in 0..<dim where codes[j * dim + d] > 0 { expected[j] += Int32(q[d]) }
                for d in dim..<rowBytes * 8 { XCTAssertEqual(bits[j * rowBytes + d / 8] >> (d % 8) & 1, 0, "padding bits are 0") }
            }
            let slots: [Int32] = (0..<min(n, 50)).map { Int32(($0 * 7) % n) }
            let halves: [UInt16] = codes.map { jk_fp32_to_fp16(Float($0) / 127) }
            let query: [Float] = q.map { Float($0) / 127 }
            var gathered: [[UInt32]] = []
            for level in [0, 1] {
                jk_select_vector_search_kernels(Int32(level))
                var out = [Int32](repeating: -1, count: n)
                jk_sign_dot_rows(bits, Int64(n), Int32(dim), q, &out)
                XCTAssertEqual(out, expected, "sign products, dim \(dim), level \(level)")
                var i8 = [Int32](repeating: -1, count: slots.count)
                jk_dot_i8_slots(codes, slots, Int64(slots.count), Int32(dim), q, &i8)
                XCTAssertEqual(i8, slots.map { s in (0..<dim).reduce(Int32(0)) { $0 + Int32(codes[Int(s) * dim + $1]) * Int32(q[$1]) } })
                var f16 = [Float](repeating: .nan, count: slots.count)
                jk_dot_f16_slots(halves, slots, Int64(slots.count), Int32(dim), query, &f16)
                for (k, s) in slots.enumerated() {
                    let exact = (0..<dim).reduce(0.0) { $0 + Double(jk_fp16_to_fp32(halves[Int(s) * dim + $1])) * Double(query[$1]) }
                    XCTAssertEqual(Double(f16[k]), exact, accuracy: 1e-4 * max(1, abs(exact)))
                }
                gathered.append(f16.map(\.bitPattern))
            }
            XCTAssertEqual(gathered[0], gathered[1], "fp16 products add in one order on every path, dim \(dim)")
        }
        // The top of a list of keys, by histogram: every key above the keep-th largest is in,
        // at least `keep` come back, ascending; wide ranges share buckets.
        for (n, keep, spread) in [(10, 20, 100), (1000, 10, 100), (100_000, 8000, 48_768), (50_000, 100, Int(Int32.max / 2))] {
            var seed: UInt64 = 99
            let keys: [Int32] = (0..<n).map { _ in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Int32(Int(seed >> 33) % (2 * spread + 1) - spread)
            }
            var slots = [Int32](repeating: -1, count: n)
            let m = Int(jk_top_i32(keys, Int64(n), Int64(keep), &slots))
            let cut = keys.sorted(by: >)[min(keep, n) - 1]
            XCTAssertGreaterThanOrEqual(m, min(keep, n))
            XCTAssertLessThan(m, min(keep, n) + n / 50 + 2, "few ties at the cut")
            XCTAssertEqual(Array(slots[..<m]), Array(slots[..<m]).sorted())
            let chosen = Set(slots[..<m])
            for j in 0..<n where keys[j] > cut { XCTAssertTrue(chosen.contains(Int32(j)), "key \(keys[j]) above the cut \(cut)") }
        }
    }

    func testThreadCountDoesNotChangeResults() {
        for (type, cols) in [(GGMLType.q4_1, 128), (.q6_K, 256), (.q5_K, 256), (.iq4_nl, 64), (.bf16, 96)] {
            let rows = 300, n = 9
            let w = randomBlocks(type, elements: rows * cols)
            let x = randoms(n * cols)
            ComputeThreads.set(1)
            let one = matmul(type, w, rows: rows, cols: cols, x, n: n)
            ComputeThreads.set(2)
            XCTAssertEqual(ComputeThreads.current, 2)
            let two = matmul(type, w, rows: rows, cols: cols, x, n: n)
            ComputeThreads.set(3)
            let three = matmul(type, w, rows: rows, cols: cols, x, n: n)
            XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern), "\(type)")
            XCTAssertEqual(one.map(\.bitPattern), three.map(\.bitPattern), "\(type)")
        }
    }

    /// Products run as one job (Q, K, V; gate and up) give what each gives alone, whatever their
    /// types, row counts and thread count; a type without a kernel leaves its output alone.
    func testSeveralProductsAsOneJobGiveEachOnesResult() {
        let cols = 256, n = 9
        // The third product is F32, which has no kernel; the fifth is past JK_MAX_PRODUCTS.
        let parts: [(GGMLType, Int)] = [(.q4_1, 300), (.q6_K, 40), (.f32, 5), (.q8_0, 77), (.q4_K, 130)]
        let weights = parts.map { $0.0 == .f32 ? [UInt8](repeating: 0, count: 4 * $0.1 * cols) : randomBlocks($0.0, elements: $0.1 * cols) }
        let x = randoms(n * cols)
        for threads in [1, 2] {
            ComputeThreads.set(threads)
            let w = weights.map { b in UnsafeMutableRawPointer.allocate(byteCount: b.count, alignment: 64).initializeMemory(as: UInt8.self, from: b, count: b.count) }
            let xs = parts.map { part in
                let b = part.0 == .f32 ? [UInt8](repeating: 0, count: 4 * n * cols) : prepare(part.0, x)
                return UnsafeMutableRawPointer.allocate(byteCount: b.count, alignment: 64).initializeMemory(as: UInt8.self, from: b, count: b.count)
            }
            let ys = parts.map { part in
                let y = UnsafeMutablePointer<Float>.allocate(capacity: n * part.1)
                y.initialize(repeating: 7, count: n * part.1)
                return y
            }
            defer { (w + xs).forEach { $0.deallocate() }; ys.forEach { $0.deallocate() } }
            let products = parts.indices.map { i in
                jk_product(type: Int32(parts[i].0.rawValue), w: w[i], rows: Int32(parts[i].1), cols: Int32(cols), x: xs[i], y: ys[i], ldy: Int64(parts[i].1))
            }
            jk_matmul_quantized_many(products, Int32(products.count), Int32(n))
            for i in [0, 1, 3] {
                let alone = matmul(parts[i].0, weights[i], rows: parts[i].1, cols: cols, x, n: n)
                XCTAssertEqual(Array(UnsafeBufferPointer(start: ys[i], count: n * parts[i].1)).map(\.bitPattern), alone.map(\.bitPattern),
                               "\(parts[i].0), \(threads) threads")
            }
            for i in [2, 4] {
                XCTAssertTrue(UnsafeBufferPointer(start: ys[i], count: n * parts[i].1).allSatisfy { $0 == 7 }, "product \(i) is left alone")
            }
        }
    }

    func testConcurrentCallersTakeTurnsOnThePool() {
        let rows = 200, cols = 128, n = 3
        let w = randomBlocks(.q8_0, elements: rows * cols)
        let x = randoms(n * cols)
        ComputeThreads.set(2)
        let expected = matmul(.q8_0, w, rows: rows, cols: cols, x, n: n)
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var all: [[Float]] = []
            func add(_ r: [Float]) { lock.lock(); all.append(r); lock.unlock() }
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            var blocks = [jk_block_q8](repeating: jk_block_q8(), count: n * cols / 32)
            jk_quantize_q8(x, &blocks, Int64(n * cols))
            var y = [Float](repeating: .nan, count: n * rows)
            jk_matmul_quantized(Int32(GGMLType.q8_0.rawValue), w, Int32(rows), Int32(cols), blocks, Int32(n), &y, Int64(rows))
            results.add(y)
        }
        XCTAssertEqual(results.all.count, 8)
        for r in results.all { XCTAssertEqual(r.map(\.bitPattern), expected.map(\.bitPattern)) }
    }

    func testVectorExpIsWithinTwoUlpOfExpf() {
        var worst: Float = 0
        for i in 0..<20_000 {
            let x = Float(i - 10_000) / 100   // -100 ... 100
            let got = jk_expf_ggml(x), want = expf(x)
            worst = max(worst, abs(got - want) / want.ulp)
        }
        XCTAssertLessThanOrEqual(worst, 2)
        XCTAssertEqual(jk_expf_ggml(-.infinity), 0)
        XCTAssertEqual(jk_expf_ggml(200), .infinity)
        XCTAssertEqual(jk_expf_ggml(-200), 0)
    }

    func testSoftmaxSumsToOneAndMasksInfinities() {
        defer { jk_select_exp_kernels(1) }
        for level in [0, 1] {
            jk_select_exp_kernels(Int32(level))
            // Five values (a partial group only) and 37 (two whole groups of 16, then five).
            for n in [5, 37] {
                var x = (0..<n).map { Float($0 % 7) }
                for masked in stride(from: 2, to: n, by: 2) { x[masked] = -.infinity }
                jk_softmax(&x, Int32(n))
                for masked in stride(from: 2, to: n, by: 2) { XCTAssertEqual(x[masked], 0, "level \(level), n \(n)") }
                XCTAssertEqual(Double(x.reduce(0, +)), 1, accuracy: 1e-6, "level \(level), n \(n)")
                XCTAssertGreaterThan(x[3], x[1], "level \(level), n \(n)")
            }
            var none = [Float](repeating: -.infinity, count: 20)
            jk_softmax(&none, 20)
            XCTAssertEqual(none, [Float](repeating: 0, count: 20), "level \(level): a row with nothing to attend to")
        }
    }
}
