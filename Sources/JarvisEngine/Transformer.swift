import Foundation
import COpenBLAS
import CJarvisKernels

/// A decoder-only transformer loaded from GGUF (llama, qwen2, qwen3, smollm3, phi3 and gemma3
/// text), or from Hugging Face safetensors (llama, qwen2, qwen3:
/// `init(safetensors:config:prefix:output:)`).
///
/// Weight matrices in Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL,
/// IQ4_XS, F16 and BF16 stay as stored, read in place from the memory-mapped file. Products
/// round the activations as llama.cpp does for each type (Q8_0/Q8_1 blocks, Q8_K super-blocks,
/// fp16, bf16). For Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and F16 the accumulation is exactly llama.cpp's,
/// so results are bit-identical to llama.cpp's on the same CPU features; the others are close
/// (tools/check_kernel_parity.sh). F32 weights (and 16-bit rows not a multiple of
/// 32 long) are multiplied with OpenBLAS; the list of loadable types is `GGMLType.canDequantize`.
///
/// The forward pass is written out in one place, top to bottom: embed [gemma3: × √dim] → for
/// each layer (RMSNorm → Q/K/V [phi3: row views of one fused matrix] → [qwen3, gemma3: RMSNorm
/// of each Q and K head] → RoPE [not in smollm3's every fourth layer; gemma3: local or global
/// base; phi3: long or short factors] → store K/V in the cache → attention [gemma3's sliding
/// layers: only the last `slidingWindow` positions] → output projection → [gemma3: RMSNorm] →
/// residual → RMSNorm → SwiGLU [gemma3: GeGLU] feed-forward [phi3: gate and up from one fused
/// matrix] → [gemma3: RMSNorm] → residual) → final RMSNorm → logits [gemma3: softcapped].
public final class Transformer: @unchecked Sendable {
    public let config: ModelConfig
    /// Where the weights came from, for messages and fingerprints.
    public let path: String

    let weights: Weights

    /// Bytes of weights held outside the file mapping (fp32 copies of non-quantized tensors).
    public var denseWeightBytes: Int { weights.denseBytes }

    /// Bytes of weight matrices one decoded token reads: every layer's projections and the
    /// output matrix, as stored (the token's embedding row is negligible). Divided by memory
    /// bandwidth, the floor under decode time.
    public var weightBytesPerToken: Int {
        func bytes(_ m: Matrix) -> Int {
            switch m {
            case .quantized(let type, _, let rows, let cols): rows * type.byteCount(elements: cols)
            case .dense(_, _, let rows, let cols, _): rows * cols * 4
            }
        }
        return bytes(weights.output) + weights.layers.reduce(0) { sum, l in
            sum + [l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown].reduce(0) { $0 + bytes($1) }
        }
    }

    /// Loads the model in `gguf`.
    /// - Throws: `EngineError` if the architecture is unsupported, a tensor is missing or has the
    ///   wrong shape, or a tensor type cannot be loaded.
    public convenience init(gguf: GGUFFile) throws {
        try self.init(gguf: gguf, config: ModelConfig(gguf: gguf))
    }

    /// Loads the weights of `gguf` under `config` as given (tests change a config to show
    /// what a field does).
    init(gguf: GGUFFile, config: ModelConfig) throws {
        self.config = config
        guard config.headDim % 16 == 0, config.headDim <= 256 else {
            throw EngineError(.unsupported, "\(gguf.path): head size \(config.headDim) is not supported (a multiple of 16 up to 256 is)")
        }
        path = gguf.path
        weights = try Weights(gguf: gguf, config: config)
        ComputeThreads.ensureInitialized()
    }

    /// Opens and loads the GGUF model at `path`.
    public convenience init(path: String) throws {
        try self.init(gguf: GGUFFile(path: path))
    }

    /// Loads a decoder from Hugging Face safetensors with `config` (see
    /// `ModelConfig(huggingFace:)`); `prefix` is where its tensors live (`model.` for a plain
    /// LlamaForCausalLM, `model.text_model.` inside Idefics3), `output` the name of the output
    /// matrix (nil when it is tied to the embeddings).
    public init(safetensors: any SafetensorsSource, config: ModelConfig, prefix: String, output: String?) throws {
        guard config.headDim % 16 == 0, config.headDim <= 256 else {
            throw EngineError(.unsupported, "\(safetensors.path): head size \(config.headDim) is not supported (a multiple of 16 up to 256 is)")
        }
        self.config = config
        path = safetensors.path
        weights = try Weights(safetensors: safetensors, config: config, prefix: prefix, output: output)
        ComputeThreads.ensureInitialized()
    }

    /// The input embedding of `token` (`dim` floats).
    public func embedding(of token: Int32) -> [Float] {
        [Float](unsafeUninitializedCapacity: config.dim) { b, n in
            weights.embed(token, into: b.baseAddress!)
            n = config.dim
        }
    }

    /// `prefill` with input embeddings instead of token ids (`n × dim` floats, row-major): how
    /// a vision-language model feeds image features in the places of its image tokens.
    @discardableResult
    public func prefill(embeddings: [Float], cache: KVCache, context: [KVRun] = [], logits: Logits = .last) throws -> [Float] {
        guard !embeddings.isEmpty, embeddings.count % config.dim == 0 else {
            throw EngineError(.invalidArgument, "\(embeddings.count) input values are not rows of the model's width \(config.dim)")
        }
        let n = embeddings.count / config.dim
        try check(count: n, cache: cache, context: context)
        return forward(.embeddings(embeddings), n: n, cache: cache, context: context, logits: logits)
    }

    /// Which logits a forward pass returns.
    public enum Logits: Sendable { case none, last, all }

    /// Runs `tokens` through the model behind the positions already in `cache`, appending their
    /// K/V to it, without recomputing anything already cached.
    ///
    /// `context` lends rows that logically come before the cache (a shared prefix, remembered
    /// entries), each placed where its `KVRun` says; the new tokens attend to all of them and to
    /// the cache, the runs are only read. Place the cache after them with its `basePosition`.
    /// - Returns: logits of the last token (`vocabularySize` floats), of every token
    ///   (`tokens.count × vocabularySize`, row-major), or nothing.
    /// - Throws: `.invalidArgument` for an out-of-range token id, a full cache, or a context
    ///   run of another shape or placed after the cache's first row.
    @discardableResult
    public func prefill(_ tokens: [Int32], cache: KVCache, context: [KVRun] = [], logits: Logits = .last) throws -> [Float] {
        guard !tokens.isEmpty else { return [] }
        try check(count: tokens.count, cache: cache, context: context)
        for t in tokens where t < 0 || Int(t) >= config.vocabularySize {
            throw EngineError(.invalidArgument, "token id \(t) is outside the vocabulary (0..<\(config.vocabularySize))")
        }
        return forward(.tokens(tokens), n: tokens.count, cache: cache, context: context, logits: logits)
    }

    /// What a forward pass reads: token ids, or their embeddings given directly.
    enum Input {
        case tokens([Int32])
        case embeddings([Float])

        func slice(_ r: Range<Int>, dim: Int) -> Input {
            switch self {
            case .tokens(let t): .tokens(Array(t[r]))
            case .embeddings(let e): .embeddings(Array(e[r.lowerBound * dim..<r.upperBound * dim]))
            }
        }
    }

    /// The checks every prefill makes before touching the cache.
    func check(count: Int, cache: KVCache, context: [KVRun]) throws {
        guard cache.layers == config.layers, cache.kvHeads == config.kvHeads, cache.headDim == config.headDim else {
            throw EngineError(.invalidArgument, "the KV cache is shaped for another model")
        }
        for run in context {
            guard run.keys.count == config.layers * config.kvHeads else {
                throw EngineError(.invalidArgument, "a context run is shaped for another model (\(run.keys.count) layer-heads, the model has \(config.layers * config.kvHeads))")
            }
            guard run.placedPosition >= 0, run.computedPosition >= 0, run.placedPosition + run.tokenCount <= cache.basePosition else {
                throw EngineError(.invalidArgument, "a context run placed at \(run.placedPosition)..<\(run.placedPosition + run.tokenCount) does not come before the cache's first position \(cache.basePosition)")
            }
        }
        guard cache.count + count <= cache.capacity else {
            throw EngineError(.invalidArgument, "context full: \(cache.count) cached + \(count) new tokens exceed the cache capacity of \(cache.capacity)")
        }
    }

    /// Runs `input` (n rows) in batches, which bound the scratch memory; each batch sees the
    /// previous ones through the cache.
    func forward(_ input: Input, n: Int, cache: KVCache, context: [KVRun], logits: Logits) -> [Float] {
        var out: [Float] = []
        if logits == .all { out.reserveCapacity(n * config.vocabularySize) }
        let batch = 512
        var start = 0
        while start < n {
            let end = min(start + batch, n)
            let isLast = end == n
            let mode: Logits = logits == .all ? .all : (isLast ? logits : .none)
            let l = forwardBatch(input.slice(start..<end, dim: config.dim), cache: cache, context: context, logits: mode)
            if logits == .all { out += l } else if isLast { out = l }
            start = end
        }
        // A long input's scratch (activations, attention scores) is freed by now; without this
        // the allocator would keep it resident (`jarvis-bench engine` prints RSS against the
        // bound of 1.2 × the model file + KV cache).
        if n >= 256 { jk_release_free_memory() }
        return out
    }
}

// MARK: - Weights

extension Transformer {
    /// A weight matrix of `rows × cols` (GGUF ne0 = cols, the row length).
    enum Matrix {
        /// Blocks of a type with a quantized kernel, in place in the mapped file.
        case quantized(type: GGMLType, data: UnsafeRawPointer, rows: Int, cols: Int)
        /// fp32, dequantized at load from `type`; products go through BLAS after rounding the
        /// activations the way llama.cpp would for `type`.
        case dense(type: GGMLType, data: UnsafeMutablePointer<Float>, rows: Int, cols: Int, minima: UnsafeMutablePointer<Float>?)

        var rows: Int { switch self { case .quantized(_, _, let r, _), .dense(_, _, let r, _, _): r } }
        var cols: Int { switch self { case .quantized(_, _, _, let c), .dense(_, _, _, let c, _): c } }

        /// Rows `start ..< start + count`: a view into the same storage, no copy (how fused
        /// Q/K/V and gate/up tensors are split).
        func rows(_ start: Int, _ count: Int) -> Matrix {
            switch self {
            case .quantized(let type, let data, _, let cols):
                .quantized(type: type, data: data + start * type.byteCount(elements: cols), rows: count, cols: cols)
            case .dense(let type, let data, _, let cols, let minima):
                .dense(type: type, data: data + start * cols, rows: count, cols: cols, minima: minima.map { $0 + start * cols / 32 })
            }
        }
    }

    struct Layer {
        let attnNorm: [Float], ffnNorm: [Float]
        let wq: Matrix, wk: Matrix, wv: Matrix, wo: Matrix
        let bq: [Float]?, bk: [Float]?, bv: [Float]?
        /// Per-head RMSNorm weights of queries and keys (`headDim` each), qwen3 and gemma3.
        let qNorm: [Float]?, kNorm: [Float]?
        let wGate: Matrix, wUp: Matrix, wDown: Matrix
        /// RMSNorm weights applied to the attention and feed-forward outputs before their
        /// residual additions (gemma3).
        var attnPostNorm: [Float]? = nil, ffnPostNorm: [Float]? = nil
    }

    final class Weights {
        /// Keeps the mapping alive: quantized matrices point into it (nil for weights from
        /// safetensors, which are copied to fp32).
        let gguf: GGUFFile?
        private var allocations: [UnsafeMutablePointer<Float>] = []
        private(set) var denseBytes = 0
        /// The token embedding table: rows in the GGUF mapping, or fp32 rows.
        enum Embedding { case gguf(GGUFTensorInfo), dense([Float]) }
        var embedding: Embedding
        var outputNorm: [Float] = []
        var output: Matrix!
        var layers: [Layer] = []

        init(gguf: GGUFFile, config c: ModelConfig) throws {
            self.gguf = gguf
            func info(_ name: String, _ shape: [Int]) throws -> GGUFTensorInfo {
                guard let t = gguf.tensorsByName[name] else {
                    throw EngineError(.modelMismatch, "\(gguf.path): tensor \(name) is missing")
                }
                guard t.shape == shape else {
                    throw EngineError(.modelMismatch, "\(gguf.path): tensor \(name) has shape \(t.shape), the model config needs \(shape)")
                }
                guard t.type.canDequantize else {
                    throw GGMLType.unsupported(tensor: name, type: t.type, in: gguf.path)
                }
                return t
            }
            func vector(_ name: String, _ n: Int) throws -> [Float] {
                try gguf.dequantize(info(name, [n]))
            }
            func matrix(_ name: String, _ shape: [Int]) throws -> Matrix {
                let t = try info(name, shape)
                if jk_activation_format(Int32(t.type.rawValue)) != Int32(JK_ACTIVATIONS_NONE) && shape[0] % 32 == 0 {
                    return .quantized(type: t.type, data: gguf.data(of: t), rows: shape[1], cols: shape[0])
                }
                let n = t.elementCount
                let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
                allocations.append(p)
                denseBytes += n * 4
                _ = jk_dequantize(Int32(t.type.rawValue), gguf.data(of: t), p, Int64(n))
                var minima: UnsafeMutablePointer<Float>?
                if t.type == .q4_1 || t.type == .q5_1 {
                    let m = UnsafeMutablePointer<Float>.allocate(capacity: n / 32)
                    allocations.append(m)
                    jk_block_minima(Int32(t.type.rawValue), gguf.data(of: t), m, Int64(n))
                    minima = m
                }
                return .dense(type: t.type, data: p, rows: shape[1], cols: shape[0], minima: minima)
            }
            let qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim
            embedding = .gguf(try info("token_embd.weight", [c.dim, c.vocabularySize]))
            outputNorm = try vector("output_norm.weight", c.dim)
            output = gguf.tensorsByName["output.weight"] == nil
                ? try matrix("token_embd.weight", [c.dim, c.vocabularySize])
                : try matrix("output.weight", [c.dim, c.vocabularySize])
            for i in 0..<c.layers {
                let p = "blk.\(i)."
                func bias(_ name: String, _ n: Int) throws -> [Float]? {
                    gguf.tensorsByName[p + name] == nil ? nil : try vector(p + name, n)
                }
                // Fused projections (phi3) are split into views of their rows: Q, K, V, and
                // gate then up.
                let wq, wk, wv, wGate, wUp: Matrix
                if gguf.tensorsByName[p + "attn_qkv.weight"] != nil {
                    guard gguf.tensorsByName[p + "attn_qkv.bias"] == nil else {
                        throw EngineError(.unsupported, "\(gguf.path): a bias on the fused QKV projection is not supported")
                    }
                    let qkv = try matrix(p + "attn_qkv.weight", [c.dim, qDim + 2 * kvDim])
                    (wq, wk, wv) = (qkv.rows(0, qDim), qkv.rows(qDim, kvDim), qkv.rows(qDim + kvDim, kvDim))
                } else {
                    (wq, wk, wv) = (try matrix(p + "attn_q.weight", [c.dim, qDim]), try matrix(p + "attn_k.weight", [c.dim, kvDim]),
                                    try matrix(p + "attn_v.weight", [c.dim, kvDim]))
                }
                if c.architecture == .phi3 {
                    let gateUp = try matrix(p + "ffn_up.weight", [c.dim, 2 * c.ffnDim])
                    (wGate, wUp) = (gateUp.rows(0, c.ffnDim), gateUp.rows(c.ffnDim, c.ffnDim))
                } else {
                    (wGate, wUp) = (try matrix(p + "ffn_gate.weight", [c.dim, c.ffnDim]), try matrix(p + "ffn_up.weight", [c.dim, c.ffnDim]))
                }
                var layer = Layer(
                    attnNorm: try vector(p + "attn_norm.weight", c.dim),
                    ffnNorm: try vector(p + "ffn_norm.weight", c.dim),
                    wq: wq, wk: wk, wv: wv,
                    wo: try matrix(p + "attn_output.weight", [qDim, c.dim]),
                    bq: try bias("attn_q.bias", qDim),
                    bk: try bias("attn_k.bias", kvDim),
                    bv: try bias("attn_v.bias", kvDim),
                    qNorm: c.normalizesQueryAndKeyHeads ? try vector(p + "attn_q_norm.weight", c.headDim) : nil,
                    kNorm: c.normalizesQueryAndKeyHeads ? try vector(p + "attn_k_norm.weight", c.headDim) : nil,
                    wGate: wGate, wUp: wUp,
                    wDown: try matrix(p + "ffn_down.weight", [c.ffnDim, c.dim]))
                if c.architecture == .gemma3 {
                    layer.attnPostNorm = try vector(p + "post_attention_norm.weight", c.dim)
                    layer.ffnPostNorm = try vector(p + "post_ffw_norm.weight", c.dim)
                }
                layers.append(layer)
            }
        }

        /// Loads a decoder from Hugging Face safetensors (`{prefix}embed_tokens`,
        /// `{prefix}layers.N.self_attn.q_proj` …, `lm_head` or tied). For llama, Q and K rows are
        /// permuted into the adjacent-pair rotary layout GGUF uses, as llama.cpp's converter does,
        /// so one forward pass serves both formats; qwen2 and qwen3 rotate halves as stored.
        init(safetensors st: any SafetensorsSource, config c: ModelConfig, prefix p: String, output: String?) throws {
            gguf = nil
            let qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim
            func dense(_ values: [Float], rows: Int, cols: Int) -> Matrix {
                let m = UnsafeMutablePointer<Float>.allocate(capacity: values.count)
                m.initialize(from: values, count: values.count)
                allocations.append(m)
                denseBytes += values.count * 4
                return .dense(type: .f32, data: m, rows: rows, cols: cols, minima: nil)
            }
            func matrix(_ name: String, rows: Int, cols: Int, permuteHeads: Int? = nil) throws -> Matrix {
                var w = try st.floats(name, shape: [rows, cols])
                if let heads = permuteHeads {
                    // Row h·hd + a·hd/2 + b (rotate-half) becomes row h·hd + 2b + a (pairs).
                    let hd = rows / heads, src = w
                    for h in 0..<heads { for a in 0..<2 { for b in 0..<hd / 2 {
                        let to = (h * hd + 2 * b + a) * cols, from = (h * hd + a * hd / 2 + b) * cols
                        w.replaceSubrange(to..<to + cols, with: src[from..<from + cols])
                    } } }
                }
                return dense(w, rows: rows, cols: cols)
            }
            let table = try st.floats(p + "embed_tokens.weight", shape: [c.vocabularySize, c.dim])
            embedding = .dense(table)
            outputNorm = try st.floats(p + "norm.weight", shape: [c.dim])
            self.output = try output.map { try matrix($0, rows: c.vocabularySize, cols: c.dim) } ?? dense(table, rows: c.vocabularySize, cols: c.dim)
            func bias(_ name: String, _ n: Int) throws -> [Float]? {
                !st.contains(name) ? nil : try st.floats(name, shape: [n])
            }
            for i in 0..<c.layers {
                let l = p + "layers.\(i)."
                layers.append(Layer(
                    attnNorm: try st.floats(l + "input_layernorm.weight", shape: [c.dim]),
                    ffnNorm: try st.floats(l + "post_attention_layernorm.weight", shape: [c.dim]),
                    wq: try matrix(l + "self_attn.q_proj.weight", rows: qDim, cols: c.dim, permuteHeads: c.ropeIsNeox ? nil : c.heads),
                    wk: try matrix(l + "self_attn.k_proj.weight", rows: kvDim, cols: c.dim, permuteHeads: c.ropeIsNeox ? nil : c.kvHeads),
                    wv: try matrix(l + "self_attn.v_proj.weight", rows: kvDim, cols: c.dim),
                    wo: try matrix(l + "self_attn.o_proj.weight", rows: c.dim, cols: qDim),
                    bq: try bias(l + "self_attn.q_proj.bias", qDim),
                    bk: try bias(l + "self_attn.k_proj.bias", kvDim),
                    bv: try bias(l + "self_attn.v_proj.bias", kvDim),
                    qNorm: c.normalizesQueryAndKeyHeads ? try st.floats(l + "self_attn.q_norm.weight", shape: [c.headDim]) : nil,
                    kNorm: c.normalizesQueryAndKeyHeads ? try st.floats(l + "self_attn.k_norm.weight", shape: [c.headDim]) : nil,
                    wGate: try matrix(l + "mlp.gate_proj.weight", rows: c.ffnDim, cols: c.dim),
                    wUp: try matrix(l + "mlp.up_proj.weight", rows: c.ffnDim, cols: c.dim),
                    wDown: try matrix(l + "mlp.down_proj.weight", rows: c.dim, cols: c.ffnDim)))
            }
        }

        deinit { allocations.forEach { $0.deallocate() } }

        /// Writes the embedding of `token` (dim floats) to `out`.
        func embed(_ token: Int32, into out: UnsafeMutablePointer<Float>) {
            switch embedding {
            case .gguf(let t):
                let rowBytes = t.type.byteCount(elements: t.shape[0])
                _ = jk_dequantize(Int32(t.type.rawValue), gguf!.data(of: t) + Int(token) * rowBytes, out, Int64(t.shape[0]))
            case .dense(let table):
                let dim = outputNorm.count
                table.withUnsafeBufferPointer { b in out.update(from: b.baseAddress! + Int(token) * dim, count: dim) }
            }
        }
    }
}

// MARK: - Forward pass

extension Transformer {
    /// The activations of one batch, quantized once and shared by every product that reads them.
    final class Activations {
        let x: UnsafePointer<Float>
        let n: Int
        let cols: Int
        /// Prepared activations by format (jk_activation_format), made on first use.
        private var prepared: [Int32: UnsafeMutableRawPointer] = [:]

        init(_ x: UnsafePointer<Float>, n: Int, cols: Int) { self.x = x; self.n = n; self.cols = cols }
        deinit { prepared.values.forEach { $0.deallocate() } }

        /// The activations in the format the kernel for `type` reads (jk_activation_format).
        func blocks(for type: GGMLType) -> UnsafeRawPointer {
            let format = jk_activation_format(Int32(type.rawValue))
            if let p = prepared[format] { return UnsafeRawPointer(p) }
            let p = UnsafeMutableRawPointer.allocate(byteCount: Int(jk_activation_bytes(format, Int64(n * cols))), alignment: 64)
            jk_prepare_activations(format, x, p, Int64(n * cols))
            prepared[format] = p
            return UnsafeRawPointer(p)
        }
    }

    /// Y[n × rows] = X[n × cols] · Wᵀ (+ bias).
    func project(_ a: Activations, _ w: Matrix, bias: [Float]? = nil, into y: UnsafeMutablePointer<Float>) {
        let n = a.n
        switch w {
        case .quantized(let type, let data, let rows, let cols):
            jk_matmul_quantized(Int32(type.rawValue), data, Int32(rows), Int32(cols), a.blocks(for: type), Int32(n), y, Int64(rows))
        case .dense(let type, let data, let rows, let cols, let minima):
            // Round x as llama.cpp's vec_dot_type would; Q8_1's stored sums need a correction term.
            let xq = Scratch(n * cols + n * cols / 32)
            defer { xq.free() }
            xq.p.update(from: a.x, count: n * cols)
            let delta = minima == nil ? nil : xq.p + n * cols
            jk_quantize_activations(Int32(type.rawValue), xq.p, Int64(n * cols), delta)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(cols),
                        1, xq.p, Int32(cols), data, Int32(cols), 0, y, Int32(rows))
            if let delta, let minima {
                let blocks = cols / 32
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(blocks),
                            1, delta, Int32(blocks), minima, Int32(blocks), 1, y, Int32(rows))
            }
        }
        if let bias {
            bias.withUnsafeBufferPointer { b in
                for t in 0..<n { jk_add(y + t * w.rows, b.baseAddress!, Int32(w.rows)) }
            }
        }
    }

    /// Several products of the same activations (Q, K and V; gate and up), as `project` gives
    /// each: quantized matrices run as one job on the pool, so the threads meet once for all of them.
    func project(_ a: Activations, _ products: [(w: Matrix, bias: [Float]?, y: UnsafeMutablePointer<Float>)]) {
        var batch: [jk_product] = [], batched: [Int] = []
        for (i, p) in products.enumerated() {
            guard case .quantized(let type, let data, let rows, let cols) = p.w, batch.count < Int(JK_MAX_PRODUCTS) else {
                project(a, p.w, bias: p.bias, into: p.y)
                continue
            }
            batch.append(jk_product(type: Int32(type.rawValue), w: data, rows: Int32(rows), cols: Int32(cols),
                                    x: a.blocks(for: type), y: p.y, ldy: Int64(rows)))
            batched.append(i)
        }
        jk_matmul_quantized_many(batch, Int32(batch.count), Int32(a.n))
        for i in batched {
            guard let bias = products[i].bias else { continue }
            let (y, rows) = (products[i].y, products[i].w.rows)
            bias.withUnsafeBufferPointer { b in
                for t in 0..<a.n { jk_add(y + t * rows, b.baseAddress!, Int32(rows)) }
            }
        }
    }

    /// RMS-normalizes `rows` consecutive vectors of `weight.count` floats from `x` into `out`
    /// (which may be `x`), each with `weight`: model-wide rows or single heads.
    func normalize(_ x: UnsafePointer<Float>, rows: Int, weight: [Float], into out: UnsafeMutablePointer<Float>) {
        let width = weight.count
        weight.withUnsafeBufferPointer { w in
            for r in 0..<rows { jk_rmsnorm(out + r * width, x + r * width, w.baseAddress!, Int32(width), config.normEpsilon) }
        }
    }

    func forwardBatch(_ input: Input, cache: KVCache, context: [KVRun], logits: Logits) -> [Float] {
        let c = config
        let n: Int
        switch input {
        case .tokens(let t): n = t.count
        case .embeddings(let e): n = e.count / c.dim
        }
        let p0 = cache.count
        let x = Scratch(n * c.dim)
        defer { x.free() }
        switch input {
        case .tokens(let tokens):
            for (t, token) in tokens.enumerated() { weights.embed(token, into: x.p + t * c.dim) }
            if c.embeddingScale != 1 { cblas_sscal(Int32(n * c.dim), c.embeddingScale, x.p, 1) }
        case .embeddings(let e): x.p.update(from: e, count: n * c.dim)
        }
        runLayers(0..<c.layers, x: x.p, n: n, rows: CacheRows(first: p0), cache: cache, context: context)
        cache.count = p0 + n

        let rows = logits == .all ? n : (logits == .last ? 1 : 0)
        guard rows > 0 else { return [] }
        let first = n - rows
        let xn = Scratch(rows * c.dim)
        defer { xn.free() }
        normalize(x.p + first * c.dim, rows: rows, weight: weights.outputNorm, into: xn.p)
        return [Float](unsafeUninitializedCapacity: rows * c.vocabularySize) { buf, count in
            project(Activations(xn.p, n: rows, cols: c.dim), weights.output, into: buf.baseAddress!)
            count = rows * c.vocabularySize
            if let cap = c.finalLogitSoftcap {
                for i in 0..<count { buf[i] = cap * tanhf(buf[i] * (1 / cap)) }
            }
        }
    }

    /// Where the `n` rows of a pass sit in the cache: consecutive from `first` (a prefill), or
    /// at the given rows (a selective recompute, see `blend`).
    struct CacheRows {
        let first: Int
        let scattered: [Int]?

        init(first: Int) { self.first = first; scattered = nil }
        init(_ rows: [Int]) { first = rows.first ?? 0; scattered = rows }

        subscript(t: Int) -> Int { scattered?[t] ?? first + t }
    }

    /// Runs `n` rows of hidden state `x` (`n × dim`, in place) through `layers`: each row's K/V
    /// go to its cache row (`rows`), and it attends to the context runs and to the cache rows up
    /// to its own.
    func runLayers(_ layers: Range<Int>, x: UnsafeMutablePointer<Float>, n: Int, rows: CacheRows, cache: KVCache, context: [KVRun]) {
        let c = config
        let relocated = context.contains { $0.positionDelta != 0 }
        let qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim

        let xn = Scratch(n * c.dim)
        let q = Scratch(n * qDim), k = Scratch(n * kvDim), v = Scratch(n * kvDim)
        let att = Scratch(n * qDim)
        let gate = Scratch(n * c.ffnDim), up = Scratch(n * c.ffnDim)
        // Rotary tables of the whole-context layers, then (if any) of the sliding ones.
        let half = c.ropeDims / 2, kinds = c.slidingLayers.isEmpty ? 1 : 2
        let cosT = Scratch(kinds * n * half), sinT = Scratch(kinds * n * half)
        // Queries before rotation, for runs that need them rotated to another position.
        let qRaw = Scratch(relocated ? n * qDim : 0)
        defer { [xn, q, k, v, att, gate, up, cosT, sinT, qRaw].forEach { $0.free() } }

        for kind in 0..<kinds {
            for t in 0..<n {
                let at = (kind * n + t) * half
                c.ropeTable(sliding: kind == 1, position: cache.basePosition + rows[t], cos: cosT.p + at, sin: sinT.p + at)
            }
        }
        let turns = QueryTurns(config: c, context: context, n: n, rows: rows, basePosition: cache.basePosition, kinds: kinds)
        defer { turns.free() }

        for li in layers {
            let layer = weights.layers[li]
            normalize(x, rows: n, weight: layer.attnNorm, into: xn.p)
            let normed = Activations(xn.p, n: n, cols: c.dim)
            project(normed, [(layer.wq, layer.bq, q.p), (layer.wk, layer.bk, k.p), (layer.wv, layer.bv, v.p)])
            if let qNorm = layer.qNorm, let kNorm = layer.kNorm {
                normalize(q.p, rows: n * c.heads, weight: qNorm, into: q.p)
                normalize(k.p, rows: n * c.kvHeads, weight: kNorm, into: k.p)
            }
            let neox: Int32 = c.ropeIsNeox ? 1 : 0
            let rotates = c.rotates(layer: li)
            if rotates {
                if relocated { qRaw.p.update(from: q.p, count: n * qDim) }
                let kind = kinds == 2 && c.slidingLayers.contains(li) ? 1 : 0
                for t in 0..<n {
                    let ct = cosT.p + (kind * n + t) * half, st = sinT.p + (kind * n + t) * half
                    jk_rope_apply(q.p + t * qDim, Int32(c.heads), Int32(c.headDim), Int32(c.ropeDims), ct, st, neox)
                    jk_rope_apply(k.p + t * kvDim, Int32(c.kvHeads), Int32(c.headDim), Int32(c.ropeDims), ct, st, neox)
                }
            }
            if let scattered = rows.scattered {
                for (t, row) in scattered.enumerated() { cache.store(layer: li, at: row, n: 1, k: k.p + t * kvDim, v: v.p + t * kvDim) }
            } else {
                cache.store(layer: li, at: rows.first, n: n, k: k.p, v: v.p)
            }
            // A layer without RoPE needs no turn of its query for a relocated run.
            let kind = kinds == 2 && c.slidingLayers.contains(li) ? 1 : 0
            attention(layer: li, q: q.p, qRaw: relocated && rotates ? qRaw.p : nil, turns: turns, kind: kind, n: n, rows: rows, cache: cache,
                      context: context, out: att.p)
            // Residual: xn is free here (Q/K/V are computed), so the product lands there first.
            project(Activations(att.p, n: n, cols: qDim), layer.wo, into: xn.p)
            if let post = layer.attnPostNorm { normalize(xn.p, rows: n, weight: post, into: xn.p) }
            jk_add(x, xn.p, Int32(n * c.dim))

            normalize(x, rows: n, weight: layer.ffnNorm, into: xn.p)
            let normed2 = Activations(xn.p, n: n, cols: c.dim)
            project(normed2, [(layer.wGate, nil, gate.p), (layer.wUp, nil, up.p)])
            if c.gatesWithGELU {
                jk_gelu_tanh(gate.p, Int64(n * c.ffnDim))
                for i in 0..<n * c.ffnDim { gate.p[i] *= up.p[i] }
            } else {
                jk_swiglu(gate.p, up.p, Int32(n * c.ffnDim))
            }
            project(Activations(gate.p, n: n, cols: c.ffnDim), layer.wDown, into: xn.p)
            if let post = layer.ffnPostNorm { normalize(xn.p, rows: n, weight: post, into: xn.p) }
            jk_add(x, xn.p, Int32(n * c.dim))
        }
    }

    /// Grouped-query attention of `n` new query rows (at cache rows `rows`) over the context
    /// runs and the cache rows up to each one's own (causal within the cache), on the worker
    /// pool. With two or more rows a task is one KV head for a block of rows
    /// (`attentionTokensPerTask`): all their query heads that share the KV head are scored
    /// and mixed in one pass over each context run, so a stored row is widened once for all of
    /// them. A single row (decoding) is split by query head, so that both threads have work.
    ///
    /// Queries and attention weights are rounded to fp16, as llama.cpp does when it multiplies
    /// them with its fp16 cache; the cache itself is fp16 already.
    func attention(layer: Int, q: UnsafeMutablePointer<Float>, qRaw: UnsafePointer<Float>?, turns: QueryTurns, kind: Int, n: Int,
                   rows: CacheRows, cache: KVCache, context: [KVRun], out: UnsafeMutablePointer<Float>) {
        let c = config
        jk_round_fp16(q, Int64(n * c.heads * c.headDim))
        let headsPerTask = n == 1 ? 1 : c.heads / c.kvHeads
        let tokensPerTask = n == 1 ? 1 : Self.attentionTokensPerTask(n: n, kvHeads: c.kvHeads, threads: Int(jk_pool_threads()))
        let blocks = (n + tokensPerTask - 1) / tokensPerTask
        var job = AttentionJob(q: q, qRaw: qRaw, out: out, cache: cache, context: context, contextRows: context.reduce(0) { $0 + $1.tokenCount },
                               turns: turns, kind: kind, layer: layer, n: n, rows: rows, config: c, scale: c.attentionScale,
                               window: c.window(layer: layer), headsPerTask: headsPerTask, tokensPerTask: tokensPerTask,
                               order: n == 1 ? Int32(JK_ORDER_VECTOR) : Int32(JK_ORDER_TILED))
        withUnsafeMutablePointer(to: &job) { ctx in
            jk_parallel({ raw, task in
                raw!.assumingMemoryBound(to: AttentionJob.self).pointee.run(task: Int(task))
            }, ctx, Int32(blocks * c.heads / headsPerTask))
        }
    }

    /// Rows per attention task in a prefill of `n` rows: as many as still give each thread two
    /// tasks (KV heads × blocks of rows), at most 16, so that a stored row, widened once per
    /// task, serves many queries. A 21-row question on SmolLM2 (3 KV heads) with 2 threads runs
    /// as 6 tasks of 11 or 10 rows × 3 heads; `jarvis-bench store` measured blocks of 4, 8 and
    /// 11 rows at k = 8 entries: 135, 125 and 124 ms.
    static func attentionTokensPerTask(n: Int, kvHeads: Int, threads: Int) -> Int {
        let blocks = max(1, (2 * threads + kvHeads - 1) / kvHeads)
        return min(16, max(1, (n + blocks - 1) / blocks))
    }
}

/// The rotary tables that turn each new row's query to where a relocated context run's keys
/// were computed: one table per distinct position delta, layer kind (whole-context or sliding)
/// and row, made once per forward pass rather than by every attention task of every layer.
struct QueryTurns {
    /// Per context run: its table set, or nil when the run is not moved.
    let setOfRun: [Int?]
    let kinds: Int
    let n: Int
    let half: Int
    /// cos then sin (`half` floats each) per (set, kind, row).
    let tables: Scratch

    init(config c: ModelConfig, context: [KVRun], n: Int, rows: Transformer.CacheRows, basePosition: Int, kinds: Int) {
        let deltas = Array(Set(context.map(\.positionDelta).filter { $0 != 0 })).sorted()
        setOfRun = context.map { run in deltas.firstIndex(of: run.positionDelta) }
        self.kinds = kinds
        self.n = n
        half = c.ropeDims / 2
        tables = Scratch(deltas.count * kinds * n * 2 * half)
        for (set, delta) in deltas.enumerated() {
            for kind in 0..<kinds {
                for t in 0..<n {
                    let at = tables.p + ((set * kinds + kind) * n + t) * 2 * half
                    c.ropeTable(sliding: kind == 1, position: basePosition + rows[t] - delta, cos: at, sin: at + half)
                }
            }
        }
    }

    /// The cos table of row `t` for the run at `index` in a layer of `kind`; sin follows it.
    func table(run index: Int, kind: Int, row t: Int) -> UnsafeMutablePointer<Float>? {
        guard let set = setOfRun[index] else { return nil }
        return tables.p + ((set * kinds + kind) * n + t) * 2 * half
    }

    func free() { tables.free() }
}

/// The attention of a block of rows for the query heads of one KV head (or, decoding, one query
/// head); see `Transformer.attention`. The task's queries are numbered row-major: query
/// `r · headsPerTask + i` is row `t0 + r`, head `h0 + i`.
struct AttentionJob {
    let q: UnsafeMutablePointer<Float>
    let qRaw: UnsafePointer<Float>?
    let out: UnsafeMutablePointer<Float>
    let cache: KVCache
    let context: [KVRun]
    /// The context runs' rows in all.
    let contextRows: Int
    let turns: QueryTurns
    /// The layer's kind in `turns`.
    let kind: Int
    let layer: Int
    /// New rows in the pass.
    let n: Int
    let rows: Transformer.CacheRows
    let config: ModelConfig
    let scale: Float
    /// The layer's sliding window, nil when it sees the whole context.
    let window: Int?
    /// Query heads per task: all those of a KV head, or one.
    let headsPerTask: Int
    /// New rows per task.
    let tokensPerTask: Int
    /// Summation order: llama.cpp's single-row order for one query row, its tiled one otherwise.
    let order: Int32

    func run(task: Int) {
        let c = config, hd = c.headDim, qDim = c.heads * hd, m = headsPerTask
        let groups = c.heads / m
        let t0 = (task / groups) * tokensPerTask, h0 = (task % groups) * m
        let tokens = min(tokensPerTask, n - t0), queries = tokens * m
        let kvh = h0 / (c.heads / c.kvHeads)
        let slot = layer * c.kvHeads + kvh
        // Row r of the block sees the context and cache rows up to its own.
        let own = (0..<tokens).map { rows[t0 + $0] + 1 }
        let stride = contextRows + own.max()!
        // Query j's scores are row j of `scores`, its weighted sum of V state j of `state`.
        let scores = Scratch(queries * stride), block = Scratch(queries * hd), state = Scratch(queries * 64 * hd)
        defer { scores.free(); block.free(); state.free() }
        for r in 0..<tokens { block.p.advanced(by: r * m * hd).update(from: q + (t0 + r) * qDim + h0 * hd, count: m * hd) }
        let all = Int32(queries), stride32 = Int32(stride)

        // Scores: each run with the queries turned to where the run's keys were computed.
        let rotated = Scratch(qRaw != nil ? queries * hd : 0)
        defer { rotated.free() }
        var offset = 0
        for (index, run) in context.enumerated() {
            var qv = UnsafePointer(block.p)
            if let qRaw, run.positionDelta != 0 {
                for r in 0..<tokens {
                    let cosT = turns.table(run: index, kind: kind, row: t0 + r)!
                    let dst = rotated.p + r * m * hd
                    dst.update(from: qRaw + (t0 + r) * qDim + h0 * hd, count: m * hd)
                    jk_rope_apply(dst, Int32(m), Int32(hd), Int32(c.ropeDims), cosT, cosT + turns.half, c.ropeIsNeox ? 1 : 0)
                }
                jk_round_fp16(rotated.p, Int64(queries * hd))
                qv = UnsafePointer(rotated.p)
            }
            let count = Int32(run.tokenCount), runScale = scale * run.logitScale, s = scores.p + offset
            switch run.format {
            case .fp16:
                jk_attn_scores_f16(qv, all, run.keys[slot].assumingMemoryBound(to: UInt16.self), count, Int32(hd), runScale, s, stride32, order)
            case .q8(let keyScales, _):
                jk_attn_scores_q8(qv, all, run.keys[slot].assumingMemoryBound(to: Int8.self), keyScales[slot], count, Int32(hd), runScale, s,
                                  stride32, order)
            case .q4(let keyChannels, _):
                jk_attn_scores_q4(qv, all, run.keys[slot].assumingMemoryBound(to: UInt8.self), keyChannels[slot], count, Int32(hd), runScale, s,
                                  stride32, order)
            }
            if run.logitBias != 0 {
                for j in 0..<queries { for i in 0..<run.tokenCount { s[j * stride + i] += run.logitBias } }
            }
            offset += run.tokenCount
        }
        // Each row's own cache rows. A sliding layer masks keys `window` or more positions back,
        // by their logical positions; cache rows that far back are neither scored nor mixed
        // (zero weights would add nothing).
        var first = [Int](repeating: 0, count: tokens)
        for r in 0..<tokens {
            let row = rows[t0 + r], heads = scores.p + r * m * stride
            if let window {
                let oldest = cache.basePosition + row - window + 1
                first[r] = min(own[r], max(0, oldest - cache.basePosition))
                for i in 0..<m {
                    let s = heads + i * stride
                    offset = 0
                    for run in context {
                        for j in 0..<min(run.tokenCount, max(0, oldest - run.placedPosition)) { s[offset + j] = -.infinity }
                        offset += run.tokenCount
                    }
                    for j in 0..<first[r] { s[contextRows + j] = -.infinity }
                }
            }
            jk_attn_scores_f16(block.p + r * m * hd, Int32(m), cache.keys(layer: layer, head: kvh) + first[r] * hd, Int32(own[r] - first[r]),
                               Int32(hd), scale, heads + contextRows + first[r], stride32, order)
            for i in 0..<m {
                jk_softmax(heads + i * stride, Int32(contextRows + own[r]))
                jk_round_fp16(heads + i * stride, Int64(contextRows + own[r]))
            }
        }

        // Weighted sum of V over all rows, in the order of one logical row. The tiled order
        // uses the state's first 16 slots only.
        let slots = order == Int32(JK_ORDER_TILED) ? 16 : 64
        for j in 0..<queries { (state.p + j * 64 * hd).update(repeating: 0, count: slots * hd) }
        offset = 0
        for run in context {
            let count = Int32(run.tokenCount), p = scores.p + offset
            switch run.format {
            case .fp16:
                jk_attn_mix_rows(state.p, all, p, stride32, run.values[slot].assumingMemoryBound(to: UInt16.self), count, Int32(hd), Int32(offset), order)
            case .q8(_, let valueScales):
                jk_attn_mix_rows_q8(state.p, all, p, stride32, run.values[slot].assumingMemoryBound(to: Int8.self), valueScales[slot], count,
                                    Int32(hd), Int32(offset), order)
            case .q4(_, let valueGroups):
                jk_attn_mix_rows_q4(state.p, all, p, stride32, run.values[slot].assumingMemoryBound(to: UInt8.self), valueGroups[slot], count,
                                    Int32(hd), Int32(offset), order)
            }
            offset += run.tokenCount
        }
        for r in 0..<tokens {
            let heads = state.p + r * m * 64 * hd
            jk_attn_mix_rows(heads, Int32(m), scores.p + r * m * stride + offset + first[r], stride32, cache.values(layer: layer, head: kvh) + first[r] * hd,
                             Int32(own[r] - first[r]), Int32(hd), Int32(offset + first[r]), order)
            for i in 0..<m { jk_attn_mix_end(heads + i * 64 * hd, Int32(hd), out + (t0 + r) * qDim + (h0 + i) * hd, order) }
        }
    }
}

extension ModelConfig {
    /// Fills the cos/sin tables (`ropeDims / 2` floats each) of rotary position `position` in
    /// a sliding or a whole-context layer: that kind's base and linear scaling, the frequency
    /// factors when the model has them, and (with `magnitude`) phi3's attention factor. Every
    /// rotation the engine makes, of new rows and of queries turned to a relocated run, goes
    /// through here.
    func ropeTable(sliding: Bool, position: Int, cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>,
                   magnitude: Bool = true) {
        let base = sliding ? ropeBaseSliding ?? ropeBase : ropeBase
        let p = sliding || ropeLinearFactor == 1 ? Float(position) : Float(position) * (1 / ropeLinearFactor)
        if let factors = ropeFrequencyFactors {
            factors.withUnsafeBufferPointer { f in jk_rope_table(p, Int32(ropeDims), base, f.baseAddress, cos, sin) }
        } else {
            jk_rope_table(p, Int32(ropeDims), base, nil, cos, sin)
        }
        if magnitude && ropeMagnitude != 1 {
            for i in 0..<ropeDims / 2 { cos[i] *= ropeMagnitude; sin[i] *= ropeMagnitude }
        }
    }
}

/// A heap buffer of floats for one forward pass.
struct Scratch {
    let p: UnsafeMutablePointer<Float>
    init(_ count: Int) { p = .allocate(capacity: max(count, 1)) }
    func free() { p.deallocate() }
}

/// Process-wide compute threads: the engine's worker pool (quantized products, attention)
/// and OpenBLAS's pool (products with dense weights), both set explicitly.
public enum ComputeThreads {
    private static let initialize: Void = {
        _ = jk_select_matmul_kernels(2)
        _ = jk_select_attention_kernels(1)
        jk_select_exp_kernels(1)
        openblas_set_num_threads(1)
    }()

    static func ensureInitialized() { _ = initialize }

    /// Sets the number of threads the engine computes with.
    public static func set(_ count: Int) {
        _ = initialize
        let n = max(1, count)
        _ = jk_pool_set_threads(Int32(n))
        openblas_set_num_threads(Int32(n))
    }

    /// Threads in use.
    public static var current: Int { Int(jk_pool_threads()) }
}
