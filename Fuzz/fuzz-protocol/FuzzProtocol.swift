import JarvisProtocol

/// libFuzzer target: the frame decoder fed the input in two pieces (split where the first
/// byte says), then every complete frame decoded as a request, and the whole input decoded as
/// a payload too. Any crash, hang or leak is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtocol(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var decoder = FrameDecoder(maxFrame: 1 << 16)
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var frames: [[UInt8]] = []
    if let f = try? decoder.append(bytes[..<cut]) { frames += f }
    if let f = try? decoder.append(bytes[cut...]) { frames += f }
    for f in frames {
        if case .success(let r) = ProtocolCodec.decodeRequest(f) {
            // What decodes must encode and decode to the same request.
            guard case .success(let again) = ProtocolCodec.decodeRequest(ProtocolCodec.encode(r)), again == r else { fatalError("round trip changed \(r)") }
        }
    }
    _ = ProtocolCodec.decodeRequest(bytes)
    return 0
}
