import CJarvisKernels

/// The attention state of one sequence: for every layer, the keys and values of every position.
///
/// Layout (documented because the KV page store reads and writes it directly):
/// - element type: IEEE fp16, stored as `UInt16` bits;
/// - `keys[layer]` and `values[layer]` are each `kvHeads × capacity × headDim` elements,
///   head-major: the vector of (layer l, KV head h, position p) starts at
///   `(h * capacity + p) * headDim`;
/// - keys are stored *after* the rotary embedding of their absolute position
///   (`basePosition + p` for row p), values as computed.
///
/// Rows `0..<count` are filled. The engine appends new rows with `Transformer.prefill`;
/// `segment(_:)` hands a range out, `append(_:)` takes one in, and `run(_:placedAt:)` lends a
/// range to another sequence's attention without copying it (see `KVRun`).
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let kvHeads: Int
    public let headDim: Int
    /// Maximum number of positions.
    public let capacity: Int
    /// Number of filled positions.
    public internal(set) var count: Int = 0
    /// Absolute position of row 0: nonzero when this cache continues a logical cache whose
    /// earlier rows live elsewhere (a shared prefix, stored entries).
    public let basePosition: Int

    let keys: [UnsafeMutablePointer<UInt16>]
    let values: [UnsafeMutablePointer<UInt16>]

    /// Creates an empty cache shaped for `config`, with room for `capacity` positions, whose
    /// first row will sit at absolute position `basePosition`.
    public init(config: ModelConfig, capacity: Int, basePosition: Int = 0) {
        self.basePosition = basePosition
        self.layers = config.layers
        self.kvHeads = config.kvHeads
        self.headDim = config.headDim
        self.capacity = capacity
        let n = kvHeads * capacity * headDim
        keys = (0..<layers).map { _ in
            let p = UnsafeMutablePointer<UInt16>.allocate(capacity: n); p.initialize(repeating: 0, count: n); return p
        }
        values = (0..<layers).map { _ in
            let p = UnsafeMutablePointer<UInt16>.allocate(capacity: n); p.initialize(repeating: 0, count: n); return p
        }
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Key vectors of (layer, head), `count` rows of `headDim` fp16 values, one per position.
    public func keys(layer: Int, head: Int) -> UnsafePointer<UInt16> {
        UnsafePointer(keys[layer] + head * capacity * headDim)
    }

    /// Value vectors of (layer, head), laid out like `keys(layer:head:)`.
    public func values(layer: Int, head: Int) -> UnsafePointer<UInt16> {
        UnsafePointer(values[layer] + head * capacity * headDim)
    }

    /// Forgets every position from `position` on (for example to reuse a shared prefix).
    public func truncate(to position: Int) {
        precondition(position >= 0 && position <= count)
        count = position
    }

    /// Copies positions `range` out as a standalone segment.
    public func segment(_ range: Range<Int>) -> KVSegment {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        let n = range.count
        var k = [UInt16](repeating: 0, count: layers * kvHeads * n * headDim)
        var v = k
        k.withUnsafeMutableBufferPointer { kb in
            v.withUnsafeMutableBufferPointer { vb in
                for l in 0..<layers {
                    for h in 0..<kvHeads {
                        let src = (h * capacity + range.lowerBound) * headDim
                        let dst = ((l * kvHeads + h) * n) * headDim
                        (kb.baseAddress! + dst).update(from: keys[l] + src, count: n * headDim)
                        (vb.baseAddress! + dst).update(from: values[l] + src, count: n * headDim)
                    }
                }
            }
        }
        return KVSegment(layers: layers, kvHeads: kvHeads, headDim: headDim, tokenCount: n,
                         basePosition: basePosition + range.lowerBound, keys: k, values: v)
    }

    /// Appends a segment's positions after the filled ones. Keys keep the rotation they were
    /// computed with, so the segment must have been computed where it lands
    /// (`segment.basePosition == basePosition + count`); to place one elsewhere, use a `KVRun`.
    /// - Throws: `.invalidArgument` if the shapes or positions differ or the cache is full.
    public func append(_ segment: KVSegment) throws {
        guard segment.layers == layers, segment.kvHeads == kvHeads, segment.headDim == headDim else {
            throw EngineError(.invalidArgument, "KV segment shape \(segment.layers)×\(segment.kvHeads)×\(segment.headDim) does not match the cache \(layers)×\(kvHeads)×\(headDim)")
        }
        guard segment.basePosition == basePosition + count else {
            throw EngineError(.invalidArgument, "KV segment was computed at position \(segment.basePosition) but would land at \(basePosition + count)")
        }
        guard count + segment.tokenCount <= capacity else {
            throw EngineError(.invalidArgument, "KV cache full: \(count) + \(segment.tokenCount) positions exceed capacity \(capacity)")
        }
        let n = segment.tokenCount
        segment.keys.withUnsafeBufferPointer { kb in
            segment.values.withUnsafeBufferPointer { vb in
                for l in 0..<layers {
                    for h in 0..<kvHeads {
                        let dst = (h * capacity + count) * headDim
                        let src = ((l * kvHeads + h) * n) * headDim
                        (keys[l] + dst).update(from: kb.baseAddress! + src, count: n * headDim)
                        (values[l] + dst).update(from: vb.baseAddress! + src, count: n * headDim)
                    }
                }
            }
        }
        count += n
    }

    /// Writes fp32 K and V rows for `n` consecutive positions starting at `count` into `layer`.
    /// `k` and `v` are `n × (kvHeads * headDim)` row-major (the projection output).
    func store(layer: Int, at position: Int, n: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        let kvDim = kvHeads * headDim
        for t in 0..<n {
            for h in 0..<kvHeads {
                let dst = (h * capacity + position + t) * headDim
                jk_fp32_to_fp16_row(k + t * kvDim + h * headDim, keys[layer] + dst, Int64(headDim))
                jk_fp32_to_fp16_row(v + t * kvDim + h * headDim, values[layer] + dst, Int64(headDim))
            }
        }
    }
}

/// K/V of a run of consecutive positions, copied out of a cache: what a remembered entry
/// stores. Layout: `[layer][kvHead][token][headDim]` fp16 bits, keys rotated for positions
/// `basePosition ..< basePosition + tokenCount`.
public struct KVSegment: Sendable, Equatable {
    public let layers: Int
    public let kvHeads: Int
    public let headDim: Int
    public let tokenCount: Int
    /// The absolute position of the first token when the keys were rotated.
    public let basePosition: Int
    public let keys: [UInt16]
    public let values: [UInt16]
}

/// K/V rows of consecutive positions that live somewhere else — a range of another `KVCache`,
/// or pages mapped from the store — lent to a sequence's attention without being copied.
///
/// A run computed at `computedPosition` may be placed at any `placedPosition` of the logical
/// cache: its keys are not rewritten; the query is rotated as if it stood `positionDelta`
/// positions earlier, which rotary embeddings make equivalent
/// (⟨R(m−δ)q, R(n)k⟩ = ⟨R(m)q, R(n+δ)k⟩).
public struct KVRun: @unchecked Sendable {
    /// How the rows are stored.
    public enum Format: @unchecked Sendable {
        /// `headDim` fp16 values per row.
        case fp16
        /// `headDim` int8 values per row, and per row `headDim / 32` fp16 scales, one per 32
        /// values, at `keyScales` / `valueScales` (per `layer * kvHeads + head`).
        case q8(keyScales: [UnsafePointer<UInt16>], valueScales: [UnsafePointer<UInt16>])
        /// `headDim / 2` bytes per row, two 4-bit codes each (dimension 2i in the low nibble of
        /// byte i); a value is min + scale · code. Keys per channel: `keyChannels` (per
        /// `layer * kvHeads + head`) holds `headDim` fp16 scales then `headDim` fp16 minimums
        /// shared by the run's rows. Values per token: `valueGroups` holds per row `headDim / 32`
        /// pairs (fp16 scale, fp16 minimum).
        case q4(keyChannels: [UnsafePointer<UInt16>], valueGroups: [UnsafePointer<UInt16>])
    }

    public let tokenCount: Int
    /// Absolute position the first row's key was rotated for.
    public let computedPosition: Int
    /// Absolute position of the first row in the logical cache.
    public let placedPosition: Int
    /// `placedPosition − computedPosition`.
    public var positionDelta: Int { placedPosition - computedPosition }
    /// Per `layer * kvHeads + head`: the first of `tokenCount` rows, in `format`.
    public let keys: [UnsafeRawPointer]
    public let values: [UnsafeRawPointer]
    public let format: Format
    /// Applied to this run's attention logits before the softmax: `logit · logitScale +
    /// logitBias` (APE-style scaling of contexts encoded apart); 1 and 0 leave them as they are.
    public var logitScale: Float = 1
    public var logitBias: Float = 0
    /// Keeps the rows' memory alive, when something owns it.
    let owner: AnyObject?

    /// A run over rows the caller keeps valid while the run is in use (for example pages in an
    /// open LMDB read transaction). `keys` and `values` hold one pointer per
    /// `layer * kvHeads + head`.
    public init(tokenCount: Int, computedPosition: Int, placedPosition: Int,
                keys: [UnsafeRawPointer], values: [UnsafeRawPointer], format: Format = .fp16, owner: AnyObject? = nil) {
        precondition(keys.count == values.count)
        if case .q8(let ks, let vs) = format { precondition(ks.count == keys.count && vs.count == keys.count) }
        if case .q4(let ks, let vs) = format { precondition(ks.count == keys.count && vs.count == keys.count) }
        self.tokenCount = tokenCount
        self.computedPosition = computedPosition
        self.placedPosition = placedPosition
        self.keys = keys
        self.values = values
        self.format = format
        self.owner = owner
    }
}

extension KVCache {
    /// Lends rows `range` to another sequence, placed at absolute position `placedAt`
    /// (default: where they were computed). The run keeps this cache alive.
    public func run(_ range: Range<Int>, placedAt: Int? = nil) -> KVRun {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        var k: [UnsafeRawPointer] = [], v: [UnsafeRawPointer] = []
        for l in 0..<layers {
            for h in 0..<kvHeads {
                k.append(UnsafeRawPointer(keys(layer: l, head: h) + range.lowerBound * headDim))
                v.append(UnsafeRawPointer(values(layer: l, head: h) + range.lowerBound * headDim))
            }
        }
        let computed = basePosition + range.lowerBound
        return KVRun(tokenCount: range.count, computedPosition: computed, placedPosition: placedAt ?? computed,
                     keys: k, values: v, owner: self)
    }
}
