import Foundation

/// Where a model's tensors are read from: one safetensors file, or a checkpoint's shards.
public protocol SafetensorsSource: Sendable {
    /// The file or directory, for messages.
    var path: String { get }
    /// A tensor as fp32 values, checking its shape (see `SafetensorsFile.floats`).
    func floats(_ name: String, shape: [Int]) throws -> [Float]
    /// Whether the source holds a tensor of that name.
    func contains(_ name: String) -> Bool
}

extension SafetensorsFile: SafetensorsSource {
    public func contains(_ name: String) -> Bool { tensors[name] != nil }
}

/// A Hugging Face checkpoint directory's weights: its `model.safetensors`, or the shards its
/// `model.safetensors.index.json` maps each tensor to (as transformers saves models past
/// its shard size), each memory-mapped.
public final class SafetensorsCheckpoint: SafetensorsSource, @unchecked Sendable {
    public let path: String
    let files: [SafetensorsFile]
    /// Tensor name → index in `files`.
    let owner: [String: Int]

    /// Opens the weights of the checkpoint in `directory`.
    /// - Throws: `.io` when neither file is there, `.invalidFile` for an index that is not a
    ///   weight map of shard file names, or what opening a shard throws.
    public init(directory: String) throws {
        path = directory
        let index = directory + "/model.safetensors.index.json"
        guard let data = FileManager.default.contents(atPath: index) else {
            guard FileManager.default.fileExists(atPath: directory + "/model.safetensors") else {
                throw EngineError(.io, "\(directory) holds neither model.safetensors nor model.safetensors.index.json")
            }
            let file = try SafetensorsFile(path: directory + "/model.safetensors")
            files = [file]
            owner = Dictionary(uniqueKeysWithValues: file.tensors.keys.map { ($0, 0) })
            return
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = json["weight_map"] as? [String: String] else {
            throw EngineError(.invalidFile, "\(index) has no weight_map of tensor names to shard files")
        }
        let shards = Set(map.values).sorted()
        // A shard is a file beside the index, never a path elsewhere.
        guard shards.allSatisfy({ !$0.isEmpty && !$0.contains("/") && $0 != ".." }) else {
            throw EngineError(.invalidFile, "\(index) names a shard outside its directory")
        }
        files = try shards.map { try SafetensorsFile(path: directory + "/" + $0) }
        var owner: [String: Int] = [:]
        for (name, shard) in map {
            let i = shards.firstIndex(of: shard)!
            guard files[i].tensors[name] != nil else {
                throw EngineError(.invalidFile, "\(index) puts \(name) in \(shard), which does not hold it")
            }
            owner[name] = i
        }
        self.owner = owner
    }

    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        guard let i = owner[name] else { throw EngineError(.modelMismatch, "\(path): tensor \(name) is missing") }
        return try files[i].floats(name, shape: shape)
    }

    public func contains(_ name: String) -> Bool { owner[name] != nil }
}
