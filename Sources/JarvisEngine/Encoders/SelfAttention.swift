import CJarvisKernels
import COpenBLAS

/// Multi-head self-attention without a mask (every token sees every token), as in BERT and ViT
/// encoders: softmax(q·kᵀ / √hd) · v per head, heads side by side, then the output projection.
struct SelfAttention {
    /// Where 1/√hd is applied; the result is the same but for rounding.
    enum Scaling {
        /// To the scores (transformers' eager attention).
        case scores
        /// hd^-¼ to q and to k each, as PyTorch's scaled_dot_product_attention does and ONNX
        /// exports of it keep: following the reference's rounding keeps parity tight.
        case queryAndKey
    }

    /// width → width each.
    let query: Linear, key: Linear, value: Linear, output: Linear
    let heads: Int
    let scaling: Scaling

    var width: Int { query.outputs }
    var headDim: Int { width / heads }

    init(query: Linear, key: Linear, value: Linear, output: Linear, heads: Int, scaling: Scaling = .scores) {
        let w = query.outputs
        precondition([query.inputs, key.inputs, key.outputs, value.inputs, value.outputs, output.inputs, output.outputs].allSatisfy { $0 == w },
                     "SelfAttention: projections are not all width × width")
        precondition(heads > 0 && w % heads == 0, "SelfAttention: \(heads) heads do not divide width \(w)")
        self.query = query; self.key = key; self.value = value; self.output = output
        self.heads = heads; self.scaling = scaling
    }

    /// `tokens × width` from x, `tokens × width` row-major.
    func callAsFunction(_ x: [Float]) -> [Float] {
        let d = width, hd = headDim, n = x.count / d
        var q = query(x), k = key(x)
        let v = value(x)
        var alpha = 1 / Float(hd).squareRoot()
        if scaling == .queryAndKey {
            let s = Float(1 / Double(hd).squareRoot().squareRoot())
            cblas_sscal(Int32(q.count), s, &q, 1)
            cblas_sscal(Int32(k.count), s, &k, 1)
            alpha = 1
        }
        // Each head reads and writes its hd columns of the token rows in place (leading dimension d).
        var mixed = [Float](repeating: 0, count: n * d), scores = [Float](repeating: 0, count: n * n)
        q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
        mixed.withUnsafeMutableBufferPointer { mp in scores.withUnsafeMutableBufferPointer { sp in
            let s = sp.baseAddress!
            for h in 0..<heads {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(hd), alpha,
                            qp.baseAddress! + h * hd, Int32(d), kp.baseAddress! + h * hd, Int32(d), 0, s, Int32(n))
                for r in 0..<n { jk_softmax(s + r * n, Int32(n)) }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(hd), Int32(n), 1,
                            s, Int32(n), vp.baseAddress! + h * hd, Int32(d), 0, mp.baseAddress! + h * hd, Int32(d))
            }
        } } } } }
        return output(mixed)
    }
}
