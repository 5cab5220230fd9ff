import CJarvisImage
import Foundation

/// Limits on what the image decoder accepts; anything beyond is refused before the pixels
/// are allocated, so a small file claiming a huge image (a decompression bomb) costs nothing.
public struct ImageLimits: Sendable, Equatable {
    /// Largest file read, in bytes.
    public var maxFileBytes: Int
    /// Largest width × height.
    public var maxPixels: Int
    /// Largest width or height.
    public var maxSide: Int

    /// 64 MiB files, 50 megapixels, 20,000 pixels a side: room for any phone or camera photo;
    /// the decoded RGB is then at most 150 MB.
    public static let `default` = ImageLimits(maxFileBytes: 64 << 20, maxPixels: 50_000_000, maxSide: 20_000)

    public init(maxFileBytes: Int, maxPixels: Int, maxSide: Int) {
        self.maxFileBytes = maxFileBytes
        self.maxPixels = maxPixels
        self.maxSide = maxSide
    }
}

/// JPEG (libjpeg-turbo) and PNG (libpng) to upright RGB: EXIF orientation applied, PNG
/// transparency composited over white.
public enum ImageDecoder {
    /// Decodes the file at `path`.
    /// - Throws: `ImageError` `.io` if it cannot be read, `.tooLarge` past `limits`,
    ///   `.invalidImage` if it is not a JPEG or PNG or is corrupt. Messages name the file.
    public static func load(path: String, limits: ImageLimits = .default) throws -> RGBImage {
        // One descriptor for the checks and the read, so the file checked is the file read.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageError(.io, "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ImageError(.io, "\(path): \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw ImageError(.invalidImage, "\(path): not a regular file")
        }
        guard Int(st.st_size) <= limits.maxFileBytes else {
            throw ImageError(.tooLarge, "\(path): the file is \(st.st_size) bytes, more than the limit of \(limits.maxFileBytes)")
        }
        // Read at most one byte past the limit: a file that grew since fstat is still bounded.
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ImageError(.io, "\(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            count += n
        }
        guard count <= limits.maxFileBytes else {
            throw ImageError(.tooLarge, "\(path): the file grew past the limit of \(limits.maxFileBytes) bytes while being read")
        }
        return try decode(Array(bytes.prefix(count)), limits: limits, source: path)
    }

    /// Decodes an image held in memory; `source` names it in error messages.
    public static func decode(_ bytes: [UInt8], limits: ImageLimits = .default, source: String = "image") throws -> RGBImage {
        guard bytes.count <= limits.maxFileBytes else {
            throw ImageError(.tooLarge, "\(source): \(bytes.count) bytes, more than the limit of \(limits.maxFileBytes)")
        }
        var image = ji_image()
        defer { ji_image_free(&image) }
        let status = bytes.withUnsafeBufferPointer { b in
            ji_decode(b.baseAddress, b.count, Int64(limits.maxPixels), Int32(clamping: limits.maxSide), &image)
        }
        let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        switch Int(status) {
        case Int(JI_OK): break
        case Int(JI_TOO_LARGE): throw ImageError(.tooLarge, "\(source): \(message)")
        case Int(JI_UNKNOWN_FORMAT): throw ImageError(.invalidImage, "\(source): not a JPEG or PNG image")
        case Int(JI_NO_MEMORY): throw ImageError(.tooLarge, "\(source): \(message)")
        default: throw ImageError(.invalidImage, "\(source): cannot be decoded: \(message)")
        }
        let count = Int(image.width) * Int(image.height) * 3
        let rgb = RGBImage(width: Int(image.width), height: Int(image.height),
                           pixels: Array(UnsafeBufferPointer(start: image.pixels, count: count)))
        guard let exif = image.exif else { return rgb }
        let orientation = ExifOrientation.parse(Array(UnsafeBufferPointer(start: exif, count: image.exif_size))) ?? 1
        return rgb.applyingOrientation(orientation)
    }
}
