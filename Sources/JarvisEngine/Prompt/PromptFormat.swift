/// A model family's chat format: how turns open and close, and where the answer begins. The one
/// place that knows a family's markup; everything that builds a prompt (answers, entries,
/// metadata drafts, captions, the benchmarks, jarvis-run) asks it.
///
/// GGUF files carry their template as Jinja (`tokenizer.chat_template`); rather than run Jinja,
/// the family is recognised from its markers, as llama.cpp does for its built-in templates.
public enum PromptFormat: Sendable, Equatable, CaseIterable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message (SmolLM2, Qwen2.5, …).
    case chatML
    /// Qwen3's ChatML, thinking off: the answer begins after an empty `<think>\n\n</think>\n\n`
    /// block, as its template writes it with `enable_thinking=false`.
    case qwen3
    /// SmolLM3's ChatML, thinking off: the answer begins after `<think>\n\n</think>\n`, as its
    /// template writes it in `/no_think` mode. (The template's own system text, a metadata
    /// block, is not written: the caller's system text is.)
    case smolLM3
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` per message (Llama 3).
    case llama3
    /// SmolVLM (Idefics3): `<|im_start|>` once, then `User: content<end_of_utterance>\n` per
    /// message and `Assistant:` to answer. Used with SmolVLM's decoder and its vision tower.
    case smolVLM
    /// `<start_of_turn>role\ncontent<end_of_turn>\n` per message, the assistant's role named
    /// `model`, contents trimmed (Gemma). No system role: system text opens the first user turn.
    case gemma
    /// `<|role|>\ncontent<|end|>\n` per message (Phi-3, Phi-3.5).
    case phi3

    /// The formats' names, for messages.
    public static let supportedNames = "ChatML, Qwen3, SmolLM3, Llama 3, Gemma, Phi-3 or SmolVLM"

    /// The format's name, for messages.
    public var name: String {
        switch self {
        case .chatML: "ChatML"
        case .qwen3: "Qwen3"
        case .smolLM3: "SmolLM3"
        case .llama3: "Llama 3"
        case .smolVLM: "SmolVLM"
        case .gemma: "Gemma"
        case .phi3: "Phi-3"
        }
    }

    public enum Role: String, Sendable { case system, user, assistant }

    /// Recognises the family of a Jinja chat template, or nil if it is none of these.
    public init?(jinja: String) {
        if jinja.contains("<end_of_utterance>") {
            self = .smolVLM
        } else if jinja.contains("<|im_start|>") {
            // SmolLM3's template switches thinking by a reasoning mode, Qwen3's by enable_thinking.
            self = !jinja.contains("<think>") ? .chatML : jinja.contains("reasoning_mode") || jinja.contains("/no_think") ? .smolLM3 : .qwen3
        } else if jinja.contains("<|start_header_id|>") {
            self = .llama3
        } else if jinja.contains("<start_of_turn>") {
            self = .gemma
        } else if jinja.contains("<|assistant|>"), jinja.contains("<|end|>") {
            self = .phi3
        } else {
            return nil
        }
    }

    /// Whether the family has a system turn of its own (SmolVLM's prompts go without one; Gemma's
    /// fold system text into the first user turn, see `foldsSystemIntoUserTurn`).
    public var hasSystemRole: Bool { self != .smolVLM && self != .gemma }

    /// Whether system text belongs at the head of the first user turn, followed by a blank line
    /// (Gemma's templates, and llama.cpp's, do this).
    public var foldsSystemIntoUserTurn: Bool { self == .gemma }

    /// What starts every prompt, before the first turn.
    public var begin: Prompt { self == .smolVLM ? .markup("<|im_start|>") : Prompt() }

    /// The opening of a turn. SmolVLM writes `User:` before an image and `User: ` before text.
    public func open(_ role: Role, beforeImage: Bool = false) -> Prompt {
        switch self {
        case .chatML, .qwen3, .smolLM3: .markup("<|im_start|>\(role.rawValue)\n")
        case .llama3: .markup("<|start_header_id|>\(role.rawValue)<|end_header_id|>\n\n")
        case .smolVLM: .markup(role.rawValue.prefix(1).uppercased() + role.rawValue.dropFirst() + (beforeImage ? ":" : ": "))
        case .gemma: .markup("<start_of_turn>\(role == .assistant ? "model" : role.rawValue)\n")
        case .phi3: .markup("<|\(role.rawValue)|>\n")
        }
    }

    /// The end of a turn.
    public func close(_ role: Role) -> Prompt {
        switch self {
        case .chatML, .qwen3, .smolLM3: .markup("<|im_end|>\n")
        case .llama3: .markup("<|eot_id|>")
        case .smolVLM: .markup("<end_of_utterance>\n")
        case .gemma: .markup("<end_of_turn>\n")
        case .phi3: .markup("<|end|>\n")
        }
    }

    /// Where the model's answer begins: the opening of the assistant's turn.
    public var answerPrefix: Prompt {
        switch self {
        case .smolVLM: .markup("Assistant:")
        case .qwen3: open(.assistant) + .markup("<think>\n\n</think>\n\n")
        case .smolLM3: open(.assistant) + .markup("<think>\n\n</think>\n")
        default: open(.assistant)
        }
    }

    /// A whole turn with `content` as plain text.
    public func turn(_ role: Role, _ content: String) -> Prompt {
        open(role) + .text(self == .llama3 || self == .gemma ? Self.trimmed(content) : content) + close(role)
    }

    /// A conversation, ending with the opening of an assistant turn when `addGenerationPrompt`
    /// is true. No system message is added, and no BOS: a caller whose tokenizer `addsBOS`
    /// puts the BOS token in front of the encoded prompt.
    /// Gemma's system messages open the next user turn instead.
    /// - Throws: `.invalidArgument` for a role other than system, user and assistant.
    public func conversation(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> Prompt {
        var p = begin
        var system = ""
        for m in messages {
            guard let role = Role(rawValue: m.role) else {
                throw EngineError(.invalidArgument, "unknown chat role \"\(m.role)\" (system, user or assistant)")
            }
            if foldsSystemIntoUserTurn, role != .assistant {
                if role == .system {
                    system += Self.trimmed(m.content)
                    continue
                }
                if !system.isEmpty {
                    p += turn(role, system + "\n\n" + Self.trimmed(m.content))
                    system = ""
                    continue
                }
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

    /// Llama 3's and Gemma's templates trim each message: ASCII white space at both ends, like llama.cpp.
    private static func trimmed(_ s: String) -> String {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
        let utf8 = Array(s.utf8)
        var start = 0, end = utf8.count
        while start < end, isSpace(utf8[start]) { start += 1 }
        while end > start, isSpace(utf8[end - 1]) { end -= 1 }
        return String(decoding: utf8[start..<end], as: UTF8.self)
    }
}
