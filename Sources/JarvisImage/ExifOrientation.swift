/// The orientation tag (0x0112) of an EXIF block, read with every offset bounds-checked.
public enum ExifOrientation {
    /// `exif` is the APP1 payload after "Exif\0\0": a TIFF header and IFD0. Returns 1–8, or
    /// nil when the block is malformed or has no orientation.
    public static func parse(_ exif: [UInt8]) -> Int? {
        guard exif.count >= 8 else { return nil }
        let little: Bool
        switch (exif[0], exif[1]) {
        case (0x49, 0x49): little = true      // "II"
        case (0x4D, 0x4D): little = false     // "MM"
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= exif.count else { return nil }
            let a = Int(exif[at]), b = Int(exif[at + 1])
            return little ? a | b << 8 : a << 8 | b
        }
        func u32(_ at: Int) -> Int? {
            guard let lo = u16(little ? at : at + 2), let hi = u16(little ? at + 2 : at) else { return nil }
            return lo | hi << 16
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for i in 0..<count {
            let entry = ifd + 2 + 12 * i
            guard let tag = u16(entry) else { return nil }
            guard tag == 0x0112 else { continue }
            guard u16(entry + 2) == 3, let value = u16(entry + 8), (1...8).contains(value) else { return nil }
            return value
        }
        return nil
    }
}
