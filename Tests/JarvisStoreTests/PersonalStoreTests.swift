import CJarvisChecksum
import Foundation
import XCTest
@testable import JarvisStore

final class PersonalStoreTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-store-\(UUID().uuidString)")
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// A record and K/V of the given shape with values that encode their own coordinates, so
    /// that any misplaced byte shows.
    static func sample(tokens: Int, layers: Int = 2, heads: Int = 3, dim: Int = 16, block: Int = 32,
                       name: String? = nil, aliases: [String] = [], seed: UInt16 = 0) -> (EntryRecord, EntryKV) {
        let r = EntryRecord(name: name, aliases: aliases, kind: "note", text: "text \(seed)", sourceDigest: "d\(seed)",
                            metadata: ["category": "test"], tokenCount: tokens, positionBase: 7, blockTokens: block,
                            layers: layers, kvHeads: heads, headDim: dim, fingerprint: "fp")
        var k: [UInt16] = [], v: [UInt16] = []
        for l in 0..<layers { for h in 0..<heads { for t in 0..<tokens { for d in 0..<dim {
            let x = UInt16(truncatingIfNeeded: (l * 7919 + h * 131 + t * 17 + d) &+ Int(seed) * 1000)
            k.append(x); v.append(x ^ 0xA5A5)
        } } } }
        return (r, EntryKV(keys: k, values: v))
    }

    func open(initial: Int = 1 << 20, max: Int = 1 << 30) throws -> PersonalStore {
        try PersonalStore(directory: dir.path, initialMapSize: initial, maxMapSize: max)
    }

    func testPagesReadBackInPlaceExactly() throws {
        let store = try open()
        let (r, kv) = Self.sample(tokens: 70, name: "Biscuit")
        let saved = try store.add(r, kv: kv, vectors: [0.5, -1, 2])
        XCTAssertEqual(saved.id, 1)
        XCTAssertEqual(saved.blockCount, 3)
        try store.read { reader in
            for l in 0..<r.layers {
                for b in 0..<3 {
                    let page = try reader.page(entry: saved.id, layer: l, block: b)
                    XCTAssertEqual(page.tokenCount, b < 2 ? 32 : 6)
                    XCTAssertEqual(page.firstPosition, 7 + 32 * b)
                    for h in 0..<r.kvHeads {
                        for t in 0..<page.tokenCount {
                            for d in 0..<r.headDim {
                                let i = ((l * r.kvHeads + h) * r.tokenCount + 32 * b + t) * r.headDim + d
                                XCTAssertEqual(page.keys(head: h)[t * r.headDim + d], kv.keys[i])
                                XCTAssertEqual(page.values(head: h)[t * r.headDim + d], kv.values[i])
                            }
                        }
                    }
                }
            }
        }
        XCTAssertEqual(try store.vectors(id: saved.id), [0.5, -1, 2])
        let second = try store.add(Self.sample(tokens: 3).0, kv: Self.sample(tokens: 3).1, vectors: [7])
        XCTAssertEqual(try store.allVectors(), [saved.id: [0.5, -1, 2], second.id: [7]])
    }

    func testEightBitPagesKeepValuesWithinHalfAStep() throws {
        let store = try open()
        // Realistic fp16 values: a smooth range with some outliers.
        let (r0, _) = Self.sample(tokens: 40, dim: 64)
        var r = r0
        r.dtype = .q8
        let n = r.layers * r.kvHeads * r.tokenCount * r.headDim
        let keys = (0..<n).map { Float16(sin(Float($0) * 0.37) * ($0 % 97 == 0 ? 9 : 2)).bitPattern }
        let values = (0..<n).map { Float16(cos(Float($0) * 0.11) * 3).bitPattern }
        let saved = try store.add(r, kv: EntryKV(keys: keys, values: values), vectors: [])
        try store.read { reader in
            let page = try reader.page(entry: saved.id, layer: 1, block: 0)
            XCTAssertEqual(page.dtype, .q8)
            XCTAssertEqual(page.tokenCount, 32)
            let h = 2
            let q = page.rows(head: h, values: false).assumingMemoryBound(to: Int8.self)
            let sc = page.scales(head: h, values: false)
            var worst: Float = 0
            for t in 0..<page.tokenCount {
                for d in 0..<r.headDim {
                    let original = Float(Float16(bitPattern: keys[((1 * r.kvHeads + h) * r.tokenCount + t) * r.headDim + d]))
                    let step = Float(Float16(bitPattern: sc[t * r.headDim / 32 + d / 32]))
                    let decoded = Float(q[t * r.headDim + d]) * step
                    XCTAssertLessThanOrEqual(abs(decoded - original), step / 2 + 1e-6)
                    worst = max(worst, abs(decoded - original))
                }
            }
            XCTAssertGreaterThan(worst, 0, "8-bit storage is lossy; a zero error would mean nothing was quantized")
        }
        XCTAssertLessThan(KVPage.byteCount(tokens: 64, kvHeads: 3, headDim: 64, dtype: .q8),
                          KVPage.byteCount(tokens: 64, kvHeads: 3, headDim: 64, dtype: .fp16) * 6 / 10)
    }

    /// Largest error a 4-bit min–max code may have for values in `lo…hi` (Double reference):
    /// half a step of the stored fp16 scale, plus what rounding the scale and the minimum to
    /// fp16 moves the top code by.
    static func fourBitBound(lo: Double, hi: Double) -> Double {
        let step = (hi - lo) / 15, s16 = Double(Float16(Float(step))), m16 = Double(Float16(Float(lo)))
        return max(s16 / 2, 15 * abs(s16 - step) + abs(m16 - lo)) + 1e-5 * max(abs(lo), abs(hi))
    }

    /// Stores `keys` and `values` (layout `[layer][head][token][dim]`) as one q4 entry and checks
    /// every decoded key against its channel's range over the page, every value against its
    /// group's; returns the worst key error per channel of layer 0, head 0, page 0.
    @discardableResult
    func checkFourBit(tokens: Int, block: Int, keys: [Float], values: [Float]) throws -> [Double] {
        let store = try open()
        var r = Self.sample(tokens: tokens, dim: 64, block: block).0
        r.dtype = .q4
        let kv = EntryKV(keys: keys.map { Float16($0).bitPattern }, values: values.map { Float16($0).bitPattern })
        let saved = try store.add(r, kv: kv, vectors: [])
        let original = { (x: [UInt16], i: Int) in Double(Float(Float16(bitPattern: x[i]))) }
        var channelWorst = [Double](repeating: 0, count: r.headDim)
        var worst = 0.0
        try store.read { reader in
            for l in 0..<r.layers { for b in 0..<r.blockCount {
                let page = try reader.page(entry: saved.id, layer: l, block: b)
                XCTAssertEqual(page.dtype, .q4)
                for h in 0..<r.kvHeads {
                    let row = { (t: Int) in ((l * r.kvHeads + h) * r.tokenCount + b * block + t) * r.headDim }
                    for d in 0..<r.headDim {
                        let column = (0..<page.tokenCount).map { original(kv.keys, row($0) + d) }
                        let bound = Self.fourBitBound(lo: column.min()!, hi: column.max()!)
                        for t in 0..<page.tokenCount {
                            let got = Double(Q4Quantizer.key(codes: page.rows(head: h, values: false), channels: page.keyChannels(head: h),
                                                             dim: r.headDim, token: t, d))
                            let e = abs(got - column[t])
                            XCTAssertLessThanOrEqual(e, bound, "key l\(l) b\(b) h\(h) t\(t) d\(d)")
                            worst = max(worst, e)
                            if l == 0, h == 0, b == 0 { channelWorst[d] = max(channelWorst[d], e) }
                        }
                    }
                    for t in 0..<page.tokenCount {
                        for g in 0..<r.headDim / 32 {
                            let group = (0..<32).map { original(kv.values, row(t) + 32 * g + $0) }
                            let bound = Self.fourBitBound(lo: group.min()!, hi: group.max()!)
                            for i in 0..<32 {
                                let got = Double(Q4Quantizer.value(codes: page.rows(head: h, values: true), groups: page.valueGroups(head: h),
                                                                   dim: r.headDim, token: t, 32 * g + i))
                                XCTAssertLessThanOrEqual(abs(got - group[i]), bound, "value l\(l) b\(b) h\(h) t\(t) d\(32 * g + i)")
                            }
                        }
                    }
                }
            } }
        }
        XCTAssertGreaterThan(worst, 0, "4-bit storage is lossy; a zero error would mean nothing was quantized")
        return channelWorst
    }

    func testFourBitPagesKeepKeysPerChannelAndValuesPerTokenWithinHalfAStep() throws {
        // 70 tokens in blocks of 32: two full pages and a 6-token one.
        let n = 2 * 3 * 70 * 64
        try checkFourBit(tokens: 70, block: 32, keys: (0..<n).map { sin(Float($0) * 0.37) * 2 + Float($0 % 64) * 0.05 },
                         values: (0..<n).map { cos(Float($0) * 0.11) * 3 })
    }

    func testFourBitKeysKeepOrdinaryChannelsFineBesideOutlierChannels() throws {
        // Channels 5 and 40 carry values ~50× the others, as real keys do. Per-channel
        // parameters keep the ordinary channels' error to their own small range; a scale per
        // row or per 32 values would spread the outliers' step (~100/15) over every channel.
        let tokens = 32, n = 2 * 3 * tokens * 64
        let keys = (0..<n).map { i -> Float in
            let d = i % 64, x = sin(Float(i) * 0.73)
            return d == 5 || d == 40 ? 50 * x + 20 : x
        }
        let worst = try checkFourBit(tokens: tokens, block: 32, keys: keys, values: (0..<n).map { cos(Float($0)) })
        for d in 0..<64 where d != 5 && d != 40 {
            XCTAssertLessThan(worst[d], 2.0 / 15 / 2 + 0.01, "channel \(d)")
        }
        XCTAssertGreaterThan(worst[5], 0.2, "the outlier channel's own step is coarse")
    }

    func testFourBitPageHeaderSizeAndDamage() throws {
        XCTAssertEqual(KVPage.byteCount(tokens: 64, kvHeads: 3, headDim: 64, dtype: .q4), 32 + 3 * 64 * 64 + 3 * 64 * 4 + 3 * 64 * 2 * 4)
        XCTAssertLessThan(KVPage.byteCount(tokens: 64, kvHeads: 3, headDim: 64, dtype: .q4) * 10,
                          KVPage.byteCount(tokens: 64, kvHeads: 3, headDim: 64, dtype: .fp16) * 3)
        let tokens = 20, heads = 3, dim = 64
        let size = KVPage.byteCount(tokens: tokens, kvHeads: heads, headDim: dim, dtype: .q4)
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { out in
            KVPage.write(into: out, tokens: tokens, kvHeads: heads, headDim: dim, firstPosition: 300, dtype: .q4) { payload in
                for i in 0..<payload.count { payload[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
            }
        }
        XCTAssertEqual(Array(bytes[0..<6]), Array("JKVP".utf8) + [1, 3])
        XCTAssertEqual(Int(bytes[20]) | Int(bytes[21]) << 8, size - KVPage.headerSize)
        let page = try bytes.withUnsafeBytes { try KVPage.read($0) }
        XCTAssertEqual(page.dtype, .q4)
        XCTAssertEqual(page.tokenCount, tokens)
        XCTAssertEqual(page.firstPosition, 300)
        bytes.withUnsafeBytes { raw in
            let p = try! KVPage.read(raw)
            // Regions follow one another: V codes after K codes, channels after codes, groups after channels.
            XCTAssertEqual(p.rows(head: 0, values: false).distance(to: p.rows(head: 0, values: true)), heads * tokens * dim / 2)
            XCTAssertEqual(p.rows(head: 0, values: false).distance(to: UnsafeRawPointer(p.keyChannels(head: 0))), heads * tokens * dim)
            XCTAssertEqual(UnsafeRawPointer(p.keyChannels(head: 0)).distance(to: UnsafeRawPointer(p.valueGroups(head: 0))), heads * dim * 4)
            XCTAssertEqual(raw.baseAddress!.distance(to: UnsafeRawPointer(p.valueGroups(head: heads - 1)) + tokens * (dim / 32) * 4), size)
        }
        func refused(_ damaged: [UInt8], _ words: String) {
            XCTAssertThrowsError(try damaged.withUnsafeBytes { try KVPage.read($0) }) { error in
                XCTAssertEqual((error as? StoreError)?.code, .corrupt)
                XCTAssertTrue("\(error)".contains(words), "\(error)")
            }
        }
        // A flipped bit anywhere in the payload, codes or parameters, fails the checksum.
        for at in [KVPage.headerSize + 5, KVPage.headerSize + heads * tokens * dim + 3, size - 1] {
            var damaged = bytes
            damaged[at] ^= 0x10
            refused(damaged, "checksum")
        }
        refused(Array(bytes.dropLast(2)), "size")
        var asFp16 = bytes
        asFp16[5] = KVPageDType.fp16.rawValue
        refused(asFp16, "size")
    }

    func testLookupByIdNameAndAliasAndListing() throws {
        let store = try open()
        let a = try store.add(Self.sample(tokens: 5, name: "Biscuit", aliases: ["the dog"]).0, kv: Self.sample(tokens: 5).1, vectors: [])
        let b = try store.add(Self.sample(tokens: 9, name: "Ana").0, kv: Self.sample(tokens: 9).1, vectors: [])
        XCTAssertEqual(try store.entry(id: a.id), a)
        XCTAssertEqual(try store.entry(named: "biscuit")?.id, a.id)
        XCTAssertEqual(try store.entry(named: "THE DOG")?.id, a.id)
        XCTAssertEqual(try store.entry(named: "Ana")?.id, b.id)
        XCTAssertNil(try store.entry(named: "nobody"))
        XCTAssertEqual(try store.list().map(\.id), [a.id, b.id])
        XCTAssertEqual(try store.count(), 2)
    }

    /// Pages of a listing cover every entry once, in id order, across a forgotten one.
    func testListingInPages() throws {
        let store = try open()
        var ids: [UInt64] = []
        for _ in 0..<7 { ids.append(try store.add(Self.sample(tokens: 3).0, kv: Self.sample(tokens: 3).1, vectors: []).id) }
        try store.delete(id: ids[3])
        var seen: [UInt64] = [], after: UInt64?, pages = 0
        repeat {
            let page = try store.list(after: after, limit: 2)
            XCTAssertLessThanOrEqual(page.entries.count, 2)
            seen += page.entries.map(\.id)
            after = page.next
            pages += 1
        } while after != nil
        XCTAssertEqual(seen, ids.filter { $0 != ids[3] })
        XCTAssertEqual(pages, 3)
        XCTAssertEqual(try store.list(after: nil, limit: nil).entries.map(\.id), seen)
        XCTAssertEqual(try store.list(after: ids[6], limit: 5).entries, [])
        XCTAssertNil(try store.list(after: ids[4], limit: 2).next, "the last page says so")
    }

    func testTakenNameIsRefusedAndNothingIsWritten() throws {
        let store = try open()
        try store.add(Self.sample(tokens: 5, name: "Biscuit").0, kv: Self.sample(tokens: 5).1, vectors: [])
        let (r, kv) = Self.sample(tokens: 40, name: "Max", aliases: ["biscuit"])
        XCTAssertThrowsError(try store.add(r, kv: kv, vectors: [1])) { XCTAssertEqual(($0 as? StoreError)?.code, .nameTaken) }
        XCTAssertEqual(try store.list().count, 1)
        XCTAssertEqual(try store.count(), 1)
        XCTAssertNil(try store.entry(named: "Max"), "the half-written name must not survive")
        XCTAssertThrowsError(try store.read { try $0.page(entry: 2, layer: 0, block: 0) })
    }

    /// Names are LMDB keys: one past 511 bytes is refused by name, not with LMDB's MDB_BAD_VALSIZE.
    func testANameTooLongForAKeyIsRefusedClearly() throws {
        let store = try open()
        let longest = String(repeating: "é", count: PersonalStore.maxNameBytes / 2) + "x"
        try store.add(Self.sample(tokens: 5, name: longest).0, kv: Self.sample(tokens: 5).1, vectors: [])
        XCTAssertEqual(try store.entry(named: longest)?.name, longest)
        for (name, aliases) in [(longest + "y", [String]()), ("Max", [longest + "z"])] {
            let (r, kv) = Self.sample(tokens: 5, name: name, aliases: aliases)
            XCTAssertThrowsError(try store.add(r, kv: kv, vectors: [])) { e in
                XCTAssertEqual((e as? StoreError)?.code, .invalidArgument)
                XCTAssertTrue("\(e)".contains("at most 511 bytes"), "\(e)")
            }
        }
        XCTAssertEqual(try store.count(), 1)
    }

    func testDeleteRemovesEverything() throws {
        let store = try open()
        let a = try store.add(Self.sample(tokens: 50, name: "Biscuit").0, kv: Self.sample(tokens: 50).1, vectors: [3])
        try store.delete(id: a.id)
        XCTAssertNil(try store.entry(id: a.id))
        XCTAssertNil(try store.entry(named: "Biscuit"))
        XCTAssertNil(try store.vectors(id: a.id))
        XCTAssertThrowsError(try store.read { try $0.page(entry: a.id, layer: 0, block: 0) }) {
            XCTAssertEqual(($0 as? StoreError)?.code, .notFound)
        }
        XCTAssertThrowsError(try store.delete(id: a.id)) { XCTAssertEqual(($0 as? StoreError)?.code, .notFound) }
        XCTAssertEqual(try store.count(), 0)
        // Ids are never reused.
        XCTAssertEqual(try store.add(Self.sample(tokens: 3).0, kv: Self.sample(tokens: 3).1, vectors: []).id, a.id + 1)
    }

    func testDeletingSeveralIsAllOrNothing() throws {
        let store = try open()
        let a = try store.add(Self.sample(tokens: 5, name: "Biscuit").0, kv: Self.sample(tokens: 5).1, vectors: [])
        let b = try store.add(Self.sample(tokens: 7).0, kv: Self.sample(tokens: 7).1, vectors: [])
        XCTAssertThrowsError(try store.delete(ids: [a.id, 999])) { XCTAssertEqual(($0 as? StoreError)?.code, .notFound) }
        XCTAssertEqual(try store.list().map(\.id), [a.id, b.id], "a failed batch deletes nothing")
        try store.delete(ids: [a.id, b.id])
        XCTAssertEqual(try store.count(), 0)
        XCTAssertNil(try store.entry(named: "Biscuit"))
    }

    func testReplaceSwapsTheWholeEntry() throws {
        let store = try open()
        let a = try store.add(Self.sample(tokens: 70, name: "Old").0, kv: Self.sample(tokens: 70).1, vectors: [1])
        let (r, kv) = Self.sample(tokens: 10, name: "New", seed: 3)
        let b = try store.replace(id: a.id, with: r, kv: kv, vectors: [2])
        XCTAssertEqual(b.id, a.id)
        XCTAssertNil(try store.entry(named: "Old"))
        XCTAssertEqual(try store.entry(named: "New")?.tokenCount, 10)
        XCTAssertEqual(try store.vectors(id: a.id), [2])
        try store.read { reader in
            XCTAssertEqual(try reader.page(entry: a.id, layer: 1, block: 0).keys(head: 2)[0], kv.keys[(1 * 3 + 2) * 10 * 16])
            XCTAssertThrowsError(try reader.page(entry: a.id, layer: 0, block: 1), "pages of the old, longer entry are gone")
        }
    }

    func testDroppedPagesLeaveTheTextAndComeBackWhenRestored() throws {
        let store = try open()
        let a = try store.add(Self.sample(tokens: 70, name: "Biscuit", aliases: ["the dog"]).0, kv: Self.sample(tokens: 70).1, vectors: [4])
        let b = try store.add(Self.sample(tokens: 5, seed: 2).0, kv: Self.sample(tokens: 5, seed: 2).1, vectors: [5])
        XCTAssertTrue(a.hasPages)
        XCTAssertEqual(a.pageBytes, 2 * (2 * KVPage.byteCount(tokens: 32, kvHeads: 3, headDim: 16, dtype: .fp16)
                                          + KVPage.byteCount(tokens: 6, kvHeads: 3, headDim: 16, dtype: .fp16)))

        let dropped = try store.dropPages(ids: [a.id, 999])
        XCTAssertEqual(dropped.map(\.id), [a.id], "a missing entry is passed over")
        XCTAssertEqual(try store.dropPages(ids: [a.id]).count, 0, "an entry already text-only is passed over")
        let now = try XCTUnwrap(try store.entry(id: a.id))
        XCTAssertEqual(now.textOnly, true)
        XCTAssertFalse(now.hasPages)
        XCTAssertEqual(now.text, a.text)
        XCTAssertEqual(try store.entry(named: "the dog")?.id, a.id, "names stay")
        XCTAssertEqual(try store.vectors(id: a.id), [4], "vectors stay")
        try store.read { reader in
            for layer in 0..<2 {
                for block in 0..<3 {
                    XCTAssertThrowsError(try reader.page(entry: a.id, layer: layer, block: block)) {
                        XCTAssertEqual(($0 as? StoreError)?.code, .notFound)
                    }
                }
            }
            XCTAssertNoThrow(try reader.page(entry: b.id, layer: 1, block: 0), "other entries keep theirs")
        }

        // Restored with a record of another length: the new pages, the same names and vectors.
        var fresh = Self.sample(tokens: 40, seed: 9).0
        fresh.id = a.id
        fresh.name = "Biscuit"
        fresh.aliases = ["the dog"]
        let kv = Self.sample(tokens: 40, seed: 9).1
        let back = try store.restorePages(fresh, kv: kv)
        XCTAssertTrue(back.hasPages)
        XCTAssertEqual(try store.entry(id: a.id), back)
        XCTAssertEqual(try store.entry(named: "the dog")?.tokenCount, 40)
        XCTAssertEqual(try store.vectors(id: a.id), [4])
        try store.read { reader in
            XCTAssertEqual(try reader.page(entry: a.id, layer: 1, block: 1).keys(head: 0)[0], kv.keys[(1 * 3 * 40 + 32) * 16])
            XCTAssertThrowsError(try reader.page(entry: a.id, layer: 0, block: 2))
        }
        fresh.id = 999
        XCTAssertThrowsError(try store.restorePages(fresh, kv: kv)) { XCTAssertEqual(($0 as? StoreError)?.code, .notFound) }
    }

    func testLastUseIsKeptAndGoesWithTheEntry() throws {
        let store = try open()
        let a = try store.add(Self.sample(tokens: 3).0, kv: Self.sample(tokens: 3).1, vectors: [])
        let b = try store.add(Self.sample(tokens: 3).0, kv: Self.sample(tokens: 3).1, vectors: [])
        XCTAssertEqual(try store.lastUse(), [:])
        try store.noteUse(ids: [a.id, b.id, 999], at: 1_700_000_000_123)
        try store.noteUse(ids: [b.id], at: 1_700_000_000_456)
        XCTAssertEqual(try store.lastUse(), [a.id: 1_700_000_000_123, b.id: 1_700_000_000_456], "a missing entry gets no record")
        try store.delete(id: a.id)
        XCTAssertEqual(try store.lastUse(), [b.id: 1_700_000_000_456])
    }

    func testShapeMismatchIsRefused() throws {
        let store = try open()
        let (r, kv) = Self.sample(tokens: 8)
        XCTAssertThrowsError(try store.add(r, kv: EntryKV(keys: Array(kv.keys.dropLast()), values: kv.values), vectors: [])) {
            XCTAssertEqual(($0 as? StoreError)?.code, .invalidArgument)
        }
    }

    func testMapGrowsWhenFullAndFailsCleanlyAtTheMaximum() throws {
        // 64 KiB pages: each entry below takes ~200 KiB; the map starts at 256 KiB.
        let store = try open(initial: 256 << 10, max: 4 << 20)
        var added: [UInt64] = []
        var failure: StoreError?
        for i in 0..<40 {
            let (r, kv) = Self.sample(tokens: 512, layers: 2, heads: 2, dim: 48, block: 256, seed: UInt16(i))
            do { added.append(try store.add(r, kv: kv, vectors: []).id) } catch let e as StoreError { failure = e; break }
        }
        XCTAssertGreaterThan(store.mapSize, 256 << 10, "the map grew")
        let f = try XCTUnwrap(failure, "40 × 200 KiB cannot fit in 4 MiB")
        XCTAssertEqual(f.code, .full)
        XCTAssertTrue(f.message.contains("MDB_MAP_FULL"), f.message)
        // Everything acknowledged is intact; the failed entry is absent; the store still works.
        XCTAssertEqual(try store.list().map(\.id), added)
        try store.read { reader in
            for id in added { _ = try reader.page(entry: id, layer: 1, block: 1) }
        }
        try store.delete(id: added[0])
        XCTAssertNoThrow(try store.add(Self.sample(tokens: 4).0, kv: Self.sample(tokens: 4).1, vectors: []))
    }

    func testFingerprintBindsAndMismatchSaysWhatToDo() throws {
        do {
            let store = try open()
            XCTAssertNil(try store.fingerprint())
            try store.bind(fingerprint: "model-a")
            try store.bind(fingerprint: "model-a")
        }
        let again = try open()
        XCTAssertEqual(try again.fingerprint(), "model-a")
        XCTAssertThrowsError(try again.bind(fingerprint: "model-b")) { error in
            let e = error as? StoreError
            XCTAssertEqual(e?.code, .fingerprintMismatch)
            XCTAssertTrue(e?.message.contains("reencode") == true, "\(error)")
        }
        try again.rebind(fingerprint: "model-b")
        XCTAssertNoThrow(try again.bind(fingerprint: "model-b"))
    }

    func testFlippedByteInTheDataFileIsCaught() throws {
        var id: UInt64 = 0
        do {
            let store = try open()
            id = try store.add(Self.sample(tokens: 64, seed: 9).0, kv: Self.sample(tokens: 64, seed: 9).1, vectors: []).id
        }
        // Find one page's payload in the file (its first key row is known) and flip a byte.
        let (_, kv) = Self.sample(tokens: 64, seed: 9)
        let needle = kv.keys[0..<16].withUnsafeBytes { Array($0) }
        let url = dir.appendingPathComponent("data.mdb")
        var bytes = [UInt8](try Data(contentsOf: url))
        let at = try XCTUnwrap(firstIndex(of: needle, in: bytes))
        bytes[at + 5] ^= 0x40
        try Data(bytes).write(to: url)

        let store = try open()
        XCTAssertThrowsError(try store.read { try $0.page(entry: id, layer: 0, block: 0) }) { error in
            XCTAssertEqual((error as? StoreError)?.code, .corrupt)
            XCTAssertTrue("\(error)".contains("checksum"), "\(error)")
        }
        // Other pages still read.
        XCTAssertNoThrow(try store.read { try $0.page(entry: id, layer: 1, block: 0) })
    }

    func testNewerSchemaIsRefused() throws {
        do { _ = try open() }
        // Rewrite the schema record through a second environment handle of the same directory.
        do {
            let env = try LMDBEnvironment(path: dir.path, mapSize: 1 << 20, maxMapSize: 1 << 20, maxDatabases: 8)
            let meta = try env.openDatabases(["meta"])[0]
            try env.write { try $0.put(meta, Array("schema".utf8), withUnsafeBytes(of: UInt32(99).littleEndian) { Array($0) }) }
        }
        XCTAssertThrowsError(try open()) { XCTAssertEqual(($0 as? StoreError)?.code, .unsupportedVersion) }
    }

    func testErrorsNameThePlace() {
        // A file where the environment directory should be.
        let path = dir.path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        XCTAssertThrowsError(try open()) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
    }

    func testCRC32C() {
        let s = Array("123456789".utf8)
        XCTAssertEqual(jk_crc32c(0, s, s.count), 0xE306_9283)
        var rng = SystemRandomNumberGenerator()
        let data = (0..<10_007).map { _ in UInt8.random(in: 0...255, using: &rng) }
        // Around the three-stream rounds of 768 bytes, and several of them with a remainder.
        for n in [0, 1, 7, 8, 9, 63, 767, 768, 769, 1536, 2311, 10_007] {
            XCTAssertEqual(jk_crc32c(0, data, n), jk_crc32c_portable(0, data, n), "n = \(n)")
        }
        XCTAssertEqual(jk_crc32c(jk_crc32c(0, data, 100), Array(data[100...]), data.count - 100), jk_crc32c(0, data, data.count))
    }

    private func firstIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard let first = needle.first else { return nil }
        var i = 0
        while i + needle.count <= hay.count {
            if hay[i] == first && Array(hay[i..<i + needle.count]) == needle { return i }
            i += 1
        }
        return nil
    }
}
