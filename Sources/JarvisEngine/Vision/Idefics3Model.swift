import Foundation

/// SmolVLM (Idefics3): the vision tower and connector (`Idefics3Vision`) and the llama
/// decoder (`Transformer`), joined where the prompt's `<image>` tokens are: their embeddings are
/// replaced, in order, by the frames' image features, and the decoder runs over the whole
/// sequence as usual (consecutive positions, causal).
public final class Idefics3Model: @unchecked Sendable {
    public let vision: Idefics3Vision
    public let text: Transformer
    /// The `<image>` token whose rows the features take.
    public let imageTokenID: Int32

    /// Loads llama.cpp's pair of files: the language model GGUF and the `mmproj` GGUF.
    public init(languageModel: String, mmproj: String) throws {
        let gguf = try GGUFFile(path: languageModel)
        text = try Transformer(gguf: gguf)
        vision = try Idefics3Vision(mmproj: GGUFFile(path: mmproj))
        guard let id = gguf["tokenizer.ggml.tokens"]?.array?.firstIndex(where: { $0.string == "<image>" }) else {
            throw EngineError(.modelMismatch, "\(languageModel): the vocabulary has no <image> token")
        }
        imageTokenID = Int32(id)
        try checkWidths(languageModel)
    }

    /// Loads a Hugging Face Idefics3 checkpoint directory (config.json, model.safetensors or
    /// its shards, preprocessor_config.json).
    public init(huggingFaceDirectory dir: String) throws {
        func json(_ name: String) throws -> [String: Any]? {
            guard let data = FileManager.default.contents(atPath: dir + "/" + name) else { return nil }
            guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw EngineError(.invalidFile, "\(dir)/\(name) is not a JSON object")
            }
            return o
        }
        guard let config = try json("config.json") else { throw EngineError(.io, "\(dir)/config.json is missing") }
        guard let textConfig = config["text_config"] as? [String: Any] else {
            throw EngineError(.modelMismatch, "\(dir)/config.json has no text_config")
        }
        let st = try SafetensorsCheckpoint(directory: dir)
        vision = try Idefics3Vision(safetensors: st, config: config, preprocessor: try json("preprocessor_config.json"))
        let tied = (config["tie_word_embeddings"] as? Bool) ?? (textConfig["tie_word_embeddings"] as? Bool) ?? false
        text = try Transformer(safetensors: st, config: ModelConfig(huggingFace: textConfig, source: dir + "/config.json"),
                               prefix: "model.text_model.", output: tied ? nil : "lm_head.weight")
        guard let id = (config["image_token_id"] as? NSNumber)?.int32Value else {
            throw EngineError(.modelMismatch, "\(dir)/config.json has no image_token_id")
        }
        imageTokenID = id
        try checkWidths(dir)
    }

    private func checkWidths(_ source: String) throws {
        guard vision.config.textDim == text.config.dim else {
            throw EngineError(.modelMismatch, "\(source): the connector projects to \(vision.config.textDim), the language model is \(text.config.dim) wide")
        }
    }

    /// The decoder's input for `ids`: token embeddings, with the `<image>` rows taken, in
    /// order, by the features of `frames` (each 3 × M × M, normalised).
    /// - Throws: `.invalidArgument` when the number of `<image>` tokens is not the frames'
    ///   feature rows.
    public func embeddings(for ids: [Int32], frames: [[Float]]) throws -> [Float] {
        try text.embeddings(for: ids, imageTokenID: imageTokenID, features: frames.flatMap { vision.encode(frame: $0) })
    }
}
