import XCTest
@testable import JarvisMemory

final class RetrieverTests: XCTestCase {
    /// Unit vectors along axes, so cosines are exact: entry i points mostly along axis i.
    func vector(_ axis: Int, _ weight: Float = 1, other: Int? = nil) -> [Float] {
        var v = [Float](repeating: 0, count: 8)
        v[axis] = weight
        if let other { v[other] = (1 - weight * weight).squareRoot() }
        return v
    }

    func index() -> Retriever { Retriever(items: items()) }

    func items() -> [Retriever.Item] {
        [
            .init(id: 1, names: ["Biscuit"], text: "My dog Biscuit has a red collar", tokenCount: 10, vector: vector(0)),
            .init(id: 2, names: ["Max"], text: "The neighbour's dog Max has a blue collar", tokenCount: 10, vector: vector(0, 0.9, other: 1)),
            .init(id: 3, names: [], text: "The garage code is 4417", tokenCount: 8, vector: vector(2)),
            .init(id: 4, names: [], text: "Ana lives in Lisbon", tokenCount: 6, vector: vector(3)),
        ]
    }

    func testDenseAndLexicalAgreeOnTheObviousEntry() {
        let hits = index().retrieve(question: "what is the garage code", vector: vector(2), limit: 3)
        XCTAssertEqual(hits.first?.id, 3)
        XCTAssertEqual(hits.map(\.id), [3], "the floor drops entries far below the best")
    }

    func testANameInTheQuestionWinsOverCloserVectors() {
        // The vector points at Biscuit's entry, but the question names Max.
        let hits = index().retrieve(question: "What colour is Max's collar?", vector: vector(0), limit: 2)
        XCTAssertEqual(hits.first?.id, 2)
        XCTAssertTrue(hits.first!.nameMatch)
    }

    func testNearMissesWithinTheMarginAreKeptOthersDropped() {
        var r = index()
        r.relativeMargin = 0.15
        let hits = r.retrieve(question: "which dog", vector: vector(0), limit: 4)
        XCTAssertEqual(Set(hits.map(\.id)), [1, 2], "Max's entry (cosine 0.9) is within 0.15 of the best; the others are not")
    }

    func testBelowTheAnswerFloorNothingIsReturnedUnlessAnEntryIsNamed() {
        var r = index()
        r.answerFloor = 0.4
        // Cosine 0.39 with Biscuit's entry, the first ranked: nothing remembered is about the question.
        XCTAssertEqual(r.retrieve(question: "what about the weather", vector: vector(0, 0.39, other: 6), limit: 4).map(\.id), [])
        XCTAssertEqual(r.retrieve(question: "what about the weather", vector: vector(0, 0.41, other: 6), limit: 4).first?.id, 1)
        // A name in the question counts however far the vectors are.
        XCTAssertEqual(r.retrieve(question: "Where is Biscuit?", vector: vector(6), limit: 4).map(\.id), [1])
    }

    func testTokenBudgetLimitsTheSet() {
        var r = index()
        r.absoluteFloor = -1
        r.relativeMargin = 10
        let hits = r.retrieve(question: "anything", vector: vector(0), limit: 4, tokenBudget: 20)
        XCTAssertLessThanOrEqual(hits.count, 2)
        XCTAssertEqual(hits.map(\.id).first, 1)
    }

    func testTheBestEntryIsKeptWhateverItsLength() throws {
        var r = index()
        r.absoluteFloor = -1
        r.relativeMargin = 10
        let all = r.retrieve(question: "anything", vector: vector(0), limit: 4, tokenBudget: 10_000)
        let first = try XCTUnwrap(all.first)
        // A budget smaller than the best entry still answers from it, and from nothing else.
        XCTAssertEqual(r.retrieve(question: "anything", vector: vector(0), limit: 4, tokenBudget: 1).map(\.id), [first.id])
    }

    func testBM25PrefersTheEntryWithTheRareTerm() {
        let scores = index().bm25("lisbon")
        XCTAssertEqual(scores.firstIndex(of: scores.max()!), 3)
        XCTAssertEqual(scores[0], 0)
    }

    /// Adding and removing entries one at a time gives the index a rebuild would: the same
    /// ranks and scores, BM25 statistics included.
    func testIncrementalChangesEqualARebuild() {
        let all = items()
        var grown = Retriever()
        for item in all.reversed() { grown.add(item) }       // out of order: kept in id order
        grown.add(.init(id: 9, names: ["Tom"], text: "Tom collects red garage signs", tokenCount: 7, vector: vector(4)))
        grown.remove(id: 9)
        grown.remove(id: 2)
        grown.remove(id: 42)                                  // not there: nothing happens
        let rebuilt = Retriever(items: all.filter { $0.id != 2 })
        XCTAssertEqual(grown.entryIDs, [1, 3, 4])
        for (q, v) in [("what is the garage code", vector(2)), ("red collar of my dog", vector(0)), ("Lisbon", vector(3))] {
            XCTAssertEqual(grown.rank(question: q, vector: v), rebuilt.rank(question: q, vector: v), q)
            XCTAssertEqual(grown.bm25(q), rebuilt.bm25(q), q)
        }
        var empty = grown
        for id in [1, 3, 4] as [UInt64] { empty.remove(id: id) }
        XCTAssertTrue(empty.rank(question: "garage", vector: vector(2)).isEmpty)
        empty.add(.init(id: 5, names: [], text: "a note with a vector of another size", tokenCount: 5, vector: [1, 0]))
        XCTAssertEqual(empty.rank(question: "note", vector: [1, 0]).first?.id, 5, "an emptied index takes the next item's dimension")
    }

    /// Ranking takes each list only `depth` deep: the selection keeps exactly the best, and the
    /// best hits of a large index are those of a ranking taken all the way down.
    func testRankingTakenToADepthKeepsTheBestHits() {
        var random = SeededRandom(seed: 42)
        func next() -> Float { random.next() }
        let unit = SeededRandom.unit
        let words = ["garage", "code", "dog", "collar", "lisbon", "sister", "passport", "bike", "locker", "wifi"]
        var full = Retriever(), shallow = Retriever()
        shallow.depth = 100
        for id in 1...400 as ClosedRange<UInt64> {
            let text = (0..<4).map { _ in words[Int((next() + 0.5) * 9.99)] }.joined(separator: " ")
            let item = Retriever.Item(id: id, names: id == 377 ? ["Rexford"] : [], text: text, tokenCount: 4, vector: unit((0..<16).map { _ in next() }))
            full.add(item)
            shallow.add(item)
        }
        for q in ["garage code", "dog collar", "where does my sister live", "Rexford"] {
            let v = unit((0..<16).map { _ in next() })
            let a = full.rank(question: q, vector: v), b = shallow.rank(question: q, vector: v)
            XCTAssertEqual(a.count, 400, "taken all the way down, every entry is ranked")
            XCTAssertEqual(Array(a.prefix(3)).map(\.id), Array(b.prefix(3)).map(\.id), q)
            XCTAssertEqual(a.map(\.cosine).max(), b.map(\.cosine).max(), "the closest entry is always a candidate")
        }
        XCTAssertEqual(shallow.rank(question: "Rexford", vector: [Float](repeating: 0, count: 16)).first?.id, 377, "a named entry is always a candidate")

        var values: [Int32] = (0..<1000).map { Int32(($0 * 7919) % 1000) }
        Retriever.select(&values, count: 10, by: { $0 > $1 })
        XCTAssertEqual(Set(values.prefix(10)), Set((990..<1000).map(Int32.init)))
    }

    func testTheInt8ScanFindsWhatAnFP32ScanFindsAndCosinesAreExact() {
        var random = SeededRandom(seed: 7)
        func next() -> Float { random.next() }
        let unit = SeededRandom.unit
        var r = Retriever()
        r.depth = 50
        var vectors: [UInt64: [Float]] = [:]
        for id in 1...3000 as ClosedRange<UInt64> {
            let v = unit((0..<384).map { _ in next() })
            vectors[id] = v
            r.add(Retriever.Item(id: id, names: [], text: "entry", tokenCount: 4, vector: v))
        }
        func dot(_ a: [Float], _ b: [Float]) -> Float {
            var s: Float = 0
            for i in a.indices { s += a[i] * b[i] }
            return s
        }
        for _ in 0..<5 {
            // A question close to one entry, as real ones are.
            let target = UInt64((next() + 0.5) * 2999) + 1
            let noise: [Float] = (0..<384).map { _ in next() * 0.05 }
            let q = unit(zip(vectors[target]!, noise).map { $0 + $1 })
            var scored: [(id: UInt64, cosine: Float)] = []
            for (id, v) in vectors { scored.append((id, dot(v, q))) }
            scored.sort { a, b in a.cosine > b.cosine || (a.cosine == b.cosine && a.id < b.id) }
            let exact = scored.map(\.id)
            let hits = r.rank(question: "nothing lexical", vector: q)
            XCTAssertEqual(hits.first?.id, target)
            XCTAssertEqual(hits.prefix(10).map(\.id), Array(exact.prefix(10)), "the nearest ten, in order")
            for h in hits {
                XCTAssertEqual(h.cosine, dot(vectors[h.id]!, q), accuracy: 2e-3, "reported cosines come from the fp16 rows, not the int8 codes")
            }
        }
    }

    /// Above `prefilterFrom` entries the sign prefilter picks the rows the int8 scan reads: the
    /// entry a question is about still comes first with its exact cosine, the answer's entries
    /// are those of the full scan, and an index read back from a snapshot ranks the same.
    func testTheSignPrefilterKeepsTheEntryAQuestionIsAbout() throws {
        var random = SeededRandom(seed: 11)
        func next() -> Float { random.next() }
        let unit = SeededRandom.unit
        // Vectors around a few topics, as embeddings of notes are, not spread evenly.
        let topics = (0..<12).map { _ in unit((0..<384).map { _ in next() }) }
        var full = Retriever(), narrowed = Retriever()
        full.depth = 50; narrowed.depth = 50
        narrowed.prefilterFrom = 1000; narrowed.prefilterKeep = 200
        var vectors: [UInt64: [Float]] = [:]
        for id in 1...3000 as ClosedRange<UInt64> {
            let topic = topics[Int(id) % topics.count]
            let v = unit(topic.map { $0 + next() * 0.12 })
            vectors[id] = v
            let item = Retriever.Item(id: id, names: [], text: "entry \(id % 7)", tokenCount: 4, vector: v)
            full.add(item); narrowed.add(item)
        }
        var w = SnapshotWriter()
        narrowed.write(to: &w)
        var read = try w.data.withUnsafeBytes { raw -> Retriever in
            var r = SnapshotReader(raw)
            return try Retriever(snapshot: &r)
        }
        read.depth = 50; read.prefilterFrom = 1000; read.prefilterKeep = 200
        var sameTop10 = 0
        for k in 0..<20 {
            let target = UInt64((next() + 0.5) * 2999) + 1
            let q = unit(vectors[target]!.map { $0 + next() * 0.02 })
            let a = full.rank(question: "entry \(k % 7)", vector: q), b = narrowed.rank(question: "entry \(k % 7)", vector: q)
            XCTAssertEqual(b.first?.id, a.first?.id)
            XCTAssertEqual(b.first?.cosine, a.first?.cosine, "the same fp16 rescoring")
            XCTAssertEqual(narrowed.retrieve(question: "x", vector: q).map(\.id), full.retrieve(question: "x", vector: q).map(\.id))
            XCTAssertEqual(read.rank(question: "entry \(k % 7)", vector: q), b, "the snapshot's sign rows are the index's")
            let cosA = Dictionary(uniqueKeysWithValues: a.map { ($0.id, $0.cosine) })
            for h in b where cosA[h.id] != nil { XCTAssertEqual(h.cosine, cosA[h.id]) }
            if Set(a.sorted { $0.cosine > $1.cosine }.prefix(10).map(\.id)) == Set(b.sorted { $0.cosine > $1.cosine }.prefix(10).map(\.id)) { sameTop10 += 1 }
        }
        XCTAssertGreaterThanOrEqual(sameTop10, 18, "the ten nearest by cosine, prefiltered or not")
    }
}

/// Reproducible floats in -0.5..<0.5 (a linear congruential generator), for vectors and picks.
struct SeededRandom {
    var seed: UInt64

    mutating func next() -> Float {
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        return Float(seed >> 40) / Float(1 << 24) - 0.5
    }

    /// `v` scaled to unit length.
    static func unit(_ v: [Float]) -> [Float] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / n }
    }
}
