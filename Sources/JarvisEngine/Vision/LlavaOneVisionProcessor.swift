import Foundation
import JarvisImage

/// What LLaVA-OneVision's image processor does to an image, as transformers' (slow, Pillow)
/// `LlavaOnevisionImageProcessor` does it, and the shape its features take once packed.
///
/// AnyRes: the grid resolution that keeps most of the image (`bestResolution`), the image
/// resized into it keeping its aspect ratio (Pillow bicubic) and centred on black, cut into
/// tiles row-major; before them, the base view: the whole image resized to one tile, aspect
/// ratio not kept. Every tile is normalised channel-major. An image among several is not tiled:
/// it is padded to a square and seen as one tile (`squareTile`).
public struct LlavaOneVisionProcessor: Sendable {
    public let config: LlavaOneVisionVision.Config

    public init(config: LlavaOneVisionVision.Config) { self.config = config }

    /// The grid resolution (height, width) for an image: of `gridPinpoints`, the one whose
    /// fitted image keeps the most pixels (never more than the image has), then the one that
    /// wastes the least (transformers' `select_best_resolution`).
    public func bestResolution(height: Int, width: Int) -> LlavaOneVisionVision.Config.Resolution {
        var best = config.gridPinpoints[0], kept = 0, wasted = Int.max
        for r in config.gridPinpoints {
            let scale = min(Double(r.width) / Double(width), Double(r.height) / Double(height))
            let effective = min(Int(Double(width) * scale) * Int(Double(height) * scale), width * height)
            let waste = r.width * r.height - effective
            if effective > kept || (effective == kept && waste < wasted) { best = r; kept = effective; wasted = waste }
        }
        return best
    }

    /// The base view, then the grid's tiles row-major (each 3 × M × M, normalised), and the
    /// grid's rows and columns.
    public func tiles(for image: RGBImage) -> (frames: [[Float]], rows: Int, cols: Int) {
        let m = config.tileSize, resample = config.resample
        let target = bestResolution(height: image.height, width: image.width)
        // Fit inside the target, the other side rounded up (at most the target's), then centred
        // on black.
        let sw = Double(target.width) / Double(image.width), sh = Double(target.height) / Double(image.height)
        var w = target.width, h = target.height
        if sw < sh { h = min(Int((Double(image.height) * sw).rounded(.up)), target.height) }
        else { w = min(Int((Double(image.width) * sh).rounded(.up)), target.width) }
        let padded = Self.centred(resample.resize(image, width: w, height: h), width: target.width, height: target.height, fill: [0, 0, 0])
        let rows = target.height / m, cols = target.width / m
        var frames = [normalize(resample.resize(image, width: m, height: m))]
        for r in 0..<rows {
            for c in 0..<cols { frames.append(normalize(padded.cropped(x: c * m, y: r * m, width: m, height: m))) }
        }
        return (frames, rows, cols)
    }

    /// One image of a multi-image prompt: no tiling; the image centred on a square of the mean
    /// colour (the odd pixel of padding right and below), resized to one tile, normalised.
    public func squareTile(for image: RGBImage) -> [Float] {
        let side = max(image.width, image.height)
        let square = Self.centred(image, width: side, height: side, fill: config.imageMean.map { UInt8(clamping: Int($0 * 255)) })
        return normalize(config.resample.resize(square, width: config.tileSize, height: config.tileSize))
    }

    /// `image` centred on a `width` × `height` canvas of `fill` (RGB), the odd pixel of
    /// padding right and below.
    static func centred(_ image: RGBImage, width: Int, height: Int, fill: [UInt8]) -> RGBImage {
        guard image.width != width || image.height != height else { return image }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        if fill != [0, 0, 0] {
            for i in 0..<width * height { pixels[3 * i] = fill[0]; pixels[3 * i + 1] = fill[1]; pixels[3 * i + 2] = fill[2] }
        }
        let left = (width - image.width) / 2, top = (height - image.height) / 2
        for y in 0..<image.height {
            let src = y * image.width * 3, dst = ((top + y) * width + left) * 3
            pixels.replaceSubrange(dst..<dst + image.width * 3, with: image.pixels[src..<src + image.width * 3])
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    func normalize(_ image: RGBImage) -> [Float] {
        image.normalized(mean: config.imageMean, std: config.imageStd)
    }

    /// Where the grid's features go for an image of `height` × `width` pixels, in feature
    /// rows and columns (n = M/P per tile).
    public struct Packing: Sendable, Equatable {
        /// The tile grid.
        public var rows: Int, cols: Int
        /// The grid's feature map with the padding's rows or columns cut off
        /// (transformers' `unpad_image`): its size, and where it starts in the full map.
        public var height: Int, width: Int, top: Int, left: Int
        /// The size it is resampled to (bilinear) when it holds more than `maxTiles` tiles'
        /// worth of features by over 10% (`vision_aspect_ratio` anyres_max_N); else its own.
        public var outHeight: Int, outWidth: Int

        /// Feature rows the grid gives: each row of the map, then the newline row.
        public var gridRows: Int { outHeight * (outWidth + 1) }
    }

    /// The packing of an image of `height` × `width` pixels.
    public func packing(height: Int, width: Int) -> Packing {
        let n = config.grid
        let target = bestResolution(height: height, width: width)
        let rows = target.height / config.tileSize, cols = target.width / config.tileSize
        let fullH = rows * n, fullW = cols * n
        var p = Packing(rows: rows, cols: cols, height: fullH, width: fullW, top: 0, left: 0, outHeight: fullH, outWidth: fullW)
        // round(x, 7), then truncation, as transformers computes the unpadded side.
        func side(_ x: Double) -> Int { Int(((x * 1e7).rounded(.toNearestOrEven) / 1e7).rounded(.towardZero)) }
        if Double(width) / Double(height) > Double(fullW) / Double(fullH) {
            let pad = (fullH - side(Double(height) * (Double(fullW) / Double(width)))) / 2
            p.top = pad; p.height = fullH - 2 * pad
        } else {
            let pad = (fullW - side(Double(width) * (Double(fullH) / Double(height)))) / 2
            p.left = pad; p.width = fullW - 2 * pad
        }
        p.outHeight = p.height; p.outWidth = p.width
        if let maxTiles = config.maxTiles {
            let ratio = (Double(p.height * p.width) / Double(maxTiles * n * n)).squareRoot()
            if ratio > 1.1 {
                p.outHeight = Int((Double(p.height) / ratio).rounded(.down))
                p.outWidth = Int((Double(p.width) / ratio).rounded(.down))
            }
        }
        return p
    }

    /// Image tokens one image takes alone: the base view's n², then the packed grid with its
    /// newlines.
    public func tokens(height: Int, width: Int) -> Int {
        config.grid * config.grid + packing(height: height, width: width).gridRows
    }
}
