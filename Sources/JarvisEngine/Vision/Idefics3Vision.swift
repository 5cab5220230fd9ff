import Foundation
import JarvisImage

/// The vision half of SmolVLM (Idefics3): a SigLIP encoder over one square frame
/// (`SigLIPEncoder`, with its post LayerNorm), pixel shuffle by r (n² × Dv → n²/r² × Dv·r²),
/// and the connector's projection into the language model's width (no bias). See
/// docs/idefics3-notes.md for the details checked against transformers.
public final class Idefics3Vision: VisionTower, @unchecked Sendable {
    public struct Config: Sendable, Equatable {
        /// Frame side M and patch side P.
        public var imageSize: Int, patchSize: Int
        public var dim: Int, layers: Int, heads: Int, ffnDim: Int
        public var normEpsilon: Float
        /// Pixel-shuffle factor r.
        public var scaleFactor: Int
        /// Width of the language model the features are projected to.
        public var textDim: Int
        public var imageMean: [Float], imageStd: [Float]
        /// Longest edge images are resized to before splitting into frames (`size.longest_edge`).
        public var longestEdge: Int

        public var grid: Int { imageSize / patchSize }
        /// Image tokens per frame: (M/P)² / r².
        public var tokensPerFrame: Int { grid * grid / (scaleFactor * scaleFactor) }
    }

    public let config: Config
    let encoder: SigLIPEncoder
    /// The connector: dim · r² → textDim, no bias.
    let projection: Linear

    /// Loads the vision tower and connector from a llama.cpp `mmproj` GGUF (projector type
    /// idefics3): `v.patch_embd`, `v.position_embd`, `v.blk.N.{attn_q,attn_k,attn_v,attn_out,
    /// ln1,ln2,ffn_up,ffn_down}`, `v.post_ln`, `mm.model.fc`, and the `clip.vision.*` keys.
    /// - Throws: `EngineError` naming the file and the missing or misshapen piece.
    public init(mmproj gguf: GGUFFile) throws {
        let path = gguf.path
        func int(_ key: String) throws -> Int {
            guard let v = gguf["clip.vision." + key]?.int, v > 0 else { throw EngineError(.modelMismatch, "\(path): missing clip.vision.\(key)") }
            return v
        }
        guard gguf["clip.projector_type"]?.string == "idefics3" else {
            throw EngineError(.unsupported, "\(path): projector type \(gguf["clip.projector_type"]?.string ?? "none") is not supported (idefics3 is)")
        }
        func floats(_ key: String) -> [Float]? { gguf["clip.vision." + key]?.array?.compactMap(\.float) }
        let imageSize = try int("image_size")
        var c = Config(imageSize: imageSize, patchSize: try int("patch_size"), dim: try int("embedding_length"),
                       layers: try int("block_count"), heads: try int("attention.head_count"), ffnDim: try int("feed_forward_length"),
                       normEpsilon: gguf["clip.vision.attention.layer_norm_epsilon"]?.float ?? 1e-5,
                       scaleFactor: try int("projector.scale_factor"), textDim: try int("projection_dim"),
                       imageMean: floats("image_mean") ?? [0.5, 0.5, 0.5], imageStd: floats("image_std") ?? [0.5, 0.5, 0.5],
                       longestEdge: gguf["clip.vision.preproc_image_size"]?.int ?? 4 * min(imageSize, 16_384))
        try Self.validate(&c, source: path)
        func tensor(_ name: String, _ count: Int) throws -> [Float] {
            guard let t = gguf.tensorsByName[name] else { throw EngineError(.modelMismatch, "\(path): tensor \(name) is missing") }
            guard t.elementCount == count else { throw EngineError(.modelMismatch, "\(path): tensor \(name) has \(t.elementCount) values, expected \(count)") }
            return try gguf.dequantize(t)
        }
        let d = c.dim, p = c.patchSize
        func linear(_ name: String, inputs: Int, outputs: Int) throws -> Linear {
            Linear(weight: try tensor(name + ".weight", inputs * outputs), bias: try tensor(name + ".bias", outputs), inputs: inputs, outputs: outputs)
        }
        func norm(_ name: String) throws -> LayerNorm {
            LayerNorm(weight: try tensor(name + ".weight", d), bias: try tensor(name + ".bias", d), epsilon: c.normEpsilon)
        }
        let patches = PatchEmbedding(projection: try linear("v.patch_embd", inputs: 3 * p * p, outputs: d),
                                     positions: try tensor("v.position_embd.weight", c.grid * c.grid * d), patchSize: p)
        let layers = try (0..<c.layers).map { i in
            let b = "v.blk.\(i)."
            // Files converted before May 2025 have fc1/fc2 under each other's names; the shape
            // tells: fc1 maps dim → ffn, so its rows (ne0) are dim long.
            var up = b + "ffn_up", down = b + "ffn_down"
            if let t = gguf.tensorsByName[down + ".weight"], t.shape.first == d, d != c.ffnDim { swap(&up, &down) }
            let attention = SelfAttention(query: try linear(b + "attn_q", inputs: d, outputs: d), key: try linear(b + "attn_k", inputs: d, outputs: d),
                                          value: try linear(b + "attn_v", inputs: d, outputs: d), output: try linear(b + "attn_out", inputs: d, outputs: d),
                                          heads: c.heads)
            let mlp = MLP(up: try linear(up, inputs: d, outputs: c.ffnDim), down: try linear(down, inputs: c.ffnDim, outputs: d), activation: .tanh)
            return EncoderLayer(attention: attention, mlp: mlp, norm1: try norm(b + "ln1"), norm2: try norm(b + "ln2"), placement: .pre)
        }
        encoder = SigLIPEncoder(patches: patches, layers: layers, postNorm: try norm("v.post_ln"), imageSize: imageSize)
        let shuffled = d * c.scaleFactor * c.scaleFactor
        projection = Linear(weight: try tensor("mm.model.fc.weight", c.textDim * shuffled), bias: nil, inputs: shuffled, outputs: c.textDim)
        config = c
    }

    /// Loads the vision tower and connector from a Hugging Face Idefics3 checkpoint:
    /// `config` is its config.json, `preprocessor` its preprocessor_config.json (if any).
    public init(safetensors st: any SafetensorsSource, config json: [String: Any], preprocessor: [String: Any]?) throws {
        let path = st.path
        guard let v = json["vision_config"] as? [String: Any], let t = json["text_config"] as? [String: Any] else {
            throw EngineError(.modelMismatch, "\(path): config.json has no vision_config / text_config")
        }
        func int(_ o: [String: Any], _ key: String, _ fallback: Int? = nil) throws -> Int {
            guard let x = (o[key] as? NSNumber)?.intValue ?? fallback, x > 0 else { throw EngineError(.modelMismatch, "\(path): config.json lacks \(key)") }
            return x
        }
        let imageSize = try int(v, "image_size")
        let floats = { (key: String) in (preprocessor?[key] as? [NSNumber])?.map(\.floatValue) }
        let longest = ((preprocessor?["size"] as? [String: Any])?["longest_edge"] as? NSNumber)?.intValue ?? 4 * min(imageSize, 16_384)
        var c = Config(imageSize: imageSize, patchSize: try int(v, "patch_size"), dim: try int(v, "hidden_size"),
                       layers: try int(v, "num_hidden_layers"), heads: try int(v, "num_attention_heads"),
                       ffnDim: try int(v, "intermediate_size"), normEpsilon: (v["layer_norm_eps"] as? NSNumber)?.floatValue ?? 1e-6,
                       scaleFactor: try int(json, "scale_factor", 2), textDim: try int(t, "hidden_size"),
                       imageMean: floats("image_mean") ?? [0.5, 0.5, 0.5], imageStd: floats("image_std") ?? [0.5, 0.5, 0.5],
                       longestEdge: longest)
        try Self.validate(&c, source: path)
        encoder = try SigLIPEncoder(safetensors: st, prefix: "model.vision_model.", imageSize: imageSize, patchSize: c.patchSize, dim: c.dim,
                                    layers: c.layers, heads: c.heads, ffnDim: c.ffnDim, epsilon: c.normEpsilon, postNorm: true)
        let shuffled = c.dim * c.scaleFactor * c.scaleFactor
        projection = Linear(weight: try st.floats("model.connector.modality_projection.proj.weight", shape: [c.textDim, shuffled]),
                            bias: nil, inputs: shuffled, outputs: c.textDim)
        config = c
    }

    static func validate(_ c: inout Config, source: String) throws {
        // Bounds far above any real model keep every size product below overflow.
        guard [c.imageSize, c.patchSize, c.dim, c.ffnDim, c.textDim, c.longestEdge].allSatisfy({ (1...16_384).contains($0) }),
              (1...256).contains(c.layers), (1...256).contains(c.heads), (1...16).contains(c.scaleFactor) else {
            throw EngineError(.modelMismatch, "\(source): vision config out of range (image \(c.imageSize), patch \(c.patchSize), width \(c.dim), ffn \(c.ffnDim), \(c.layers) layers, \(c.heads) heads, scale \(c.scaleFactor))")
        }
        guard c.imageSize % c.patchSize == 0, c.grid % c.scaleFactor == 0, c.dim % c.heads == 0,
              c.imageMean.count == 3, c.imageStd.count == 3 else {
            throw EngineError(.modelMismatch, "\(source): inconsistent vision config (image \(c.imageSize), patch \(c.patchSize), scale \(c.scaleFactor), width \(c.dim), heads \(c.heads))")
        }
    }

    /// The image features of one frame: `tokensPerFrame × textDim` floats, row-major.
    /// - Parameter frame: 3 × M × M normalised values, channel-major.
    public func encode(frame: [Float]) -> [Float] {
        projection(shuffle(encoder(frame)))
    }

    /// Pixel shuffle: each r × r block of patches becomes one token of r²·dim values,
    /// out[t][(dy·r + dx)·dim + e] = x[(h·r + dy)·n + (w·r + dx)][e] with t = h·(n/r) + w.
    func shuffle(_ x: [Float]) -> [Float] {
        let c = config, d = c.dim, r = c.scaleFactor, n = c.grid, side = n / r
        var out = [Float](repeating: 0, count: x.count)
        for hh in 0..<side {
            for ww in 0..<side {
                let t = hh * side + ww
                for dy in 0..<r {
                    for dx in 0..<r {
                        let src = ((hh * r + dy) * n + ww * r + dx) * d, dst = t * d * r * r + (dy * r + dx) * d
                        for e in 0..<d { out[dst + e] = x[src + e] }
                    }
                }
            }
        }
        return out
    }

    // MARK: VisionTower

    public var textDim: Int { config.textDim }
    /// SmolVLM's own chat format.
    public var promptFormat: PromptFormat? { .smolVLM }

    /// One frame of the whole view, its global image block:
    /// `<fake_token_around_image><global-img>`, the frame's `<image>` tokens, `<fake_token_around_image>`.
    public func imageBlock(for view: RGBImage) -> (markup: String, features: [Float]) {
        let processor = Idefics3Processor(config: config)
        let (frames, rows, cols) = processor.frames(for: view, longestEdge: config.imageSize)
        return (processor.imageText(rows: rows, cols: cols), frames.flatMap { encode(frame: $0) })
    }
}
