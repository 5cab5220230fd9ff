/// SentencePiece-style BPE (GGUF `tokenizer.ggml.model` = "llama": Llama 2, Gemma, Phi-3, …), as
/// llama.cpp runs it. Spaces are written as "▁" (U+2581); the text starts as one symbol per
/// character, and the adjacent pair whose joined text is the vocabulary token of highest score
/// (`tokenizer.ggml.scores`) is merged, the leftmost one first when scores tie, until no pair
/// joins into a token. A character that is no token is written as its UTF-8 bytes, each the
/// byte token `<0xNN>` (byte fallback).
///
/// Control and unknown tokens never result from merging, so plain text cannot become one of
/// them, whatever it holds.
struct SentencePieceBPE: Sendable {
    /// Merge candidates: the text of every normal, byte and user-defined token → (id, score).
    private let tokens: [[UInt8]: (id: Int32, score: Float)]
    /// The token of each byte: `<0xNN>`, else the one-character token, else the unknown token.
    private let byteTokens: [Int32?]

    /// - Throws: `.modelMismatch` naming the file if the scores are not one number per token.
    init(gguf: GGUFFile, vocabulary: Vocabulary) throws {
        var scores = [Float](repeating: 0, count: vocabulary.count)
        if let list = gguf["tokenizer.ggml.scores"] {
            guard let list = list.array, list.count >= vocabulary.count else {
                throw EngineError(.modelMismatch, "\(gguf.path): tokenizer.ggml.scores must be an array of \(vocabulary.count) numbers")
            }
            for i in scores.indices {
                guard let s = list[i].float else {
                    throw EngineError(.modelMismatch, "\(gguf.path): tokenizer.ggml.scores[\(i)] is not a number")
                }
                scores[i] = s
            }
        }
        var tokens: [[UInt8]: (id: Int32, score: Float)] = [:]
        tokens.reserveCapacity(vocabulary.count)
        for (i, text) in vocabulary.texts.enumerated()
        where vocabulary.attributes[i].isDisjoint(with: [.control, .unknown]) {
            // A text listed twice keeps its later id, as llama.cpp's lookup does.
            tokens[Array(text.utf8)] = (Int32(i), scores[i])
        }
        self.tokens = tokens
        let hex = Array("0123456789ABCDEF".utf8)
        self.byteTokens = (0..<256).map { b in
            let name = String(decoding: [UInt8(ascii: "<"), UInt8(ascii: "0"), UInt8(ascii: "x"), hex[b >> 4], hex[b & 15], UInt8(ascii: ">")],
                              as: UTF8.self)
            return vocabulary.ids[name] ?? (b < 0x80 ? vocabulary.ids[String(Unicode.Scalar(UInt8(b)))] : nil) ?? vocabulary.unknown
        }
    }

    /// The "▁" that stands for a space in token texts.
    static let space: [UInt8] = [0xE2, 0x96, 0x81]

    /// Appends the tokens of `text` (raw UTF-8, spaces not yet escaped) to `out`.
    func apply(to text: ArraySlice<UInt8>, into out: inout [Int32]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count + text.count / 2)
        for b in text {
            if b == 0x20 { bytes += Self.space } else { bytes.append(b) }
        }
        // One symbol per UTF-8 character; `length` 0 marks a symbol merged into its left neighbour.
        var start: [Int] = [], length: [Int] = []
        var i = 0
        while i < bytes.count {
            let n = min(Self.sequenceLength(bytes[i]), bytes.count - i)
            start.append(i)
            length.append(n)
            i += n
        }
        let n = start.count
        guard n > 0 else { return }
        var previous = (0..<n).map { $0 - 1 }
        var next = (0..<n).map { $0 + 1 < n ? $0 + 1 : -1 }
        var queue = MergeQueue<ScoredPair>()

        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let size = length[left] + length[right]
            guard let token = tokens[Array(bytes[start[left]..<start[left] + size])] else { return }
            queue.push(.init(score: token.score, left: left, right: right, size: size))
        }

        for k in 1..<n { consider(k - 1, k) }
        while let pair = queue.pop() {
            let l = pair.left, r = pair.right
            guard length[l] > 0, length[r] > 0, length[l] + length[r] == pair.size else { continue }
            length[l] += length[r]
            length[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { previous[next[r]] = l }
            consider(previous[l], l)
            consider(l, next[l])
        }

        var k = 0
        while k >= 0 {
            let piece = bytes[start[k]..<start[k] + length[k]]
            if let token = tokens[Array(piece)] {
                out.append(token.id)
            } else {
                for b in piece { if let t = byteTokens[Int(b)] { out.append(t) } }
            }
            k = next[k]
        }
    }

    /// The bytes of a UTF-8 sequence, from its lead byte (1 for a stray continuation byte).
    private static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0xF0...: 4
        case 0xE0...: 3
        case 0xC0...: 2
        default: 1
        }
    }

    /// The byte a `<0xNN>` token stands for.
    static func byte(ofByteToken text: String) -> UInt8? {
        let u = Array(text.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
              u[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }
}

/// A candidate merge of the SentencePiece tokenizer: the higher score first, then the leftmost.
private struct ScoredPair: Comparable {
    let score: Float
    let left: Int
    let right: Int
    /// Bytes covered by the pair when it was queued.
    let size: Int

    static func < (a: ScoredPair, b: ScoredPair) -> Bool {
        a.score != b.score ? a.score > b.score : a.left < b.left
    }
}
