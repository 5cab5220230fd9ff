import CJarvisKernels

/// The patch embedding of a vision transformer: a convolution with kernel = stride = P over a
/// square image, computed as one matrix product over the unfolded patches, plus a learned
/// position per patch.
struct PatchEmbedding {
    /// width × (channels · P · P): the convolution's [width, channels, P, P] weight, flattened.
    let projection: Linear
    /// grid² × width, row-major over the grid.
    let positions: [Float]
    let patchSize: Int, channels: Int

    var width: Int { projection.outputs }

    init(projection: Linear, positions: [Float], patchSize: Int, channels: Int = 3) {
        precondition(projection.inputs == channels * patchSize * patchSize && positions.count % projection.outputs == 0,
                     "PatchEmbedding: weight or positions of the wrong size")
        self.projection = projection; self.positions = positions; self.patchSize = patchSize; self.channels = channels
    }

    /// `grid² × width`, patches row-major over the grid (grid = side / P).
    /// - Parameter image: channels × side × side values, channel-major.
    func callAsFunction(_ image: [Float], side: Int) -> [Float] {
        let p = patchSize, grid = side / p, k = channels * p * p
        precondition(image.count == channels * side * side && side % p == 0 && grid * grid * width == positions.count,
                     "PatchEmbedding: image is not \(channels) × side × side with \(positions.count / width) patches")
        // Row (py, px) of the unfolded matrix holds the patch's pixels as the weight orders them:
        // channel, then row, then column.
        var patches = [Float](repeating: 0, count: grid * grid * k)
        image.withUnsafeBufferPointer { src in patches.withUnsafeMutableBufferPointer { dst in
            for py in 0..<grid { for px in 0..<grid { for c in 0..<channels { for y in 0..<p {
                let from = c * side * side + (py * p + y) * side + px * p
                let to = (py * grid + px) * k + (c * p + y) * p
                (dst.baseAddress! + to).update(from: src.baseAddress! + from, count: p)
            } } } }
        } }
        var x = projection(patches)
        jk_add(&x, positions, Int32(x.count))
        return x
    }
}
