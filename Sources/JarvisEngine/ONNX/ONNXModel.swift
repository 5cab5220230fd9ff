/// An ONNX model file, memory-mapped and parsed with our own protobuf reader: the graph's
/// nodes in order, its inputs and outputs, and its initializers, whose data stays in the
/// mapping. Every length, count and shape is checked, so a damaged file gives an `EngineError`
/// naming it, never a crash. External data files and sparse initializers are refused.
public final class ONNXModel: @unchecked Sendable {
    /// ONNX TensorProto.DataType values this engine reads.
    public enum DataType: Int32, Sendable {
        case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7, bool = 9, float16 = 10, double = 11
        var size: Int {
            switch self {
            case .uint8, .int8, .bool: 1
            case .float16: 2
            case .float, .int32: 4
            case .int64, .double: 8
            }
        }
    }

    public struct Tensor: @unchecked Sendable {
        public let name: String
        public let dataType: DataType
        /// Dimensions, outermost first.
        public let dims: [Int]
        /// The little-endian data: raw_data in the mapping, or values gathered from a typed field.
        let storage: UnsafeRawBufferPointer
        let owned: [UInt8]?
        public var elementCount: Int { dims.reduce(1, *) }

        /// The values as Float (from float, float16, double or integer data).
        public func floats() -> [Float] {
            withBytes { b in
                if dataType == .float {
                    // Little-endian fp32: one copy.
                    return [Float](unsafeUninitializedCapacity: elementCount) { out, n in
                        if elementCount > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: b.baseAddress!, byteCount: 4 * elementCount) }
                        n = elementCount
                    }
                }
                return (0..<elementCount).map { i in
                    switch dataType {
                    case .float: Float(bitPattern: b.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    case .float16: Float(Float16(bitPattern: b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    case .double: Float(Double(bitPattern: b.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                    case .int64: Float(Int64(bitPattern: b.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                    case .int32: Float(Int32(bitPattern: b.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    case .int8: Float(Int8(bitPattern: b[i]))
                    case .uint8, .bool: Float(b[i])
                    }
                }
            }
        }

        /// Runs `body` over the tensor's little-endian bytes.
        func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
            if let owned { return owned.withUnsafeBytes(body) }
            return body(storage)
        }
    }

    public enum Attribute: Sendable {
        case float(Float), int(Int64), string(String), tensor(Tensor)
        case floats([Float]), ints([Int64]), strings([String])
        /// A subgraph (If, Loop, Scan); kept only as a marker: this engine runs flat graphs.
        case graph
    }

    public struct Node: Sendable {
        public let name: String
        public let opType: String
        public let domain: String
        public let inputs: [String]
        public let outputs: [String]
        public let attributes: [String: Attribute]

        public func int(_ key: String) -> Int64? { if case .int(let v)? = attributes[key] { v } else { nil } }
        public func float(_ key: String) -> Float? { if case .float(let v)? = attributes[key] { v } else { nil } }
        public func ints(_ key: String) -> [Int64]? { if case .ints(let v)? = attributes[key] { v } else { nil } }
    }

    public struct ValueInfo: Sendable {
        public let name: String
        public let elementType: Int32
        /// Each dimension's fixed size, or nil for a symbolic one ("batch").
        public let shape: [Int?]
    }

    public let file: MappedFile
    public var path: String { file.path }
    public let irVersion: Int64
    /// Opset of the default ("" / "ai.onnx") domain.
    public let opset: Int64
    public let producer: String
    public let nodes: [Node]
    public let inputs: [ValueInfo]
    public let outputs: [ValueInfo]
    public let initializers: [String: Tensor]

    /// Maps and parses `path`.
    /// - Throws: `EngineError` `.io` if it cannot be read, `.invalidFile` if it is not a
    ///   well-formed ONNX model, `.unsupported` for external data or sparse initializers.
    public init(path: String) throws {
        file = try MappedFile(path: path)
        do {
            var parser = Parser(path: path)
            try parser.model(file.bytes)
            guard parser.sawGraph else { throw EngineError(.invalidFile, "\(path): not an ONNX model (no graph)") }
            irVersion = parser.irVersion
            opset = parser.opset
            producer = parser.producer
            nodes = parser.nodes
            inputs = parser.inputs
            outputs = parser.outputs
            initializers = parser.initializers
        } catch let e as ProtobufReader.Malformed {
            throw EngineError(.invalidFile, "\(path): not a valid ONNX file: \(e.reason)")
        }
    }

    /// The parse, message by message. Nested messages are read from the same mapping.
    private struct Parser {
        let path: String
        var irVersion: Int64 = 0, opset: Int64 = 0, producer = ""
        var nodes: [Node] = [], inputs: [ValueInfo] = [], outputs: [ValueInfo] = []
        var initializers: [String: Tensor] = [:]
        var sawGraph = false

        init(path: String) { self.path = path }

        mutating func model(_ b: UnsafeRawBufferPointer) throws {
            var r = ProtobufReader(b)
            while let (field, value) = try r.next() {
                switch field {
                case 1: irVersion = try value.int()
                case 2: producer = try value.string()
                case 7:
                    guard !sawGraph else { throw EngineError(.invalidFile, "\(path): two graphs in one model") }
                    sawGraph = true
                    try graph(try value.bytes())
                case 8:
                    var domain = "", version: Int64 = 0
                    var o = ProtobufReader(try value.bytes())
                    while let (f, v) = try o.next() {
                        if f == 1 { domain = try v.string() } else if f == 2 { version = try v.int() }
                    }
                    if domain.isEmpty || domain == "ai.onnx" { opset = version }
                default: continue
                }
            }
        }

        mutating func graph(_ b: UnsafeRawBufferPointer) throws {
            var r = ProtobufReader(b)
            while let (field, value) = try r.next() {
                switch field {
                case 1: nodes.append(try node(try value.bytes()))
                case 5:
                    let t = try tensor(try value.bytes())
                    guard initializers[t.name] == nil else { throw EngineError(.invalidFile, "\(path): two initializers named \"\(t.name)\"") }
                    initializers[t.name] = t
                case 11: inputs.append(try valueInfo(try value.bytes()))
                case 12: outputs.append(try valueInfo(try value.bytes()))
                case 15: throw EngineError(.unsupported, "\(path): sparse initializers are not supported")
                default: continue
                }
            }
        }

        func node(_ b: UnsafeRawBufferPointer) throws -> Node {
            var r = ProtobufReader(b)
            var name = "", op = "", domain = "", ins: [String] = [], outs: [String] = []
            var attributes: [String: Attribute] = [:]
            while let (field, value) = try r.next() {
                switch field {
                case 1: ins.append(try value.string())
                case 2: outs.append(try value.string())
                case 3: name = try value.string()
                case 4: op = try value.string()
                case 7: domain = try value.string()
                case 5:
                    let (k, a) = try attribute(try value.bytes())
                    attributes[k] = a
                default: continue
                }
            }
            guard !op.isEmpty else { throw EngineError(.invalidFile, "\(path): a node without an op type") }
            return Node(name: name, opType: op, domain: domain, inputs: ins, outputs: outs, attributes: attributes)
        }

        func attribute(_ b: UnsafeRawBufferPointer) throws -> (String, Attribute) {
            var r = ProtobufReader(b)
            var name = "", kind: Int64 = 0
            var f: Float?, i: Int64?, s: String?, t: Tensor?, graph = false
            var floats: [Float] = [], ints: [Int64] = [], strings: [String] = []
            while let (field, value) = try r.next() {
                switch field {
                case 1: name = try value.string()
                case 20: kind = try value.int()
                case 2: f = try value.float()
                case 3: i = try value.int()
                case 4: s = try value.string()
                case 5: t = try tensor(try value.bytes())
                case 6, 11: graph = true
                case 7:
                    if case .bytes(let p) = value { floats += try ProtobufReader.packedFixed32(p).map(Float.init(bitPattern:)) }
                    else { floats.append(try value.float()) }
                case 8:
                    if case .bytes(let p) = value { ints += try ProtobufReader.packedVarints(p).map { Int64(bitPattern: $0) } }
                    else { ints.append(try value.int()) }
                case 9: strings.append(try value.string())
                default: continue
                }
            }
            let a: Attribute
            switch kind {
            case 1: a = .float(f ?? 0)
            case 2: a = .int(i ?? 0)
            case 3: a = .string(s ?? "")
            case 4:
                guard let t else { throw EngineError(.invalidFile, "\(path): tensor attribute \"\(name)\" has no tensor") }
                a = .tensor(t)
            case 5, 10: a = .graph
            case 6: a = .floats(floats)
            case 7: a = .ints(ints)
            case 8: a = .strings(strings)
            default:
                // Files from old exporters leave the type out; infer it from what is present.
                if let t { a = .tensor(t) } else if let f { a = .float(f) } else if let i { a = .int(i) }
                else if let s { a = .string(s) } else if graph { a = .graph } else if !ints.isEmpty { a = .ints(ints) }
                else { a = .floats(floats) }
            }
            return (name, a)
        }

        func tensor(_ b: UnsafeRawBufferPointer) throws -> Tensor {
            var r = ProtobufReader(b)
            var name = "", type: Int32 = 0, dims: [Int] = []
            var raw: UnsafeRawBufferPointer?
            var typed: [UInt8] = []
            while let (field, value) = try r.next() {
                switch field {
                case 1:
                    let ds: [UInt64]
                    if case .bytes(let p) = value { ds = try ProtobufReader.packedVarints(p) } else { ds = [UInt64(bitPattern: try value.int())] }
                    for d in ds {
                        guard d <= UInt64(Int32.max) else { throw EngineError(.invalidFile, "\(path): tensor dimension \(Int64(bitPattern: d))") }
                        dims.append(Int(d))
                    }
                case 2: type = Int32(truncatingIfNeeded: try value.int())
                case 8: name = try value.string()
                case 9: raw = try value.bytes()
                case 4:   // float_data, or float16/bfloat16 in int32_data's place for old files
                    if case .bytes(let p) = value { typed += Array(p) } else { withUnsafeBytes(of: try value.float().bitPattern.littleEndian) { typed += $0 } }
                case 5:   // int32_data (also carries int8/uint8/bool/float16 values, one per entry)
                    let vs: [UInt64]
                    if case .bytes(let p) = value { vs = try ProtobufReader.packedVarints(p) } else { vs = [UInt64(bitPattern: try value.int())] }
                    for v in vs { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { typed += $0 } }
                case 7:   // int64_data
                    let vs: [UInt64]
                    if case .bytes(let p) = value { vs = try ProtobufReader.packedVarints(p) } else { vs = [UInt64(bitPattern: try value.int())] }
                    for v in vs { withUnsafeBytes(of: v.littleEndian) { typed += $0 } }
                case 10:  // double_data
                    if case .bytes(let p) = value { typed += Array(p) } else if case .fixed64(let v) = value { withUnsafeBytes(of: v.littleEndian) { typed += $0 } }
                case 13, 14:
                    if field == 14, (try? value.int()) == 0 { continue }   // DEFAULT location
                    throw EngineError(.unsupported, "\(path): tensor \"\(name)\" keeps its data in an external file, which is not supported")
                default: continue
                }
            }
            guard let dataType = DataType(rawValue: type) else {
                throw EngineError(.unsupported, "\(path): tensor \"\(name)\" has data type \(type), which this engine does not read")
            }
            var count = 1
            for d in dims {
                let (m, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, m <= 1 << 34 else { throw EngineError(.invalidFile, "\(path): tensor \"\(name)\" has shape \(dims)") }
                count = m
            }
            if let raw {
                guard raw.count == count * dataType.size else {
                    throw EngineError(.invalidFile, "\(path): tensor \"\(name)\" of shape \(dims) has \(raw.count) bytes of data, not \(count * dataType.size)")
                }
                return Tensor(name: name, dataType: dataType, dims: dims, storage: raw, owned: nil)
            }
            // Typed fields hold 4 bytes per int32-field value: narrow them to the element size.
            let perValue: Int
            switch dataType {
            case .int64, .double: perValue = 8
            case .float: perValue = 4
            default: perValue = 4
            }
            guard typed.count == count * perValue else {
                throw EngineError(.invalidFile, "\(path): tensor \"\(name)\" of shape \(dims) has \(typed.count / perValue) values, not \(count)")
            }
            if perValue != dataType.size {
                typed = (0..<count).flatMap { i in Array(typed[i * 4..<i * 4 + dataType.size]) }
            }
            return Tensor(name: name, dataType: dataType, dims: dims, storage: UnsafeRawBufferPointer(start: nil, count: 0), owned: typed)
        }

        func valueInfo(_ b: UnsafeRawBufferPointer) throws -> ValueInfo {
            var r = ProtobufReader(b)
            var name = "", elem: Int32 = 0, shape: [Int?] = []
            while let (field, value) = try r.next() {
                if field == 1 { name = try value.string(); continue }
                guard field == 2 else { continue }
                var typeProto = ProtobufReader(try value.bytes())
                while let (tf, tv) = try typeProto.next() {
                    guard tf == 1 else { continue }
                    var tensorType = ProtobufReader(try tv.bytes())
                    while let (f, v) = try tensorType.next() {
                        if f == 1 { elem = Int32(truncatingIfNeeded: try v.int()) }
                        guard f == 2 else { continue }
                        var shapeProto = ProtobufReader(try v.bytes())
                        while let (sf, sv) = try shapeProto.next() {
                            guard sf == 1 else { continue }
                            var dim = ProtobufReader(try sv.bytes())
                            var size: Int?
                            while let (df, dv) = try dim.next() { if df == 1 { size = Int(clamping: try dv.int()) } }
                            shape.append(size)
                        }
                    }
                }
            }
            return ValueInfo(name: name, elementType: elem, shape: shape)
        }
    }
}
