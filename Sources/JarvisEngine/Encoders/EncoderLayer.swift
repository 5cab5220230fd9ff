import CJarvisKernels

/// One transformer encoder layer: self-attention then MLP, each a residual branch with a
/// LayerNorm, placed before the branch (ViTs) or after the residual add (BERT).
struct EncoderLayer {
    enum NormPlacement {
        /// x += Attn(LN₁(x)); x += MLP(LN₂(x)).
        case pre
        /// x = LN₁(x + Attn(x)); x = LN₂(x + MLP(x)).
        case post
    }

    let attention: SelfAttention, mlp: MLP
    let norm1: LayerNorm, norm2: LayerNorm
    let placement: NormPlacement
    /// Per-channel multipliers of each branch before its residual add (DINOv2's layer scale),
    /// nil where the model has none.
    let attentionScale: [Float]?, mlpScale: [Float]?

    init(attention: SelfAttention, mlp: MLP, norm1: LayerNorm, norm2: LayerNorm, placement: NormPlacement,
         attentionScale: [Float]? = nil, mlpScale: [Float]? = nil) {
        let w = attention.width
        precondition(mlp.up.inputs == w && norm1.width == w && norm2.width == w
                     && (attentionScale?.count ?? w) == w && (mlpScale?.count ?? w) == w, "EncoderLayer: parts of different widths")
        self.attention = attention; self.mlp = mlp; self.norm1 = norm1; self.norm2 = norm2
        self.placement = placement; self.attentionScale = attentionScale; self.mlpScale = mlpScale
    }

    /// Runs the layer over x, `tokens × width` row-major, in place.
    func callAsFunction(_ x: inout [Float]) {
        switch placement {
        case .pre:
            add(attention(norm1(x)), scaled: attentionScale, to: &x)
            add(mlp(norm2(x)), scaled: mlpScale, to: &x)
        case .post:
            add(attention(x), scaled: attentionScale, to: &x)
            norm1(&x)
            add(mlp(x), scaled: mlpScale, to: &x)
            norm2(&x)
        }
    }

    /// x += branch, or x += scale ⊙ branch per row.
    private func add(_ branch: [Float], scaled scale: [Float]?, to x: inout [Float]) {
        if let scale {
            jk_add_scaled_rows(&x, branch, scale, Int32(x.count / scale.count), Int32(scale.count))
        } else {
            jk_add(&x, branch, Int32(x.count))
        }
    }
}
