/// A model family's chat format: how turns open and close, and where the answer begins. The one
/// place that knows a family's markup; everything that builds a prompt (answers, entries,
/// metadata drafts, captions, the benchmarks, jarvis-run) asks it.
///
/// GGUF files carry their template as Jinja (`tokenizer.chat_template`); rather than run Jinja,
/// the family is recognised from its markers, as llama.cpp does for its built-in templates.
public enum PromptFormat: Sendable, Equatable, CaseIterable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message (SmolLM, Qwen, …).
    case chatML
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` per message (Llama 3).
    case llama3
    /// SmolVLM (Idefics3): `<|im_start|>` once, then `User: content<end_of_utterance>\n` per
    /// message and `Assistant:` to answer. Used with SmolVLM's decoder and its vision tower.
    case smolVLM

    public enum Role: String, Sendable { case system, user, assistant }

    /// Recognises the family of a Jinja chat template, or nil if it is none of these.
    public init?(jinja: String) {
        if jinja.contains("<end_of_utterance>") {
            self = .smolVLM
        } else if jinja.contains("<|im_start|>") {
            self = .chatML
        } else if jinja.contains("<|start_header_id|>") {
            self = .llama3
        } else {
            return nil
        }
    }

    /// Whether the family has a system turn of its own (SmolVLM's prompts go without one).
    public var hasSystemRole: Bool { self != .smolVLM }

    /// What starts every prompt, before the first turn.
    public var begin: Prompt { self == .smolVLM ? .markup("<|im_start|>") : Prompt() }

    /// The opening of a turn. SmolVLM writes `User:` before an image and `User: ` before text.
    public func open(_ role: Role, beforeImage: Bool = false) -> Prompt {
        switch self {
        case .chatML: .markup("<|im_start|>\(role.rawValue)\n")
        case .llama3: .markup("<|start_header_id|>\(role.rawValue)<|end_header_id|>\n\n")
        case .smolVLM: .markup(role.rawValue.prefix(1).uppercased() + role.rawValue.dropFirst() + (beforeImage ? ":" : ": "))
        }
    }

    /// The end of a turn.
    public func close(_ role: Role) -> Prompt {
        switch self {
        case .chatML: .markup("<|im_end|>\n")
        case .llama3: .markup("<|eot_id|>")
        case .smolVLM: .markup("<end_of_utterance>\n")
        }
    }

    /// Where the model's answer begins: the opening of the assistant's turn.
    public var answerPrefix: Prompt {
        self == .smolVLM ? .markup("Assistant:") : open(.assistant)
    }

    /// A whole turn with `content` as plain text.
    public func turn(_ role: Role, _ content: String) -> Prompt {
        open(role) + .text(self == .llama3 ? Self.trimmed(content) : content) + close(role)
    }

    /// A conversation, ending with the opening of an assistant turn when `addGenerationPrompt`
    /// is true. No system message is added, and no BOS: a caller whose tokenizer `addsBOS`
    /// puts the BOS token in front of the encoded prompt.
    /// - Throws: `.invalidArgument` for a role other than system, user and assistant.
    public func conversation(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> Prompt {
        var p = begin
        for m in messages {
            guard let role = Role(rawValue: m.role) else {
                throw EngineError(.invalidArgument, "unknown chat role \"\(m.role)\" (system, user or assistant)")
            }
            p += turn(role, m.content)
        }
        if addGenerationPrompt { p += answerPrefix }
        return p
    }

    /// The text of `conversation(…)`, control tokens written out.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        try conversation(messages, addGenerationPrompt: addGenerationPrompt).rendered
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
