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

    func index() -> Retriever {
        Retriever(items: [
            .init(id: 1, names: ["Biscuit"], text: "My dog Biscuit has a red collar", tokenCount: 10, vector: vector(0)),
            .init(id: 2, names: ["Max"], text: "The neighbour's dog Max has a blue collar", tokenCount: 10, vector: vector(0, 0.9, other: 1)),
            .init(id: 3, names: [], text: "The garage code is 4417", tokenCount: 8, vector: vector(2)),
            .init(id: 4, names: [], text: "Ana lives in Lisbon", tokenCount: 6, vector: vector(3)),
        ])
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

    func testTokenBudgetLimitsTheSet() {
        var r = index()
        r.absoluteFloor = -1
        r.relativeMargin = 10
        let hits = r.retrieve(question: "anything", vector: vector(0), limit: 4, tokenBudget: 20)
        XCTAssertLessThanOrEqual(hits.count, 2)
        XCTAssertEqual(hits.map(\.id).first, 1)
    }

    func testBM25PrefersTheEntryWithTheRareTerm() {
        let scores = index().bm25("lisbon")
        XCTAssertEqual(scores.firstIndex(of: scores.max()!), 3)
        XCTAssertEqual(scores[0], 0)
    }
}
