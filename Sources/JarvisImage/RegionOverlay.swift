/// Draws numbered rectangles over a photo, so a person can see which regions Jarvis mined.
public enum RegionOverlay {
    /// Colours cycled through the regions: red, yellow, cyan, magenta, green, orange.
    static let colours: [(UInt8, UInt8, UInt8)] = [(230, 30, 30), (250, 220, 0), (0, 220, 230), (230, 0, 220), (40, 200, 40), (255, 140, 0)]

    /// 3 × 5 digit glyphs, one bit per pixel, rows top to bottom.
    static let digits: [[UInt8]] = [
        [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
    ]

    /// `image` with each rectangle (x, y, width, height) outlined and numbered from 1.
    public static func draw(_ rects: [(x: Int, y: Int, width: Int, height: Int)], on image: RGBImage) -> RGBImage {
        var out = image
        let thickness = max(2, min(image.width, image.height) / 150)
        let scale = max(2, min(image.width, image.height) / 80)
        func paint(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, y >= 0, x < out.width, y < out.height else { return }
            let i = (y * out.width + x) * 3
            out.pixels[i] = c.0; out.pixels[i + 1] = c.1; out.pixels[i + 2] = c.2
        }
        for (n, given) in rects.enumerated() {
            // Only what lies on the image is drawn (rectangles come from stored metadata).
            let x0 = max(0, min(given.x, image.width)), y0 = max(0, min(given.y, image.height))
            let x1 = max(x0, min(given.x.addingReportingOverflow(max(0, given.width)).partialValue, image.width))
            let y1 = max(y0, min(given.y.addingReportingOverflow(max(0, given.height)).partialValue, image.height))
            guard x1 > x0, y1 > y0 else { continue }
            let r = (x: x0, y: y0, width: x1 - x0, height: y1 - y0)
            let c = colours[n % colours.count]
            for t in 0..<thickness {
                for x in r.x..<r.x + r.width { paint(x, r.y + t, c); paint(x, r.y + r.height - 1 - t, c) }
                for y in r.y..<r.y + r.height { paint(r.x + t, y, c); paint(r.x + r.width - 1 - t, y, c) }
            }
            // The number on a dark tab at the top-left corner, inside the box.
            let label = String(n + 1)
            let tabW = (label.count * 4 + 1) * scale, tabH = 7 * scale
            for y in 0..<tabH { for x in 0..<tabW { paint(r.x + x, r.y + y, (0, 0, 0)) } }
            for (k, ch) in label.enumerated() {
                guard let digit = ch.wholeNumberValue else { continue }
                for (row, bits) in digits[digit].enumerated() {
                    for col in 0..<3 where bits & (4 >> col) != 0 {
                        for dy in 0..<scale { for dx in 0..<scale {
                            paint(r.x + (1 + 4 * k + col) * scale + dx, r.y + (1 + row) * scale + dy, c)
                        } }
                    }
                }
            }
        }
        return out
    }
}
