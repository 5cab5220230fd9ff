import CJarvisKernels

/// The GELU activation, x · Φ(x), in the form a model was trained with: the two differ by up to
/// ~5e-4, which parity tests notice.
enum GELU {
    /// x · (1 + erf(x / √2)) / 2 (BERT, DINOv2).
    case exact
    /// The tanh approximation (SigLIP's `gelu_pytorch_tanh`).
    case tanh

    /// Applies the activation to every value of x in place.
    func callAsFunction(_ x: inout [Float]) {
        switch self {
        case .exact: jk_gelu_erf(&x, Int64(x.count))
        case .tanh: jk_gelu_tanh(&x, Int64(x.count))
        }
    }
}
