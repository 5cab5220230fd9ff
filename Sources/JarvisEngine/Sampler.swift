import Foundation

/// Settings of the sampling chain. `temperature == 0` is greedy decoding.
public struct SamplingParameters: Sendable, Codable, Equatable {
    public var temperature: Float = 0
    /// Keep the k most likely tokens (0 = off).
    public var topK: Int = 0
    /// Keep the smallest set of tokens whose probability reaches p (1 = off).
    public var topP: Float = 1
    /// Drop tokens below minP × the top token's probability (0 = off).
    public var minP: Float = 0
    /// Penalty > 1 discourages tokens among the last `repetitionWindow` ones (1 = off).
    public var repetitionPenalty: Float = 1
    public var repetitionWindow: Int = 64
    /// Seed of the random generator; the same seed and inputs give the same tokens.
    public var seed: UInt64 = 0

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, repetitionWindow: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.repetitionWindow = repetitionWindow
        self.seed = seed
    }

    public static let greedy = SamplingParameters()
}

/// Picks the next token from logits through a chain of small steps:
/// repetition penalty → (greedy, or) top-k → temperature → softmax → top-p → min-p → draw.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: SplitMix64
    private var recent: [Int32] = []

    public init(_ parameters: SamplingParameters = .greedy) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed)
    }

    /// Tells the sampler about a token that is now part of the context (prompt or generated),
    /// for the repetition penalty.
    public mutating func accept(_ token: Int32) {
        guard parameters.repetitionPenalty != 1, parameters.repetitionWindow > 0 else { return }
        recent.append(token)
        if recent.count > parameters.repetitionWindow { recent.removeFirst(recent.count - parameters.repetitionWindow) }
    }

    /// Chooses a token from `logits` (one float per vocabulary entry).
    public mutating func sample(_ logits: [Float]) -> Int32 {
        var logits = logits
        let p = parameters
        if p.repetitionPenalty != 1 {
            for t in Set(recent) where Int(t) < logits.count {
                let l = logits[Int(t)]
                logits[Int(t)] = l > 0 ? l / p.repetitionPenalty : l * p.repetitionPenalty
            }
        }
        if p.temperature <= 0 { return Self.argmax(logits) }

        // Candidates sorted by logit, best first; top-k cuts the list before any exp().
        var candidates = logits.indices.map { (id: Int32($0), logit: logits[$0]) }
        candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
        if p.topK > 0 && p.topK < candidates.count { candidates.removeLast(candidates.count - p.topK) }

        let top = candidates[0].logit / p.temperature
        var probs = candidates.map { exp(Double(($0.logit / p.temperature) - top)) }
        var sum = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= sum }

        var keep = probs.count
        if p.topP < 1 {
            var acc = 0.0
            for i in probs.indices {
                acc += probs[i]
                if acc >= Double(p.topP) { keep = i + 1; break }
            }
        }
        if p.minP > 0 {
            let floor = probs[0] * Double(p.minP)
            keep = min(keep, probs.prefix(keep).firstIndex { $0 < floor } ?? keep)
        }
        keep = max(keep, 1)
        sum = probs.prefix(keep).reduce(0, +)
        var r = rng.nextUnitDouble() * sum
        for i in 0..<keep {
            r -= probs[i]
            if r <= 0 { return candidates[i].id }
        }
        return candidates[keep - 1].id
    }

    /// Index of the largest value (the first one on ties).
    public static func argmax(_ x: [Float]) -> Int32 {
        var best = 0
        for i in x.indices where x[i] > x[best] { best = i }
        return Int32(best)
    }
}

/// A small, fast, seedable generator (SplitMix64); the standard library's is not seedable.
struct SplitMix64: Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
