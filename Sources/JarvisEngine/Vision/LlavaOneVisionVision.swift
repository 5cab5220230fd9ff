import Foundation
import JarvisImage

/// The vision half of LLaVA-OneVision: a SigLIP encoder over each tile (the hidden state of
/// the configured layer, no post LayerNorm), the two-layer projector (linear, GELU, linear)
/// into the language model's width, and AnyRes packing of the tiles' features with the learned
/// newline row (transformers' `LlavaOnevisionModel.pack_image_features`).
///
/// One image alone: the base view's n² rows, then the grid's feature map cut to the image
/// (padding removed), resampled down when it exceeds `maxTiles` tiles, each of its rows followed
/// by the newline. Each image of a multi-image prompt: padded to a square, one tile's n² rows and
/// the newline.
public final class LlavaOneVisionVision: VisionTower, @unchecked Sendable {
    public struct Config: Sendable, Equatable {
        /// Tile side M, patch side P.
        public var tileSize: Int, patchSize: Int
        public var dim: Int, layers: Int, heads: Int, ffnDim: Int
        public var normEpsilon: Float
        /// Encoder layers run: the hidden state `vision_feature_layer` selects.
        public var usedLayers: Int
        public var textDim: Int
        /// The grid resolutions AnyRes chooses from, in pixels (multiples of M).
        public var gridPinpoints: [Resolution]
        /// `vision_aspect_ratio` anyres_max_N: N, or nil for no resampling.
        public var maxTiles: Int?
        public var imageMean: [Float], imageStd: [Float]
        public var resample: PillowResample

        public struct Resolution: Sendable, Equatable {
            public var height: Int, width: Int
            public init(height: Int, width: Int) { self.height = height; self.width = width }
        }

        /// Patches per tile side, n = M/P.
        public var grid: Int { tileSize / patchSize }
    }

    public let config: Config
    let encoder: SigLIPEncoder
    /// The projector: vision width → text width, the activation, text width → text width.
    let projectorIn: Linear, projectorOut: Linear
    let activation: GELU
    /// The learned row after each row of the packed grid (`textDim` floats).
    let newline: [Float]

    /// Loads the vision tower, projector and newline from a Hugging Face LLaVA-OneVision
    /// checkpoint: `config` is its config.json, `preprocessor` its preprocessor_config.json,
    /// `prefix` where the model's tensors live: "" in the layout `save_pretrained` writes
    /// (`vision_tower.…`, as published checkpoints hold them, and as transformers 4.57 still
    /// saves), `model.` in the layout transformers ≥ 4.52 uses in memory.
    /// - Throws: `EngineError` naming the file and the missing, misshapen or unsupported piece.
    public init(safetensors st: any SafetensorsSource, config json: [String: Any], preprocessor: [String: Any], prefix: String) throws {
        let path = st.path
        guard let v = json["vision_config"] as? [String: Any], let t = json["text_config"] as? [String: Any] else {
            throw EngineError(.modelMismatch, "\(path): config.json has no vision_config / text_config")
        }
        func int(_ o: [String: Any], _ key: String, _ fallback: Int? = nil) throws -> Int {
            guard let x = (o[key] as? NSNumber)?.intValue ?? fallback, x > 0 else { throw EngineError(.modelMismatch, "\(path): config.json lacks \(key)") }
            return x
        }
        let layers = try int(v, "num_hidden_layers")
        // hidden_states[k] is the output of layer k (0: the patch embedding), negative from the end.
        let selected = (json["vision_feature_layer"] as? NSNumber)?.intValue ?? -1
        let used = selected < 0 ? layers + 1 + selected : selected
        guard (1...layers).contains(used) else {
            throw EngineError(.unsupported, "\(path): vision_feature_layer \(json["vision_feature_layer"] ?? "") is not supported (one layer's hidden state is)")
        }
        guard (json["vision_feature_select_strategy"] as? String ?? "full") == "full" else {
            throw EngineError(.unsupported, "\(path): vision_feature_select_strategy \(json["vision_feature_select_strategy"]!) is not supported (full is)")
        }
        let activation: GELU
        switch json["projector_hidden_act"] as? String ?? "gelu" {
        case "gelu": activation = .exact
        case "gelu_pytorch_tanh": activation = .tanh
        case let other: throw EngineError(.unsupported, "\(path): projector_hidden_act \(other) is not supported (gelu and gelu_pytorch_tanh are)")
        }
        let resample: PillowResample
        switch (preprocessor["resample"] as? NSNumber)?.intValue ?? 3 {
        case 3: resample = .bicubic
        case 1: resample = .lanczos
        case let other: throw EngineError(.unsupported, "preprocessor_config.json: resample \(other) is not supported (3, bicubic, and 1, Lanczos, are)")
        }
        let tile = try int(v, "image_size")
        let size = preprocessor["size"] as? [String: Any]
        guard (size?["height"] as? NSNumber)?.intValue ?? tile == tile, (size?["width"] as? NSNumber)?.intValue ?? tile == tile else {
            throw EngineError(.modelMismatch, "preprocessor_config.json: size \(size ?? [:]) is not the vision tower's \(tile)²")
        }
        let pinpoints = (json["image_grid_pinpoints"] as? [[NSNumber]] ?? preprocessor["image_grid_pinpoints"] as? [[NSNumber]] ?? [[tile, tile].map { NSNumber(value: $0) }])
        var maxTiles: Int?
        if let ratio = json["vision_aspect_ratio"] as? String, ratio.hasPrefix("anyres_max_") {
            maxTiles = Int(ratio.dropFirst("anyres_max_".count))
            guard maxTiles ?? 0 > 0 else { throw EngineError(.unsupported, "\(path): vision_aspect_ratio \(ratio) is not supported (anyres_max_N is)") }
        }
        let floats = { (key: String) in (preprocessor[key] as? [NSNumber])?.map(\.floatValue) }
        let c = Config(tileSize: tile, patchSize: try int(v, "patch_size"), dim: try int(v, "hidden_size"), layers: layers,
                       heads: try int(v, "num_attention_heads"), ffnDim: try int(v, "intermediate_size"),
                       normEpsilon: (v["layer_norm_eps"] as? NSNumber)?.floatValue ?? 1e-6, usedLayers: used,
                       textDim: try int(t, "hidden_size"),
                       gridPinpoints: pinpoints.map { Config.Resolution(height: $0.first?.intValue ?? 0, width: $0.last?.intValue ?? 0) },
                       maxTiles: maxTiles, imageMean: floats("image_mean") ?? [0.5, 0.5, 0.5], imageStd: floats("image_std") ?? [0.5, 0.5, 0.5],
                       resample: resample)
        guard [c.tileSize, c.patchSize, c.dim, c.ffnDim, c.textDim].allSatisfy({ (1...16_384).contains($0) }), c.layers <= 256, (1...256).contains(c.heads),
              c.tileSize % c.patchSize == 0, c.dim % c.heads == 0, c.imageMean.count == 3, c.imageStd.count == 3, !c.gridPinpoints.isEmpty,
              c.gridPinpoints.allSatisfy({ r in [r.height, r.width].allSatisfy { $0 > 0 && $0 % tile == 0 && $0 <= 16 * tile } }) else {
            throw EngineError(.modelMismatch, "\(path): inconsistent vision config (tile \(c.tileSize), patch \(c.patchSize), width \(c.dim), heads \(c.heads); image_grid_pinpoints \(pinpoints) must be multiples of the tile, at most 16 a side)")
        }
        encoder = try SigLIPEncoder(safetensors: st, prefix: prefix + "vision_tower.vision_model.", imageSize: tile, patchSize: c.patchSize, dim: c.dim,
                                    layers: used, heads: c.heads, ffnDim: c.ffnDim, epsilon: c.normEpsilon, postNorm: false)
        let p = prefix + "multi_modal_projector."
        func linear(_ name: String, inputs: Int, outputs: Int) throws -> Linear {
            Linear(weight: try st.floats(p + name + ".weight", shape: [outputs, inputs]), bias: try st.floats(p + name + ".bias", shape: [outputs]),
                   inputs: inputs, outputs: outputs)
        }
        projectorIn = try linear("linear_1", inputs: c.dim, outputs: c.textDim)
        projectorOut = try linear("linear_2", inputs: c.textDim, outputs: c.textDim)
        self.activation = activation
        newline = try st.floats(prefix + "image_newline", shape: [c.textDim])
        config = c
    }

    /// Loads the vision tower, projector and newline from a Hugging Face LLaVA-OneVision
    /// checkpoint directory (config.json, preprocessor_config.json, model.safetensors or its
    /// shards).
    public convenience init(huggingFaceDirectory dir: String) throws {
        let (config, preprocessor, st, prefix) = try Self.open(dir)
        try self.init(safetensors: st, config: config, preprocessor: preprocessor, prefix: prefix)
    }

    /// config.json, preprocessor_config.json, the weights (one file or shards) and the
    /// tensors' prefix of a checkpoint directory.
    static func open(_ dir: String) throws -> (config: [String: Any], preprocessor: [String: Any], st: SafetensorsCheckpoint, prefix: String) {
        func json(_ name: String) throws -> [String: Any] {
            guard let data = FileManager.default.contents(atPath: dir + "/" + name) else {
                throw EngineError(.io, "\(dir)/\(name) is missing: a LLaVA-OneVision checkpoint directory holds config.json, preprocessor_config.json and model.safetensors (or its shards)")
            }
            guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw EngineError(.invalidFile, "\(dir)/\(name) is not a JSON object")
            }
            return o
        }
        let config = try json("config.json")
        guard config["model_type"] as? String == "llava_onevision" else {
            throw EngineError(.unsupported, "\(dir)/config.json: model type \(config["model_type"] ?? "none") is not LLaVA-OneVision (llava_onevision)")
        }
        let st = try SafetensorsCheckpoint(directory: dir)
        return (config, try json("preprocessor_config.json"), st, st.contains("model.image_newline") ? "model." : "")
    }

    /// The projected features of one tile (3 × M × M, normalised): n² × `textDim` floats.
    public func tileFeatures(_ frame: [Float]) -> [Float] {
        var hidden = projectorIn(encoder(frame))
        activation(&hidden)
        return projectorOut(hidden)
    }

    /// The features of one image alone, AnyRes: the base view's n² rows, then the packed grid,
    /// each of its rows followed by the newline (`LlavaOneVisionProcessor.tokens` rows).
    public func features(for image: RGBImage) -> [Float] {
        let processor = LlavaOneVisionProcessor(config: config)
        let (frames, _, cols) = processor.tiles(for: image)
        let tiles = frames.map(tileFeatures)
        let p = processor.packing(height: image.height, width: image.width)
        let n = config.grid, d = config.textDim
        // The unpadded map, channel by channel: row y, column x of the grid's features lies in
        // tile (y / n, x / n) at its patch (y % n, x % n).
        var map = [Float](repeating: 0, count: d * p.height * p.width)
        for y in 0..<p.height {
            for x in 0..<p.width {
                let gy = p.top + y, gx = p.left + x
                let tile = tiles[1 + (gy / n) * cols + gx / n], row = ((gy % n) * n + gx % n) * d
                for e in 0..<d { map[(e * p.height + y) * p.width + x] = tile[row + e] }
            }
        }
        if p.outHeight != p.height || p.outWidth != p.width {
            map = Self.bilinear(map, channels: d, height: p.height, width: p.width, toHeight: p.outHeight, toWidth: p.outWidth)
        }
        var out = tiles[0]
        out.reserveCapacity(out.count + p.gridRows * d)
        for y in 0..<p.outHeight {
            for x in 0..<p.outWidth {
                for e in 0..<d { out.append(map[(e * p.outHeight + y) * p.outWidth + x]) }
            }
            out += newline
        }
        return out
    }

    /// Bilinear resampling of a channel-major map, half-pixel centres, edges clamped, no
    /// antialiasing (PyTorch's `interpolate(mode="bilinear", align_corners=False)`).
    static func bilinear(_ x: [Float], channels: Int, height: Int, width: Int, toHeight: Int, toWidth: Int) -> [Float] {
        func taps(_ n: Int, _ m: Int) -> [(Int, Int, Float, Float)] {
            let scale = Float(n) / Float(m)
            return (0..<m).map { i in
                let src = max(scale * (Float(i) + 0.5) - 0.5, 0)
                let i0 = min(Int(src), n - 1), i1 = i0 < n - 1 ? i0 + 1 : i0
                let l1 = src - Float(i0)
                return (i0, i1, 1 - l1, l1)
            }
        }
        let ty = taps(height, toHeight), tx = taps(width, toWidth)
        var out = [Float](repeating: 0, count: channels * toHeight * toWidth)
        for c in 0..<channels {
            let src = c * height * width, dst = c * toHeight * toWidth
            for (oy, (y0, y1, h0, h1)) in ty.enumerated() {
                for (ox, (x0, x1, w0, w1)) in tx.enumerated() {
                    out[dst + oy * toWidth + ox] = h0 * (w0 * x[src + y0 * width + x0] + w1 * x[src + y0 * width + x1])
                        + h1 * (w0 * x[src + y1 * width + x0] + w1 * x[src + y1 * width + x1])
                }
            }
        }
        return out
    }

    // MARK: VisionTower

    public var textDim: Int { config.textDim }
    /// The language model's own (Qwen2's ChatML).
    public var promptFormat: PromptFormat? { nil }

    /// The view as one image of a multi-image prompt: padded to a square, one tile's n² rows
    /// and the newline, as n² + 1 `<image>` tokens.
    public func imageBlock(for view: RGBImage) -> (markup: String, features: [Float]) {
        let n = config.grid
        let features = tileFeatures(LlavaOneVisionProcessor(config: config).squareTile(for: view)) + newline
        return (String(repeating: "<image>", count: n * n + 1), features)
    }
}
