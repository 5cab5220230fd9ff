import JarvisImage

extension RGBImage {
    /// The image as a vision tower's input: (v / 255 − mean) / std per channel, channel-major.
    func normalized(mean: [Float], std: [Float]) -> [Float] {
        let n = width * height
        var out = [Float](repeating: 0, count: 3 * n)
        for c in 0..<3 {
            for i in 0..<n { out[c * n + i] = (Float(pixels[3 * i + c]) / 255 - mean[c]) / std[c] }
        }
        return out
    }
}
