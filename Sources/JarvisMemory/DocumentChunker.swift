import Foundation

/// Cuts a text into entries that are exact spans of it: concatenated in order, the chunks give
/// the text back byte for byte (newlines, CRLF, URLs, passwords, tables). Each chunk fits a
/// token limit together with its context — the file name and the heading path it sits under,
/// and for a table cut across chunks the table's header rows — and keeps structure where it can:
/// a Markdown heading starts a chunk and never ends one, fenced code, list items and table rows
/// are cut only between lines or items, paragraphs between sentences, then words, and a chunk
/// much smaller than the limit joins a neighbour.
struct DocumentChunker {
    /// One entry's text and what it sits under.
    struct Chunk: Equatable {
        /// The exact span of the source.
        var text: String
        /// The headings above the chunk's start, outermost first.
        var headings: [String]
        /// The header rows (header and separator lines) of the table the chunk continues, if it
        /// starts inside one.
        var tableHeader: String?
    }

    /// Most tokens of an entry as the model sees it.
    let limit: Int
    /// Tokens of a chunk as the model sees it (see `AnswerPrompt.entryText`).
    let tokens: (Chunk) -> Int

    /// Chunks under this many tokens join a neighbour when they fit.
    var small: Int { limit / 4 }

    func chunks(of text: String) -> [Chunk] {
        let bytes = Array(text.utf8)
        let blocks = Self.blocks(bytes)
        var pieces: [Piece] = []
        var path: [(level: Int, title: String)] = []
        var headings: [String] = []     // the path's context, made again only when the path changes
        for b in blocks {
            if case .heading(let level, let title) = b.kind {
                // A heading line too long to stand with its section is cut like a paragraph.
                if fits(b.range, headings: headings, header: nil, bytes: bytes, room: limit) {
                    pieces.append(Piece(range: b.range, isHeading: true, headings: headings, header: nil))
                } else {
                    pieces += split(Block(kind: .paragraph, range: b.range, units: []), headings: headings, bytes: bytes)
                }
                path.removeAll { $0.level >= level }
                path.append((level, title))
                headings = context(path.map(\.title))
                continue
            }
            pieces += split(b, headings: headings, bytes: bytes)
        }
        return merged(packed(pieces, bytes: bytes), bytes: bytes).map { chunk($0, bytes: bytes) }
    }

    /// The heading path a chunk carries, shortened until the context alone (file name and
    /// headings, no text) takes at most half the limit: outer headings go first, then the
    /// innermost is cut short. Long names and headings cannot leave a chunk too little room and
    /// cut its text into hundreds of entries.
    func context(_ headings: [String]) -> [String] {
        var h = headings
        func fits(_ h: [String]) -> Bool { tokens(Chunk(text: "", headings: h, tableHeader: nil)) <= limit / 2 }
        while h.count > 1, !fits(h) { h.removeFirst() }
        guard let last = h.last, !fits(h) else { return h }
        let short = Self.shortened(last, keepingEnd: false) { fits([$0]) }
        return short.isEmpty ? [] : [short]
    }

    /// The longest cut of `s` that `fits`, marked by "…": its beginning, or with `keepingEnd`
    /// its end (a file name keeps its extension). Empty if no cut fits.
    static func shortened(_ s: String, keepingEnd: Bool, fits: (String) -> Bool) -> String {
        if fits(s) { return s }
        let characters = Array(s)
        func cut(_ n: Int) -> String { keepingEnd ? "…" + String(characters.suffix(n)) : String(characters.prefix(n)) + "…" }
        var lo = 0, hi = characters.count - 1     // the longest fitting cut keeps between lo and hi characters
        guard fits(cut(0)) else { return "" }
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if fits(cut(mid)) { lo = mid } else { hi = mid - 1 }
        }
        return cut(lo)
    }

    // MARK: - Blocks

    enum Kind: Equatable {
        case heading(level: Int, title: String)
        case fence, table(headerEnd: Int), list, paragraph
    }

    /// A run of whole lines: one Markdown block with the blank lines after it.
    struct Block {
        var kind: Kind
        var range: Range<Int>
        /// The lines (code, table rows) or items (lists) it may be cut between.
        var units: [Range<Int>]
    }

    /// The text's blocks; together they cover every byte, in order.
    static func blocks(_ bytes: [UInt8]) -> [Block] {
        var lines: [Range<Int>] = [], start = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            lines.append(start..<i + 1)
            start = i + 1
        }
        if start < bytes.count { lines.append(start..<bytes.count) }
        func line(_ i: Int) -> Substring { Substring(decoding: bytes[lines[i]], as: UTF8.self) }
        func blank(_ i: Int) -> Bool { line(i).allSatisfy(\.isWhitespace) }

        var blocks: [Block] = [], i = 0
        while i < lines.count {
            let first = i
            let kind: Kind
            var units: [Range<Int>] = []
            if blank(i) {
                // Blank lines before the first block belong to it; later ones to the block before.
                while i < lines.count, blank(i) { i += 1 }
                if let last = blocks.indices.last {
                    blocks[last].range = blocks[last].range.lowerBound..<lines[i - 1].upperBound
                    continue
                }
                if i == lines.count { return [Block(kind: .paragraph, range: 0..<bytes.count, units: [])] }
            }
            let head = i
            if let fence = fenceMarker(line(i)) {
                i += 1
                while i < lines.count, !line(i).trimmingLeadingSpaces.hasPrefix(fence) { i += 1 }
                i = min(i + 1, lines.count)
                kind = .fence
                units = (head..<i).map { lines[$0] }
            } else if let (level, title) = heading(line(i)) {
                i += 1
                kind = .heading(level: level, title: title)
            } else if line(i).trimmingLeadingSpaces.hasPrefix("|"), i + 1 < lines.count, isTableSeparator(line(i + 1)) {
                i += 2
                let headerEnd = lines[i - 1].upperBound
                units = [lines[head].lowerBound..<headerEnd]
                while i < lines.count, !blank(i), line(i).contains("|") {
                    units.append(lines[i])
                    i += 1
                }
                kind = .table(headerEnd: headerEnd)
            } else if isListItem(line(i)) {
                var itemStart = head
                i += 1
                while i < lines.count {
                    if blank(i) {
                        // A list goes on past blank lines only into another item or an indented line.
                        var j = i
                        while j < lines.count, blank(j) { j += 1 }
                        guard j < lines.count, isListItem(line(j)) || line(j).first?.isWhitespace == true else { break }
                        i = j
                        continue
                    }
                    if isListItem(line(i)) {
                        units.append(lines[itemStart].lowerBound..<lines[i].lowerBound)
                        itemStart = i
                    } else if startsBlock(line(i)) {
                        break
                    }
                    i += 1
                }
                units.append(lines[itemStart].lowerBound..<lines[i - 1].upperBound)
                kind = .list
            } else {
                i += 1
                while i < lines.count, !blank(i), !startsBlock(line(i)), !isListItem(line(i)) { i += 1 }
                kind = .paragraph
            }
            blocks.append(Block(kind: kind, range: lines[first].lowerBound..<lines[i - 1].upperBound, units: units))
        }
        return blocks
    }

    static func fenceMarker(_ line: Substring) -> String? {
        let t = line.trimmingLeadingSpaces
        for f in ["```", "~~~"] where t.hasPrefix(f) { return f }
        return nil
    }

    static func heading(_ line: Substring) -> (Int, String)? {
        let t = line.trimmingLeadingSpaces
        let level = t.prefix { $0 == "#" }.count
        guard (1...6).contains(level) else { return nil }
        let rest = t.dropFirst(level)
        guard rest.isEmpty || rest.first!.isWhitespace else { return nil }
        return (level, rest.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func isTableSeparator(_ line: Substring) -> Bool {
        let t = line.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.contains("-") && t.contains("|") && t.allSatisfy { "|-: \t".contains($0) }
    }

    static func isListItem(_ line: Substring) -> Bool {
        let t = line.trimmingLeadingSpaces
        if let c = t.first, "-*+".contains(c) { return t.dropFirst().first?.isWhitespace == true }
        let digits = t.prefix { $0.isASCII && $0.isNumber }
        guard (1...9).contains(digits.count) else { return false }
        let rest = t.dropFirst(digits.count)
        return rest.first.map { ".)".contains($0) } == true && rest.dropFirst().first?.isWhitespace == true
    }

    static func startsBlock(_ line: Substring) -> Bool {
        fenceMarker(line) != nil || heading(line) != nil || line.trimmingLeadingSpaces.hasPrefix("|")
    }

    // MARK: - Pieces: blocks cut to fit

    /// A span that is never cut further.
    struct Piece {
        var range: Range<Int>
        var isHeading: Bool
        var headings: [String]
        /// The table header rows, for a piece that continues a table.
        var header: Range<Int>?
    }

    private func fits(_ range: Range<Int>, headings: [String], header: Range<Int>?, bytes: [UInt8], room: Int) -> Bool {
        tokens(Chunk(text: Self.string(bytes, range), headings: headings, tableHeader: header.map { Self.string(bytes, $0) })) <= room
    }

    /// A block as pieces that each fit the limit with room for a heading line before them.
    private func split(_ b: Block, headings: [String], bytes: [UInt8]) -> [Piece] {
        if fits(b.range, headings: headings, header: nil, bytes: bytes, room: limit) {
            return [Piece(range: b.range, isHeading: false, headings: headings, header: nil)]
        }
        let room = limit - min(24, limit / 4)
        var header: Range<Int>?
        var units = b.units
        // A continued table repeats its header rows, when they take at most half the room.
        if case .table(let headerEnd) = b.kind, fits(b.range.lowerBound..<headerEnd, headings: headings, header: nil, bytes: bytes, room: limit / 2) {
            header = b.range.lowerBound..<headerEnd
        }
        if units.isEmpty { units = Self.sentences(bytes, b.range) }
        // Whatever follows the last unit (blank lines) goes with it.
        if let last = units.indices.last { units[last] = units[last].lowerBound..<b.range.upperBound }
        if let first = units.indices.first { units[first] = b.range.lowerBound..<units[first].upperBound }
        var pieces: [Piece] = [], current: Range<Int>?
        func flush() {
            if let c = current {
                let continues = header.map { c.lowerBound >= $0.upperBound } ?? false
                pieces.append(Piece(range: c, isHeading: false, headings: headings, header: continues ? header : nil))
            }
            current = nil
        }
        for unit in units {
            let continues = header.map { unit.lowerBound >= $0.upperBound } ?? false
            if let c = current, fits(c.lowerBound..<unit.upperBound, headings: headings, header: continues ? header : nil, bytes: bytes, room: room) {
                current = c.lowerBound..<unit.upperBound
                continue
            }
            flush()
            if fits(unit, headings: headings, header: continues ? header : nil, bytes: bytes, room: room) {
                current = unit
            } else {
                // A unit too long by itself: cut it at sentences, then words, then characters.
                for part in Self.cut(unit, bytes: bytes, fits: { fits($0, headings: headings, header: continues ? header : nil, bytes: bytes, room: room) }) {
                    current = part
                    flush()
                }
            }
        }
        flush()
        return pieces
    }

    /// Sentence spans of `range`: each ends after `.`, `!` or `?` and the white space that
    /// follows it, so "192.168.1.1" or "travis-ci.org" are never cut.
    static func sentences(_ bytes: [UInt8], _ range: Range<Int>) -> [Range<Int>] {
        spans(bytes, range, cutBefore: cutPoints(bytes, range)[0])
    }

    /// Spans of `range` cut before each position where `cutBefore` holds.
    static func spans(_ bytes: [UInt8], _ range: Range<Int>, cutBefore: (Int) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = [], start = range.lowerBound
        for i in range.dropFirst() where cutBefore(i) {
            out.append(start..<i)
            start = i
        }
        out.append(start..<range.upperBound)
        return out
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    /// `range` cut into parts that fit: at sentences, else at words (after white space), else
    /// at characters (never inside a UTF-8 sequence).
    static func cut(_ range: Range<Int>, bytes: [UInt8], fits: (Range<Int>) -> Bool) -> [Range<Int>] {
        let levels = cutPoints(bytes, range)
        for (n, cutBefore) in levels.enumerated() {
            let parts = spans(bytes, range, cutBefore: cutBefore)
            guard parts.count > 1 || n == levels.count - 1 else { continue }
            var out: [Range<Int>] = [], current: Range<Int>?
            for p in parts {
                if let c = current, fits(c.lowerBound..<p.upperBound) { current = c.lowerBound..<p.upperBound; continue }
                if let c = current { out.append(c) }
                current = p
            }
            if let c = current { out.append(c) }
            if n == levels.count - 1 || out.allSatisfy(fits) { return out }
            // Some part is still too long: cut those finer.
            return out.flatMap { fits($0) ? [$0] : cut($0, bytes: bytes, fits: fits) }
        }
        return [range]
    }

    /// The end of the longest beginning of `range` that fits, cut after a sentence if one
    /// fits, else after a word, else between characters; nil if not even one character does.
    static func longestFittingPrefix(_ range: Range<Int>, bytes: [UInt8], fits: (Range<Int>) -> Bool) -> Int? {
        let levels = cutPoints(bytes, range)
        for cutBefore in levels {
            let ends = range.dropFirst().filter(cutBefore)
            if let best = ends.last(where: { fits(range.lowerBound..<$0) }) { return best }
        }
        return nil
    }

    /// Where `range` may be cut, coarsest first: after a sentence and its white space, after
    /// any white space, between characters (never inside a UTF-8 sequence).
    static func cutPoints(_ bytes: [UInt8], _ range: Range<Int>) -> [(Int) -> Bool] {
        [
            { i in isSpace(bytes[i - 1]) && !isSpace(bytes[i]) && sentenceEnd(bytes, before: i, from: range.lowerBound) },
            { i in isSpace(bytes[i - 1]) && !isSpace(bytes[i]) },
            { i in bytes[i] & 0xC0 != 0x80 },
        ]
    }

    /// Whether the white space before `i` follows a sentence's end.
    static func sentenceEnd(_ bytes: [UInt8], before i: Int, from start: Int) -> Bool {
        var k = i - 1
        while k > start, isSpace(bytes[k]) { k -= 1 }
        return ".!?".utf8.contains(bytes[k])
    }

    // MARK: - Packing

    /// Pieces packed greedily into chunks under the limit. A heading starts a chunk unless the
    /// chunk so far is small, and never ends one: trailing headings move to the next chunk.
    private func packed(_ pieces: [Piece], bytes: [UInt8]) -> [[Piece]] {
        var out: [[Piece]] = [], current: [Piece] = []
        func flush() {
            var tail: [Piece] = []
            while current.count > 1, current.last!.isHeading { tail.insert(current.removeLast(), at: 0) }
            if !current.isEmpty { out.append(current) }
            current = tail
        }
        var queue = pieces[...]
        while let p = queue.popFirst() {
            if p.isHeading, current.contains(where: { !$0.isHeading }), count(current, bytes: bytes) >= small { flush() }
            if current.isEmpty || count(current + [p], bytes: bytes) <= limit {
                current.append(p)
                continue
            }
            if current.contains(where: { !$0.isHeading }) { flush() }
            guard !current.isEmpty, count(current + [p], bytes: bytes) > limit else { current.append(p); continue }
            // Headings that do not fit with what follows them: the longest beginning of it that
            // fits goes with them (a heading never ends a chunk); the rest follows.
            let heads = current
            func piece(_ r: Range<Int>) -> Piece { Piece(range: r, isHeading: false, headings: p.headings, header: p.header) }
            guard let end = Self.longestFittingPrefix(p.range, bytes: bytes, fits: { self.count(heads + [piece($0)], bytes: bytes) <= limit }) else {
                out.append(current)     // headings longer than the limit allows: they stand alone
                current = [p]
                continue
            }
            out.append(heads + [piece(p.range.lowerBound..<end)])
            current = []
            queue.insert(piece(end..<p.range.upperBound), at: queue.startIndex)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Small chunks joined to a neighbour (the one before, else the one after) when the two fit.
    private func merged(_ chunks: [[Piece]], bytes: [UInt8]) -> [[Piece]] {
        var out: [[Piece]] = []
        var pending = chunks[...]
        while let c = pending.popFirst() {
            if count(c, bytes: bytes) < small {
                if let last = out.last, count(last + c, bytes: bytes) <= limit { out[out.count - 1] = last + c; continue }
                if let next = pending.first, count(c + next, bytes: bytes) <= limit { pending[pending.startIndex] = c + next; continue }
            }
            out.append(c)
        }
        return out
    }

    private func count(_ pieces: [Piece], bytes: [UInt8]) -> Int { tokens(chunk(pieces, bytes: bytes)) }

    private func chunk(_ pieces: [Piece], bytes: [UInt8]) -> Chunk {
        let range = pieces.first!.range.lowerBound..<pieces.last!.range.upperBound
        return Chunk(text: Self.string(bytes, range), headings: pieces[0].headings,
                     tableHeader: pieces[0].header.map { Self.string(bytes, $0) })
    }

    static func string(_ bytes: [UInt8], _ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
}

private extension Substring {
    /// Without up to three leading spaces (Markdown's indentation allowance).
    var trimmingLeadingSpaces: Substring {
        var s = self
        var n = 0
        while n < 3, s.first == " " { s = s.dropFirst(); n += 1 }
        return s
    }
}
