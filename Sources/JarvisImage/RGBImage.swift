import Foundation

/// An 8-bit RGB image, upright (any EXIF orientation already applied), rows top to bottom.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// width × height × 3 bytes, row-major, R G B.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes for \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column x, row y.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// The region `x..<x+w`, `y..<y+h` (clamped to the image) as its own image.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> RGBImage {
        let x0 = max(0, min(x, width)), y0 = max(0, min(y, height))
        let x1 = max(x0, min(x + w, width)), y1 = max(y0, min(y + h, height))
        var out = [UInt8]()
        out.reserveCapacity((x1 - x0) * (y1 - y0) * 3)
        for row in y0..<y1 { out += pixels[(row * width + x0) * 3..<(row * width + x1) * 3] }
        return RGBImage(width: x1 - x0, height: y1 - y0, pixels: out)
    }

    /// The image as EXIF orientation `orientation` (1–8) says it should be displayed: the
    /// stored pixels flipped and/or rotated. 1 and unknown values leave it as it is.
    public func applyingOrientation(_ orientation: Int) -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let swaps = orientation >= 5
        let w = swaps ? height : width, h = swaps ? width : height
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        // The stored pixel shown at (x, y).
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case 2: (sx, sy) = (width - 1 - x, y)                 // mirrored
                        case 3: (sx, sy) = (width - 1 - x, height - 1 - y)    // upside down
                        case 4: (sx, sy) = (x, height - 1 - y)                // mirrored vertically
                        case 5: (sx, sy) = (y, x)                             // transposed
                        case 6: (sx, sy) = (y, height - 1 - x)                // needs 90° clockwise
                        case 7: (sx, sy) = (width - 1 - y, height - 1 - x)    // transversed
                        default: (sx, sy) = (width - 1 - y, x)                // 8: needs 90° anticlockwise
                        }
                        let s = (sy * width + sx) * 3, d = (y * w + x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }
}
