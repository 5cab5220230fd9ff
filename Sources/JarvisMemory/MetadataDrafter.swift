import JarvisEngine

/// The model drafts a compact index card for a note — "name | category | key facts" — from a
/// fixed few-shot prompt. The prompt's K/V is computed once and lent to every draft, so a
/// draft costs only the note's tokens and the card's.
///
/// A 135M model does not always follow the format; a card that does not parse into three
/// plausible fields is dropped rather than stored as noise (it would mislead BM25).
final class MetadataDrafter: @unchecked Sendable {
    static let examples: [(note: String, card: String)] = [
        ("My dog Rex is a black labrador with a red collar.", "Rex | pet | black labrador, red collar"),
        ("The wifi password at the cabin is pine-cone-42.", "cabin wifi | password | pine-cone-42"),
        ("My sister Anna lives in Lisbon and works as a nurse.", "Anna | person | sister, lives in Lisbon, nurse"),
    ]
    static let maxCardTokens = 40

    let model: Transformer
    let tokenizer: BPETokenizer
    private var prompt: KVCache?

    init(model: Transformer, tokenizer: BPETokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// The fixed part of the prompt, ending where the next note goes.
    static var promptText: String {
        var s = "<|im_start|>system\nWrite an index card for the note: one line, name | category | key facts.<|im_end|>\n"
        for e in examples {
            s += "<|im_start|>user\n\(e.note)<|im_end|>\n<|im_start|>assistant\n\(e.card)<|im_end|>\n"
        }
        return s + "<|im_start|>user\n"
    }

    /// The card's fields as metadata (`drafted_name`, `category`, `attributes`), or none.
    func draft(_ text: String) throws -> [String: String] {
        let fixed = try fixedPrompt()
        let tokens = tokenizer.encode(text + "<|im_end|>\n<|im_start|>assistant\n")
        let cache = KVCache(config: model.config, capacity: tokens.count + Self.maxCardTokens + 1, basePosition: fixed.count)
        var g = try Generator(model: model, cache: cache, context: [fixed.run(0..<fixed.count)], prompt: tokens,
                              stopTokens: tokenizer.endOfGenerationTokens)
        var out: [Int32] = []
        while out.count < Self.maxCardTokens, let t = try g.next() {
            if tokenizer.decode([t]).contains("\n") { break }
            out.append(t)
        }
        return Self.parse(tokenizer.decode(out))
    }

    /// "name | category | facts" → metadata, if every field looks like one.
    static func parse(_ card: String) -> [String: String] {
        let fields = card.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.count >= 3 else { return [:] }
        let name = fields[0], category = fields[1].lowercased(), facts = fields[2...].joined(separator: ", ")
        guard (1...48).contains(name.count), (1...24).contains(category.count),
              category.allSatisfy({ $0.isLetter || $0 == " " || $0 == "-" }), (1...200).contains(facts.count) else { return [:] }
        return ["drafted_name": name, "category": category, "attributes": facts]
    }

    private func fixedPrompt() throws -> KVCache {
        if let prompt { return prompt }
        let tokens = tokenizer.encode(Self.promptText)
        let cache = KVCache(config: model.config, capacity: tokens.count)
        try model.prefill(tokens, cache: cache, logits: .none)
        prompt = cache
        return cache
    }
}
