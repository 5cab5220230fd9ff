import Foundation
import JarvisEngine

/// libFuzzer target: the safetensors header parser on arbitrary bytes (via a file, since it
/// maps files). It must throw for anything malformed and never crash.
let path = "/dev/shm/jarvis-fuzz-safetensors-\(getpid()).safetensors"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    _ = try? SafetensorsFile(path: path)
    return 0
}
