import Foundation

/// Hyper-parameters of a decoder-only transformer, read from GGUF metadata or a Hugging Face
/// config.
public struct ModelConfig: Sendable, Codable, Equatable {
    /// Supported architectures. They share one forward pass; they differ in the rotary layout,
    /// in qwen2's bias on the Q/K/V projections, in qwen3's and gemma3's RMSNorm of each query
    /// and key head before the rotation, in smollm3's layers without RoPE, in phi3's fused
    /// projections and long-context RoPE factors, and in gemma3's sliding-window layers, extra
    /// norms, GeGLU and scaled embeddings.
    public enum Architecture: String, Sendable, Codable, CaseIterable { case llama, qwen2, qwen3, smollm3, phi3, gemma3 }

    /// The architectures `init(huggingFace:source:)` reads (the others load from GGUF only).
    public static let huggingFaceArchitectures: [Architecture] = [.llama, .qwen2, .qwen3]

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
    /// scaling, stored in GGUF as `rope_freqs.weight`, or the one of Phi-3's two sets in use
    /// (see `ropeLongContext`). Nil when the frequencies are unscaled.
    public var ropeFrequencyFactors: [Float]?
    /// Phi-3's LongRoPE: the factors for a context longer than the original one (`long`) and
    /// for one within it (`short`), from `rope_factors_long/short.weight`. Which of them is
    /// `ropeFrequencyFactors` follows `contextLength`, as llama.cpp chooses by its context size.
    public var ropeLongContext: LongRopeFactors?
    /// Multiplies the rotary cos/sin tables (phi3's LongRoPE attention factor,
    /// `rope.scaling.attn_factor`); 1 elsewhere.
    public var ropeMagnitude: Float = 1
    /// Linear RoPE scaling of the layers that do not slide: positions are multiplied by
    /// 1 / factor (gemma3's global layers at 4B and up).
    public var ropeLinearFactor: Float = 1
    /// Layers whose queries and keys are not rotated at all (smollm3: every fourth).
    public var unrotatedLayers: Set<Int> = []
    /// Sliding-window attention: in `slidingLayers`, a query at position p sees only keys at
    /// positions p − slidingWindow < position ≤ p. Positions are the logical ones, where runs are
    /// placed, not where they were computed.
    public var slidingWindow: Int?
    public var slidingLayers: Set<Int> = []
    /// RoPE base of the sliding layers (gemma3's local base); nil: `ropeBase`.
    public var ropeBaseSliding: Float?
    /// Multiplies the token embeddings (gemma3: √dim); not input embeddings given directly.
    public var embeddingScale: Float = 1
    /// Logits become cap · tanh(logit / cap) when set (gemma's final softcapping).
    public var finalLogitSoftcap: Float?
    /// Multiplies the query-key products before the softmax.
    public var attentionScale: Float = 1

    /// Phi-3's two sets of frequency divisors and the context length that parts them.
    public struct LongRopeFactors: Sendable, Codable, Equatable {
        public var long: [Float], short: [Float]
        /// Contexts up to this length use `short`, longer ones `long`.
        public var originalContextLength: Int
    }

    /// Adjacent-pair rotary (llama and smollm3 in GGUF, whose Q/K weights the converter
    /// permuted) versus half-split (the others: NeoX).
    public var ropeIsNeox: Bool { architecture != .llama && architecture != .smollm3 }

    /// Whether each query and key head is RMS-normalized (with its own weight) before RoPE.
    public var normalizesQueryAndKeyHeads: Bool { architecture == .qwen3 || architecture == .gemma3 }

    /// Whether the feed-forward gate goes through GELU (tanh approximation) instead of SiLU.
    public var gatesWithGELU: Bool { architecture == .gemma3 }

    /// Whether `layer` rotates its queries and keys.
    public func rotates(layer: Int) -> Bool { !unrotatedLayers.contains(layer) }

    /// The window of `layer`, nil for a layer that sees the whole context.
    public func window(layer: Int) -> Int? { slidingLayers.contains(layer) ? slidingWindow : nil }

    /// This config run with a context of `length` tokens: phi3's short factors when it fits the
    /// original context, the long ones beyond it (llama.cpp's choice by `n_ctx`).
    public func withContextLength(_ length: Int) -> ModelConfig {
        var c = self
        c.contextLength = length
        if let l = ropeLongContext { c.ropeFrequencyFactors = length > l.originalContextLength ? l.long : l.short }
        return c
    }

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
        func float(_ key: String) -> Float? { gguf["\(arch).\(key)"]?.float }
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
        if let scaling = gguf["\(arch).rope.scaling.type"]?.string, scaling != "none" {
            guard scaling == "linear" else {
                throw EngineError(.unsupported, "\(gguf.path): RoPE scaling '\(scaling)' is not supported (none, linear, Llama 3's rope_freqs and Phi-3's long/short factors are)")
            }
            ropeLinearFactor = float("rope.scaling.factor") ?? 1
        }
        func factors(_ name: String) throws -> [Float]? {
            guard let t = gguf.tensorsByName[name] else { return nil }
            guard t.elementCount == ropeDims / 2 else {
                throw EngineError(.modelMismatch, "\(gguf.path): \(name) has \(t.elementCount) values, the model rotates \(ropeDims / 2) pairs")
            }
            return try gguf.dequantize(t)
        }
        ropeFrequencyFactors = try factors("rope_freqs.weight")
        if let long = try factors("rope_factors_long.weight") {
            guard let short = try factors("rope_factors_short.weight"), let original = gguf["\(arch).rope.scaling.original_context_length"]?.int else {
                throw EngineError(.modelMismatch, "\(gguf.path): rope_factors_long without rope_factors_short or rope.scaling.original_context_length")
            }
            ropeLongContext = LongRopeFactors(long: long, short: short, originalContextLength: original)
            ropeFrequencyFactors = contextLength > original ? long : short
        }
        ropeMagnitude = float("rope.scaling.attn_factor") ?? 1
        attentionScale = 1 / Float(headDim).squareRoot()
        switch a {
        case .smollm3:
            // llama.cpp's rule (the converter writes no key for it): every fourth layer has no RoPE.
            unrotatedLayers = Set((0..<layers).filter { ($0 + 1) % 4 == 0 })
        case .gemma3:
            embeddingScale = Float(dim).squareRoot()
            finalLogitSoftcap = float("final_logit_softcapping").flatMap { $0 > 0 ? $0 : nil }
            // llama.cpp: Gemma 3 27B (62 layers) scales by width / heads, the others by the head size.
            if layers == 62 { attentionScale = 1 / Float(dim / heads).squareRoot() }
            if let window = gguf["\(arch).attention.sliding_window"]?.int, window > 0 {
                slidingWindow = window
                ropeBaseSliding = float("rope.freq_base_swa") ?? 10000
                let pattern = gguf["\(arch).attention.sliding_window_pattern"]
                if let flags = pattern?.array {
                    guard flags.count == layers else {
                        throw EngineError(.modelMismatch, "\(gguf.path): sliding_window_pattern has \(flags.count) entries for \(layers) layers")
                    }
                    slidingLayers = Set(flags.indices.filter { flags[$0].bool == true })
                } else {
                    // Every n-th layer is global (n = 6 unless stated), the others slide.
                    let n = pattern?.int ?? 6
                    slidingLayers = Set((0..<layers).filter { n == 0 || $0 % n < n - 1 })
                }
            }
        case .phi3:
            guard heads * headDim == dim else {
                throw EngineError(.modelMismatch, "\(gguf.path): phi3 with \(heads) heads of \(headDim) in a width of \(dim)")
            }
        case .llama, .qwen2, .qwen3: break
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
        guard let a = Architecture(rawValue: type), Self.huggingFaceArchitectures.contains(a) else {
            let supported = Self.huggingFaceArchitectures.map(\.rawValue).joined(separator: ", ")
            throw EngineError(.unsupported, "\(source): text model type '\(type)' is not supported from safetensors (\(supported) are; convert it to GGUF for the others)")
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
        attentionScale = 1 / Float(headDim).squareRoot()
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
