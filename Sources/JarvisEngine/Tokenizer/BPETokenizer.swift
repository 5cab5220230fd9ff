/// A BPE tokenizer read from a GGUF file: byte-level BPE (GPT-2 style, `tokenizer.ggml.model` =
/// "gpt2": SmolLM, Llama 3, Qwen, Phi-4) or SentencePiece-style BPE with byte fallback ("llama":
/// Llama 2, Gemma, Phi-3). Token ids match llama.cpp's `llama_tokenize` with `add_special` false:
/// special tokens (where asked for) are cut out of the text first, and the rest is merged — after
/// pre-tokenization into words (byte-level), or as a whole with spaces written "▁" (SentencePiece).
///
/// Text is plain text by default: `encode(_:)` never produces a special token, whatever the
/// text holds. Control tokens come only from a `Prompt`'s markup, which a `PromptFormat` writes.
public final class BPETokenizer: Sendable {
    /// Beginning-of-sequence token, if the file names one.
    public let bos: Int32?
    /// End-of-sequence token.
    public let eos: Int32
    /// Number of tokens in the vocabulary (valid ids are `0..<vocabularySize`).
    public let vocabularySize: Int
    /// Whether the model expects `bos` before a prompt (`tokenizer.ggml.add_bos_token`).
    /// `encode` never adds it; callers that build a prompt do.
    public let addsBOS: Bool
    /// The chat format of the model's `tokenizer.chat_template`, or nil if the file has none or
    /// one this engine does not recognise.
    public let promptFormat: PromptFormat?
    /// The `tokenizer.ggml.pre` name the tokenizer was built for ("default" when the file names
    /// none, as SentencePiece vocabularies do).
    public let preTokenizerName: String
    /// The `tokenizer.ggml.model` name: "gpt2" or "llama".
    public let modelName: String

    /// How text between special tokens becomes tokens.
    enum Merger: Sendable {
        case byteLevel(PreTokenizer, MergeTable)
        /// `spacePrefix`: a space goes before every run of text that starts the input or follows
        /// a special token (`tokenizer.ggml.add_space_prefix`; true for Llama 2, false for Gemma).
        case sentencePiece(SentencePieceBPE, spacePrefix: Bool)
    }

    let vocabulary: Vocabulary
    let merger: Merger

    /// Builds the tokenizer from a GGUF file's `tokenizer.*` metadata.
    /// - Throws: `EngineError` naming the file: `.unsupported` for a tokenizer model other than
    ///   "gpt2" and "llama" or a pre-tokenizer not implemented here; `.modelMismatch` if the
    ///   vocabulary, merges, scores or special token ids are missing or malformed.
    public init(gguf: GGUFFile) throws {
        let path = gguf.path
        guard let model = gguf["tokenizer.ggml.model"]?.string else {
            throw EngineError(.modelMismatch, "\(path): tokenizer.ggml.model is missing")
        }
        let preName = gguf["tokenizer.ggml.pre"]?.string ?? "default"
        switch model {
        case "gpt2":
            guard let pre = PreTokenizer(name: preName) else {
                throw EngineError(.unsupported, "\(path): pre-tokenizer \"\(preName)\" is not supported (supported: smollm, gpt-2, llama-bpe, qwen2, gpt-4o and their aliases)")
            }
            let vocabulary = try Vocabulary(gguf: gguf)
            self.vocabulary = vocabulary
            self.merger = .byteLevel(pre, try MergeTable(gguf: gguf, vocabulary: vocabulary))
            // llama.cpp's default: the llama3 family adds BOS, other BPE vocabularies do not.
            self.addsBOS = gguf["tokenizer.ggml.add_bos_token"]?.bool ?? pre.ignoresMerges
        case "llama":
            let vocabulary = try Vocabulary(gguf: gguf, sentencePiece: true)
            self.vocabulary = vocabulary
            self.merger = .sentencePiece(try SentencePieceBPE(gguf: gguf, vocabulary: vocabulary),
                                         spacePrefix: gguf["tokenizer.ggml.add_space_prefix"]?.bool ?? true)
            self.addsBOS = gguf["tokenizer.ggml.add_bos_token"]?.bool ?? true
        default:
            throw EngineError(.unsupported, "\(path): tokenizer model \"\(model)\" is not supported (supported: \"gpt2\", byte-level BPE, and \"llama\", SentencePiece-style BPE)")
        }
        self.modelName = model
        self.preTokenizerName = preName
        self.bos = vocabulary.bos
        self.eos = vocabulary.eos
        self.vocabularySize = vocabulary.count
        self.promptFormat = gguf["tokenizer.chat_template"]?.string.flatMap(PromptFormat.init(jinja:))
    }

    // MARK: - Encoding

    /// Which special tokens' texts `encode` turns into those tokens.
    public enum SpecialTokens: Sendable {
        /// None: the text is plain text whatever it holds. What user text always gets.
        case none
        /// User-defined tokens only (llama.cpp's `parse_special` false).
        case userDefined
        /// Control tokens too (llama.cpp's `parse_special` true): a chat format's own markup.
        case all
    }

    /// The tokens of `text`, without BOS or EOS; special tokens only as `specials` says.
    public func encode(_ text: String, specials: SpecialTokens = .none) -> [Int32] {
        let bytes = Array(text.utf8)
        return encode(bytes, fragments: partition(bytes, 0..<bytes.count, specials: specials))
    }

    /// The tokens of a prompt: its markup with every special token parsed, its text as plain
    /// text. Text on either side of a piece boundary is tokenized as one run, so splitting text
    /// into pieces never changes its tokens.
    public func encode(_ prompt: Prompt) -> [Int32] {
        var bytes: [UInt8] = [], fragments: [Fragment] = []
        for piece in prompt.pieces {
            let start = bytes.count
            switch piece {
            case .text(let s):
                bytes += s.utf8
                fragments.append(.text(start..<bytes.count))
            case .markup(let s):
                bytes += s.utf8
                fragments += partition(bytes, start..<bytes.count, specials: .all)
            }
        }
        // Join neighbouring runs of text.
        var joined: [Fragment] = []
        for f in fragments {
            if case .text(let r) = f, case .text(let previous)? = joined.last {
                joined[joined.count - 1] = .text(previous.lowerBound..<r.upperBound)
            } else {
                joined.append(f)
            }
        }
        return encode(bytes, fragments: joined)
    }

    /// Every special token's text: control, user-defined and unknown tokens.
    public var specialTokenTexts: [String] {
        vocabulary.specialTokens.map { String(decoding: $0.utf8, as: UTF8.self) }
    }

    private enum Fragment {
        case text(Range<Int>)
        case token(Int32)
    }

    private func encode(_ bytes: [UInt8], fragments: [Fragment]) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 3 + 1)
        var afterSpecial = true, stripSpace = false
        for fragment in fragments {
            switch fragment {
            case .token(let t):
                out.append(t)
                afterSpecial = true
                stripSpace = vocabulary.stripsSpaceAfter.contains(t)
            case .text(var range) where !range.isEmpty:
                if stripSpace {
                    // C's isspace: space, \t, \n, \v, \f, \r.
                    while let b = range.first.map({ bytes[$0] }), b == 0x20 || (0x09...0x0D).contains(b) { range = range.dropFirst() }
                    stripSpace = false
                    if range.isEmpty { continue }
                }
                switch merger {
                case .byteLevel(let pre, let merges):
                    encodeText(bytes[range], preTokenizer: pre, merges: merges, into: &out)
                case .sentencePiece(let spm, let spacePrefix):
                    // llama.cpp puts the space before the text at the start and after each special token.
                    spm.apply(to: spacePrefix && afterSpecial ? ArraySlice([0x20] + bytes[range]) : bytes[range], into: &out)
                }
                afterSpecial = false
            case .text: break
            }
        }
        return out
    }

    /// Cuts special tokens out of `bytes[range]`: each special token in turn, longest first,
    /// splits every text fragment at each of its occurrences (llama.cpp's
    /// `tokenizer_st_partition`).
    private func partition(_ bytes: [UInt8], _ range: Range<Int>, specials: SpecialTokens) -> [Fragment] {
        guard !range.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(range)]
        guard specials != .none else { return fragments }
        for special in vocabulary.specialTokens where specials == .all || !special.onlyWhenParsingSpecial {
            let needle = special.utf8
            var result: [Fragment] = []
            var changed = false
            for fragment in fragments {
                guard case .text(let range) = fragment else {
                    result.append(fragment)
                    continue
                }
                var start = range.lowerBound
                while let match = Self.find(needle, in: bytes, range: start..<range.upperBound) {
                    if match > start { result.append(.text(start..<match)) }
                    result.append(.token(special.id))
                    start = match + needle.count
                    changed = true
                }
                if start < range.upperBound { result.append(.text(start..<range.upperBound)) }
            }
            if changed { fragments = result }
        }
        return fragments
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], range: Range<Int>) -> Int? {
        guard let first = needle.first, range.count >= needle.count else { return nil }
        var i = range.lowerBound
        let last = range.upperBound - needle.count
        while i <= last {
            if bytes[i] == first {
                var j = 1
                while j < needle.count, bytes[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// Pre-tokenizes one fragment of ordinary text and appends the BPE tokens of each word.
    private func encodeText(_ bytes: ArraySlice<UInt8>, preTokenizer: PreTokenizer, merges: MergeTable,
                            into out: inout [Int32]) {
        // Fragments are cut at special tokens, which are whole UTF-8 sequences, so each
        // fragment is valid UTF-8 on its own.
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        var offsets = [Int](repeating: 0, count: scalars.count + 1)
        var offset = bytes.startIndex
        for (i, s) in scalars.enumerated() {
            offsets[i] = offset
            offset += UTF8.width(s)
        }
        offsets[scalars.count] = offset
        for word in preTokenizer.split(scalars) {
            let wordBytes = bytes[offsets[word.lowerBound]..<offsets[word.upperBound]]
            if preTokenizer.ignoresMerges,
               let t = vocabulary.ids[String(decoding: ByteLevel.encode(wordBytes), as: UTF8.self)] {
                out.append(t)
                continue
            }
            merges.apply(to: wordBytes, into: &out)
        }
    }

    // MARK: - Decoding

    /// The bytes a token stands for: its text for special (control, user-defined, unknown)
    /// tokens, the decoded bytes for normal ones, nothing for unused or out-of-range ids. A
    /// token may end in the middle of a UTF-8 sequence; see `UTF8StreamDecoder`.
    public func piece(_ token: Int32) -> [UInt8] {
        guard token >= 0, Int(token) < vocabulary.count else { return [] }
        let attributes = vocabulary.attributes[Int(token)]
        let text = vocabulary.texts[Int(token)]
        if !attributes.isDisjoint(with: [.control, .userDefined, .unknown]) { return Array(text.utf8) }
        if attributes.contains(.normal) {
            guard case .sentencePiece = merger else { return ByteLevel.decode(text) }
            var out: [UInt8] = []
            let utf8 = Array(text.utf8)
            var i = 0
            while i < utf8.count {
                if utf8[i...].starts(with: SentencePieceBPE.space) {
                    out.append(0x20)
                    i += 3
                } else {
                    out.append(utf8[i])
                    i += 1
                }
            }
            return out
        }
        if attributes.contains(.byte), let b = SentencePieceBPE.byte(ofByteToken: text) { return [b] }
        return []
    }

    /// The text of a token sequence, special tokens written as their text. Bytes that do not
    /// form valid UTF-8 become U+FFFD.
    public func decode(_ tokens: [Int32]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count * 4)
        for t in tokens { bytes.append(contentsOf: piece(t)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Tokens

    /// Whether generation should stop at this token: EOS, end-of-turn tokens such as
    /// "<|im_end|>" and "<|endoftext|>", and the others llama.cpp treats as end of generation.
    public func isEndOfGeneration(_ token: Int32) -> Bool {
        vocabulary.endOfGeneration.contains(token)
    }

    /// Every token at which generation stops (see `isEndOfGeneration`).
    public var endOfGenerationTokens: Set<Int32> { Set(vocabulary.endOfGeneration) }

    /// The id of the token whose vocabulary text is exactly `text` (for special tokens, their
    /// literal text, e.g. "<|im_end|>"), or nil.
    public func token(forText text: String) -> Int32? {
        vocabulary.ids[text]
    }

    /// Whether the token is a control token, such as "<|im_start|>" (text shown to a person
    /// usually leaves these out).
    public func isControl(_ token: Int32) -> Bool {
        token >= 0 && Int(token) < vocabulary.count && vocabulary.attributes[Int(token)].contains(.control)
    }

    /// The model's chat format.
    /// - Throws: `.unsupported` if the model's chat template was missing or not recognised.
    public func chatFormat() throws -> PromptFormat {
        guard let promptFormat else {
            throw EngineError(.unsupported, "the model has no chat template this engine recognises (\(PromptFormat.supportedNames))")
        }
        return promptFormat
    }
}
