import CJarvisKernels
import Foundation
import JarvisStore

/// Finds the few entries a question needs: dense similarity (MiniLM cosine) fused with BM25 over each entry's text and metadata (an inverted index:
/// only entries holding a question term are scored) by reciprocal-rank fusion, entries named in
/// the question first, then cut by a relevance floor and a token budget. An entry's text is
/// indexed, not kept; adding or removing an entry costs the same at any index size.
///
/// Vectors are held three times, small: as int8 rows with a scale each, which one integer
/// product scans for the `depth` nearest (a quarter of the bytes of fp32: at 100,000 entries the
/// scan reads 37 MiB, not 147); as fp16 rows, from which the cosine of every candidate is
/// computed again before anything is ranked, cut or reported; and, for an index of more than
/// `prefilterFrom` entries, as the int8 codes' signs (one bit per value: 4.6 MiB at 100,000),
/// whose product with the question picks the `prefilterKeep` rows the int8 scan then reads.
/// Without the prefilter only which entries make the `depth` nearest can differ from an fp32
/// scan, and only among entries whose cosines lie within the int8 rounding (about 0.005) of
/// the `depth`-th; with it, an entry whose signs agree poorly with the question can also miss
/// the deep ranks (`jarvis-bench scale` counts how often the ten nearest change).
///
/// Parameters (measured on the personal-QA set, see `jarvis-bench qa`):
/// - RRF constant 60 (the usual choice; ranks matter, not raw scores);
/// - relevance floor: an entry is kept only if its cosine is at least `absoluteFloor` and
///   within `relativeMargin` of the best entry's cosine — a question about one thing is not
///   drowned in near-misses;
/// - budget: the best entry is always taken, whatever its length; the others only while the
///   set stays within `tokenBudget` tokens, so several short notes compose and a long chunk
///   answers alone;
/// - answer floor: when the first-ranked entry (the one the answer would rest on first) is
///   not named in the question and its cosine is below `answerFloor`, nothing remembered is
///   about the question and nothing is returned. 0.35 declines none of the personal-QA set's
///   first 510 questions and catches 20 of its 60 unanswerable ones; 0.40 caught 29 but
///   declined 6 of the 510 that were answered right (README, "Questions with nothing
///   remembered behind them").
public struct Retriever: Sendable {
    public struct Item: Sendable {
        public let id: UInt64
        public let names: [String]
        public let text: String
        public let tokenCount: Int
        public let vector: [Float]

        public init(id: UInt64, names: [String], text: String, tokenCount: Int, vector: [Float]) {
            self.id = id; self.names = names; self.text = text; self.tokenCount = tokenCount; self.vector = vector
        }

        /// A stored entry as the retriever sees it: its names and aliases match exactly; its
        /// text in its context and its metadata (other than the name) are searched by BM25.
        public init(record r: EntryRecord, vector: [Float]) {
            let meta = r.metadata.filter { $0.key != "name" }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: " ")
            self.init(id: r.id, names: [r.name].compactMap { $0 } + r.aliases, text: r.encodedText + " " + meta, tokenCount: r.tokenCount, vector: vector)
        }
    }

    public struct Hit: Sendable, Equatable {
        public let id: UInt64
        public let score: Double
        public let cosine: Float
        public let nameMatch: Bool
    }

    public var absoluteFloor: Float = 0.2
    public var answerFloor: Float = 0.35
    public var relativeMargin: Float = 0.25
    public var rrfConstant: Double = 60
    /// How deep each ranking is taken into the fusion: an entry past the `depth` best by cosine
    /// (or by BM25) counts as ranked `depth` there. Exact for stores of up to `depth` entries;
    /// beyond, a fused score moves by less than 1/(rrfConstant + depth), and ranking 100,000
    /// entries costs one matrix-vector product and a selection, not two full sorts.
    public var depth = 1000
    /// Indexes of more entries than this are first narrowed by the sign prefilter. Below it
    /// the int8 scan reads every row; above it, at 100,000 entries, the scan was most of a
    /// ranking's time (3.7 of 6.9 ms).
    public var prefilterFrom = 32_768
    /// Rows the sign prefilter keeps for the int8 scan (four times the default `depth`).
    public var prefilterKeep = 4000

    // Entries live in slots; a removed entry's slot is reused. Rows of `matrix` are slots.
    private var ids: [UInt64] = []
    private var tokenCounts: [Int32] = []
    private var lengths: [Int32] = []
    private var slotTerms: [[Int32]] = []
    private var slotNames: [[String]] = []
    // Vectors by slot: int8 codes with a scale per row, and fp16 bits.
    private var codes: [Int8] = []
    private var codeScales: [Float] = []
    private var halves: [UInt16] = []
    // The codes' signs, `signBytes` per slot (see `jk_sign_bits_i8`).
    private var signs: [UInt8] = []
    private var dim = 0
    private var signBytes: Int { Int(jk_sign_row_bytes(Int32(dim))) }
    private var slotOf: [UInt64: Int32] = [:]
    private var freeSlots: [Int32] = []
    // BM25: an inverted index over term numbers.
    private var termNumbers: [String: Int32] = [:]
    private var postings: [Postings] = []
    private var totalLength = 0
    private var averageLength: Double { Double(totalLength) / Double(max(count, 1)) }
    // Names and aliases, as their terms joined by spaces.
    private var named: [String: [UInt64]] = [:]
    private var longestName = 0

    /// The slots holding one term, with its count in each.
    private struct Postings: Sendable {
        var slots: [Int32] = []
        var counts: [Int32] = []
    }

    private static let freeSlot = UInt64.max

    public init() {}

    /// Builds the index of `items` (vectors all of one dimension: the first item's).
    public init(items: [Item]) {
        for item in items { add(item) }
    }

    /// Entries indexed.
    public var count: Int { slotOf.count }

    /// Every indexed entry's id, in id order.
    public var entryIDs: [UInt64] { slotOf.keys.sorted() }

    /// Adds one entry: its row, its terms, its names, the collection's statistics. Adding an
    /// id that is indexed already replaces it.
    public mutating func add(_ item: Item) {
        if slotOf[item.id] != nil { remove(id: item.id) }
        if count == 0 {
            dim = item.vector.count
            codes = []; codeScales = []; halves = []; signs = []; ids = []; tokenCounts = []; lengths = []; slotTerms = []; slotNames = []; freeSlots = []
        }
        let row = item.vector.count == dim ? item.vector : [Float](repeating: 0, count: dim)
        let (rowCodes, rowScale) = Self.quantize(row)
        var rowHalves = [UInt16](repeating: 0, count: dim)
        jk_fp32_to_fp16_row(row, &rowHalves, Int64(dim))
        var rowSigns = [UInt8](repeating: 0, count: signBytes)
        jk_sign_bits_i8(rowCodes, 1, Int32(dim), &rowSigns)
        var tf: [String: Int32] = [:]
        for t in Self.terms(item.text + " " + item.names.joined(separator: " ")) { tf[t, default: 0] += 1 }
        let nameKeys = item.names.map { Self.terms($0).joined(separator: " ") }.filter { !$0.isEmpty }
        let slot: Int32
        if let s = freeSlots.popLast() {
            slot = s
            let i = Int(s)
            ids[i] = item.id; tokenCounts[i] = Int32(item.tokenCount)
            codes.replaceSubrange(i * dim..<(i + 1) * dim, with: rowCodes)
            halves.replaceSubrange(i * dim..<(i + 1) * dim, with: rowHalves)
            signs.replaceSubrange(i * signBytes..<(i + 1) * signBytes, with: rowSigns)
            codeScales[i] = rowScale
        } else {
            slot = Int32(ids.count)
            ids.append(item.id); tokenCounts.append(Int32(item.tokenCount)); lengths.append(0); slotTerms.append([]); slotNames.append([])
            codes.append(contentsOf: rowCodes); halves.append(contentsOf: rowHalves); signs.append(contentsOf: rowSigns); codeScales.append(rowScale)
        }
        let i = Int(slot)
        var numbers: [Int32] = []
        for (t, f) in tf {
            let n: Int32
            if let known = termNumbers[t] { n = known } else {
                n = Int32(postings.count)
                termNumbers[t] = n
                postings.append(Postings())
            }
            postings[Int(n)].slots.append(slot)
            postings[Int(n)].counts.append(f)
            numbers.append(n)
        }
        let length = tf.values.reduce(0, +)
        lengths[i] = length
        totalLength += Int(length)
        slotTerms[i] = numbers
        slotNames[i] = nameKeys
        for key in nameKeys {
            named[key, default: []].append(item.id)
            longestName = max(longestName, key.split(separator: " ").count)
        }
        slotOf[item.id] = slot
    }

    /// Removes the entry with this id, if it is indexed.
    public mutating func remove(id: UInt64) {
        guard let slot = slotOf.removeValue(forKey: id) else { return }
        let i = Int(slot)
        for n in slotTerms[i] {
            var p = postings[Int(n)]
            if let k = p.slots.firstIndex(of: slot) {
                p.slots.swapAt(k, p.slots.count - 1); p.slots.removeLast()
                p.counts.swapAt(k, p.counts.count - 1); p.counts.removeLast()
            }
            postings[Int(n)] = p
        }
        for key in slotNames[i] {
            named[key]?.removeAll { $0 == id }
            if named[key]?.isEmpty == true { named[key] = nil }
        }
        totalLength -= Int(lengths[i])
        ids[i] = Self.freeSlot
        lengths[i] = 0; slotTerms[i] = []; slotNames[i] = []
        for k in i * dim..<(i + 1) * dim { codes[k] = 0; halves[k] = 0 }
        for k in i * signBytes..<(i + 1) * signBytes { signs[k] = 0 }
        codeScales[i] = 0
        freeSlots.append(slot)
    }

    /// Ranked hits for a question, best first, before the floor and budget: every entry among
    /// the `depth` best by cosine or by BM25, or named in the question.
    public func rank(question: String, vector: [Float]) -> [Hit] {
        guard count > 0 else { return [] }
        let n = ids.count
        // Dense: cosine of unit vectors is their dot product; first the int8 scan (of every
        // row, or of those the sign prefilter keeps), then the fp16 cosine of each candidate.
        let usable = vector.count == dim && dim > 0
        var cosines = [Float](repeating: 0, count: n)
        let scanned = usable ? scan(vector, into: &cosines) : occupied
        let (lexical, touched) = bm25Scores(question)
        let nearest = topSlots(scanned, by: cosines, count: depth)
        let lexicalTop = best(topSlots(touched, by: lexical, count: depth), by: lexical)
        let namedSlots = Set(namedIDs(in: question).compactMap { slotOf[$0] })
        var candidates = Set(nearest)
        candidates.formUnion(lexicalTop)
        candidates.formUnion(namedSlots)
        if usable { rescore(candidates, vector, into: &cosines) }
        let denseTop = best(nearest, by: cosines)
        // Rank in each list; `depth` for an entry past it, and in the lexical list only for an
        // entry holding a question term (its BM25 score is above 0).
        var denseRank: [Int32: Int32] = [:], lexicalRank: [Int32: Int32] = [:]
        denseRank.reserveCapacity(denseTop.count); lexicalRank.reserveCapacity(lexicalTop.count)
        for (r, s) in denseTop.enumerated() { denseRank[s] = Int32(r) }
        for (r, s) in lexicalTop.enumerated() { lexicalRank[s] = Int32(r) }
        var hits: [Hit] = []
        hits.reserveCapacity(candidates.count)
        for s in candidates {
            let i = Int(s)
            var score = 1 / (rrfConstant + Double(denseRank[s, default: Int32(depth)] + 1))
            if lexical[i] > 0 { score += 1 / (rrfConstant + Double(lexicalRank[s, default: Int32(depth)] + 1)) }
            let isNamed = namedSlots.contains(s)
            hits.append(Hit(id: ids[i], score: score + (isNamed ? 1 : 0), cosine: cosines[i], nameMatch: isNamed))
        }
        return hits.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
    }

    /// A unit vector as int8 codes (-127...127) and the scale that multiplies them back.
    public static func quantize(_ v: [Float]) -> (codes: [Int8], scale: Float) {
        let top = v.reduce(0) { max($0, abs($1)) }
        guard top > 0 else { return ([Int8](repeating: 0, count: v.count), 0) }
        let scale = top / 127
        return (v.map { Int8(max(-127, min(127, ($0 / scale).rounded()))) }, scale)
    }

    /// The slots that hold an entry.
    private var occupied: [Int32] {
        freeSlots.isEmpty ? Array(0..<Int32(ids.count)) : (0..<Int32(ids.count)).filter { ids[Int($0)] != Self.freeSlot }
    }

    /// Approximate cosines of `vector` from the int8 rows, put into `cosines` for the slots it
    /// returns: every occupied slot, or in a large index the `prefilterKeep` the signs pick.
    private func scan(_ vector: [Float], into cosines: inout [Float]) -> [Int32] {
        let (q, qScale) = Self.quantize(vector)
        if count > prefilterFrom {
            var sums = [Int32](repeating: 0, count: ids.count), picked = [Int32](repeating: 0, count: ids.count)
            jk_sign_dot_rows(signs, Int64(ids.count), Int32(dim), q, &sums)
            // Free slots score 0 and rarely pass the cut; those that do are left out.
            let m = Int(jk_top_i32(sums, Int64(ids.count), Int64(prefilterKeep + freeSlots.count), &picked))
            let kept = freeSlots.isEmpty ? Array(picked[..<m]) : picked[..<m].filter { ids[Int($0)] != Self.freeSlot }
            var dots = [Int32](repeating: 0, count: kept.count)
            jk_dot_i8_slots(codes, kept, Int64(kept.count), Int32(dim), q, &dots)
            for (s, d) in zip(kept, dots) { cosines[Int(s)] = Float(d) * codeScales[Int(s)] * qScale }
            return kept
        }
        var dots = [Int32](repeating: 0, count: ids.count)
        jk_dot_i8_rows(codes, Int64(ids.count), Int32(dim), q, &dots)
        for j in dots.indices { cosines[j] = Float(dots[j]) * codeScales[j] * qScale }
        return occupied
    }

    /// Puts the cosine of `vector` with each of `slots`' fp16 rows into `cosines`.
    private func rescore(_ slots: Set<Int32>, _ vector: [Float], into cosines: inout [Float]) {
        let slots = Array(slots)
        var out = [Float](repeating: 0, count: slots.count)
        jk_dot_f16_slots(halves, slots, Int64(slots.count), Int32(dim), vector, &out)
        for (s, c) in zip(slots, out) { cosines[Int(s)] = c }
    }

    /// The `count` slots of `slots` with the largest keys (as Float; ties by slot), in no
    /// order: each packed with its key into one integer, so the selection compares plain
    /// integers — at 100,000 entries this was most of a ranking's time after the scan. The
    /// caller orders what comes back by the exact keys.
    private func topSlots<K: BinaryFloatingPoint>(_ slots: [Int32], by keys: [K], count depth: Int) -> [Int32] {
        guard slots.count > depth else { return slots }
        var packed = slots.map { s -> UInt64 in
            // Float bits made to sort as the floats do, then inverted: the largest first.
            let b = Float(keys[Int(s)]).bitPattern
            let ordered = b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
            return UInt64(~ordered) << 32 | UInt64(UInt32(bitPattern: s))
        }
        Self.select(&packed, count: depth, by: <)
        return packed[..<depth].map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) }
    }

    /// The `depth` best of `slots` by `keys[slot]` (ties by id), best first. Inlined, so each
    /// key type gets its own comparisons (unspecialized, ordering 1,000 slots took 0.5 ms).
    @inline(__always)
    private func best<K: BinaryFloatingPoint>(_ slots: [Int32], by keys: [K]) -> [Int32] {
        keys.withUnsafeBufferPointer { k in
            ids.withUnsafeBufferPointer { id in
                let before = { (a: Int32, b: Int32) -> Bool in
                    let x = k[Int(a)], y = k[Int(b)]
                    return x > y || (x == y && id[Int(a)] < id[Int(b)])
                }
                var slots = slots
                if slots.count > depth {
                    Self.select(&slots, count: depth, by: before)
                    slots.removeSubrange(depth...)
                }
                return slots.sorted(by: before)
            }
        }
    }

    /// Moves the `count` first elements by `before` to the front, in no order (quickselect).
    static func select<T>(_ a: inout [T], count k: Int, by before: (T, T) -> Bool) {
        var lo = 0, hi = a.count - 1
        var rng = SystemRandomNumberGenerator()
        while lo < hi {
            let pivot = a[Int.random(in: lo...hi, using: &rng)]
            var i = lo, j = hi
            while i <= j {
                while before(a[i], pivot) { i += 1 }
                while before(pivot, a[j]) { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k - 1 <= j { hi = j } else if k - 1 >= i { lo = i } else { return }
        }
    }

    /// Ids of the entries whose name or alias occurs in the question, as a run of its terms.
    func namedIDs(in question: String) -> [UInt64] {
        guard !named.isEmpty else { return [] }
        let q = Self.terms(question)
        var found: [UInt64] = []
        for i in q.indices {
            for n in 1...max(1, min(longestName, q.count - i)) where i + n <= q.count {
                if let hit = named[q[i..<i + n].joined(separator: " ")] { found += hit }
            }
        }
        return found
    }

    /// The entries to answer from: ranked, cut by the relevance floor, at most `limit`; the
    /// first always, the others while all of them stay within `tokenBudget` tokens.
    public func retrieve(question: String, vector: [Float], limit: Int = 4, tokenBudget: Int = 1024) -> [Hit] {
        let ranked = rank(question: question, vector: vector)
        // The entry the answer would rest on first must be close enough in meaning, or named.
        guard let first = ranked.first, first.cosine >= answerFloor || first.nameMatch,
              let best = ranked.map(\.cosine).max() else { return [] }
        let floor = max(absoluteFloor, best - relativeMargin)
        var chosen: [Hit] = [], used = 0
        for h in ranked where chosen.count < limit {
            guard h.nameMatch || h.cosine >= floor else { continue }
            let tokens = slotOf[h.id].map { Int(tokenCounts[Int($0)]) } ?? 0
            if !chosen.isEmpty && used + tokens > tokenBudget { continue }
            used += tokens
            chosen.append(h)
        }
        return chosen
    }

    // MARK: - BM25

    /// BM25 scores by slot (0 for entries without the question's terms), and the slots that
    /// hold any of them.
    private func bm25Scores(_ question: String, k1: Double = 1.2, b: Double = 0.75) -> (scores: [Double], touched: [Int32]) {
        let n = Double(count)
        var scores = [Double](repeating: 0, count: ids.count), touched: [Int32] = []
        var seen = [Bool](repeating: false, count: ids.count)
        let average = max(averageLength, 1)
        for t in Set(Self.terms(question)) {
            guard let number = termNumbers[t] else { continue }
            let p = postings[Int(number)]
            let df = Double(p.slots.count)
            guard df > 0 else { continue }
            let idf = log(1 + (n - df + 0.5) / (df + 0.5))
            for (s, f) in zip(p.slots, p.counts) {
                let i = Int(s), f = Double(f)
                if !seen[i] { seen[i] = true; touched.append(s) }
                scores[i] += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * Double(lengths[i]) / average))
            }
        }
        return (scores, touched)
    }

    /// BM25 score of every entry, in id order (0 for entries without the question's terms).
    func bm25(_ question: String) -> [Double] {
        let scores = bm25Scores(question).scores
        return entryIDs.map { scores[Int(slotOf[$0]!)] }
    }

    static let stopwords: Set<String> = ["a", "an", "the", "is", "are", "was", "were", "of", "to", "in", "on", "at", "and", "or",
                                         "my", "i", "me", "what", "which", "who", "where", "when", "how", "do", "does", "did",
                                         "it", "its", "for", "with", "by", "from", "that", "this", "be", "as", "s"]

    /// Lower-cased words and numbers, stop words dropped.
    static func terms(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init).filter { !stopwords.contains($0) }
    }
}

// MARK: - Snapshot

extension Retriever {
    /// Writes the whole index, as it is, for `init(snapshot:)`.
    func write(to w: inout SnapshotWriter) {
        w.int(dim)
        w.array(ids); w.array(tokenCounts); w.array(lengths)
        w.array(slotTerms.map { Int32($0.count) }); w.array(slotTerms.flatMap { $0 })
        w.strings(slotNames.map { $0.joined(separator: "\n") })
        w.array(codes); w.array(codeScales); w.array(halves)
        w.array(freeSlots)
        let terms = termNumbers.sorted { $0.value < $1.value }.map(\.key)
        w.strings(terms)
        w.array(postings.map { Int32($0.slots.count) }); w.array(postings.flatMap(\.slots)); w.array(postings.flatMap(\.counts))
        w.int(totalLength)
        let names = named.keys.sorted()
        w.strings(names)
        w.array(names.map { Int32(named[$0]!.count) }); w.array(names.flatMap { named[$0]! })
        w.int(longestName)
    }

    /// The index `write(to:)` wrote; the tunable parameters (floors, depth) are the defaults.
    /// - Throws: `MemoryError(.corrupt)` when the snapshot does not hold a consistent index.
    init(snapshot r: inout SnapshotReader) throws {
        self.init()
        dim = try r.int()
        ids = try r.array(); tokenCounts = try r.array(); lengths = try r.array()
        let termsPerSlot: [Int32] = try r.array(), slotTermValues: [Int32] = try r.array()
        slotTerms = try Self.split(termsPerSlot, slotTermValues)
        slotNames = try r.strings().map { $0.isEmpty ? [] : $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        codes = try r.array(); codeScales = try r.array(); halves = try r.array()
        freeSlots = try r.array()
        let terms = try r.strings()
        let counts: [Int32] = try r.array()
        let postingSlots: [Int32] = try r.array(), postingCounts: [Int32] = try r.array()
        let slots = try Self.split(counts, postingSlots), termCounts = try Self.split(counts, postingCounts)
        totalLength = try r.int()
        let names = try r.strings()
        let idsPerName: [Int32] = try r.array(), namedIDs: [UInt64] = try r.array()
        let named = try Self.split(idsPerName, namedIDs)
        longestName = try r.int()
        let n = ids.count
        guard dim >= 0, tokenCounts.count == n, lengths.count == n, slotTerms.count == n, slotNames.count == n,
              codes.count == n * dim, codeScales.count == n, halves.count == n * dim, terms.count == slots.count,
              names.count == named.count, freeSlots.allSatisfy({ Int($0) < n }),
              slotTerms.allSatisfy({ $0.allSatisfy { Int($0) < terms.count } }), slots.allSatisfy({ $0.allSatisfy { Int($0) < n } }) else {
            throw StoreError(.corrupt, "the index snapshot's retriever is inconsistent")
        }
        termNumbers = Dictionary(uniqueKeysWithValues: terms.enumerated().map { ($1, Int32($0)) })
        postings = zip(slots, termCounts).map { Postings(slots: $0, counts: $1) }
        self.named = Dictionary(uniqueKeysWithValues: zip(names, named))
        slotOf.reserveCapacity(n)
        for (slot, id) in ids.enumerated() where id != Self.freeSlot { slotOf[id] = Int32(slot) }
        signs = [UInt8](repeating: 0, count: n * signBytes)
        jk_sign_bits_i8(codes, Int64(n), Int32(dim), &signs)
    }

    /// `values` cut into consecutive arrays of `counts[i]` elements.
    private static func split<T>(_ counts: [Int32], _ values: [T]) throws -> [[T]] {
        guard counts.allSatisfy({ $0 >= 0 }), counts.reduce(0, { $0 + Int($1) }) == values.count else {
            throw StoreError(.corrupt, "the index snapshot's lists do not add up")
        }
        var out: [[T]] = [], at = 0
        out.reserveCapacity(counts.count)
        for c in counts {
            out.append(Array(values[at..<at + Int(c)]))
            at += Int(c)
        }
        return out
    }
}
