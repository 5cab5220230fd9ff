import Foundation
import JarvisImage

/// Pillow's resampling filters, bit for bit: the image processors of SmolVLM (Lanczos) and
/// LLaVA-OneVision (bicubic) resize uint8 images through Pillow, and parity with them starts
/// with the same pixels.
///
/// Separable, horizontal pass first: per output pixel, the normalised kernel weights over the
/// input pixels its support covers, as 22-bit fixed point, rounding through uint8 between the
/// passes. A pass whose size does not change is skipped (a copy), as Pillow skips it.
public enum PillowResample: Sendable {
    /// Lanczos, a = 3 (`Image.LANCZOS`).
    case lanczos
    /// Keys' cubic convolution, a = −0.5 (`Image.BICUBIC`).
    case bicubic

    /// `image` resampled to `width` × `height`.
    public func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var out = image
        if width != image.width { out = pass(out, to: width, horizontal: true) }
        if height != image.height { out = pass(out, to: height, horizontal: false) }
        return out
    }

    static let precision = 22

    /// Half the kernel's width at scale 1.
    var support: Double {
        switch self {
        case .lanczos: 3
        case .bicubic: 2
        }
    }

    func kernel(_ x: Double) -> Double {
        switch self {
        case .lanczos:
            func sinc(_ x: Double) -> Double { x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x) }
            return (-3 < x && x < 3) ? sinc(x) * sinc(x / 3) : 0
        case .bicubic:
            let a = -0.5, x = abs(x)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }

    func coefficients(from n: Int, to m: Int) -> [(start: Int, weights: [Int])] {
        let scale = Double(n) / Double(m)
        let filterScale = max(scale, 1), support = self.support * filterScale
        return (0..<m).map { i in
            let center = (Double(i) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0), hi = min(Int(center + support + 0.5), n)
            var w = (lo..<hi).map { kernel((Double($0) - center + 0.5) / filterScale) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            let fixed = w.map { Int(($0 * Double(1 << Self.precision) + ($0 < 0 ? -0.5 : 0.5)).rounded(.towardZero)) }
            return (lo, fixed)
        }
    }

    func pass(_ image: RGBImage, to size: Int, horizontal: Bool) -> RGBImage {
        let coeffs = coefficients(from: horizontal ? image.width : image.height, to: size)
        let w = horizontal ? size : image.width, h = horizontal ? image.height : size
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let (start, weights) = coeffs[horizontal ? x : y]
                for c in 0..<3 {
                    var acc = 1 << (Self.precision - 1)
                    for (k, wgt) in weights.enumerated() {
                        let sx = horizontal ? start + k : x, sy = horizontal ? y : start + k
                        acc += Int(image.pixels[(sy * image.width + sx) * 3 + c]) * wgt
                    }
                    out[(y * w + x) * 3 + c] = UInt8(max(0, min(255, acc >> Self.precision)))
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }
}
