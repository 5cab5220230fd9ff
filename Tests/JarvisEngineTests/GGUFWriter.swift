import Foundation
import JarvisEngine

/// Writes GGUF files (version 3 by default) byte by byte, for tests that need a model file
/// with particular contents: tiny models with random weights, a tokenizer with unusual
/// metadata, or a damaged file (take `bytes()`, change them, write them yourself).
///
///     let url = dir.appendingPathComponent("tiny.gguf")
///     try GGUFWriter()
///         .add(key: "general.architecture", value: .string("llama"))
///         .addTensor(name: "token_embd.weight", shape: [8, 4], type: .f32, floats: weights)
///         .write(to: url)
///
/// Metadata is written in the order added. Tensor data is laid out in the order added, each
/// tensor at a multiple of the alignment (`general.alignment` if added, else 32), exactly as
/// llama.cpp's writer does. Nothing is validated: a tensor's bytes are written as given, so a
/// test can also build inconsistent files.
final class GGUFWriter {
    /// GGUF metadata value type ids.
    enum ValueType: UInt32 {
        case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

        init(of value: GGUFValue) {
            switch value {
            case .uint8: self = .uint8
            case .int8: self = .int8
            case .uint16: self = .uint16
            case .int16: self = .int16
            case .uint32: self = .uint32
            case .int32: self = .int32
            case .float32: self = .float32
            case .bool: self = .bool
            case .string: self = .string
            case .array: self = .array
            case .uint64: self = .uint64
            case .int64: self = .int64
            case .float64: self = .float64
            }
        }
    }

    struct Tensor {
        var name: String
        /// Dimensions fastest-first (ne0 first), as GGUF stores them.
        var shape: [Int]
        var type: GGMLType
        var data: [UInt8]
        /// Offset to record in the tensor info instead of the computed one (for broken files).
        var offsetOverride: UInt64?
    }

    var version: UInt32 = 3
    private(set) var metadata: [(key: String, value: GGUFValue, emptyArrayType: ValueType)] = []
    private(set) var tensors: [Tensor] = []

    init() {}

    /// Adds a metadata entry. An array's element type is that of its first element; all
    /// elements must have the same type. Nested arrays are written as arrays of arrays.
    @discardableResult
    func add(key: String, value: GGUFValue) -> GGUFWriter {
        metadata.append((key, value, .uint8))
        return self
    }

    /// Adds an empty array whose element type is `elementType`.
    @discardableResult
    func add(key: String, emptyArrayOf elementType: ValueType) -> GGUFWriter {
        metadata.append((key, .array([]), elementType))
        return self
    }

    /// Adds a tensor with its raw data (already in `type`'s block format).
    @discardableResult
    func addTensor(name: String, shape: [Int], type: GGMLType, data: [UInt8], offset: UInt64? = nil) -> GGUFWriter {
        tensors.append(Tensor(name: name, shape: shape, type: type, data: data, offsetOverride: offset))
        return self
    }

    /// Adds an f32 tensor.
    @discardableResult
    func addTensor(name: String, shape: [Int], floats: [Float]) -> GGUFWriter {
        var data: [UInt8] = []
        data.reserveCapacity(floats.count * 4)
        for f in floats { Self.append(f.bitPattern, to: &data) }
        return addTensor(name: name, shape: shape, type: .f32, data: data)
    }

    /// Alignment of tensor data: `general.alignment` if it was added, else 32.
    var alignment: Int {
        metadata.last(where: { $0.key == "general.alignment" })?.value.int ?? 32
    }

    /// The whole file.
    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        Self.append(UInt32(0x4655_4747), to: &out)  // "GGUF"
        Self.append(version, to: &out)
        Self.append(UInt64(tensors.count), to: &out)
        Self.append(UInt64(metadata.count), to: &out)
        for entry in metadata {
            Self.append(string: entry.key, to: &out)
            Self.append(ValueType(of: entry.value).rawValue, to: &out)
            Self.append(value: entry.value, emptyArrayType: entry.emptyArrayType, to: &out)
        }
        let align = max(alignment, 1)
        func aligned(_ n: Int) -> Int { (n + align - 1) / align * align }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset = aligned(offset + t.data.count)
        }
        for (t, o) in zip(tensors, offsets) {
            Self.append(string: t.name, to: &out)
            Self.append(UInt32(t.shape.count), to: &out)
            for d in t.shape { Self.append(UInt64(d), to: &out) }
            Self.append(t.type.rawValue, to: &out)
            Self.append(t.offsetOverride ?? UInt64(o), to: &out)
        }
        out.append(contentsOf: repeatElement(0, count: aligned(out.count) - out.count))
        let dataStart = out.count
        for (t, o) in zip(tensors, offsets) {
            out.append(contentsOf: repeatElement(0, count: dataStart + o - out.count))
            out.append(contentsOf: t.data)
        }
        if !tensors.isEmpty {
            out.append(contentsOf: repeatElement(0, count: aligned(out.count - dataStart) + dataStart - out.count))
        }
        return out
    }

    func write(to url: URL) throws {
        try Data(bytes()).write(to: url)
    }

    // MARK: - Encoding

    private static func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func append(string: String, to out: inout [UInt8]) {
        append(UInt64(string.utf8.count), to: &out)
        out.append(contentsOf: string.utf8)
    }

    private static func append(value: GGUFValue, emptyArrayType: ValueType, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .float32(let v): append(v.bitPattern, to: &out)
        case .bool(let v): out.append(v ? 1 : 0)
        case .string(let v): append(string: v, to: &out)
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float64(let v): append(v.bitPattern, to: &out)
        case .array(let elements):
            let type = elements.first.map(ValueType.init(of:)) ?? emptyArrayType
            append(type.rawValue, to: &out)
            append(UInt64(elements.count), to: &out)
            for e in elements {
                precondition(ValueType(of: e) == type, "GGUF arrays hold one element type")
                append(value: e, emptyArrayType: .uint8, to: &out)
            }
        }
    }
}
