/// Navigation over an ONNX model's graph for mapping anonymous initializers to their roles:
/// who produces a value, who consumes it, and which inputs are initializers or constants.
struct ONNXGraph {
    let model: ONNXModel
    private var producer: [String: Int] = [:]
    private var consumers: [String: [Int]] = [:]
    private var constants: [String: ONNXModel.Tensor] = [:]

    init(_ model: ONNXModel) {
        self.model = model
        for (i, node) in model.nodes.enumerated() {
            for o in node.outputs { producer[o] = i }
            for input in node.inputs where !input.isEmpty { consumers[input, default: []].append(i) }
            if node.opType == "Constant", let out = node.outputs.first, case .tensor(let t)? = node.attributes["value"] {
                constants[out] = t
            }
        }
    }

    func failure(_ what: String) -> EngineError {
        EngineError(.modelMismatch, "\(model.path): the graph does not have the expected shape: \(what)")
    }

    func producer(of value: String) -> ONNXModel.Node? { producer[value].map { model.nodes[$0] } }

    /// The first output of `node` (a node without outputs is a malformed graph).
    func output(_ node: ONNXModel.Node) throws -> String {
        guard let o = node.outputs.first, !o.isEmpty else { throw failure("\(node.opType) \(node.name) has no output") }
        return o
    }

    /// Nodes reading `value`, in graph order, optionally only those of one op type.
    func consumers(of value: String, op: String? = nil) -> [ONNXModel.Node] {
        (consumers[value] ?? []).map { model.nodes[$0] }.filter { op == nil || $0.opType == op }
    }

    /// The single consumer of `value` with op type `op`.
    func consumer(of value: String, _ op: String) throws -> ONNXModel.Node {
        let found = consumers(of: value, op: op)
        guard found.count == 1 else { throw failure("\(found.count) \(op) nodes read \(value), expected 1") }
        return found[0]
    }

    /// The initializer or constant called `name`, if it is one.
    func tensor(_ name: String) -> ONNXModel.Tensor? { model.initializers[name] ?? constants[name] }

    /// The first input of `node` that is an initializer (or constant), with its values.
    func parameter(of node: ONNXModel.Node, shape: [Int]? = nil) throws -> [Float] {
        guard let t = node.inputs.lazy.compactMap({ self.tensor($0) }).first else {
            throw failure("\(node.opType) \(node.name) has no constant input")
        }
        if let shape, t.dims.reduce(1, *) != shape.reduce(1, *) || t.dims.filter({ $0 != 1 }) != shape.filter({ $0 != 1 }) {
            throw failure("\(node.opType) \(node.name): parameter \(t.name) has shape \(t.dims), expected \(shape)")
        }
        return t.floats()
    }

    /// Input `index` of `node` as an initializer's values, checked against `shape`.
    func input(_ index: Int, of node: ONNXModel.Node, shape: [Int]) throws -> [Float] {
        guard index < node.inputs.count, let t = tensor(node.inputs[index]) else {
            throw failure("\(node.opType) \(node.name): input \(index) is not a stored tensor")
        }
        guard t.dims == shape else { throw failure("\(node.opType) \(node.name): \(t.name) has shape \(t.dims), expected \(shape)") }
        return t.floats()
    }

    /// Follows single producers back from `value` through ops in `through` to an initializer.
    func initializer(behind value: String, through: Set<String>) throws -> ONNXModel.Tensor {
        var name = value
        for _ in 0..<16 {
            if let t = model.initializers[name] { return t }
            guard let p = producer(of: name), through.contains(p.opType), let first = p.inputs.first else { break }
            name = first
        }
        throw failure("no initializer behind \(value)")
    }
}

extension ONNXGraph {
    /// The nearest node of type `op` downstream of `value` (breadth first, not through Shape
    /// nodes, which only compute sizes); `weighted` asks for one with a stored weight input.
    func next(_ op: String, after value: String, weighted: Bool = false) throws -> ONNXModel.Node {
        var queue = [value], seen: Set<String> = [value], steps = 0
        while !queue.isEmpty, steps < 256 {
            let v = queue.removeFirst()
            steps += 1
            for n in consumers(of: v) where n.opType != "Shape" {
                if n.opType == op, !weighted || n.inputs.dropFirst().contains(where: { model.initializers[$0] != nil }) { return n }
                for o in n.outputs where seen.insert(o).inserted { queue.append(o) }
            }
        }
        throw failure("no \(op) after \(value)")
    }
}
