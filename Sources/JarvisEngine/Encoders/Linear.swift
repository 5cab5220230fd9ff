import COpenBLAS

/// A fully connected layer, y = x · Wᵀ + b (PyTorch's `nn.Linear`), in fp32: one BLAS product
/// for all rows of x.
struct Linear {
    /// `outputs × inputs`, row-major (the torch layout).
    let weight: [Float]
    /// `outputs` values, or nil for a layer without bias.
    let bias: [Float]?
    let inputs: Int, outputs: Int

    /// A layer from a weight stored `outputs × inputs`, as torch, GGUF and safetensors hold it.
    init(weight: [Float], bias: [Float]?, inputs: Int, outputs: Int) {
        precondition(weight.count == inputs * outputs && (bias?.count ?? outputs) == outputs, "Linear: weight or bias of the wrong size")
        self.weight = weight; self.bias = bias; self.inputs = inputs; self.outputs = outputs
    }

    /// A layer from a weight stored `inputs × outputs` (the right operand of an ONNX MatMul),
    /// transposed once here so that every layer runs the same product.
    init(inputMajor w: [Float], bias: [Float]?, inputs: Int, outputs: Int) {
        precondition(w.count == inputs * outputs, "Linear: weight of the wrong size")
        var t = [Float](repeating: 0, count: w.count)
        cblas_somatcopy(CblasRowMajor, CblasTrans, Int32(inputs), Int32(outputs), 1, w, Int32(outputs), &t, Int32(inputs))
        self.init(weight: t, bias: bias, inputs: inputs, outputs: outputs)
    }

    /// `rows × outputs` from x, `rows × inputs` row-major.
    func callAsFunction(_ x: [Float]) -> [Float] {
        precondition(x.count % inputs == 0, "Linear: input is not whole rows of \(inputs)")
        let rows = x.count / inputs
        var y: [Float]
        if let bias {
            // The product is added to the bias rows (beta = 1), so each value is rounded once.
            y = [Float](); y.reserveCapacity(rows * outputs)
            for _ in 0..<rows { y.append(contentsOf: bias) }
        } else {
            y = [Float](repeating: 0, count: rows * outputs)
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1,
                    x, Int32(inputs), weight, Int32(inputs), bias == nil ? 0 : 1, &y, Int32(outputs))
        return y
    }
}
