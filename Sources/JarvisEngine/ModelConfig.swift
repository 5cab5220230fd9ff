import Foundation

/// Hyper-parameters of a decoder-only transformer, read from GGUF metadata or a Hugging Face
/// config.
public struct ModelConfig: Sendable, Codable, Equatable {
    /// Supported architectures. They share one forward pass; they differ in the rotary layout,
    /// in qwen2's bias on the Q/K/V projections, and in qwen3's RMSNorm of each query and key
    /// head before the rotation.
    public enum Architecture: String, Sendable, Codable, CaseIterable { case llama, qwen2, qwen3 }

    public var architecture: Architecture
    public var layers: Int
    /// Model width (embedding length).
    public var dim: Int
    /// Hidden width of the feed-forward block.
    public var ffnDim: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var vocabularySize: Int
    /// Context length the model was trained for.
    public var contextLength: Int
    public var ropeBase: Float
    /// Number of leading dimensions of each head that are rotated.
    public var ropeDims: Int
    public var normEpsilon: Float
    /// Divisors of each rotary pair's frequency (`ropeDims / 2` values): Llama 3's long-context
    /// scaling, stored in GGUF as `rope_freqs.weight`. Nil when the frequencies are unscaled.
    public var ropeFrequencyFactors: [Float]?

    /// Adjacent-pair rotary (llama in GGUF, whose Q/K weights the converter permuted) versus
    /// half-split (qwen2, qwen3: NeoX).
    public var ropeIsNeox: Bool { architecture != .llama }

    /// Whether each query and key head is RMS-normalized (with its own weight) before RoPE.
    public var normalizesQueryAndKeyHeads: Bool { architecture == .qwen3 }

    /// Reads the config of `gguf`.
    /// - Throws: `.unsupported` for another architecture, `.modelMismatch` for missing keys.
    public init(gguf: GGUFFile) throws {
        guard let arch = gguf["general.architecture"]?.string else {
            throw EngineError(.modelMismatch, "\(gguf.path): no general.architecture key")
        }
        guard let a = Architecture(rawValue: arch) else {
            let supported = Architecture.allCases.map(\.rawValue).joined(separator: ", ")
            throw EngineError(.unsupported, "\(gguf.path): architecture '\(arch)' is not supported (\(supported) are)")
        }
        func int(_ key: String) throws -> Int {
            guard let v = gguf["\(arch).\(key)"]?.int, v > 0 else {
                throw EngineError(.modelMismatch, "\(gguf.path): missing or invalid \(arch).\(key)")
            }
            return v
        }
        architecture = a
        layers = try int("block_count")
        dim = try int("embedding_length")
        ffnDim = try int("feed_forward_length")
        heads = try int("attention.head_count")
        kvHeads = gguf["\(arch).attention.head_count_kv"]?.int ?? heads
        // Qwen3 states its head size, which need not be width / heads.
        let keyLength = gguf["\(arch).attention.key_length"]?.int
        guard keyLength != nil || dim % heads == 0, kvHeads > 0, heads % kvHeads == 0 else {
            throw EngineError(.modelMismatch, "\(gguf.path): \(heads) heads / \(kvHeads) KV heads do not divide width \(dim)")
        }
        headDim = keyLength ?? dim / heads
        if let valueLength = gguf["\(arch).attention.value_length"]?.int, valueLength != headDim {
            throw EngineError(.unsupported, "\(gguf.path): value heads of \(valueLength) beside key heads of \(headDim) are not supported")
        }
        contextLength = try int("context_length")
        ropeBase = gguf["\(arch).rope.freq_base"]?.float ?? 10000
        ropeDims = gguf["\(arch).rope.dimension_count"]?.int ?? headDim
        normEpsilon = gguf["\(arch).attention.layer_norm_rms_epsilon"]?.float ?? 1e-5
        if let v = gguf["\(arch).vocab_size"]?.int {
            vocabularySize = v
        } else if let tokens = gguf["tokenizer.ggml.tokens"]?.array {
            vocabularySize = tokens.count
        } else {
            throw EngineError(.modelMismatch, "\(gguf.path): no vocabulary size")
        }
        guard ropeDims <= headDim, ropeDims % 2 == 0 else {
            throw EngineError(.modelMismatch, "\(gguf.path): rope dimension count \(ropeDims) does not fit head size \(headDim)")
        }
        // Linear scaling by 1 is how some converters say "none".
        if let scaling = gguf["\(arch).rope.scaling.type"]?.string, scaling != "none",
           !(scaling == "linear" && (gguf["\(arch).rope.scaling.factor"]?.float ?? 1) == 1) {
            throw EngineError(.unsupported, "\(gguf.path): RoPE scaling '\(scaling)' is not supported (none, or Llama 3's rope_freqs, is)")
        }
        if let t = gguf.tensorsByName["rope_freqs.weight"] {
            guard t.elementCount == ropeDims / 2 else {
                throw EngineError(.modelMismatch, "\(gguf.path): rope_freqs has \(t.elementCount) values, the model rotates \(ropeDims / 2) pairs")
            }
            ropeFrequencyFactors = try gguf.dequantize(t)
        }
    }

    /// Reads a llama, qwen2 or qwen3 config from a Hugging Face `config.json` object (for a
    /// vision-language model, its `text_config`); `source` names it in errors.
    /// - Throws: `.unsupported` for another model type, `.modelMismatch` for missing fields.
    public init(huggingFace c: [String: Any], source: String) throws {
        func int(_ key: String) throws -> Int {
            guard let v = (c[key] as? NSNumber)?.intValue, v > 0 else {
                throw EngineError(.modelMismatch, "\(source): missing or invalid \(key)")
            }
            return v
        }
        let type = c["model_type"] as? String ?? "llama"
        guard let a = Architecture(rawValue: type) else {
            let supported = Architecture.allCases.map(\.rawValue).joined(separator: ", ")
            throw EngineError(.unsupported, "\(source): text model type '\(type)' is not supported (\(supported) are)")
        }
        architecture = a
        layers = try int("num_hidden_layers")
        dim = try int("hidden_size")
        ffnDim = try int("intermediate_size")
        heads = try int("num_attention_heads")
        kvHeads = (c["num_key_value_heads"] as? NSNumber)?.intValue ?? heads
        let statedHeadDim = (c["head_dim"] as? NSNumber)?.intValue
        guard statedHeadDim != nil || dim % heads == 0, kvHeads > 0, heads % kvHeads == 0 else {
            throw EngineError(.modelMismatch, "\(source): \(heads) heads / \(kvHeads) KV heads do not divide width \(dim)")
        }
        headDim = statedHeadDim ?? dim / heads
        contextLength = try int("max_position_embeddings")
        ropeBase = (c["rope_theta"] as? NSNumber)?.floatValue ?? 10000
        ropeDims = headDim
        normEpsilon = (c["rms_norm_eps"] as? NSNumber)?.floatValue ?? 1e-5
        vocabularySize = try int("vocab_size")
        if (c["use_sliding_window"] as? Bool) == true {
            throw EngineError(.unsupported, "\(source): sliding-window attention is not supported")
        }
        // transformers 4.x writes `rope_scaling`; 5.x `rope_parameters` (which also holds the base).
        if let scaling = (c["rope_scaling"] ?? c["rope_parameters"]) as? [String: Any] {
            if let theta = (scaling["rope_theta"] as? NSNumber)?.floatValue { ropeBase = theta }
            let type = scaling["rope_type"] as? String ?? scaling["type"] as? String ?? "default"
            switch type {
            case "default": break
            case "llama3":
                ropeFrequencyFactors = try Llama3RopeScaling(huggingFace: scaling, source: source)
                    .frequencyFactors(base: ropeBase, dims: ropeDims)
            default:
                throw EngineError(.unsupported, "\(source): RoPE scaling '\(type)' is not supported (default and llama3 are)")
            }
        }
    }
}
