import Foundation
import XCTest
@testable import JarvisEngine

final class SamplerTests: XCTestCase {
    let logits: [Float] = [log(0.1), log(0.6), log(0.25), log(0.05)]

    func testGreedyPicksTheLargestLogitAndTheFirstOnTies() {
        var s = Sampler(.greedy)
        XCTAssertEqual(s.sample(logits), 1)
        XCTAssertEqual(Sampler.argmax([3, 7, 7, 1]), 1)
    }

    func testSameSeedSameTokensOtherSeedOtherTokens() {
        let p = SamplingParameters(temperature: 1, seed: 7)
        var a = Sampler(p), b = Sampler(p)
        var c = Sampler(SamplingParameters(temperature: 1, seed: 8))
        let xs = (0..<200).map { _ in a.sample(logits) }
        let ys = (0..<200).map { _ in b.sample(logits) }
        let zs = (0..<200).map { _ in c.sample(logits) }
        XCTAssertEqual(xs, ys)
        XCTAssertNotEqual(xs, zs)
    }

    func testTemperatureOneFollowsTheSoftmax() {
        var s = Sampler(SamplingParameters(temperature: 1, seed: 1))
        var counts = [0, 0, 0, 0]
        let n = 20_000
        for _ in 0..<n { counts[Int(s.sample(logits))] += 1 }
        for (i, want) in [0.1, 0.6, 0.25, 0.05].enumerated() {
            XCTAssertEqual(Double(counts[i]) / Double(n), want, accuracy: 0.015, "token \(i)")
        }
    }

    func testTopKOneIsGreedyAtAnyTemperature() {
        var s = Sampler(SamplingParameters(temperature: 5, topK: 1, seed: 3))
        for _ in 0..<100 { XCTAssertEqual(s.sample(logits), 1) }
    }

    func testTopPKeepsTheSmallestSetReachingP() {
        // 0.6 + 0.25 = 0.85 ≥ 0.8: only tokens 1 and 2 may be drawn.
        var s = Sampler(SamplingParameters(temperature: 1, topP: 0.8, seed: 4))
        let drawn = Set((0..<2000).map { _ in s.sample(logits) })
        XCTAssertEqual(drawn, [1, 2])
    }

    func testMinPDropsTokensFarBelowTheTop() {
        // floor = 0.5 × 0.6 = 0.3: only token 1 survives.
        var s = Sampler(SamplingParameters(temperature: 1, minP: 0.5, seed: 5))
        XCTAssertEqual(Set((0..<500).map { _ in s.sample(logits) }), [1])
        // floor = 0.3 × 0.6 = 0.18: tokens 1 and 2.
        var t = Sampler(SamplingParameters(temperature: 1, minP: 0.3, seed: 5))
        XCTAssertEqual(Set((0..<2000).map { _ in t.sample(logits) }), [1, 2])
    }

    func testRepetitionPenaltyDiscouragesRecentTokens() {
        var s = Sampler(SamplingParameters(repetitionPenalty: 4))
        let l: [Float] = [1.0, 2.0, 0.5]
        XCTAssertEqual(s.sample(l), 1)
        s.accept(1)
        XCTAssertEqual(s.sample(l), 0)  // 2.0 / 4 = 0.5 < 1.0
        var neg = Sampler(SamplingParameters(repetitionPenalty: 2))
        neg.accept(0)
        XCTAssertEqual(neg.sample([-1.0, -1.5]), 1)  // -1.0 × 2 = -2.0 < -1.5
    }
}
