import CJarvisKernels

/// Layer normalisation over each row: (x − mean) / √(var + ε) · γ + β, with the biased
/// variance (PyTorch's `nn.LayerNorm` over the last axis).
struct LayerNorm {
    /// γ and β, one per column.
    let weight: [Float], bias: [Float]
    let epsilon: Float

    var width: Int { weight.count }

    init(weight: [Float], bias: [Float], epsilon: Float) {
        precondition(weight.count == bias.count, "LayerNorm: γ and β differ in length")
        self.weight = weight; self.bias = bias; self.epsilon = epsilon
    }

    /// Normalises x, `rows × width` row-major, in place.
    func callAsFunction(_ x: inout [Float]) {
        precondition(x.count % width == 0, "LayerNorm: input is not whole rows of \(width)")
        jk_layernorm_rows(&x, Int32(x.count / width), Int32(width), weight, bias, epsilon)
    }

    /// The normalised copy of x (`rows × width`).
    func callAsFunction(_ x: [Float]) -> [Float] {
        var y = x
        self(&y)
        return y
    }
}
