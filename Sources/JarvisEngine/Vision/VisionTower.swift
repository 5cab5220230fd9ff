import JarvisImage

/// The vision half of a vision-language model, as photo memory uses it: each view of a photo
/// becomes one image of a multi-image prompt, the markup that stands for it and the features
/// that take its `<image>` rows. SmolVLM (`Idefics3Vision`) and LLaVA-OneVision
/// (`LlavaOneVisionVision`) conform.
public protocol VisionTower: Sendable {
    /// Width of the language model the features are projected to.
    var textDim: Int { get }
    /// The chat format the model was trained with, or nil where the language model's own
    /// template applies.
    var promptFormat: PromptFormat? { get }
    /// `view` as one image among several: the prompt text that stands for it (its `<image>`
    /// tokens and any markup around them) and the features of those `<image>` rows, in order
    /// (`textDim` floats each).
    func imageBlock(for view: RGBImage) -> (markup: String, features: [Float])
}

extension Transformer {
    /// Input embeddings for `ids`: token embeddings, with the rows of `imageTokenID` taken in
    /// order by the rows of `features` (each `config.dim` wide).
    /// - Throws: `.invalidArgument` when the number of image tokens is not the features' rows.
    public func embeddings(for ids: [Int32], imageTokenID: Int32, features: [Float]) throws -> [Float] {
        let d = config.dim
        let imageRows = ids.filter { $0 == imageTokenID }.count
        guard imageRows * d == features.count else {
            throw EngineError(.invalidArgument, "the prompt has \(imageRows) <image> tokens; the images give \(features.count / d) feature rows")
        }
        var out: [Float] = []
        out.reserveCapacity(ids.count * d)
        var next = 0
        for id in ids {
            if id == imageTokenID {
                out += features[next * d..<(next + 1) * d]
                next += 1
            } else {
                out += embedding(of: id)
            }
        }
        return out
    }
}
