import COpenBLAS
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

    struct Layer {
        let wq: [Float], bq: [Float], wk: [Float], bk: [Float], wv: [Float], bv: [Float]
        let wo: [Float], bo: [Float], ln1w: [Float], ln1b: [Float]
        let w1: [Float], b1: [Float], w2: [Float], b2: [Float], ln2w: [Float], ln2b: [Float]
    }
    let wordEmbeddings: [Float], positionEmbeddings: [Float], typeEmbeddings: [Float]
    let embedNormW: [Float], embedNormB: [Float]
    let layers: [Layer]

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
        embedNormW = try t("embeddings.LayerNorm.weight", [d])
        embedNormB = try t("embeddings.LayerNorm.bias", [d])
        layers = try (0..<c.layers).map { i in
            let p = "encoder.layer.\(i)."
            return Layer(
                wq: try t(p + "attention.self.query.weight", [d, d]), bq: try t(p + "attention.self.query.bias", [d]),
                wk: try t(p + "attention.self.key.weight", [d, d]), bk: try t(p + "attention.self.key.bias", [d]),
                wv: try t(p + "attention.self.value.weight", [d, d]), bv: try t(p + "attention.self.value.bias", [d]),
                wo: try t(p + "attention.output.dense.weight", [d, d]), bo: try t(p + "attention.output.dense.bias", [d]),
                ln1w: try t(p + "attention.output.LayerNorm.weight", [d]), ln1b: try t(p + "attention.output.LayerNorm.bias", [d]),
                w1: try t(p + "intermediate.dense.weight", [f, d]), b1: try t(p + "intermediate.dense.bias", [f]),
                w2: try t(p + "output.dense.weight", [d, f]), b2: try t(p + "output.dense.bias", [d]),
                ln2w: try t(p + "output.LayerNorm.weight", [d]), ln2b: try t(p + "output.LayerNorm.bias", [d]))
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
        layerNorm(&x, n: n, embedNormW, embedNormB)
        for layer in layers { x = encode(x, n: n, layer) }
        // Mean over tokens, then L2 normalization.
        var pooled = [Float](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { pooled[j] += x[i * d + j] } }
        for j in 0..<d { pooled[j] /= Float(n) }
        let norm = max(pooled.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return pooled.map { $0 / norm }
    }

    // MARK: - The encoder

    /// One post-norm transformer layer: x = LN(x + Attn(x)); x = LN(x + FFN(x)).
    func encode(_ x: [Float], n: Int, _ l: Layer) -> [Float] {
        let c = config, d = c.dim, hd = d / c.heads
        let q = linear(x, n: n, l.wq, l.bq, rows: d, cols: d)
        let k = linear(x, n: n, l.wk, l.bk, rows: d, cols: d)
        let v = linear(x, n: n, l.wv, l.bv, rows: d, cols: d)
        var ctx = [Float](repeating: 0, count: n * d)
        var scores = [Float](repeating: 0, count: n * n)
        let scale = 1 / Float(hd).squareRoot()
        for h in 0..<c.heads {
            q.withUnsafeBufferPointer { qp in
                k.withUnsafeBufferPointer { kp in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(hd), scale,
                                qp.baseAddress! + h * hd, Int32(d), kp.baseAddress! + h * hd, Int32(d), 0, &scores, Int32(n))
                }
            }
            for i in 0..<n {
                let row = i * n
                var m = -Float.infinity
                for j in 0..<n { m = max(m, scores[row + j]) }
                var sum: Float = 0
                for j in 0..<n { scores[row + j] = expf(scores[row + j] - m); sum += scores[row + j] }
                for j in 0..<n { scores[row + j] /= sum }
            }
            v.withUnsafeBufferPointer { vp in
                ctx.withUnsafeMutableBufferPointer { cp in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(hd), Int32(n), 1,
                                scores, Int32(n), vp.baseAddress! + h * hd, Int32(d), 0, cp.baseAddress! + h * hd, Int32(d))
                }
            }
        }
        var h1 = linear(ctx, n: n, l.wo, l.bo, rows: d, cols: d)
        for i in h1.indices { h1[i] += x[i] }
        layerNorm(&h1, n: n, l.ln1w, l.ln1b)
        var f = linear(h1, n: n, l.w1, l.b1, rows: c.ffnDim, cols: d)
        for i in f.indices { f[i] = 0.5 * f[i] * (1 + erff(f[i] / Float(2).squareRoot())) }   // exact GELU
        var h2 = linear(f, n: n, l.w2, l.b2, rows: d, cols: c.ffnDim)
        for i in h2.indices { h2[i] += h1[i] }
        layerNorm(&h2, n: n, l.ln2w, l.ln2b)
        return h2
    }

    /// Y[n × rows] = X[n × cols] · Wᵀ + b (PyTorch's Linear).
    func linear(_ x: [Float], n: Int, _ w: [Float], _ b: [Float], rows: Int, cols: Int) -> [Float] {
        var y = [Float](repeating: 0, count: n * rows)
        for i in 0..<n { for j in 0..<rows { y[i * rows + j] = b[j] } }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(cols), 1,
                    x, Int32(cols), w, Int32(cols), 1, &y, Int32(rows))
        return y
    }

    func layerNorm(_ x: inout [Float], n: Int, _ w: [Float], _ b: [Float]) {
        let d = config.dim
        for i in 0..<n {
            var mean: Float = 0, variance: Float = 0
            for j in 0..<d { mean += x[i * d + j] }
            mean /= Float(d)
            for j in 0..<d { let t = x[i * d + j] - mean; variance += t * t }
            variance /= Float(d)
            let inv = 1 / (variance + config.normEpsilon).squareRoot()
            for j in 0..<d { x[i * d + j] = (x[i * d + j] - mean) * inv * w[j] + b[j] }
        }
    }
}
