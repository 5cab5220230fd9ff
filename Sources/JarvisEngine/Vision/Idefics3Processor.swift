import Foundation
import JarvisImage

/// What SmolVLM's processor does to an image and a question, as transformers' Idefics3
/// processor does it: the image resized so its longest edge is `longestEdge`, then up to
/// multiples of the frame size M, cut into M × M crops (row-major) plus a global view of the
/// whole image at M × M, each normalised; and the prompt with every `<image>` expanded into
/// the crops' and global view's image tokens. Resizing is Pillow's Lanczos, bit for bit
/// (`PillowResample`).
public struct Idefics3Processor: Sendable {
    public let config: Idefics3Vision.Config

    public init(config: Idefics3Vision.Config) { self.config = config }

    /// The frames (each 3 × M × M, channel-major, normalised) and the crop grid (rows and
    /// columns; both 0 when the image is one frame).
    public func frames(for image: RGBImage, longestEdge: Int? = nil) -> (frames: [[Float]], rows: Int, cols: Int) {
        let m = config.imageSize, l = longestEdge ?? config.longestEdge
        var w = image.width, h = image.height
        // Longest edge to l, the other side even.
        var aspect = Double(w) / Double(h)
        if w >= h { w = l; h = Int(Double(l) / aspect); if h % 2 != 0 { h += 1 } }
        else { h = l; w = Int(Double(l) * aspect); if w % 2 != 0 { w += 1 } }
        w = max(1, min(w, 4096)); h = max(1, min(h, 4096))
        var resized = PillowResample.lanczos.resize(image, width: w, height: h)
        // Both sides up to multiples of M (this does not keep the aspect ratio).
        aspect = Double(w) / Double(h)
        // (At least one frame a side: a 1-pixel-wide strip can round to zero here.)
        if w >= h {
            w = (w + m - 1) / m * m
            h = (max(1, Int(Double(w) / aspect)) + m - 1) / m * m
        } else {
            h = (h + m - 1) / m * m
            w = (max(1, Int(Double(h) * aspect)) + m - 1) / m * m
        }
        resized = PillowResample.lanczos.resize(resized, width: w, height: h)
        guard w > m || h > m else { return ([normalize(resized)], 0, 0) }
        let rows = (h + m - 1) / m, cols = (w + m - 1) / m
        var frames: [[Float]] = []
        for r in 0..<rows {
            for c in 0..<cols { frames.append(normalize(resized.cropped(x: c * m, y: r * m, width: m, height: m))) }
        }
        frames.append(normalize(PillowResample.lanczos.resize(resized, width: m, height: m)))
        return (frames, rows, cols)
    }

    func normalize(_ image: RGBImage) -> [Float] {
        image.normalized(mean: config.imageMean, std: config.imageStd)
    }

    /// The text that stands for one image in the prompt: per crop
    /// `<fake_token_around_image><row_r_col_c>` and N `<image>`, "\n" after each row, then
    /// "\n<fake_token_around_image><global-img>", N `<image>`, `<fake_token_around_image>`.
    public func imageText(rows: Int, cols: Int) -> String {
        let n = config.tokensPerFrame
        let images = String(repeating: "<image>", count: n)
        guard rows > 0 else { return "<fake_token_around_image><global-img>" + images + "<fake_token_around_image>" }
        var s = ""
        for r in 1...rows {
            for c in 1...cols { s += "<fake_token_around_image><row_\(r)_col_\(c)>" + images }
            s += "\n"
        }
        return s + "\n<fake_token_around_image><global-img>" + images + "<fake_token_around_image>"
    }

    /// SmolVLM's chat prompt for one question about one image, ready to generate the answer.
    public func prompt(question: String, rows: Int, cols: Int) -> Prompt {
        let format = PromptFormat.smolVLM
        return format.begin + format.open(.user, beforeImage: true) + .markup(imageText(rows: rows, cols: cols))
            + .text(question) + format.close(.user) + format.answerPrefix
    }
}
