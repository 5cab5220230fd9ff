import CJarvisKernels
import COpenBLAS
import Foundation

/// The vision half of SmolVLM (Idefics3): a SigLIP encoder over one square frame, pixel
/// shuffle, and the connector's projection into the language model's width.
///
/// Frame (3 × M × M, normalised) → patch convolution (P × P, stride P, bias) + position
/// embedding of patch py·n + px (n = M/P, no interpolation) → layers of pre-norm attention
/// (non-causal, q/k/v/out with biases, scale hd^-½) and MLP (fc1, tanh GELU, fc2) → post
/// LayerNorm → pixel shuffle by r (n² × Dv → n²/r² × Dv·r²) → projection to the text width
/// (no bias). See docs/idefics3-notes.md for the details checked against transformers.
public final class Idefics3Vision: @unchecked Sendable {
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

    struct Layer {
        var ln1g: [Float], ln1b: [Float], ln2g: [Float], ln2b: [Float]
        var wq: [Float], bq: [Float], wk: [Float], bk: [Float], wv: [Float], bv: [Float], wo: [Float], bo: [Float]
        var w1: [Float], b1: [Float], w2: [Float], b2: [Float]
    }

    public let config: Config
    let patchW: [Float], patchB: [Float], positions: [Float]
    let layers: [Layer]
    let postG: [Float], postB: [Float]
    /// Textdim × (dim · r²), row-major (torch Linear layout).
    let projection: [Float]

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
        patchW = try tensor("v.patch_embd.weight", d * 3 * p * p)
        patchB = try tensor("v.patch_embd.bias", d)
        positions = try tensor("v.position_embd.weight", c.grid * c.grid * d)
        layers = try (0..<c.layers).map { i in
            let b = "v.blk.\(i)."
            // Files converted before May 2025 have fc1/fc2 under each other's names; the shape
            // tells: fc1 maps dim → ffn, so its rows (ne0) are dim long.
            var up = b + "ffn_up", down = b + "ffn_down"
            if let t = gguf.tensorsByName[down + ".weight"], t.shape.first == d, d != c.ffnDim { swap(&up, &down) }
            return Layer(ln1g: try tensor(b + "ln1.weight", d), ln1b: try tensor(b + "ln1.bias", d),
                         ln2g: try tensor(b + "ln2.weight", d), ln2b: try tensor(b + "ln2.bias", d),
                         wq: try tensor(b + "attn_q.weight", d * d), bq: try tensor(b + "attn_q.bias", d),
                         wk: try tensor(b + "attn_k.weight", d * d), bk: try tensor(b + "attn_k.bias", d),
                         wv: try tensor(b + "attn_v.weight", d * d), bv: try tensor(b + "attn_v.bias", d),
                         wo: try tensor(b + "attn_out.weight", d * d), bo: try tensor(b + "attn_out.bias", d),
                         w1: try tensor(up + ".weight", c.ffnDim * d), b1: try tensor(up + ".bias", c.ffnDim),
                         w2: try tensor(down + ".weight", d * c.ffnDim), b2: try tensor(down + ".bias", d))
        }
        postG = try tensor("v.post_ln.weight", d)
        postB = try tensor("v.post_ln.bias", d)
        projection = try tensor("mm.model.fc.weight", c.textDim * d * c.scaleFactor * c.scaleFactor)
        config = c
    }

    /// Loads the vision tower and connector from a Hugging Face Idefics3 checkpoint:
    /// `config` is its config.json, `preprocessor` its preprocessor_config.json (if any).
    public init(safetensors st: SafetensorsFile, config json: [String: Any], preprocessor: [String: Any]?) throws {
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
        let d = c.dim, p = c.patchSize, m = "model.vision_model."
        patchW = try st.floats(m + "embeddings.patch_embedding.weight", shape: [d, 3, p, p])
        patchB = try st.floats(m + "embeddings.patch_embedding.bias", shape: [d])
        positions = try st.floats(m + "embeddings.position_embedding.weight", shape: [c.grid * c.grid, d])
        layers = try (0..<c.layers).map { i in
            let b = m + "encoder.layers.\(i)."
            return Layer(ln1g: try st.floats(b + "layer_norm1.weight", shape: [d]), ln1b: try st.floats(b + "layer_norm1.bias", shape: [d]),
                         ln2g: try st.floats(b + "layer_norm2.weight", shape: [d]), ln2b: try st.floats(b + "layer_norm2.bias", shape: [d]),
                         wq: try st.floats(b + "self_attn.q_proj.weight", shape: [d, d]), bq: try st.floats(b + "self_attn.q_proj.bias", shape: [d]),
                         wk: try st.floats(b + "self_attn.k_proj.weight", shape: [d, d]), bk: try st.floats(b + "self_attn.k_proj.bias", shape: [d]),
                         wv: try st.floats(b + "self_attn.v_proj.weight", shape: [d, d]), bv: try st.floats(b + "self_attn.v_proj.bias", shape: [d]),
                         wo: try st.floats(b + "self_attn.out_proj.weight", shape: [d, d]), bo: try st.floats(b + "self_attn.out_proj.bias", shape: [d]),
                         w1: try st.floats(b + "mlp.fc1.weight", shape: [c.ffnDim, d]), b1: try st.floats(b + "mlp.fc1.bias", shape: [c.ffnDim]),
                         w2: try st.floats(b + "mlp.fc2.weight", shape: [d, c.ffnDim]), b2: try st.floats(b + "mlp.fc2.bias", shape: [d]))
        }
        postG = try st.floats(m + "post_layernorm.weight", shape: [d])
        postB = try st.floats(m + "post_layernorm.bias", shape: [d])
        projection = try st.floats("model.connector.modality_projection.proj.weight", shape: [c.textDim, d * c.scaleFactor * c.scaleFactor])
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
        let c = config, d = c.dim, p = c.patchSize, n = c.grid, m = c.imageSize, tokens = n * n
        precondition(frame.count == 3 * m * m, "a frame is 3 × \(m) × \(m) values")
        // Patch embedding as one product over patches flattened (channel, row, column).
        let k = 3 * p * p
        var patches = [Float](repeating: 0, count: tokens * k)
        for py in 0..<n {
            for px in 0..<n {
                for ch in 0..<3 {
                    for y in 0..<p {
                        let src = ch * m * m + (py * p + y) * m + px * p, dst = (py * n + px) * k + (ch * p + y) * p
                        for x in 0..<p { patches[dst + x] = frame[src + x] }
                    }
                }
            }
        }
        var h = Self.linear(patches, tokens, patchW, patchB, out: d)
        for i in 0..<tokens * d { h[i] += positions[i] }

        let heads = c.heads, hd = d / heads
        let scale = 1 / Float(hd).squareRoot()
        for l in layers {
            var y = h
            jk_layernorm_rows(&y, Int32(tokens), Int32(d), l.ln1g, l.ln1b, c.normEpsilon)
            let q = Self.linear(y, tokens, l.wq, l.bq, out: d), kk = Self.linear(y, tokens, l.wk, l.bk, out: d)
            let v = Self.linear(y, tokens, l.wv, l.bv, out: d)
            var mixed = [Float](repeating: 0, count: tokens * d), scores = [Float](repeating: 0, count: tokens * tokens)
            for head in 0..<heads {
                q.withUnsafeBufferPointer { qp in kk.withUnsafeBufferPointer { kp in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(tokens), Int32(tokens), Int32(hd), scale,
                                qp.baseAddress! + head * hd, Int32(d), kp.baseAddress! + head * hd, Int32(d), 0, &scores, Int32(tokens))
                } }
                scores.withUnsafeMutableBufferPointer { sp in for r in 0..<tokens { jk_softmax(sp.baseAddress! + r * tokens, Int32(tokens)) } }
                v.withUnsafeBufferPointer { vp in mixed.withUnsafeMutableBufferPointer { mp in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(tokens), Int32(hd), Int32(tokens), 1,
                                scores, Int32(tokens), vp.baseAddress! + head * hd, Int32(d), 0, mp.baseAddress! + head * hd, Int32(d))
                } }
            }
            let attn = Self.linear(mixed, tokens, l.wo, l.bo, out: d)
            for i in 0..<tokens * d { h[i] += attn[i] }
            y = h
            jk_layernorm_rows(&y, Int32(tokens), Int32(d), l.ln2g, l.ln2b, c.normEpsilon)
            var hidden = Self.linear(y, tokens, l.w1, l.b1, out: c.ffnDim)
            jk_gelu_tanh(&hidden, Int64(hidden.count))
            let mlp = Self.linear(hidden, tokens, l.w2, l.b2, out: d)
            for i in 0..<tokens * d { h[i] += mlp[i] }
        }
        jk_layernorm_rows(&h, Int32(tokens), Int32(d), postG, postB, c.normEpsilon)
        return project(shuffle(h))
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

    /// The connector's projection (no bias) of shuffled tokens to the text width.
    func project(_ shuffled: [Float]) -> [Float] {
        let c = config, width = c.dim * c.scaleFactor * c.scaleFactor
        return Self.linear(shuffled, shuffled.count / width, projection, nil, out: c.textDim)
    }

    /// x [n × in] · Wᵀ (W is out × in, the torch Linear layout) + b.
    static func linear(_ x: [Float], _ n: Int, _ w: [Float], _ bias: [Float]?, out: Int) -> [Float] {
        let cols = x.count / n
        var y = [Float](repeating: 0, count: n * out)
        if let bias { for t in 0..<n { y.replaceSubrange(t * out..<(t + 1) * out, with: bias) } }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(out), Int32(cols), 1,
                    x, Int32(cols), w, Int32(cols), bias == nil ? 0 : 1, &y, Int32(out))
        return y
    }
}
