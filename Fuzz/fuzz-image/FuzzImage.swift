import Foundation
import JarvisImage

/// libFuzzer target: JPEG and PNG decoding (our libjpeg-turbo/libpng shim, EXIF orientation)
/// on arbitrary bytes. It must throw `EngineError` for anything malformed and never crash; what
/// it decodes must respect the limits and have exactly width × height × 3 bytes.
let limits = ImageLimits(maxFileBytes: 1 << 20, maxPixels: 1 << 22, maxSide: 4096)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let image = try? ImageDecoder.decode(Array(UnsafeBufferPointer(start: data, count: size)), limits: limits) else { return 0 }
    if image.width * image.height > limits.maxPixels || image.pixels.count != image.width * image.height * 3 {
        fatalError("decoded \(image.width)×\(image.height) with \(image.pixels.count) bytes")
    }
    return 0
}
