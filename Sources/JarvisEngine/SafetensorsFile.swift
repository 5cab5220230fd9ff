import Foundation

/// A safetensors file, memory-mapped: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the data. Every length and offset is
/// checked against the file, so a damaged file gives an `EngineError` naming it, never a crash.
public final class SafetensorsFile: @unchecked Sendable {
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32", u8 = "U8", i8 = "I8", f64 = "F64", bool = "BOOL"
        var size: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16: 2
            case .u8, .i8, .bool: 1
            }
        }
    }

    public struct Tensor: Sendable {
        public let name: String
        public let dtype: DType
        /// Dimensions, outermost first (PyTorch order).
        public let shape: [Int]
        /// Offset of the data from the start of the file, and its length, in bytes.
        public let offset: Int
        public let byteCount: Int
        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let file: MappedFile
    public let tensors: [String: Tensor]
    /// The `__metadata__` strings, if any.
    public let metadata: [String: String]
    public var path: String { file.path }

    /// Opens and parses `path`.
    /// - Throws: `EngineError` (`.io`, `.invalidFile`, `.unsupported`) naming the file and the problem.
    public init(path: String) throws {
        file = try MappedFile(path: path)
        let bytes = file.bytes
        func invalid(_ what: String) -> EngineError { EngineError(.invalidFile, "\(path): \(what)") }
        guard bytes.count >= 8 else { throw invalid("too short for a safetensors header (\(bytes.count) bytes)") }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(bytes.count - 8), headerLength <= 100 << 20 else {
            throw invalid("header length \(headerLength) exceeds the file (\(bytes.count) bytes): truncated or not a safetensors file")
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart]))
        } catch {
            throw invalid("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw invalid("header is not a JSON object") }
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let dt = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let range = info["data_offsets"] as? [Int], range.count == 2 else {
                throw invalid("tensor \(name) has a malformed entry")
            }
            guard let dtype = DType(rawValue: dt) else {
                throw EngineError(.unsupported, "\(path): tensor \(name) has dtype \(dt), which this engine does not read")
            }
            guard shape.allSatisfy({ $0 >= 0 }), range[0] >= 0, range[1] >= range[0], dataStart + range[1] <= bytes.count else {
                throw invalid("tensor \(name) (bytes \(range[0])..<\(range[1]) of the data) extends past the end of the file")
            }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, elements * dtype.size == range[1] - range[0] else {
                throw invalid("tensor \(name): shape \(shape) of \(dt) needs \(overflow ? "too many" : String(elements * dtype.size)) bytes, the header gives \(range[1] - range[0])")
            }
            tensors[name] = Tensor(name: name, dtype: dtype, shape: shape, offset: dataStart + range[0], byteCount: range[1] - range[0])
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// A tensor as fp32 values, checking its shape.
    /// - Throws: `.modelMismatch` naming the tensor if it is missing or shaped otherwise,
    ///   `.unsupported` for a non-float dtype.
    public func floats(_ name: String, shape expected: [Int]) throws -> [Float] {
        guard let t = tensors[name] else { throw EngineError(.modelMismatch, "\(path): tensor \(name) is missing") }
        guard t.shape == expected else {
            throw EngineError(.modelMismatch, "\(path): tensor \(name) has shape \(t.shape), expected \(expected)")
        }
        let raw = UnsafeRawBufferPointer(rebasing: file.bytes[t.offset..<t.offset + t.byteCount])
        switch t.dtype {
        case .f32:
            // Little-endian on every platform Jarvis runs on: a straight copy.
            return [Float](unsafeUninitializedCapacity: t.elementCount) { buf, count in
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: raw)
                count = t.elementCount
            }
        case .f16:
            return (0..<t.elementCount).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))) }
        case .bf16:
            return (0..<t.elementCount).map { Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16) }
        default:
            throw EngineError(.unsupported, "\(path): tensor \(name) has dtype \(t.dtype.rawValue), not a float type")
        }
    }
}
