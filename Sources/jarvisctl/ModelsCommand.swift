import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List the model files in the daemon's models directory, and which one it uses.")

    @OptionGroup var connection: ConnectionOptions

    struct Model: Encodable {
        let file: String
        let bytes: Int
        let inUse: Bool
        enum CodingKeys: String, CodingKey { case file, bytes, inUse = "in_use" }
    }

    func run() throws {
        let c = try connection.connect()
        let result = try Failure.exitOnError { try c.call(.status) }
        guard case .status(let s) = result, let dir = s.config["models"] else { return }
        let inUse = s.config["model"] ?? ""
        var models: [Model] = []
        if let walker = FileManager.default.enumerator(atPath: dir) {
            for case let rel as String in walker {
                let path = dir + "/" + rel
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                let ext = (rel as NSString).pathExtension
                guard ["gguf", "safetensors", "onnx"].contains(ext) else { continue }
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                models.append(Model(file: rel, bytes: size, inUse: path == inUse))
            }
        }
        models.sort { $0.file < $1.file }
        if connection.json { print(Output.json(models)); return }
        print("models directory: \(dir)")
        print(Output.table(["", "FILE", "SIZE"], models.map { [$0.inUse ? "*" : " ", $0.file, Output.bytes($0.bytes)] }))
    }
}
