import Foundation
import JarvisImage

/// LLaVA-OneVision: the vision tower, projector and AnyRes packing (`LlavaOneVisionVision`)
/// and the Qwen2 decoder (`Transformer`), joined where the prompt's `<image>` tokens are.
public final class LlavaOneVisionModel: @unchecked Sendable {
    public let vision: LlavaOneVisionVision
    public let text: Transformer
    /// The `<image>` token whose rows the features take.
    public let imageTokenID: Int32

    /// Loads a Hugging Face LLaVA-OneVision checkpoint directory (config.json,
    /// model.safetensors or its shards, preprocessor_config.json), in either key layout:
    /// `{vision_tower,multi_modal_projector,image_newline,language_model.model}` with
    /// `language_model.lm_head` (what `save_pretrained` writes), or
    /// `model.{vision_tower,…,language_model}` with `lm_head` (transformers' in-memory names).
    public init(huggingFaceDirectory dir: String) throws {
        let (config, preprocessor, st, prefix) = try LlavaOneVisionVision.open(dir)
        vision = try LlavaOneVisionVision(safetensors: st, config: config, preprocessor: preprocessor, prefix: prefix)
        guard let textConfig = config["text_config"] as? [String: Any] else {
            throw EngineError(.modelMismatch, "\(dir)/config.json has no text_config")
        }
        let tied = (config["tie_word_embeddings"] as? Bool) ?? (textConfig["tie_word_embeddings"] as? Bool) ?? false
        let (body, head) = prefix.isEmpty ? ("language_model.model.", "language_model.lm_head.weight") : ("model.language_model.", "lm_head.weight")
        text = try Transformer(safetensors: st, config: ModelConfig(huggingFace: textConfig, source: dir + "/config.json"),
                               prefix: body, output: tied ? nil : head)
        guard let id = ((config["image_token_id"] ?? config["image_token_index"]) as? NSNumber)?.int32Value else {
            throw EngineError(.modelMismatch, "\(dir)/config.json has no image_token_id")
        }
        imageTokenID = id
        guard vision.config.textDim == text.config.dim else {
            throw EngineError(.modelMismatch, "\(dir): the projector maps to \(vision.config.textDim), the language model is \(text.config.dim) wide")
        }
    }

    /// The decoder's input for `ids` with `images` in its `<image>` rows: one image alone is
    /// seen whole (AnyRes), each of several as one square tile (the model's multi-image
    /// convention).
    /// - Throws: `.invalidArgument` when the number of `<image>` tokens is not the images'
    ///   feature rows.
    public func embeddings(for ids: [Int32], images: [RGBImage]) throws -> [Float] {
        let features = images.count == 1 ? vision.features(for: images[0]) : images.flatMap { vision.imageBlock(for: $0).features }
        return try text.embeddings(for: ids, imageTokenID: imageTokenID, features: features)
    }
}
