/// The merge rules of a byte-level BPE vocabulary (`tokenizer.ggml.merges`), and BPE itself.
///
/// A word starts as one symbol per byte. The adjacent pair with the lowest rule rank is merged,
/// the leftmost one first when ranks tie, until no adjacent pair has a rule — llama.cpp's
/// priority-queue algorithm. Rules are keyed by a pair of symbol ids rather than strings, so
/// loading and lookups stay cheap. A symbol is a token id, or (for the rare rule whose parts or
/// result are not in the vocabulary) an id past the end of the vocabulary; such a symbol left at
/// the end is written out byte by byte, as llama.cpp does.
struct MergeTable: Sendable {
    private struct Rule {
        let rank: Int32
        let merged: Int32
    }

    /// (left symbol << 32 | right symbol) → rule.
    private let rules: [UInt64: Rule]
    /// The symbol of each byte's alphabet character; -1 if it is neither a token nor in a rule.
    private let byteSymbols: [Int32]
    /// The token whose text is this one ASCII character, or -1.
    private let asciiTokens: [Int32]
    private let vocabularyCount: Int32

    /// - Throws: `.modelMismatch` naming the file if the merges are not a list of strings.
    init(gguf: GGUFFile, vocabulary: Vocabulary) throws {
        guard let merges = gguf["tokenizer.ggml.merges"]?.array else {
            throw EngineError(.modelMismatch, "\(gguf.path): tokenizer.ggml.merges is missing or not an array")
        }
        let count = Int32(vocabulary.count)
        var extra: [String: Int32] = [:]
        func symbol(_ text: String) -> Int32 {
            if let t = vocabulary.ids[text] ?? extra[text] { return t }
            let t = count + Int32(extra.count)
            extra[text] = t
            return t
        }
        var rules: [UInt64: Rule] = [:]
        rules.reserveCapacity(merges.count)
        for (rank, value) in merges.enumerated() {
            guard let merge = value.string else {
                throw EngineError(.modelMismatch, "\(gguf.path): tokenizer.ggml.merges[\(rank)] is not a string")
            }
            // "left right", split at the first space after the first byte (a part may be a space).
            let utf8 = merge.utf8
            guard utf8.count > 2,
                  let space = utf8.dropFirst().firstIndex(of: UInt8(ascii: " ")) else { continue }
            let left = String(decoding: utf8[..<space], as: UTF8.self)
            let right = String(decoding: utf8[utf8.index(after: space)...], as: UTF8.self)
            guard !right.isEmpty else { continue }
            let key = Self.key(symbol(left), symbol(right))
            if rules[key] == nil {
                rules[key] = Rule(rank: Int32(rank), merged: symbol(left + right))
            }
        }
        self.rules = rules
        self.byteSymbols = ByteLevel.scalarForByte.map { s in
            let text = String(s)
            return vocabulary.ids[text] ?? extra[text] ?? -1
        }
        self.asciiTokens = (0..<128).map { vocabulary.ids[String(Unicode.Scalar(UInt8($0)))] ?? -1 }
        self.vocabularyCount = count
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Appends the tokens of one pre-tokenized word (raw bytes) to `out`.
    func apply(to word: ArraySlice<UInt8>, into out: inout [Int32]) {
        let n = word.count
        guard n > 0 else { return }
        let base = word.startIndex
        // Symbol i always starts at byte i; `length` 0 marks a symbol merged into its left neighbour.
        var symbol = word.map { byteSymbols[Int($0)] }
        var length = [Int32](repeating: 1, count: n)
        var previous = (0..<n).map { Int32($0) - 1 }
        var next = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }
        var queue = MergeQueue<Bigram>()

        func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let l = Int(left), r = Int(right)
            guard let rule = rules[Self.key(symbol[l], symbol[r])] else { return }
            queue.push(.init(rank: rule.rank, left: left, right: right, size: length[l] + length[r], merged: rule.merged))
        }

        for i in 1..<n { consider(Int32(i - 1), Int32(i)) }
        while let b = queue.pop() {
            let l = Int(b.left), r = Int(b.right)
            // Skip pairs that changed since they were queued.
            guard length[l] > 0, length[r] > 0, length[l] + length[r] == b.size else { continue }
            symbol[l] = b.merged
            length[l] += length[r]
            length[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { previous[Int(next[r])] = b.left }
            consider(previous[l], b.left)
            consider(b.left, next[l])
        }

        var i = 0
        while i >= 0 {
            let s = symbol[i]
            if s >= 0, s < vocabularyCount {
                out.append(s)
            } else {
                // Not a token: fall back to the single-character tokens of its text.
                for byte in word[(base + i)..<(base + i + Int(length[i]))] {
                    for u in ByteLevel.utf8ForByte[Int(byte)] where u < 0x80 && asciiTokens[Int(u)] >= 0 {
                        out.append(asciiTokens[Int(u)])
                    }
                }
            }
            i = Int(next[i])
        }
    }
}

/// A candidate merge of the byte-level tokenizer: the lower rank first, then the leftmost.
private struct Bigram: Comparable {
    let rank: Int32
    let left: Int32
    let right: Int32
    /// Bytes covered by the pair when it was queued.
    let size: Int32
    let merged: Int32

    static func < (a: Bigram, b: Bigram) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.left < b.left
    }
}
