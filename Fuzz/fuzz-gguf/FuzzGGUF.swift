import Foundation
import JarvisEngine

/// libFuzzer target: the GGUF reader on arbitrary bytes (written to a file, since it maps
/// files). It must throw `EngineError` for anything malformed and never crash or read out of
/// bounds; what it accepts must have every tensor inside the file.
let path = "/dev/shm/jarvis-fuzz-gguf-\(getpid()).gguf"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    if let g = try? GGUFFile(path: path) {
        for t in g.tensors where t.fileOffset + t.byteCount > size { fatalError("tensor \(t.name) past the end") }
    }
    return 0
}
