import COpenBLAS
import Foundation
import JarvisStore

/// Finds the few entries a question needs: dense similarity (MiniLM cosine, one BLAS product
/// over all entries) fused with BM25 over each entry's text and metadata by reciprocal-rank
/// fusion, entries named in the question first, then cut by a relevance floor and a token
/// budget.
///
/// Parameters (measured on the personal-QA set, see `jarvis-bench qa`):
/// - RRF constant 60 (the usual choice; ranks matter, not raw scores);
/// - relevance floor: an entry is kept only if its cosine is at least `absoluteFloor` and
///   within `relativeMargin` of the best entry's cosine — a question about one thing is not
///   drowned in near-misses;
/// - budget: entries are taken best-first until `tokenBudget` tokens are used;
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

    public private(set) var items: [Item] = []
    private var matrix: [Float] = []       // items × dim, row-major
    private var dim = 0
    private var documentTerms: [[String: Int]] = []
    private var documentFrequency: [String: Int] = [:]
    private var totalLength = 0
    private var averageLength: Double { Double(totalLength) / Double(max(items.count, 1)) }

    public init() {}

    /// Builds the index of `items` (vectors all of one dimension: the first item's).
    public init(items: [Item]) {
        for item in items { add(item) }
    }

    /// Adds one entry: its row, its terms, the collection's statistics. Items are kept in id
    /// order, which breaks ties between equal scores.
    public mutating func add(_ item: Item) {
        if items.isEmpty { dim = item.vector.count }
        let i = items.firstIndex { $0.id > item.id } ?? items.count
        items.insert(item, at: i)
        matrix.insert(contentsOf: item.vector.count == dim ? item.vector : [Float](repeating: 0, count: dim), at: i * dim)
        var tf: [String: Int] = [:]
        for t in Self.terms(item.text + " " + item.names.joined(separator: " ")) { tf[t, default: 0] += 1 }
        documentTerms.insert(tf, at: i)
        for t in tf.keys { documentFrequency[t, default: 0] += 1 }
        totalLength += tf.values.reduce(0, +)
    }

    /// Removes the entry with this id, if it is indexed.
    public mutating func remove(id: UInt64) {
        guard let i = items.firstIndex(where: { $0.id == id }) else { return }
        items.remove(at: i)
        matrix.removeSubrange(i * dim..<(i + 1) * dim)
        let tf = documentTerms.remove(at: i)
        for t in tf.keys {
            documentFrequency[t, default: 1] -= 1
            if documentFrequency[t] == 0 { documentFrequency[t] = nil }
        }
        totalLength -= tf.values.reduce(0, +)
        if items.isEmpty { dim = 0 }
    }

    /// Ranked hits for a question, best first, before the floor and budget.
    public func rank(question: String, vector: [Float]) -> [Hit] {
        guard !items.isEmpty else { return [] }
        // Dense: cosine of unit vectors is their dot product; one matrix-vector product.
        var cosines = [Float](repeating: 0, count: items.count)
        if vector.count == dim && dim > 0 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(items.count), Int32(dim), 1, matrix, Int32(dim), vector, 1, 0, &cosines, 1)
        }
        let bm25 = self.bm25(question)
        let denseRank = rankPositions(cosines.map(Double.init))
        let lexicalRank = rankPositions(bm25)
        let q = " " + Self.terms(question).joined(separator: " ") + " "
        var hits: [Hit] = []
        for i in items.indices {
            var score = 1 / (rrfConstant + Double(denseRank[i] + 1))
            if bm25[i] > 0 { score += 1 / (rrfConstant + Double(lexicalRank[i] + 1)) }
            let named = items[i].names.contains { name in
                let n = Self.terms(name).joined(separator: " ")
                return !n.isEmpty && q.contains(" " + n + " ")
            }
            hits.append(Hit(id: items[i].id, score: score + (named ? 1 : 0), cosine: cosines[i], nameMatch: named))
        }
        return hits.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
    }

    /// The entries to answer from: ranked, cut by the relevance floor, at most `limit`, and
    /// within `tokenBudget` tokens in all.
    public func retrieve(question: String, vector: [Float], limit: Int = 4, tokenBudget: Int = 1024) -> [Hit] {
        let ranked = rank(question: question, vector: vector)
        // The entry the answer would rest on first must be close enough in meaning, or named.
        guard let first = ranked.first, first.cosine >= answerFloor || first.nameMatch,
              let best = ranked.map(\.cosine).max() else { return [] }
        let floor = max(absoluteFloor, best - relativeMargin)
        var chosen: [Hit] = [], used = 0
        for h in ranked where chosen.count < limit {
            guard h.nameMatch || h.cosine >= floor else { continue }
            let tokens = items.first { $0.id == h.id }?.tokenCount ?? 0
            if used + tokens > tokenBudget { continue }
            used += tokens
            chosen.append(h)
        }
        return chosen
    }

    // MARK: - BM25

    func bm25(_ question: String, k1: Double = 1.2, b: Double = 0.75) -> [Double] {
        let n = Double(items.count)
        let qterms = Set(Self.terms(question))
        return documentTerms.map { tf in
            let length = Double(tf.values.reduce(0, +))
            var s = 0.0
            for t in qterms {
                guard let f = tf[t] else { continue }
                let df = Double(documentFrequency[t] ?? 0)
                let idf = log(1 + (n - df + 0.5) / (df + 0.5))
                s += idf * Double(f) * (k1 + 1) / (Double(f) + k1 * (1 - b + b * length / max(averageLength, 1)))
            }
            return s
        }
    }

    /// Position of each element when sorted by value, descending (0 = best).
    private func rankPositions(_ values: [Double]) -> [Int] {
        let order = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        var pos = [Int](repeating: 0, count: values.count)
        for (r, i) in order.enumerated() { pos[i] = r }
        return pos
    }

    static let stopwords: Set<String> = ["a", "an", "the", "is", "are", "was", "were", "of", "to", "in", "on", "at", "and", "or",
                                         "my", "i", "me", "what", "which", "who", "where", "when", "how", "do", "does", "did",
                                         "it", "its", "for", "with", "by", "from", "that", "this", "be", "as", "s"]

    /// Lower-cased words and numbers, stop words dropped.
    static func terms(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init).filter { !stopwords.contains($0) }
    }
}
