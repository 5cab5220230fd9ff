import Foundation

/// A sentence embedder: a BERT encoder (all-MiniLM-L6-v2 by default) loaded from Hugging Face
/// safetensors and tokenizer.json, mean-pooled over the tokens and L2-normalized, as
/// sentence-transformers computes it. Used for retrieval; runs on the caller's thread.
public final class TextEmbedder: @unchecked Sendable {
    public struct Config: Sendable {
        public var layers: Int, dim: Int, heads: Int, ffnDim: Int, vocabularySize: Int, maxPositions: Int
        public var normEpsilon: Float
        /// Longest input in tokens, [CLS] and [SEP] included (sentence-transformers' max_seq_length).
        public var maxTokens: Int
    }

    public let config: Config
    public let tokenizer: WordPieceTokenizer
    /// Width of the embedding vectors.
    public var dimension: Int { config.dim }

    let wordEmbeddings: [Float], positionEmbeddings: [Float], typeEmbeddings: [Float]
    let embedNorm: LayerNorm
    let layers: [EncoderLayer]

    /// Loads the model in `directory` (config.json, model.safetensors, tokenizer.json).
    /// - Throws: `EngineError` naming the file and the problem.
    public init(directory: String, maxTokens: Int = 256) throws {
        let configPath = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: configPath),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EngineError(.io, "cannot read \(configPath): run scripts/setup to fetch the default models")
        }
        func int(_ k: String) throws -> Int {
            guard let v = json[k] as? Int, v > 0 else { throw EngineError(.modelMismatch, "\(configPath): missing \(k)") }
            return v
        }
        guard (json["model_type"] as? String) == "bert" else {
            throw EngineError(.unsupported, "\(configPath): model_type \(json["model_type"] ?? "?") is not bert")
        }
        guard (json["hidden_act"] as? String ?? "gelu") == "gelu" else {
            throw EngineError(.unsupported, "\(configPath): activation \(json["hidden_act"] ?? "?") is not supported (gelu is)")
        }
        let c = Config(layers: try int("num_hidden_layers"), dim: try int("hidden_size"), heads: try int("num_attention_heads"),
                       ffnDim: try int("intermediate_size"), vocabularySize: try int("vocab_size"),
                       maxPositions: try int("max_position_embeddings"),
                       normEpsilon: Float(json["layer_norm_eps"] as? Double ?? 1e-12), maxTokens: 0)
        guard c.dim % c.heads == 0 else { throw EngineError(.modelMismatch, "\(configPath): heads do not divide the width") }
        var cfg = c
        cfg.maxTokens = min(maxTokens, c.maxPositions)
        config = cfg
        tokenizer = try WordPieceTokenizer(path: directory + "/tokenizer.json")

        let st = try SafetensorsFile(path: directory + "/model.safetensors")
        // Some exports prefix every name with "bert.".
        let prefix = st.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func t(_ name: String, _ shape: [Int]) throws -> [Float] { try st.floats(prefix + name, shape: shape) }
        let d = c.dim, f = c.ffnDim
        wordEmbeddings = try t("embeddings.word_embeddings.weight", [c.vocabularySize, d])
        positionEmbeddings = try t("embeddings.position_embeddings.weight", [c.maxPositions, d])
        typeEmbeddings = try t("embeddings.token_type_embeddings.weight", [2, d])
        func linear(_ name: String, inputs: Int, outputs: Int) throws -> Linear {
            Linear(weight: try t(name + ".weight", [outputs, inputs]), bias: try t(name + ".bias", [outputs]), inputs: inputs, outputs: outputs)
        }
        func norm(_ name: String) throws -> LayerNorm {
            LayerNorm(weight: try t(name + ".weight", [d]), bias: try t(name + ".bias", [d]), epsilon: c.normEpsilon)
        }
        embedNorm = try norm("embeddings.LayerNorm")
        layers = try (0..<c.layers).map { i in
            let p = "encoder.layer.\(i)."
            let attention = SelfAttention(query: try linear(p + "attention.self.query", inputs: d, outputs: d),
                                          key: try linear(p + "attention.self.key", inputs: d, outputs: d),
                                          value: try linear(p + "attention.self.value", inputs: d, outputs: d),
                                          output: try linear(p + "attention.output.dense", inputs: d, outputs: d), heads: c.heads)
            let mlp = MLP(up: try linear(p + "intermediate.dense", inputs: d, outputs: f),
                          down: try linear(p + "output.dense", inputs: f, outputs: d), activation: .exact)
            return EncoderLayer(attention: attention, mlp: mlp, norm1: try norm(p + "attention.output.LayerNorm"),
                                norm2: try norm(p + "output.LayerNorm"), placement: .post)
        }
    }

    /// The unit-length embedding of `text` (`dimension` floats).
    public func embed(_ text: String) -> [Float] {
        embed(tokens: tokenizer.encode(text, maxTokens: config.maxTokens))
    }

    /// The unit-length embedding of already tokenized input ([CLS] … [SEP]).
    public func embed(tokens: [Int32]) -> [Float] {
        let c = config, n = tokens.count, d = c.dim
        var x = [Float](repeating: 0, count: n * d)
        for (i, t) in tokens.enumerated() {
            let w = Int(t) * d, p = i * d
            for j in 0..<d { x[p + j] = wordEmbeddings[w + j] + positionEmbeddings[p + j] + typeEmbeddings[j] }
        }
        embedNorm(&x)
        for layer in layers { layer(&x) }
        // Mean over tokens, then L2 normalization.
        var pooled = [Float](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { pooled[j] += x[i * d + j] } }
        for j in 0..<d { pooled[j] /= Float(n) }
        let norm = max(pooled.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return pooled.map { $0 / norm }
    }
}
