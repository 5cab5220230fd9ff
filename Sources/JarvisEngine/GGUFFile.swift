import CJarvisKernels

/// One metadata value of a GGUF file.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    case array([GGUFValue])

    /// The value as an integer, if it is one of the integer types (or a bool).
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        case .bool(let v): v ? 1 : 0
        default: nil
        }
    }

    /// The value as a float, if it is numeric.
    public var float: Float? {
        switch self {
        case .float32(let v): v
        case .float64(let v): Float(v)
        default: int.map(Float.init)
        }
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var array: [GGUFValue]? { if case .array(let a) = self { a } else { nil } }
}

/// Where one tensor lives in a GGUF file.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// Dimensions fastest-first: `shape[0]` (ne0) is the row length.
    public let shape: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the file, in bytes.
    public let fileOffset: Int
    /// Size of the data in bytes.
    public let byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A GGUF model file (versions 2 and 3), memory-mapped. Parsing checks every length and offset
/// against the file size, so a damaged file gives an `EngineError` naming the file, never a crash.
public final class GGUFFile: @unchecked Sendable {
    public let file: MappedFile
    public let version: Int
    /// Metadata key/value pairs, in file order.
    public let metadata: [String: GGUFValue]
    public let metadataKeys: [String]
    /// Tensor infos, in file order.
    public let tensors: [GGUFTensorInfo]
    public let tensorsByName: [String: GGUFTensorInfo]
    /// Alignment of tensor data (`general.alignment`, 32 when absent).
    public let alignment: Int
    /// Offset of the tensor data section.
    public let dataOffset: Int

    public var path: String { file.path }

    /// Opens and parses the GGUF file at `path`.
    /// - Throws: `EngineError` (`.io`, `.invalidFile`, `.unsupported`) naming the file and the problem.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        var r = Reader(bytes: file.bytes, path: file.path)
        let magic = try r.u32("magic")
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            throw r.invalid("bad magic: not a GGUF file")
        }
        let version = Int(try r.u32("version"))
        guard version == 2 || version == 3 else {
            throw EngineError(.unsupported, "\(file.path): unsupported GGUF version \(version) (2 and 3 are supported)")
        }
        self.version = version
        let tensorCount = try r.u64("tensor count")
        let kvCount = try r.u64("metadata count")
        // Each entry takes at least a few bytes; reject counts the file cannot possibly hold.
        guard tensorCount <= UInt64(file.count / 24), kvCount <= UInt64(file.count / 12) else {
            throw r.invalid("tensor count \(tensorCount) or metadata count \(kvCount) exceeds what the file can hold")
        }

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(Int(kvCount))
        for _ in 0..<kvCount {
            let key = try r.string("metadata key")
            let type = try r.u32("type of \(key)")
            let value = try r.value(type: type, key: key, depth: 0)
            if metadata.updateValue(value, forKey: key) == nil { keys.append(key) }
        }
        self.metadata = metadata
        self.metadataKeys = keys

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.int, v > 0, v & (v - 1) == 0 else {
                throw r.invalid("general.alignment must be a power of two")
            }
            alignment = v
        }
        self.alignment = alignment

        struct Raw { let name: String; let shape: [Int]; let type: GGMLType; let offset: UInt64 }
        var raws: [Raw] = []
        raws.reserveCapacity(Int(tensorCount))
        for _ in 0..<tensorCount {
            let name = try r.string("tensor name")
            let nDims = try r.u32("dimension count of \(name)")
            guard (1...4).contains(nDims) else {
                throw r.invalid("tensor \(name) has \(nDims) dimensions (1 to 4 allowed)")
            }
            var shape: [Int] = []
            var elements = 1
            for _ in 0..<nDims {
                let d = try r.u64("dimensions of \(name)")
                guard d > 0, d < 1 << 40 else { throw r.invalid("tensor \(name) has dimension \(d)") }
                shape.append(Int(d))
                let (p, o) = elements.multipliedReportingOverflow(by: Int(d))
                guard !o, p < 1 << 48 else { throw r.invalid("tensor \(name) element count overflows") }
                elements = p
            }
            let rawType = try r.u32("type of \(name)")
            guard let type = GGMLType(rawValue: rawType) else {
                throw EngineError(.unsupported, "\(file.path): tensor \(name) has unknown type id \(rawType)")
            }
            guard shape[0] % type.blockLayout.elements == 0 else {
                throw r.invalid("tensor \(name): row length \(shape[0]) is not a multiple of the \(type) block size \(type.blockLayout.elements)")
            }
            let offset = try r.u64("offset of \(name)")
            raws.append(Raw(name: name, shape: shape, type: type, offset: offset))
        }
        let dataOffset = (r.offset + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset

        var tensors: [GGUFTensorInfo] = []
        var byName: [String: GGUFTensorInfo] = [:]
        for raw in raws {
            let bytes = raw.type.byteCount(elements: raw.shape.reduce(1, *))
            guard raw.offset % UInt64(alignment) == 0 else {
                throw r.invalid("tensor \(raw.name) data offset \(raw.offset) is not aligned to \(alignment)")
            }
            guard raw.offset < UInt64(file.count), dataOffset + Int(raw.offset) + bytes <= file.count else {
                throw r.invalid("tensor \(raw.name) (\(bytes) bytes at data offset \(raw.offset)) extends past the end of the file (\(file.count) bytes); the file is truncated or damaged")
            }
            let info = GGUFTensorInfo(name: raw.name, shape: raw.shape, type: raw.type,
                                      fileOffset: dataOffset + Int(raw.offset), byteCount: bytes)
            guard byName.updateValue(info, forKey: raw.name) == nil else {
                throw r.invalid("tensor \(raw.name) appears twice")
            }
            tensors.append(info)
        }
        self.tensors = tensors
        self.tensorsByName = byName
    }

    /// The raw bytes of a tensor, inside the mapping.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        file.base!.advanced(by: tensor.fileOffset)
    }

    /// Dequantizes a whole tensor to fp32.
    /// - Throws: `.unsupported` if its type has no dequantizer.
    public func dequantize(_ tensor: GGUFTensorInfo) throws -> [Float] {
        guard tensor.type.canDequantize else {
            throw GGMLType.unsupported(tensor: tensor.name, type: tensor.type, in: path)
        }
        let n = tensor.elementCount
        return [Float](unsafeUninitializedCapacity: n) { buf, count in
            _ = jk_dequantize(Int32(tensor.type.rawValue), data(of: tensor), buf.baseAddress!, Int64(n))
            count = n
        }
    }

    /// A metadata value, or nil.
    public subscript(key: String) -> GGUFValue? { metadata[key] }
}

// MARK: - Bounds-checked reading

private struct Reader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    func invalid(_ what: String) -> EngineError {
        EngineError(.invalidFile, "\(path): \(what)")
    }

    mutating func take(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - offset else {
            throw invalid("truncated while reading \(what) at byte \(offset) (file has \(bytes.count) bytes)")
        }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
    }

    mutating func scalar<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
        let b = try take(MemoryLayout<T>.size, what)
        return T(littleEndian: b.loadUnaligned(as: T.self))
    }

    mutating func u32(_ what: String) throws -> UInt32 { try scalar(UInt32.self, what) }
    mutating func u64(_ what: String) throws -> UInt64 { try scalar(UInt64.self, what) }

    mutating func string(_ what: String) throws -> String {
        let n = try u64("length of \(what)")
        guard n <= UInt64(bytes.count - offset) else {
            throw invalid("truncated: \(what) claims \(n) bytes at byte \(offset), past the end of the file")
        }
        return String(decoding: try take(Int(n), what), as: UTF8.self)
    }

    mutating func value(type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try scalar(UInt8.self, key))
        case 1: return .int8(try scalar(Int8.self, key))
        case 2: return .uint16(try scalar(UInt16.self, key))
        case 3: return .int16(try scalar(Int16.self, key))
        case 4: return .uint32(try scalar(UInt32.self, key))
        case 5: return .int32(try scalar(Int32.self, key))
        case 6: return .float32(Float(bitPattern: try scalar(UInt32.self, key)))
        case 7:
            let b = try scalar(UInt8.self, key)
            guard b <= 1 else { throw invalid("metadata \(key): bool value \(b)") }
            return .bool(b == 1)
        case 8: return .string(try string(key))
        case 9:
            guard depth < 4 else { throw invalid("metadata \(key): arrays nested too deep") }
            let elementType = try u32("array type of \(key)")
            let n = try u64("array length of \(key)")
            // Every element takes at least one byte.
            guard n <= UInt64(bytes.count - offset) else {
                throw invalid("truncated: array \(key) claims \(n) elements, more than the file holds")
            }
            var out: [GGUFValue] = []
            out.reserveCapacity(Int(n))
            for _ in 0..<n { out.append(try value(type: elementType, key: key, depth: depth + 1)) }
            return .array(out)
        case 10: return .uint64(try scalar(UInt64.self, key))
        case 11: return .int64(try scalar(Int64.self, key))
        case 12: return .float64(Double(bitPattern: try scalar(UInt64.self, key)))
        default:
            throw invalid("metadata \(key) has unknown value type \(type)")
        }
    }
}
