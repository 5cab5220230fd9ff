/// The chat prompt formats this engine can render. GGUF files carry their template as Jinja
/// (`tokenizer.chat_template`); rather than run Jinja, the format is recognised from its
/// markers and rendered here, as llama.cpp does for its built-in templates.
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message (SmolLM, Qwen, …).
    case chatML
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` per message (Llama 3).
    case llama3

    /// Recognises the format of a Jinja chat template, or nil if it is neither.
    public init?(jinja: String) {
        if jinja.contains("<|im_start|>") {
            self = .chatML
        } else if jinja.contains("<|start_header_id|>") {
            self = .llama3
        } else {
            return nil
        }
    }

    /// The prompt text for `messages`, ending with the opening of an assistant turn when
    /// `addGenerationPrompt` is true. No system message is added, and no BOS: a caller whose
    /// tokenizer `addsBOS` puts the BOS token in front of the encoded prompt.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = ""
        switch self {
        case .chatML:
            for m in messages {
                out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n"
            }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .llama3:
            for m in messages {
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(Self.trimmed(m.content))<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        }
        return out
    }

    /// Llama 3's template trims each message: ASCII white space at both ends, like llama.cpp.
    private static func trimmed(_ s: String) -> String {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
        let utf8 = Array(s.utf8)
        var start = 0, end = utf8.count
        while start < end, isSpace(utf8[start]) { start += 1 }
        while end > start, isSpace(utf8[end - 1]) { end -= 1 }
        return String(decoding: utf8[start..<end], as: UTF8.self)
    }
}
