/// Cuts text into words before byte-level BPE, exactly as llama.cpp does for a GGUF's
/// `tokenizer.ggml.pre`. BPE never merges across two words, so this step decides token
/// boundaries as much as the merges do.
///
/// llama.cpp describes each pre-tokenizer as a list of regexes applied in turn, each one
/// splitting the pieces left by the one before, and runs the common ones with hand-written
/// matchers. These are written the same way, over Unicode scalars, with the character classes
/// llama.cpp uses: `\p{L}` and `\p{N}` by general category, `\s` as the Unicode White_Space
/// property. Where llama.cpp's matchers differ from the regex they stand for (a piece boundary
/// left by an earlier regex counts as the end of the text), these follow llama.cpp.
struct PreTokenizer: Sendable, Equatable {
    enum Splitter: Sendable, Equatable {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
        /// Every `\p{N}` on its own, then the gpt2 expression within each remaining piece.
        case digitsThenGPT2
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        case llama3
        /// As `llama3`, with single digits (`\p{N}`) instead of runs of up to three.
        case qwen2
        /// GPT-4o's (o200k): words split at case changes, contractions kept on the word,
        /// `[^\r\n\p{L}\p{N}]?((?=\p{L})[^a-z])*((?=\p{L})[^A-Z])+(?:'s|'t|'re|'ve|'m|'ll|'d)?|…((?=\p{L})[^a-z])+((?=\p{L})[^A-Z])*…|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        /// (the contractions in either case), as llama.cpp runs it: a backtracking regex, so the
        /// first alternative that matches wins, not the longest.
        case gpt4o
    }

    let splitter: Splitter
    /// Whether a word that is itself a vocabulary entry becomes that token without merging
    /// (llama.cpp's `ignore_merges`, set for the llama3 family).
    let ignoresMerges: Bool

    init(splitter: Splitter, ignoresMerges: Bool = false) {
        self.splitter = splitter
        self.ignoresMerges = ignoresMerges
    }

    /// The pre-tokenizer llama.cpp uses for a `tokenizer.ggml.pre` name, or nil if it is not
    /// one implemented here.
    init?(name: String) {
        switch name {
        case "gpt-2", "gpt2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
             "a.x-4.0", "mellum", "modern-bert", "exaone4", "jina-v1-en", "jina-v2-code", "roberta-bpe",
             "mpt", "olmo", "jais", "trillion", "granite-docling":
            self.init(splitter: .gpt2)
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            self.init(splitter: .digitsThenGPT2)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2":
            self.init(splitter: .llama3, ignoresMerges: true)
        case "dbrx", "smaug-bpe", "glm4", "chatglm-bpe":
            self.init(splitter: .llama3)
        case "qwen2", "deepseek-r1-qwen", "kormo", "megrez", "stablelm2", "hunyuan", "solar-open", "grok-2":
            self.init(splitter: .qwen2)
        case "gpt-4o", "llama4", "kanana2", "talkie":
            self.init(splitter: .gpt4o)
        default:
            return nil
        }
    }

    /// The words of `text`, as ranges of scalar indices, in order, covering all of it.
    func split(_ text: [Unicode.Scalar]) -> [Range<Int>] {
        let classes = text.map(ScalarClass.of)
        var words: [Range<Int>] = []
        words.reserveCapacity(text.count / 3 + 1)
        switch splitter {
        case .gpt2:
            Self.splitGPT2(text, classes, 0..<text.count, into: &words)
        case .digitsThenGPT2:
            // Each number is a piece of its own; the gpt2 matcher then runs inside the others.
            var start = 0
            for i in text.indices where classes[i] & ScalarClass.number != 0 {
                if start < i { Self.splitGPT2(text, classes, start..<i, into: &words) }
                words.append(i..<i + 1)
                start = i + 1
            }
            if start < text.count { Self.splitGPT2(text, classes, start..<text.count, into: &words) }
        case .llama3:
            Self.splitLlama3(text, classes, 0..<text.count, maxDigits: 3, into: &words)
        case .qwen2:
            Self.splitLlama3(text, classes, 0..<text.count, maxDigits: 1, into: &words)
        case .gpt4o:
            Self.splitGPT4o(text, classes, 0..<text.count, into: &words)
        }
        return words
    }

    // MARK: - Matchers

    private static func contractionTailLength(_ a: Unicode.Scalar, _ b: Unicode.Scalar?) -> Int {
        switch a {
        case "s", "t", "m", "d": return 1
        case "r", "v": return b == "e" ? 2 : 0
        case "l": return b == "l" ? 2 : 0
        default: return 0
        }
    }

    private static func splitGPT2(_ text: [Unicode.Scalar], _ classes: [UInt8], _ piece: Range<Int>,
                                  into words: inout [Range<Int>]) {
        let end = piece.upperBound
        // Past the end of the piece there is nothing: class 0 matches no character class.
        func cls(_ i: Int) -> UInt8 { i < end ? classes[i] : 0 }
        var start = piece.lowerBound
        var pos = start
        func emit() {
            if pos > start { words.append(start..<pos) }
            start = pos
        }
        while pos < end {
            let c = text[pos]
            let f = classes[pos]
            // 's 't 're 've 'm 'll 'd (lower case only)
            if c == "'", pos + 1 < end {
                let n = contractionTailLength(text[pos + 1], pos + 2 < end ? text[pos + 2] : nil)
                if n > 0 {
                    pos += 1 + n
                    emit()
                    continue
                }
            }
            // An optional leading space joins a run of letters, of numbers, or of other symbols.
            let f2 = c == " " ? cls(pos + 1) : f
            if f2 & ScalarClass.letter != 0 {
                if c == " " { pos += 1 }
                while cls(pos) & ScalarClass.letter != 0 { pos += 1 }
                emit()
                continue
            }
            if f2 & ScalarClass.number != 0 {
                if c == " " { pos += 1 }
                while cls(pos) & ScalarClass.number != 0 { pos += 1 }
                emit()
                continue
            }
            if ScalarClass.isOther(f2) {
                if c == " " { pos += 1 }
                while ScalarClass.isOther(cls(pos)) { pos += 1 }
                emit()
                continue
            }
            var spaces = 0
            while cls(pos + spaces) & ScalarClass.whitespace != 0 { spaces += 1 }
            if spaces > 1, pos + spaces < end {
                // \s+(?!\S): leave the last space to lead the next word.
                pos += spaces - 1
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1
            }
            emit()
        }
    }

    private static func splitLlama3(_ text: [Unicode.Scalar], _ classes: [UInt8], _ piece: Range<Int>,
                                    maxDigits: Int, into words: inout [Range<Int>]) {
        let end = piece.upperBound
        func cls(_ i: Int) -> UInt8 { i < end ? classes[i] : 0 }
        var start = piece.lowerBound
        var pos = start
        func emit() {
            if pos > start { words.append(start..<pos) }
            start = pos
        }
        while pos < end {
            let c = text[pos]
            let f = classes[pos]
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            let contraction = contractionLength(text, at: pos, end: end)
            if contraction > 0 {
                pos += contraction
                emit()
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == "\r" || c == "\n" || f & ScalarClass.number != 0),
               f & ScalarClass.letter != 0 || cls(pos + 1) & ScalarClass.letter != 0 {
                pos += 1
                while cls(pos) & ScalarClass.letter != 0 { pos += 1 }
                emit()
                continue
            }
            // \p{N}{1,3} (or \p{N})
            if f & ScalarClass.number != 0 {
                var run = 0
                while cls(pos) & ScalarClass.number != 0 {
                    pos += 1
                    run += 1
                    if run == maxDigits {
                        emit()
                        run = 0
                    }
                }
                emit()
                continue
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            if let wordEnd = otherWordEnd(text, classes, from: pos, end: end, slashes: false) {
                pos = wordEnd
                emit()
                continue
            }
            pos = whitespaceWordEnd(text, classes, from: pos, end: end)
            emit()
        }
    }

    private static func splitGPT4o(_ text: [Unicode.Scalar], _ classes: [UInt8], _ piece: Range<Int>,
                                   into words: inout [Range<Int>]) {
        let end = piece.upperBound
        func cls(_ i: Int) -> UInt8 { i < end ? classes[i] : 0 }
        func isLetter(_ i: Int) -> Bool { cls(i) & ScalarClass.letter != 0 }
        // [^a-z] and [^A-Z] behind a letter lookahead: every letter but ASCII lower case, and
        // every letter but ASCII upper case (a letter outside ASCII is both).
        func isUpperish(_ i: Int) -> Bool { isLetter(i) && !("a"..."z").contains(text[i]) }
        func isLowerish(_ i: Int) -> Bool { isLetter(i) && !("A"..."Z").contains(text[i]) }
        var start = piece.lowerBound
        var pos = start
        func emit() {
            if pos > start { words.append(start..<pos) }
            start = pos
        }
        while pos < end {
            let c = text[pos]
            let f = classes[pos]
            // [^\r\n\p{L}\p{N}]? before the letters: taken when it can be (without it, a
            // non-letter at pos cannot start a word).
            let p = c != "\r" && c != "\n" && f & (ScalarClass.letter | ScalarClass.number) == 0 ? pos + 1 : pos
            if isLetter(p) {
                var upper = p
                while isUpperish(upper) { upper += 1 }
                // upper* lower+: backtracking from the longest upper run, the last position at
                // or before its end where a lower-ish letter starts.
                var k = upper
                while k >= p, !isLowerish(k) { k -= 1 }
                if k >= p {
                    pos = k
                    while isLowerish(pos) { pos += 1 }
                } else {
                    // upper+ lower*: all upper case A-Z, and no a-z follows.
                    pos = upper
                }
                // (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?
                pos += contractionLength(text, at: pos, end: end)
                emit()
                continue
            }
            // \p{N}{1,3}
            if f & ScalarClass.number != 0 {
                while pos - start < 3, cls(pos) & ScalarClass.number != 0 { pos += 1 }
                emit()
                continue
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n/]*
            if let wordEnd = otherWordEnd(text, classes, from: pos, end: end, slashes: true) {
                pos = wordEnd
                emit()
                continue
            }
            pos = whitespaceWordEnd(text, classes, from: pos, end: end)
            emit()
        }
    }

    /// The length of `'s`, `'t`, `'re`, `'ve`, `'m`, `'ll` or `'d` in either case at `i`, or 0.
    private static func contractionLength(_ text: [Unicode.Scalar], at i: Int, end: Int) -> Int {
        guard i + 1 < end, text[i] == "'" else { return 0 }
        let n = contractionTailLength(asciiLower(text[i + 1]), i + 2 < end ? asciiLower(text[i + 2]) : nil)
        return n > 0 ? 1 + n : 0
    }

    /// Where ` ?[^\s\p{L}\p{N}]+[\r\n]*` (with `slashes`, `[\r\n/]*`) ends a word starting
    /// at `pos`, or nil if it does not match there.
    private static func otherWordEnd(_ text: [Unicode.Scalar], _ classes: [UInt8], from pos: Int, end: Int, slashes: Bool) -> Int? {
        func cls(_ i: Int) -> UInt8 { i < end ? classes[i] : 0 }
        var i = text[pos] == " " ? pos + 1 : pos
        guard ScalarClass.isOther(cls(i)) else { return nil }
        while ScalarClass.isOther(cls(i)) { i += 1 }
        while i < end, text[i] == "\r" || text[i] == "\n" || (slashes && text[i] == "/") { i += 1 }
        return i
    }

    /// Where `\s*[\r\n]+|\s+(?!\S)|\s+` ends a word starting at `pos`: past the last line
    /// break of a white-space run; else the run but its last space when text follows; else the
    /// run. A character no expression matches is a word of its own.
    private static func whitespaceWordEnd(_ text: [Unicode.Scalar], _ classes: [UInt8], from pos: Int, end: Int) -> Int {
        var spaces = 0
        var afterLastNewline: Int?
        while pos + spaces < end, classes[pos + spaces] & ScalarClass.whitespace != 0 {
            if text[pos + spaces] == "\r" || text[pos + spaces] == "\n" { afterLastNewline = pos + spaces + 1 }
            spaces += 1
        }
        if let afterLastNewline { return afterLastNewline }
        if spaces > 1, pos + spaces < end { return pos + spaces - 1 }
        return pos + max(spaces, 1)
    }

    private static func asciiLower(_ s: Unicode.Scalar) -> Unicode.Scalar {
        ("A"..."Z").contains(s) ? Unicode.Scalar(s.value + 32)! : s
    }
}

/// The character classes the pre-tokenizers test, as bits. 0 stands for "past the end".
enum ScalarClass {
    /// Any character at all (so that a class is never 0 inside the text).
    static let present: UInt8 = 1
    /// `\p{L}`: general category Lu, Ll, Lt, Lm, Lo.
    static let letter: UInt8 = 2
    /// `\p{N}`: general category Nd, Nl, No.
    static let number: UInt8 = 4
    /// `\s`: the Unicode White_Space property.
    static let whitespace: UInt8 = 8

    /// `[^\s\p{L}\p{N}]`, inside the text.
    @inline(__always)
    static func isOther(_ c: UInt8) -> Bool {
        c != 0 && c & (letter | number | whitespace) == 0
    }

    private static let ascii: [UInt8] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    @inline(__always)
    static func of(_ s: Unicode.Scalar) -> UInt8 {
        s.value < 128 ? ascii[Int(s.value)] : classify(s)
    }

    private static func classify(_ s: Unicode.Scalar) -> UInt8 {
        var c = present
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            c |= number
        default:
            break
        }
        if s.properties.isWhitespace { c |= whitespace }
        return c
    }
}
