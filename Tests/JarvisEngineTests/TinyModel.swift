import Foundation
@testable import JarvisEngine

/// A tiny decoder with random weights, written in the real GGUF format, and a plain reference
/// forward pass to check the engine against (shapes, both rotary layouts, GQA, qwen2's biases,
/// qwen3's head norms and stated head size, Llama 3's RoPE frequency factors).
enum TinyModel {
    struct Config {
        var architecture = "llama"
        var layers = 2, dim = 64, heads = 4, kvHeads = 2, ffnDim = 96, vocab = 80, context = 256
        var ropeBase: Float = 10000
        /// Written as `rope_freqs.weight` (headDim / 2 divisors of the rotary frequencies).
        var ropeFactors: [Float]? = nil
        /// Written as `attention.key_length`; nil: dim / heads, not written.
        var statedHeadDim: Int? = nil
        var tiedOutput = true
        /// Type of the 2-D weight matrices (norms stay F32).
        var weightType: GGMLType = .f32
        var headDim: Int { statedHeadDim ?? dim / heads }
        var neox: Bool { architecture != "llama" }
    }

    /// Llama 3 frequency factors for head size 16 (8 rotary pairs): one kept, two smoothed, five
    /// slowed by 4, as `Llama3RopeScaling(factor: 4, low: 1, high: 4, original: 64)` gives.
    static let llama3Factors: [Float] = [1, 1.2418236, 3.9269907, 4, 4, 4, 4, 4]

    /// Deterministic weights: name → values (row-major, GGUF ne0 fastest).
    static func weights(_ c: Config) -> [(name: String, shape: [Int], values: [Float])] {
        var rng = SplitMix64(seed: 1234)
        func random(_ n: Int, scale: Float) -> [Float] {
            (0..<n).map { _ in Float(rng.nextUnitDouble() * 2 - 1) * scale }
        }
        let qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim
        var out: [(String, [Int], [Float])] = []
        out.append(("token_embd.weight", [c.dim, c.vocab], random(c.dim * c.vocab, scale: 1)))
        out.append(("output_norm.weight", [c.dim], random(c.dim, scale: 0.2).map { 1 + $0 }))
        if !c.tiedOutput { out.append(("output.weight", [c.dim, c.vocab], random(c.dim * c.vocab, scale: 0.3))) }
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            out.append((p + "attn_norm.weight", [c.dim], random(c.dim, scale: 0.2).map { 1 + $0 }))
            out.append((p + "attn_q.weight", [c.dim, qDim], random(c.dim * qDim, scale: 0.3)))
            out.append((p + "attn_k.weight", [c.dim, kvDim], random(c.dim * kvDim, scale: 0.3)))
            out.append((p + "attn_v.weight", [c.dim, kvDim], random(c.dim * kvDim, scale: 0.3)))
            if c.architecture == "qwen2" {
                out.append((p + "attn_q.bias", [qDim], random(qDim, scale: 0.5)))
                out.append((p + "attn_k.bias", [kvDim], random(kvDim, scale: 0.5)))
                out.append((p + "attn_v.bias", [kvDim], random(kvDim, scale: 0.5)))
            }
            if c.architecture == "qwen3" {
                out.append((p + "attn_q_norm.weight", [c.headDim], random(c.headDim, scale: 0.3).map { 1 + $0 }))
                out.append((p + "attn_k_norm.weight", [c.headDim], random(c.headDim, scale: 0.3).map { 1 + $0 }))
            }
            out.append((p + "attn_output.weight", [qDim, c.dim], random(qDim * c.dim, scale: 0.3)))
            out.append((p + "ffn_norm.weight", [c.dim], random(c.dim, scale: 0.2).map { 1 + $0 }))
            out.append((p + "ffn_gate.weight", [c.dim, c.ffnDim], random(c.dim * c.ffnDim, scale: 0.3)))
            out.append((p + "ffn_up.weight", [c.dim, c.ffnDim], random(c.dim * c.ffnDim, scale: 0.3)))
            out.append((p + "ffn_down.weight", [c.ffnDim, c.dim], random(c.ffnDim * c.dim, scale: 0.3)))
        }
        if let f = c.ropeFactors { out.append(("rope_freqs.weight", [f.count], f)) }
        return out
    }

    static func writer(_ c: Config, skipping skipped: String? = nil) -> GGUFWriter {
        let a = c.architecture
        let w = GGUFWriter()
            .add(key: "general.architecture", value: .string(a))
            .add(key: "\(a).block_count", value: .uint32(UInt32(c.layers)))
            .add(key: "\(a).context_length", value: .uint32(UInt32(c.context)))
            .add(key: "\(a).embedding_length", value: .uint32(UInt32(c.dim)))
            .add(key: "\(a).feed_forward_length", value: .uint32(UInt32(c.ffnDim)))
            .add(key: "\(a).attention.head_count", value: .uint32(UInt32(c.heads)))
            .add(key: "\(a).attention.head_count_kv", value: .uint32(UInt32(c.kvHeads)))
            .add(key: "\(a).rope.freq_base", value: .float32(c.ropeBase))
            .add(key: "\(a).attention.layer_norm_rms_epsilon", value: .float32(1e-5))
            .add(key: "\(a).vocab_size", value: .uint32(UInt32(c.vocab)))
        if let hd = c.statedHeadDim { w.add(key: "\(a).attention.key_length", value: .uint32(UInt32(hd))) }
        for (name, shape, values) in weights(c) where name != skipped {
            if shape.count == 2 && c.weightType != .f32 && name != "rope_freqs.weight" {
                w.addTensor(name: name, shape: shape, type: c.weightType, data: quantize(values, to: c.weightType))
            } else {
                w.addTensor(name: name, shape: shape, floats: values)
            }
        }
        return w
    }

    /// Writes the model to a temporary file and loads it.
    static func load(_ c: Config, in dir: URL) throws -> Transformer {
        let url = dir.appendingPathComponent("tiny-\(c.architecture)-\(c.weightType)-\(c.ropeFactors == nil ? "" : "scaled").gguf")
        try writer(c).write(to: url)
        return try Transformer(path: url.path)
    }

    /// Simple round-to-nearest block quantizers, enough to make valid test tensors.
    static func quantize(_ x: [Float], to type: GGMLType) -> [UInt8] {
        if type == .q4_K || type == .q6_K { return quantizeK(x, to: type) }
        if ![.q8_0, .q4_0, .q4_1].contains(type) { return quantizeMore(x, to: type) }
        var out: [UInt8] = []
        func half(_ f: Float) { withUnsafeBytes(of: Float16(f).bitPattern.littleEndian) { out += $0 } }
        for b in stride(from: 0, to: x.count, by: 32) {
            let v = Array(x[b..<b + 32])
            switch type {
            case .q8_0:
                let d = (v.map { abs($0) }.max() ?? 0) / 127
                half(d)
                out += v.map { UInt8(bitPattern: Int8(d == 0 ? 0 : ($0 / d).rounded())) }
            case .q4_0:
                let m = v.max(by: { abs($0) < abs($1) }) ?? 0
                let d = m / -8
                half(d)
                let q = v.map { UInt8(max(0, min(15, d == 0 ? 8 : Int(($0 / d + 8.5).rounded(.down))))) }
                out += (0..<16).map { q[$0] | (q[$0 + 16] << 4) }
            case .q4_1:
                let lo = v.min() ?? 0, hi = v.max() ?? 0
                let d = (hi - lo) / 15
                half(d); half(lo)
                let q = v.map { UInt8(max(0, min(15, d == 0 ? 0 : Int((($0 - lo) / d).rounded())))) }
                out += (0..<16).map { q[$0] | (q[$0 + 16] << 4) }
            default:
                fatalError("TinyModel cannot quantize to \(type)")
            }
        }
        return out
    }

    /// Q4_K and Q6_K super-blocks of 256: per-sub-block scales (and Q4_K minima) quantized
    /// against the super-block's fp16 scales, then round-to-nearest values.
    static func quantizeK(_ x: [Float], to type: GGMLType) -> [UInt8] {
        var out: [UInt8] = []
        func half(_ f: Float) { withUnsafeBytes(of: Float16(f).bitPattern.littleEndian) { out += $0 } }
        func clamp(_ v: Float, _ lo: Int, _ hi: Int) -> Int { max(lo, min(hi, Int(v.rounded()))) }
        for b in stride(from: 0, to: x.count, by: 256) {
            let v = Array(x[b..<b + 256])
            if type == .q4_K {
                let subs = (0..<8).map { Array(v[32 * $0..<32 * $0 + 32]) }
                let mins = subs.map { -min(0, $0.min()!) }                  // stored as positive minima
                let scales = subs.indices.map { (subs[$0].max()! + mins[$0]) / 15 }
                let d = Float(Float16(scales.max()! / 63)), dmin = Float(Float16(mins.max()! / 63))
                let sc = scales.map { d == 0 ? 0 : clamp($0 / d, 0, 63) }
                let mn = mins.map { dmin == 0 ? 0 : clamp($0 / dmin, 0, 63) }
                half(d); half(dmin)
                var packed = [UInt8](repeating: 0, count: 12)
                for j in 0..<4 {
                    packed[j] = UInt8(sc[j] | ((sc[j + 4] >> 4) << 6))
                    packed[j + 4] = UInt8(mn[j] | ((mn[j + 4] >> 4) << 6))
                    packed[j + 8] = UInt8((sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4))
                }
                out += packed
                let q: [Int] = (0..<256).map { e in
                    let j = e / 32, step = d * Float(sc[j])
                    return step == 0 ? 0 : clamp((v[e] + dmin * Float(mn[j])) / step, 0, 15)
                }
                for p in 0..<4 { for l in 0..<32 { out.append(UInt8(q[64 * p + l] | (q[64 * p + 32 + l] << 4))) } }
            } else {
                let scales = (0..<16).map { j in v[16 * j..<16 * j + 16].map { abs($0) }.max()! / 31 }
                let d = Float(Float16(scales.max()! / 127))
                let sc = scales.map { d == 0 ? 0 : clamp($0 / d, -128, 127) }
                let q: [Int] = (0..<256).map { e in
                    let step = d * Float(sc[e / 16])
                    return (step == 0 ? 0 : clamp(v[e] / step, -32, 31)) + 32
                }
                var ql = [UInt8](repeating: 0, count: 128), qh = [UInt8](repeating: 0, count: 64)
                for h in 0..<2 {
                    for l in 0..<32 {
                        let e = 128 * h + l
                        ql[64 * h + l] = UInt8((q[e] & 0x0F) | ((q[e + 64] & 0x0F) << 4))
                        ql[64 * h + l + 32] = UInt8((q[e + 32] & 0x0F) | ((q[e + 96] & 0x0F) << 4))
                        qh[32 * h + l] = UInt8((q[e] >> 4) | ((q[e + 32] >> 4) << 2) | ((q[e + 64] >> 4) << 4) | ((q[e + 96] >> 4) << 6))
                    }
                }
                out += ql + qh + sc.map { UInt8(bitPattern: Int8($0)) }
                half(d)
            }
        }
        return out
    }

    // MARK: - Reference forward pass

    /// Logits of every position for `tokens`, computed naively from the weights as stored
    /// (dequantized), in Double. K, V, queries and attention weights are rounded to fp16 as the
    /// engine's attention does; nothing else is.
    static func referenceLogits(_ c: Config, tokens: [Int32], weights given: [String: [Float]]) -> [[Float]] {
        let hd = c.headDim, qDim = c.heads * hd, kvDim = c.kvHeads * hd
        let neox = c.neox
        func W(_ n: String) -> [Float] { given[n]! }
        func h16(_ x: Double) -> Double { Double(Float16(Float(x))) }
        func matvec(_ w: [Float], rows: Int, cols: Int, _ x: [Double]) -> [Double] {
            (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + Double(w[r * cols + $1]) * x[$1] } }
        }
        func rms(_ x: [Double], _ w: [Float]) -> [Double] {
            let s = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(x.count) + 1e-5).squareRoot()
            return x.indices.map { x[$0] * s * Double(w[$0]) }
        }
        func rope(_ v: inout [Double], heads: Int, pos: Int) {
            for h in 0..<heads {
                for i in 0..<hd / 2 {
                    let theta = Double(pos) * pow(Double(c.ropeBase), -2 * Double(i) / Double(hd)) / Double(c.ropeFactors?[i] ?? 1)
                    let (a, b) = neox ? (h * hd + i, h * hd + i + hd / 2) : (h * hd + 2 * i, h * hd + 2 * i + 1)
                    let x0 = v[a], x1 = v[b]
                    v[a] = x0 * cos(theta) - x1 * sin(theta)
                    v[b] = x0 * sin(theta) + x1 * cos(theta)
                }
            }
        }
        let emb = W("token_embd.weight")
        var xs: [[Double]] = tokens.map { t in (0..<c.dim).map { Double(emb[Int(t) * c.dim + $0]) } }
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            var keys: [[Double]] = [], values: [[Double]] = []
            var attn: [[Double]] = []
            for (pos, x) in xs.enumerated() {
                let h = rms(x, W(p + "attn_norm.weight"))
                var q = matvec(W(p + "attn_q.weight"), rows: qDim, cols: c.dim, h)
                var k = matvec(W(p + "attn_k.weight"), rows: kvDim, cols: c.dim, h)
                var v = matvec(W(p + "attn_v.weight"), rows: kvDim, cols: c.dim, h)
                if let bq = given[p + "attn_q.bias"], let bk = given[p + "attn_k.bias"], let bv = given[p + "attn_v.bias"] {
                    for i in 0..<qDim { q[i] += Double(bq[i]) }
                    for i in 0..<kvDim { k[i] += Double(bk[i]); v[i] += Double(bv[i]) }
                }
                if let qn = given[p + "attn_q_norm.weight"], let kn = given[p + "attn_k_norm.weight"] {
                    for h in 0..<c.heads { q.replaceSubrange(h * hd..<(h + 1) * hd, with: rms(Array(q[h * hd..<(h + 1) * hd]), qn)) }
                    for h in 0..<c.kvHeads { k.replaceSubrange(h * hd..<(h + 1) * hd, with: rms(Array(k[h * hd..<(h + 1) * hd]), kn)) }
                }
                rope(&q, heads: c.heads, pos: pos)
                rope(&k, heads: c.kvHeads, pos: pos)
                keys.append(k.map(h16)); values.append(v.map(h16))
                var o = [Double](repeating: 0, count: qDim)
                for head in 0..<c.heads {
                    let kv = head / (c.heads / c.kvHeads)
                    let qh = (0..<hd).map { h16(q[head * hd + $0]) }
                    var s = (0...pos).map { j in (0..<hd).reduce(0.0) { $0 + qh[$1] * keys[j][kv * hd + $1] } / Double(hd).squareRoot() }
                    let m = s.max()!
                    s = s.map { exp($0 - m) }
                    let z = s.reduce(0, +)
                    s = s.map { h16($0 / z) }
                    for j in 0...pos { for d in 0..<hd { o[head * hd + d] += s[j] * values[j][kv * hd + d] } }
                }
                attn.append(o)
            }
            for i in xs.indices {
                let o = matvec(W(p + "attn_output.weight"), rows: c.dim, cols: qDim, attn[i])
                for d in 0..<c.dim { xs[i][d] += o[d] }
                let h = rms(xs[i], W(p + "ffn_norm.weight"))
                let g = matvec(W(p + "ffn_gate.weight"), rows: c.ffnDim, cols: c.dim, h)
                let u = matvec(W(p + "ffn_up.weight"), rows: c.ffnDim, cols: c.dim, h)
                let act = g.indices.map { g[$0] / (1 + exp(-g[$0])) * u[$0] }
                let down = matvec(W(p + "ffn_down.weight"), rows: c.dim, cols: c.ffnDim, act)
                for d in 0..<c.dim { xs[i][d] += down[d] }
            }
        }
        let out = given["output.weight"] ?? emb
        return xs.map { x in matvec(out, rows: c.vocab, cols: c.dim, rms(x, W("output_norm.weight"))).map(Float.init) }
    }

    /// The weights as the engine sees them: every tensor of the written file, dequantized.
    static func storedWeights(of model: Transformer) throws -> [String: [Float]] {
        let gguf = try GGUFFile(path: model.path)
        var out: [String: [Float]] = [:]
        for t in gguf.tensors { out[t.name] = try gguf.dequantize(t) }
        return out
    }
}
