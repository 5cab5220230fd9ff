import Foundation
import XCTest
@testable import JarvisEngine

/// The shared fp32 encoder blocks against naive Double computations on random inputs: the
/// encoders' parity tests compare whole models, these say which block went wrong.
final class EncoderBlocksTests: XCTestCase {
    var rng = SplitMix64(seed: 14)

    /// n values uniform in [-1, 1).
    func random(_ n: Int) -> [Float] {
        (0..<n).map { _ in Float(Double(rng.next() >> 11) / Double(1 << 52) - 1) }
    }

    func assertClose(_ got: [Float], _ want: [Double], tolerance: Double = 1e-5, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, label, file: file, line: line)
        let worst = zip(got, want).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, "\(label): worst relative |Δ|", file: file, line: line)
    }

    // MARK: - Double references

    /// x (rows × inputs) · Wᵀ (W outputs × inputs) + b.
    func linear(_ x: [Double], _ w: [Float], _ b: [Float]?, inputs: Int, outputs: Int) -> [Double] {
        let rows = x.count / inputs
        return (0..<rows * outputs).map { i in
            let r = i / outputs, o = i % outputs
            return (0..<inputs).reduce(Double(b?[o] ?? 0)) { $0 + x[r * inputs + $1] * Double(w[o * inputs + $1]) }
        }
    }

    func layerNorm(_ x: [Double], _ n: LayerNorm) -> [Double] {
        let w = n.width
        return stride(from: 0, to: x.count, by: w).flatMap { start in
            let row = x[start..<start + w]
            let mean = row.reduce(0, +) / Double(w)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(w)
            return row.indices.map { (x[$0] - mean) / (variance + Double(n.epsilon)).squareRoot() * Double(n.weight[$0 - start]) + Double(n.bias[$0 - start]) }
        }
    }

    func gelu(_ x: [Double], _ kind: GELU) -> [Double] {
        x.map { v in
            switch kind {
            case .exact: 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
            case .tanh: 0.5 * v * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
            }
        }
    }

    func attention(_ x: [Double], _ a: SelfAttention) -> [Double] {
        let d = a.width, hd = a.headDim, n = x.count / d
        func project(_ l: Linear) -> [Double] { linear(x, l.weight, l.bias, inputs: d, outputs: d) }
        let q = project(a.query), k = project(a.key), v = project(a.value)
        var mixed = [Double](repeating: 0, count: n * d)
        for h in 0..<a.heads {
            for i in 0..<n {
                let scores = (0..<n).map { j in (0..<hd).reduce(0.0) { $0 + q[i * d + h * hd + $1] * k[j * d + h * hd + $1] } / Double(hd).squareRoot() }
                let m = scores.max()!, e = scores.map { Foundation.exp($0 - m) }, sum = e.reduce(0, +)
                for c in 0..<hd { mixed[i * d + h * hd + c] = (0..<n).reduce(0.0) { $0 + e[$1] / sum * v[$1 * d + h * hd + c] } }
            }
        }
        return linear(mixed, a.output.weight, a.output.bias, inputs: d, outputs: d)
    }

    func mlp(_ x: [Double], _ m: MLP) -> [Double] {
        let hidden = gelu(linear(x, m.up.weight, m.up.bias, inputs: m.up.inputs, outputs: m.up.outputs), m.activation)
        return linear(hidden, m.down.weight, m.down.bias, inputs: m.down.inputs, outputs: m.down.outputs)
    }

    // MARK: - Random blocks

    func makeLinear(_ inputs: Int, _ outputs: Int, bias: Bool = true) -> Linear {
        Linear(weight: random(inputs * outputs), bias: bias ? random(outputs) : nil, inputs: inputs, outputs: outputs)
    }

    func makeNorm(_ width: Int) -> LayerNorm {
        LayerNorm(weight: random(width).map { 1 + $0 / 2 }, bias: random(width), epsilon: 1e-6)
    }

    func makeAttention(_ width: Int, heads: Int, scaling: SelfAttention.Scaling = .scores) -> SelfAttention {
        SelfAttention(query: makeLinear(width, width), key: makeLinear(width, width), value: makeLinear(width, width),
                      output: makeLinear(width, width), heads: heads, scaling: scaling)
    }

    // MARK: - Tests

    func testLinearIsXTimesWTransposedPlusBias() {
        let x = random(5 * 7)
        for l in [makeLinear(7, 3), makeLinear(7, 3, bias: false)] {
            assertClose(l(x), linear(x.map(Double.init), l.weight, l.bias, inputs: 7, outputs: 3), "bias \(l.bias != nil)")
        }
        // An input-major weight (ONNX MatMul) gives the same layer as its transpose.
        let l = makeLinear(7, 3)
        let inputMajor = (0..<21).map { i in l.weight[(i % 3) * 7 + i / 3] }
        XCTAssertEqual(Linear(inputMajor: inputMajor, bias: l.bias, inputs: 7, outputs: 3).weight, l.weight)
    }

    func testLayerNormNormalisesEachRow() {
        let norm = makeNorm(32)
        let x = random(4 * 32).map { $0 * 3 + 0.5 }
        assertClose(norm(x), layerNorm(x.map(Double.init), norm), "LayerNorm")
    }

    func testGELUVariants() {
        let x = random(64).map { $0 * 4 }
        for kind in [GELU.exact, .tanh] {
            var y = x
            kind(&y)
            assertClose(y, gelu(x.map(Double.init), kind), "\(kind)")
        }
        // The two forms differ enough to matter: a model must get its own.
        var exact = x, approximate = x
        let erfForm: GELU = .exact, tanhForm: GELU = .tanh
        erfForm(&exact)
        tanhForm(&approximate)
        XCTAssertGreaterThan(zip(exact, approximate).map { abs($0 - $1) }.max()!, 1e-4)
    }

    func testSelfAttentionIsBidirectionalSoftmaxPerHead() {
        let x = random(6 * 16)
        for scaling in [SelfAttention.Scaling.scores, .queryAndKey] {
            let a = makeAttention(16, heads: 4, scaling: scaling)
            assertClose(a(x), attention(x.map(Double.init), a), "\(scaling)")
        }
        // No mask: the first token's output depends on the last token.
        let a = makeAttention(16, heads: 2)
        var changed = x
        for i in 5 * 16..<6 * 16 { changed[i] += 1 }
        XCTAssertNotEqual(Array(a(x)[0..<16]), Array(a(changed)[0..<16]))
    }

    func testPatchEmbeddingIsAStridedConvolutionPlusPositions() {
        let channels = 3, side = 8, p = 4, grid = side / p, width = 5
        let conv = makeLinear(channels * p * p, width)
        let embed = PatchEmbedding(projection: conv, positions: random(grid * grid * width), patchSize: p)
        let image = random(channels * side * side)
        var want = [Double]()
        for py in 0..<grid {
            for px in 0..<grid {
                for o in 0..<width {
                    var v = Double(conv.bias![o]) + Double(embed.positions[(py * grid + px) * width + o])
                    for c in 0..<channels {
                        for y in 0..<p {
                            for x in 0..<p {
                                v += Double(conv.weight[((o * channels + c) * p + y) * p + x]) * Double(image[(c * side + py * p + y) * side + px * p + x])
                            }
                        }
                    }
                    want.append(v)
                }
            }
        }
        assertClose(embed(image, side: side), want, "patch embedding")
    }

    func testEncoderLayerPlacesNormsAndLayerScales() {
        let d = 16, tokens = 5
        let x = random(tokens * d)
        let mlpBlock = MLP(up: makeLinear(d, 24), down: makeLinear(24, d), activation: .exact)
        let a = makeAttention(d, heads: 2), n1 = makeNorm(d), n2 = makeNorm(d)
        let s1 = random(d), s2 = random(d)
        let xd = x.map(Double.init)
        func add(_ x: [Double], _ y: [Double], _ s: [Float]? = nil) -> [Double] {
            x.indices.map { x[$0] + Double(s?[$0 % d] ?? 1) * y[$0] }
        }

        var pre = x
        EncoderLayer(attention: a, mlp: mlpBlock, norm1: n1, norm2: n2, placement: .pre, attentionScale: s1, mlpScale: s2)(&pre)
        let h = add(xd, attention(layerNorm(xd, n1), a), s1)
        assertClose(pre, add(h, mlp(layerNorm(h, n2), mlpBlock), s2), tolerance: 1e-4, "pre-norm with layer scales")

        var post = x
        EncoderLayer(attention: a, mlp: mlpBlock, norm1: n1, norm2: n2, placement: .post)(&post)
        let g = layerNorm(add(xd, attention(xd, a)), n1)
        assertClose(post, layerNorm(add(g, mlp(g, mlpBlock)), n2), tolerance: 1e-4, "post-norm")
    }
}
