import JarvisEngine
import Synchronization

/// The model drafts a compact index card for a note — "name | category | key facts" — from a
/// fixed few-shot prompt in the model's own chat format. The prompt's K/V is computed once (at
/// the first draft) and lent to every draft, so a draft costs only the note's tokens and the
/// card's.
///
/// A 135M model does not always follow the format, and invents what a text does not say; only
/// the fields the text supports are kept (noise would mislead BM25).
final class MetadataDrafter: Sendable {
    static let instruction = "Write an index card for the note: one line, name | category | key facts."
    static let examples: [(note: String, card: String)] = [
        ("My dog Rex is a black labrador with a red collar.", "Rex | pet | black labrador, red collar"),
        ("The wifi password at the cabin is pine-cone-42.", "cabin wifi | password | pine-cone-42"),
        ("My sister Anna lives in Lisbon and works as a nurse.", "Anna | person | sister, lives in Lisbon, nurse"),
    ]
    static let maxCardTokens = 40

    let model: Transformer
    let tokenizer: BPETokenizer
    let format: PromptFormat
    private let prompt = Mutex<KVCache?>(nil)

    init(model: Transformer, tokenizer: BPETokenizer, format: PromptFormat) {
        self.model = model
        self.tokenizer = tokenizer
        self.format = format
    }

    /// The fixed part of the prompt, ending where the next note goes. A family without a
    /// system turn gets the instruction at the head of the first example.
    var fixedPrompt: Prompt {
        var p = format.begin
        if format.hasSystemRole { p += format.turn(.system, Self.instruction) }
        for (i, e) in Self.examples.enumerated() {
            let lead = i == 0 && !format.hasSystemRole ? Self.instruction + "\n\n" : ""
            p += format.turn(.user, lead + e.note) + format.turn(.assistant, e.card)
        }
        return p + format.open(.user)
    }

    /// The card's fields as metadata (`drafted_name`, `category`, `attributes`), or none.
    /// - Parameter shouldStop: asked before every token; when it turns true the call throws
    ///   `EngineError(.cancelled)`.
    func draft(_ text: String, shouldStop: () -> Bool = { false }) throws -> [String: String] {
        let fixed = try fixedCache()
        let tokens = tokenizer.encode(.text(text) + format.close(.user) + format.answerPrefix)
        let cache = KVCache(config: model.config, capacity: tokens.count + Self.maxCardTokens + 1, basePosition: fixed.count)
        var g = try Generator(model: model, cache: cache, context: [fixed.run(0..<fixed.count)], prompt: tokens,
                              stopTokens: tokenizer.endOfGenerationTokens)
        let card = try g.decode(tokenizer, maxTokens: Self.maxCardTokens, stopBefore: { self.tokenizer.piece($0).contains(0x0A) },
                                shouldStop: shouldStop)
        return Self.parse(card.text, note: text)
    }

    /// The categories a drafted card may give; any other is dropped. (The user's own
    /// `category` is kept whatever it is.)
    static let categories: Set<String> = [
        "person", "pet", "place", "home", "password", "account", "contact", "address", "date", "event", "health",
        "finance", "vehicle", "device", "work", "school", "travel", "shopping", "food", "hobby", "document", "software",
    ]

    /// "name | category | facts" → metadata, keeping only what `note` supports: a name that
    /// occurs in it, a category from `categories`, and the facts whose words all occur in it. A
    /// 135M model invents names and categories ("64062", "vmailp") for text it does not follow;
    /// those never reach the store.
    static func parse(_ card: String, note: String) -> [String: String] {
        let fields = card.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.count >= 3 else { return [:] }
        let name = fields[0], category = fields[1].lowercased()
        let noteWords = Set(words(note))
        func supported(_ s: String) -> Bool { !words(s).isEmpty && words(s).allSatisfy(noteWords.contains) }
        var out: [String: String] = [:]
        if (1...48).contains(name.count), supported(name) { out["drafted_name"] = name }
        if categories.contains(category) { out["category"] = category }
        let facts = fields[2...].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter(supported)
        if !facts.isEmpty { out["attributes"] = String(facts.joined(separator: ", ").prefix(200)) }
        return out
    }

    /// Lower-cased words and numbers.
    static func words(_ text: String) -> [Substring] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }
    }

    private func fixedCache() throws -> KVCache {
        try prompt.withLock { cached in
            if let cached { return cached }
            let tokens = tokenizer.encode(fixedPrompt)
            let cache = KVCache(config: model.config, capacity: tokens.count)
            try model.prefill(tokens, cache: cache, logits: .none)
            cached = cache
            return cache
        }
    }
}
