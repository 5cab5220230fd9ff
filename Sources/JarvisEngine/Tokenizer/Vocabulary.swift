/// The token list of a GGUF vocabulary (byte-level or SentencePiece-style): each token's text, its kind, which tokens
/// are special (matched in text before BPE) and which end generation — all decided the way
/// llama.cpp's `llama_vocab::load` decides them, so token ids agree with llama.cpp.
struct Vocabulary: Sendable {
    /// What a token is, from `tokenizer.ggml.token_type` (llama.cpp's token attributes).
    struct Attributes: OptionSet, Sendable {
        let rawValue: UInt8
        static let undefined = Attributes(rawValue: 1 << 0)
        static let unknown = Attributes(rawValue: 1 << 1)
        static let unused = Attributes(rawValue: 1 << 2)
        static let normal = Attributes(rawValue: 1 << 3)
        static let control = Attributes(rawValue: 1 << 4)
        static let userDefined = Attributes(rawValue: 1 << 5)
        static let byte = Attributes(rawValue: 1 << 6)

        /// GGUF token types: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte.
        init(tokenType: Int) {
            switch tokenType {
            case 1: self = .normal
            case 2: self = .unknown
            case 3: self = .control
            case 4: self = .userDefined
            case 5: self = .unused
            case 6: self = .byte
            default: self = .undefined
            }
        }

        init(rawValue: UInt8) { self.rawValue = rawValue }
    }

    /// A token matched verbatim in text before pre-tokenization.
    struct SpecialToken: Sendable {
        let id: Int32
        let utf8: [UInt8]
        /// Control and unknown tokens are matched only when the caller asks for special tokens;
        /// user-defined ones always are.
        let onlyWhenParsingSpecial: Bool
    }

    /// Token texts as stored (byte-level alphabet for normal tokens).
    let texts: [String]
    let attributes: [Attributes]
    /// Text to id; for a text listed twice, the later id (as llama.cpp).
    let ids: [String: Int32]
    /// Special tokens in the order they are matched: longest text first, then lower id.
    let specialTokens: [SpecialToken]
    /// Tokens that end generation.
    let endOfGeneration: Set<Int32>
    /// Special tokens after which white space is dropped (llama.cpp's RSTRIP attribute, which it
    /// gives the special tokens of a model named Phi-3 but `<unk>`, `<s>` and `<|endoftext|>`).
    let stripsSpaceAfter: Set<Int32>
    /// `tokenizer.ggml.bos_token_id`, if the file gives one.
    let bos: Int32?
    /// `tokenizer.ggml.eos_token_id`, or else the id of "<|endoftext|>" or "<|im_end|>"
    /// (SentencePiece vocabularies: 2).
    let eos: Int32
    /// `tokenizer.ggml.unknown_token_id` (SentencePiece vocabularies: 0 by default), if any.
    let unknown: Int32?

    var count: Int { texts.count }

    /// Reads `tokenizer.ggml.tokens`, `tokenizer.ggml.token_type` and the special token ids;
    /// `sentencePiece` gives the missing ids llama.cpp's defaults for such a vocabulary
    /// (unknown 0, BOS 1, EOS 2).
    /// - Throws: `.modelMismatch` naming the file if the token list is missing or malformed,
    ///   or no end-of-sequence token can be found.
    init(gguf: GGUFFile, sentencePiece: Bool = false) throws {
        let path = gguf.path
        guard let list = gguf["tokenizer.ggml.tokens"]?.array else {
            throw EngineError(.modelMismatch, "\(path): tokenizer.ggml.tokens is missing or not an array")
        }
        guard !list.isEmpty, list.count < Int(Int32.max) else {
            throw EngineError(.modelMismatch, "\(path): tokenizer.ggml.tokens has \(list.count) entries")
        }
        var texts: [String] = []
        texts.reserveCapacity(list.count)
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(list.count)
        for (i, value) in list.enumerated() {
            guard var text = value.string else {
                throw EngineError(.modelMismatch, "\(path): tokenizer.ggml.tokens[\(i)] is not a string")
            }
            if text.isEmpty { text = "[EMPTY_\(i)]" }
            ids[text] = Int32(i)
            texts.append(text)
        }

        var attributes = [Attributes](repeating: .normal, count: texts.count)
        if let types = gguf["tokenizer.ggml.token_type"] {
            guard let types = types.array, types.count >= texts.count else {
                throw EngineError(.modelMismatch, "\(path): tokenizer.ggml.token_type must be an array of \(texts.count) integers")
            }
            for i in texts.indices {
                guard let t = types[i].int else {
                    throw EngineError(.modelMismatch, "\(path): tokenizer.ggml.token_type[\(i)] is not an integer")
                }
                attributes[i] = Attributes(tokenType: t)
            }
        }

        // llama.cpp recognises end-of-turn, fill-in-the-middle and end-of-generation tokens by
        // their text, and treats each as a control token whatever its declared type.
        func id(_ key: String) -> Int32? {
            gguf[key]?.int.flatMap { $0 >= 0 && $0 < texts.count ? Int32($0) : nil }
        }
        func firstID(_ names: [String]) -> Int32? {
            names.compactMap { ids[$0] }.min()
        }
        var eog = Set<Int32>()
        // An id given in the file wins; one found by its text also becomes a control token.
        func special(_ key: String, _ names: [String]) -> Int32? {
            if let t = id(key) { return t }
            guard let t = firstID(names) else { return nil }
            attributes[Int(t)].insert(.control)
            return t
        }
        let fim = [
            special("tokenizer.ggml.fim_pad_token_id", ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
            special("tokenizer.ggml.fim_rep_token_id", ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
            special("tokenizer.ggml.fim_sep_token_id", ["<|file_sep|>"]),
        ]
        for case let t? in fim { eog.insert(t) }
        let eot = special("tokenizer.ggml.eot_token_id", [
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
            "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
        ])
        let eom = special("tokenizer.ggml.eom_token_id", ["<|eom_id|>"])
        let defaultID: (Int32) -> Int32? = { sentencePiece && Int($0) < texts.count ? $0 : nil }
        guard let eos = id("tokenizer.ggml.eos_token_id") ?? ids["<|endoftext|>"] ?? ids["<|im_end|>"] ?? defaultID(2) else {
            throw EngineError(.modelMismatch, "\(path): tokenizer.ggml.eos_token_id is missing or out of range")
        }
        for name in ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                     "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                     "<|end_of_text|>", "<end_of_utterance>"] {
            if let t = ids[name] {
                eog.insert(t)
                attributes[Int(t)].insert(.control)
            }
        }
        eog.insert(eos)
        for case let t? in [eot, eom] { eog.insert(t) }
        // gpt-oss: these are always rendered, and "<|end|>" does not end generation there.
        for name in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let t = ids[name] { attributes[Int(t)] = .userDefined }
        }
        let eogTexts = Set(eog.map { texts[Int($0)] })
        if let end = ids["<|end|>"], eog.contains(end),
           (eogTexts.contains("<|return|>") && (eogTexts.contains("<|call|>") || eogTexts.contains("<|calls|>")))
            || ((eogTexts.contains("<|call|>") || eogTexts.contains("<|calls|>")) && eogTexts.contains("<|flush|>")) {
            eog.remove(end)
            attributes[Int(end)] = .userDefined
        }

        var specials: [SpecialToken] = []
        for i in texts.indices where !attributes[i].isDisjoint(with: [.control, .userDefined, .unknown]) {
            specials.append(SpecialToken(id: Int32(i), utf8: Array(texts[i].utf8),
                                         onlyWhenParsingSpecial: !attributes[i].isDisjoint(with: [.control, .unknown])))
        }
        specials.sort { $0.utf8.count != $1.utf8.count ? $0.utf8.count > $1.utf8.count : $0.id < $1.id }

        var rstrip = Set<Int32>()
        let name = gguf["general.name"]?.string?.lowercased() ?? ""
        if name.contains("phi-3") || name.contains("phi3") {
            rstrip = Set(specials.map(\.id))
            if let t = ids["</s>"] { rstrip.insert(t) }
            for text in ["<unk>", "<s>", "<|endoftext|>"] { if let t = ids[text] { rstrip.remove(t) } }
        }
        self.stripsSpaceAfter = rstrip
        self.texts = texts
        self.attributes = attributes
        self.ids = ids
        self.specialTokens = specials
        self.endOfGeneration = eog
        self.bos = id("tokenizer.ggml.bos_token_id") ?? defaultID(1)
        self.eos = eos
        self.unknown = id("tokenizer.ggml.unknown_token_id") ?? defaultID(0)
    }
}
