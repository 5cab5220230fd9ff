/// What the store keeps of a photo beside its entry: its size, the mined regions, the
/// descriptors retrieval compares (the whole photo's first, then one per region) and the
/// regions' patch features (the bank later photos are made distinct from).
///
/// Binary layout, little-endian: "JPH1", u32 width, height, region count, dimension; per region
/// i32 x, y, width, height and f32 score; then (1 + regions) × dimension f32 descriptors; then
/// regions × dimension f32 patch features.
public struct PhotoRecord: Sendable, Equatable {
    public struct Region: Sendable, Equatable {
        public var x: Int, y: Int, width: Int, height: Int
        public var score: Float
        public init(x: Int, y: Int, width: Int, height: Int, score: Float) {
            self.x = x; self.y = y; self.width = width; self.height = height; self.score = score
        }
    }

    public var width: Int, height: Int
    public var regions: [Region]
    public var dimension: Int
    /// (1 + regions.count) rows of `dimension`: the whole photo, then each region.
    public var descriptors: [Float]
    /// regions.count rows of `dimension`.
    public var patches: [Float]

    public init(width: Int, height: Int, regions: [Region], dimension: Int, descriptors: [Float], patches: [Float]) {
        self.width = width; self.height = height; self.regions = regions
        self.dimension = dimension; self.descriptors = descriptors; self.patches = patches
    }

    /// The descriptors as rows.
    public var descriptorRows: [[Float]] { rows(descriptors) }
    /// The patch features as rows.
    public var patchRows: [[Float]] { rows(patches) }

    private func rows(_ v: [Float]) -> [[Float]] {
        guard dimension > 0 else { return [] }
        return stride(from: 0, to: v.count, by: dimension).map { Array(v[$0..<min($0 + dimension, v.count)]) }
    }

    var isConsistent: Bool {
        dimension > 0 && descriptors.count == (regions.count + 1) * dimension && patches.count == regions.count * dimension
    }

    func encoded() -> [UInt8] {
        var out = Array("JPH1".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { out += $0 } }
        func f32(_ v: Float) { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
        u32(width); u32(height); u32(regions.count); u32(dimension)
        for r in regions { u32(r.x); u32(r.y); u32(r.width); u32(r.height); f32(r.score) }
        descriptors.forEach(f32)
        patches.forEach(f32)
        return out
    }

    static func decode(_ raw: UnsafeRawBufferPointer) throws -> PhotoRecord {
        func fail() -> StoreError { StoreError(.corrupt, "a photo record of \(raw.count) bytes does not parse") }
        guard raw.count >= 20, Array(raw[0..<4]) == Array("JPH1".utf8) else { throw fail() }
        var at = 4
        func u32() throws -> Int {
            guard at + 4 <= raw.count else { throw fail() }
            defer { at += 4 }
            return Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        }
        func f32() throws -> Float { Float(bitPattern: UInt32(try u32())) }
        let width = try u32(), height = try u32(), count = try u32(), dim = try u32()
        guard count <= 1024, dim <= 8192, raw.count == 20 + count * 20 + ((count + 1) * dim + count * dim) * 4 else { throw fail() }
        var regions: [Region] = []
        for _ in 0..<count {
            regions.append(Region(x: Int(Int32(truncatingIfNeeded: try u32())), y: Int(Int32(truncatingIfNeeded: try u32())),
                                  width: try u32(), height: try u32(), score: try f32()))
        }
        let descriptors = try (0..<(count + 1) * dim).map { _ in try f32() }
        let patches = try (0..<count * dim).map { _ in try f32() }
        return PhotoRecord(width: width, height: height, regions: regions, dimension: dim, descriptors: descriptors, patches: patches)
    }
}
