import Foundation

/// BERT's WordPiece tokenizer, read from a Hugging Face `tokenizer.json`: clean the text, put
/// spaces around CJK ideographs, lower-case and strip accents, split on white space and
/// punctuation, then cut each word into the longest vocabulary pieces ("##" marks a piece
/// inside a word). Ids match the Hugging Face tokenizers library for BertNormalizer +
/// BertPreTokenizer + WordPiece.
public final class WordPieceTokenizer: Sendable {
    let vocab: [String: Int32]
    public let unknown: Int32
    public let classToken: Int32
    public let separatorToken: Int32
    let lowercase: Bool
    let stripAccents: Bool
    let chineseChars: Bool
    let continuation: String
    let maxCharsPerWord: Int

    /// Reads `tokenizer.json`.
    /// - Throws: `.invalidFile` / `.unsupported` naming the file when it is not a WordPiece tokenizer.
    public init(path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw EngineError(.io, "cannot read \(path): \(error.localizedDescription)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let model = json["model"] as? [String: Any] else {
            throw EngineError(.invalidFile, "\(path): not a tokenizer.json")
        }
        guard model["type"] as? String == "WordPiece", let vocab = model["vocab"] as? [String: Int] else {
            throw EngineError(.unsupported, "\(path): tokenizer model \(model["type"] ?? "?") is not WordPiece")
        }
        self.vocab = vocab.mapValues { Int32($0) }
        let unk = model["unk_token"] as? String ?? "[UNK]"
        guard let u = vocab[unk], let cls = vocab["[CLS]"], let sep = vocab["[SEP]"] else {
            throw EngineError(.invalidFile, "\(path): the vocabulary lacks \(unk), [CLS] or [SEP]")
        }
        unknown = Int32(u)
        classToken = Int32(cls)
        separatorToken = Int32(sep)
        continuation = model["continuing_subword_prefix"] as? String ?? "##"
        maxCharsPerWord = model["max_input_chars_per_word"] as? Int ?? 100
        let normalizer = json["normalizer"] as? [String: Any] ?? [:]
        lowercase = normalizer["lowercase"] as? Bool ?? true
        // BertNormalizer: strip_accents null means "follow lowercase".
        stripAccents = (normalizer["strip_accents"] as? Bool) ?? lowercase
        chineseChars = normalizer["handle_chinese_chars"] as? Bool ?? true
    }

    /// Token ids of `text` between [CLS] and [SEP], at most `maxTokens` in all (the text is cut,
    /// [SEP] kept).
    public func encode(_ text: String, maxTokens: Int = 512) -> [Int32] {
        var ids: [Int32] = [classToken]
        for word in words(of: text) {
            ids += pieces(of: word)
            if ids.count >= maxTokens - 1 { break }
        }
        if ids.count > maxTokens - 1 { ids.removeLast(ids.count - (maxTokens - 1)) }
        ids.append(separatorToken)
        return ids
    }

    /// Normalized words: cleaned, lower-cased, accents stripped, split on spaces and punctuation.
    func words(of text: String) -> [String] {
        var scalars: [Unicode.Scalar] = []
        for s in text.unicodeScalars {
            let v = s.value
            if v == 0 || v == 0xFFFD || (Self.isControl(s)) { continue }
            if Self.isWhitespace(s) { scalars.append(" "); continue }
            if chineseChars && Self.isCJK(v) { scalars += [" ", s, " "]; continue }
            scalars.append(s)
        }
        var normalized = String(String.UnicodeScalarView(scalars))
        if stripAccents {
            normalized = String(String.UnicodeScalarView(
                normalized.decomposedStringWithCanonicalMapping.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }))
        }
        if lowercase { normalized = normalized.lowercased() }
        var words: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
        }
        for s in normalized.unicodeScalars {
            if Self.isWhitespace(s) { flush() }
            else if Self.isPunctuation(s) { flush(); words.append(String(s)) }
            else { current.append(s) }
        }
        flush()
        return words
    }

    /// Greedy longest-match-first pieces of one word; [UNK] if any part has no piece.
    func pieces(of word: String) -> [Int32] {
        let chars = Array(word.unicodeScalars)
        if chars.count > maxCharsPerWord { return [unknown] }
        var out: [Int32] = []
        var start = 0
        while start < chars.count {
            var end = chars.count
            var found: Int32?
            while start < end {
                var piece = String(String.UnicodeScalarView(chars[start..<end]))
                if start > 0 { piece = continuation + piece }
                if let id = vocab[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unknown] }
            out.append(id)
            start = end
        }
        return out
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
