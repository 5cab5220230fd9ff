/// A reader of the protocol-buffers wire format over bytes in memory, every length and offset
/// checked: fields come out as (number, value) and unknown ones are skipped. Enough for ONNX;
/// not a general protobuf library (no groups, which proto3 does not have).
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(UnsafeRawBufferPointer)
        case fixed32(UInt32)
    }

    struct Malformed: Error { let reason: String }

    private let data: UnsafeRawBufferPointer
    private var offset = 0

    init(_ data: UnsafeRawBufferPointer) { self.data = data }

    /// Byte offset of the reader inside its buffer (for messages).
    var position: Int { offset }

    /// The next field, or nil at the end of the message.
    mutating func next() throws -> (field: Int, value: Value)? {
        guard offset < data.count else { return nil }
        let key = try varint()
        let field = Int(key >> 3)
        guard field > 0, field < 1 << 29 else { throw Malformed(reason: "field number \(field) at byte \(offset)") }
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1: return (field, .fixed64(try fixed(8)))
        case 2:
            let n = try varint()
            guard n <= UInt64(data.count - offset) else {
                throw Malformed(reason: "a field of \(n) bytes at byte \(offset) runs past the end (\(data.count - offset) left)")
            }
            let slice = UnsafeRawBufferPointer(rebasing: data[offset..<offset + Int(n)])
            offset += Int(n)
            return (field, .bytes(slice))
        case 5: return (field, .fixed32(UInt32(try fixed(4))))
        default: throw Malformed(reason: "wire type \(key & 7) at byte \(offset)")
        }
    }

    private mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard offset < data.count else { throw Malformed(reason: "a number runs past the end") }
            let b = data[offset]
            offset += 1
            result |= UInt64(b & 0x7F) << UInt64(shift)
            if b & 0x80 == 0 { return result }
        }
        throw Malformed(reason: "a number longer than 10 bytes at byte \(offset)")
    }

    private mutating func fixed(_ n: Int) throws -> UInt64 {
        guard data.count - offset >= n else { throw Malformed(reason: "a fixed-size field runs past the end") }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(data[offset + i]) << UInt64(8 * i) }
        offset += n
        return v
    }

    /// All varints of a packed repeated field.
    static func packedVarints(_ bytes: UnsafeRawBufferPointer) throws -> [UInt64] {
        var r = ProtobufReader(bytes), out: [UInt64] = []
        while r.offset < bytes.count { out.append(try r.varint()) }
        return out
    }

    /// All 32-bit values of a packed repeated fixed32/float field.
    static func packedFixed32(_ bytes: UnsafeRawBufferPointer) throws -> [UInt32] {
        guard bytes.count % 4 == 0 else { throw Malformed(reason: "packed 32-bit values of \(bytes.count) bytes") }
        return (0..<bytes.count / 4).map { bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self) }
    }
}

extension ProtobufReader.Value {
    func int() throws -> Int64 {
        guard case .varint(let v) = self else { throw ProtobufReader.Malformed(reason: "expected an integer") }
        return Int64(bitPattern: v)
    }
    func bytes() throws -> UnsafeRawBufferPointer {
        guard case .bytes(let b) = self else { throw ProtobufReader.Malformed(reason: "expected bytes") }
        return b
    }
    func string() throws -> String { String(decoding: try bytes(), as: UTF8.self) }
    func float() throws -> Float {
        guard case .fixed32(let v) = self else { throw ProtobufReader.Malformed(reason: "expected a float") }
        return Float(bitPattern: v)
    }
}
