import Foundation

/// A SigLIP vision encoder over one square frame, as SmolVLM and LLaVA-OneVision use it.
///
/// Frame (3 × M × M, normalised) → patch convolution (P × P, stride P, bias) + a learned
/// position per patch (py·n + px, n = M/P, no interpolation) → layers of pre-norm attention
/// (non-causal, q/k/v/out with biases, scale hd^-½) and MLP (fc1, tanh GELU, fc2) → the post
/// LayerNorm, where the model applies it.
struct SigLIPEncoder {
    let patches: PatchEmbedding
    let layers: [EncoderLayer]
    /// nil where the model takes the last layer's output as it is (LLaVA-OneVision).
    let postNorm: LayerNorm?
    /// Frame side M.
    let imageSize: Int

    /// The n² × width hidden states of one frame (3 × M × M values, channel-major).
    func callAsFunction(_ frame: [Float]) -> [Float] {
        precondition(frame.count == 3 * imageSize * imageSize, "a frame is 3 × \(imageSize) × \(imageSize) values")
        var h = patches(frame, side: imageSize)
        for layer in layers { layer(&h) }
        postNorm?(&h)
        return h
    }

    /// The encoder from a Hugging Face checkpoint's tensors under `prefix` (for instance
    /// `model.vision_model.`): `embeddings.{patch_embedding,position_embedding}`,
    /// `encoder.layers.N.{self_attn.{q,k,v,out}_proj, layer_norm1, layer_norm2, mlp.fc1, mlp.fc2}`,
    /// and `post_layernorm` when `postNorm` is set.
    /// - Throws: `EngineError(.modelMismatch)` naming a missing or misshapen tensor.
    init(safetensors st: any SafetensorsSource, prefix m: String, imageSize: Int, patchSize p: Int, dim d: Int, layers count: Int,
         heads: Int, ffnDim: Int, epsilon: Float, postNorm: Bool) throws {
        func linear(_ name: String, inputs: Int, outputs: Int) throws -> Linear {
            Linear(weight: try st.floats(name + ".weight", shape: [outputs, inputs]), bias: try st.floats(name + ".bias", shape: [outputs]),
                   inputs: inputs, outputs: outputs)
        }
        func norm(_ name: String) throws -> LayerNorm {
            LayerNorm(weight: try st.floats(name + ".weight", shape: [d]), bias: try st.floats(name + ".bias", shape: [d]), epsilon: epsilon)
        }
        let grid = imageSize / p, conv = m + "embeddings.patch_embedding."
        patches = PatchEmbedding(projection: Linear(weight: try st.floats(conv + "weight", shape: [d, 3, p, p]),
                                                    bias: try st.floats(conv + "bias", shape: [d]), inputs: 3 * p * p, outputs: d),
                                 positions: try st.floats(m + "embeddings.position_embedding.weight", shape: [grid * grid, d]), patchSize: p)
        layers = try (0..<count).map { i in
            let b = m + "encoder.layers.\(i)."
            let attention = SelfAttention(query: try linear(b + "self_attn.q_proj", inputs: d, outputs: d),
                                          key: try linear(b + "self_attn.k_proj", inputs: d, outputs: d),
                                          value: try linear(b + "self_attn.v_proj", inputs: d, outputs: d),
                                          output: try linear(b + "self_attn.out_proj", inputs: d, outputs: d), heads: heads)
            let mlp = MLP(up: try linear(b + "mlp.fc1", inputs: d, outputs: ffnDim), down: try linear(b + "mlp.fc2", inputs: ffnDim, outputs: d),
                          activation: .tanh)
            return EncoderLayer(attention: attention, mlp: mlp, norm1: try norm(b + "layer_norm1"), norm2: try norm(b + "layer_norm2"), placement: .pre)
        }
        self.postNorm = postNorm ? try norm(m + "post_layernorm") : nil
        self.imageSize = imageSize
    }

    init(patches: PatchEmbedding, layers: [EncoderLayer], postNorm: LayerNorm?, imageSize: Int) {
        self.patches = patches; self.layers = layers; self.postNorm = postNorm; self.imageSize = imageSize
    }
}
