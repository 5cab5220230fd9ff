import CJarvisImage
import Foundation

/// PNG encoding (libpng), for pictures Jarvis shows people: mined regions outlined.
public enum ImageEncoder {
    /// The image as PNG bytes.
    public static func png(_ image: RGBImage) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 200)
        let status = image.pixels.withUnsafeBufferPointer { p in
            ji_encode_png(p.baseAddress, Int32(image.width), Int32(image.height), &out, &size, &message)
        }
        guard status == JI_OK, let out else {
            throw ImageError(.io, "cannot encode a PNG: \(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    /// Writes the image as a PNG file at `path` (atomically).
    public static func writePNG(_ image: RGBImage, to path: String) throws {
        do { try Data(try png(image)).write(to: URL(fileURLWithPath: path), options: .atomic) }
        catch let e as ImageError { throw e }
        catch { throw ImageError(.io, "cannot write \(path): \(error.localizedDescription)") }
    }
}
