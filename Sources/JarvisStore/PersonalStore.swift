internal import CLMDB
import Foundation

/// The user's memory on disk: one LMDB environment with named databases
///
/// - `entries`: entry id (u64, big-endian) → `EntryRecord` as JSON
/// - `names`: lower-cased name or alias → entry id
/// - `pages`: (entry id u64, layer u16, block u32), big-endian → one `KVPage`
/// - `vectors`: entry id → retrieval vectors (little-endian fp32)
/// - `photos`: entry id → `PhotoRecord` (photo entries only)
/// - `sessions`: session name (UTF-8) → `SessionRecord` as JSON (chat sessions' turns as text)
/// - `usage`: entry id → when an answer last used it, in ms since 1970 (u64, little-endian)
/// - `meta`: "schema" → u32, "fingerprint" → string, "next_id" → u64, "generation" → 16 random
///   bytes, new with every change to an entry (what an index snapshot is checked against)
///
/// Everything about one entry is written in one transaction, so an entry is either wholly
/// present or absent, whatever happens to the process.
public final class PersonalStore: @unchecked Sendable {
    /// Schema of the databases; bumped on incompatible change.
    public static let schemaVersion: UInt32 = 1

    public let directory: String
    let env: LMDBEnvironment
    let entries: MDB_dbi, names: MDB_dbi, pages: MDB_dbi, vectors: MDB_dbi, meta: MDB_dbi, photos: MDB_dbi, sessions: MDB_dbi, usage: MDB_dbi

    /// The default store directory: `$JARVIS_STORE`, else `$XDG_DATA_HOME/jarvis/store`, else
    /// `~/.local/share/jarvis/store`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let d = environment["JARVIS_STORE"], !d.isEmpty { return d }
        if let x = environment["XDG_DATA_HOME"], !x.isEmpty { return x + "/jarvis/store" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share/jarvis/store"
    }

    /// Opens (creating) the store in `directory`.
    /// - Parameters:
    ///   - initialMapSize: the memory map starts this large (bytes) and doubles when full.
    ///   - maxMapSize: it never grows past this; a write that needs more fails with `.full`.
    /// - Throws: `StoreError` (LMDB's error name included), `.unsupportedVersion` for a newer schema.
    public init(directory: String, initialMapSize: Int = 64 << 20, maxMapSize: Int = 1 << 36) throws {
        self.directory = directory
        env = try LMDBEnvironment(path: directory, mapSize: initialMapSize, maxMapSize: maxMapSize, maxDatabases: 16)
        let dbs = try env.openDatabases(["entries", "names", "pages", "vectors", "meta", "photos", "sessions", "usage"])
        (entries, names, pages, vectors, meta, photos, sessions, usage) = (dbs[0], dbs[1], dbs[2], dbs[3], dbs[4], dbs[5], dbs[6], dbs[7])
        try env.write { txn in
            if let v = try txn.get(meta, Array("schema".utf8)) {
                guard v.count == 4 else { throw StoreError(.corrupt, "\(directory): the schema version record is damaged") }
                let version = UInt32(littleEndian: v.loadUnaligned(as: UInt32.self))
                guard version <= Self.schemaVersion else {
                    throw StoreError(.unsupportedVersion, "\(directory) was written by a newer Jarvis (store schema \(version), this one reads \(Self.schemaVersion)): upgrade Jarvis")
                }
            } else {
                try txn.put(meta, Array("schema".utf8), withUnsafeBytes(of: Self.schemaVersion.littleEndian) { Array($0) })
            }
        }
    }

    // MARK: - Fingerprint

    /// The fingerprint the store's entries were computed under, or nil for a new store.
    public func fingerprint() throws -> String? {
        try env.read { txn in try txn.get(meta, Array("fingerprint".utf8)).map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Binds a new store to `fingerprint`, or checks that an existing one was written under it.
    /// - Throws: `.fingerprintMismatch` saying what to do, when the store holds another model's caches.
    public func bind(fingerprint: String) throws {
        try env.write { txn in
            let key = Array("fingerprint".utf8)
            if let v = try txn.get(meta, key) {
                let stored = String(decoding: v, as: UTF8.self)
                guard stored == fingerprint else {
                    throw StoreError(.fingerprintMismatch, "the store at \(directory) holds caches computed by another model or system prompt (fingerprint \(stored.prefix(16))…, now \(fingerprint.prefix(16))…): re-encode the entries with the current model (reencode), or point Jarvis at the model the store was written with")
                }
            } else {
                try txn.put(meta, key, Array(fingerprint.utf8))
            }
        }
    }

    /// Replaces the stored fingerprint (after every entry has been re-encoded).
    public func rebind(fingerprint: String) throws {
        try env.write { txn in try txn.put(meta, Array("fingerprint".utf8), Array(fingerprint.utf8)) }
    }

    // MARK: - Writing

    /// Stores a new entry — record, every KV page and its vectors — in one transaction, and
    /// returns the record with its assigned id.
    /// - Throws: `.nameTaken` if its name or an alias belongs to another entry, `.invalidArgument`
    ///   if the K/V arrays do not match the record's shape, `.full` when the store cannot grow.
    @discardableResult
    public func add(_ record: EntryRecord, kv: EntryKV, vectors vector: [Float], photo: PhotoRecord? = nil) throws -> EntryRecord {
        try validate(record, kv)
        if let photo, !photo.isConsistent {
            throw StoreError(.invalidArgument, "the photo record's descriptors do not match its \(photo.regions.count) regions of dimension \(photo.dimension)")
        }
        return try env.write { txn in
            var r = record
            r.id = try nextID(txn)
            try putEntry(txn, r, kv: kv, vector: vector)
            if let photo { try txn.put(photos, Self.idKey(r.id), photo.encoded()) }
            return r
        }
    }

    /// Stores several new entries in one transaction, all of them or none (a bulk load), and
    /// returns their records with the ids assigned, in order.
    /// - Throws: as `add`.
    @discardableResult
    public func addAll(_ items: [(record: EntryRecord, kv: EntryKV, vectors: [Float])]) throws -> [EntryRecord] {
        for item in items { try validate(item.record, item.kv) }
        return try env.write { txn in
            try items.map { item in
                var r = item.record
                r.id = try nextID(txn)
                try putEntry(txn, r, kv: item.kv, vector: item.vectors)
                return r
            }
        }
    }

    /// Replaces entry `id` (record, pages, vectors) in one transaction: readers see the old
    /// entry or the new one, never a mix. A photo record stays with the entry.
    @discardableResult
    public func replace(id: UInt64, with record: EntryRecord, kv: EntryKV, vectors vector: [Float]) throws -> EntryRecord {
        try validate(record, kv)
        return try env.write { txn in
            guard let old = try loadRecord(txn, id) else { throw StoreError(.notFound, "no entry with id \(id)") }
            let photo = try txn.get(photos, Self.idKey(id)).map { Array($0) }
            try removeEntry(txn, old)
            var r = record
            r.id = id
            try putEntry(txn, r, kv: kv, vector: vector)
            if let photo { try txn.put(photos, Self.idKey(id), photo) }
            return r
        }
    }

    /// Deletes an entry and everything stored with it, in one transaction.
    /// - Throws: `.notFound` if there is no such entry.
    public func delete(id: UInt64) throws {
        try env.write { txn in
            guard let r = try loadRecord(txn, id) else { throw StoreError(.notFound, "no entry with id \(id)") }
            try removeEntry(txn, r)
        }
    }

    /// Deletes several entries in one transaction: all of them go, or none.
    /// - Throws: `.notFound` if one of them does not exist.
    public func delete(ids: [UInt64]) throws {
        guard !ids.isEmpty else { return }
        try env.write { txn in
            for id in ids {
                guard let r = try loadRecord(txn, id) else { throw StoreError(.notFound, "no entry with id \(id)") }
                try removeEntry(txn, r)
            }
        }
    }

    // MARK: - Pages and use

    /// Drops the pages of these entries and marks them text-only (`EntryRecord.textOnly`), in
    /// one transaction: all of them, or none. Text, vectors, names and metadata stay. Entries
    /// that are gone or already text-only are passed over.
    /// - Returns: the records as they are now stored, for the entries that changed.
    @discardableResult
    public func dropPages(ids: [UInt64]) throws -> [EntryRecord] {
        guard !ids.isEmpty else { return [] }
        return try env.write { txn in
            try ids.compactMap { id in
                guard var r = try loadRecord(txn, id), r.hasPages else { return nil }
                try deletePages(txn, r)
                r.textOnly = true
                try putRecord(txn, r)
                return r
            }
        }
    }

    /// Stores pages again for a text-only entry, with its record as computed now (`record.id`
    /// names the entry; its shape, fingerprint and token count may differ from the old one's),
    /// in one transaction. Names, vectors and photo stay as they are.
    /// - Throws: `.notFound` if the entry is gone, `.invalidArgument` if the K/V does not
    ///   match the record, `.full`.
    @discardableResult
    public func restorePages(_ record: EntryRecord, kv: EntryKV) throws -> EntryRecord {
        try validate(record, kv)
        return try env.write { txn in
            guard let old = try loadRecord(txn, record.id) else { throw StoreError(.notFound, "no entry with id \(record.id)") }
            if old.hasPages { try deletePages(txn, old) }
            var r = record
            r.textOnly = nil
            try putRecord(txn, r)
            try putPages(txn, r, kv: kv)
            return r
        }
    }

    /// Notes that an answer used these entries at `milliseconds` (since 1970).
    public func noteUse(ids: [UInt64], at milliseconds: Int64) throws {
        guard !ids.isEmpty else { return }
        try env.write { txn in
            for id in ids where try txn.get(entries, Self.idKey(id)) != nil {
                try txn.put(usage, Self.idKey(id), withUnsafeBytes(of: UInt64(bitPattern: milliseconds).littleEndian) { Array($0) })
            }
        }
    }

    /// When an answer last used each entry that has been used, in ms since 1970.
    public func lastUse() throws -> [UInt64: Int64] {
        try env.read { txn in
            var out: [UInt64: Int64] = [:]
            try txn.scan(usage) { key, value in
                if key.count == 8, value.count == 8 {
                    out[UInt64(bigEndian: key.loadUnaligned(as: UInt64.self))] = Int64(bitPattern: UInt64(littleEndian: value.loadUnaligned(as: UInt64.self)))
                }
                return true
            }
            return out
        }
    }

    // MARK: - Reading

    public func entry(id: UInt64) throws -> EntryRecord? {
        try env.read { txn in try loadRecord(txn, id) }
    }

    /// The entry with this name or alias (case-insensitive).
    public func entry(named name: String) throws -> EntryRecord? {
        try env.read { txn in
            guard let v = try txn.get(names, Self.nameKey(name)), v.count == 8 else { return nil }
            return try loadRecord(txn, UInt64(bigEndian: v.loadUnaligned(as: UInt64.self)))
        }
    }

    /// What identifies the store's entries as they are now: the generation (new with every
    /// change to an entry; written at once if the store has none), the next id to be
    /// assigned, and the number of entries. Two reads that agree saw the same entries.
    public func state() throws -> (generation: [UInt8], nextID: UInt64, count: Int) {
        let key = Array("generation".utf8)
        if try env.read({ txn in try txn.get(meta, key) }) == nil { try env.write { txn in try newGeneration(txn) } }
        return try env.read { txn in
            let g = try txn.get(meta, key).map { Array($0) } ?? []
            var next: UInt64 = 1
            if let v = try txn.get(meta, Array("next_id".utf8)), v.count == 8 { next = UInt64(littleEndian: v.loadUnaligned(as: UInt64.self)) }
            return (g, next, try txn.count(entries))
        }
    }

    /// How many entries the store holds, without reading them.
    public func count() throws -> Int {
        try env.read { txn in try txn.count(entries) }
    }

    /// Every entry, oldest first.
    public func list() throws -> [EntryRecord] {
        try env.read { txn in
            var out: [EntryRecord] = []
            try txn.scan(entries) { _, value in
                out.append(try Self.decodeRecord(value))
                return true
            }
            return out
        }
    }

    /// Entries in id order after the entry `after` (from the first when nil), at most `limit`
    /// (all when nil), read in one transaction; `next` is the id to continue after, nil at the end.
    public func list(after: UInt64?, limit: Int?) throws -> (entries: [EntryRecord], next: UInt64?) {
        try env.read { txn in
            var out: [EntryRecord] = [], more = false
            let from = after.map { $0 == .max ? nil : Self.idKey($0 + 1) } ?? []
            guard let from else { return ([], nil) }
            try txn.scan(entries, from: from) { _, value in
                if let limit, out.count == limit { more = true; return false }
                out.append(try Self.decodeRecord(value))
                return true
            }
            return (out, more ? out.last?.id : nil)
        }
    }

    /// Calls `body` with every entry, its retrieval vectors and its photo record, in id order,
    /// in one read transaction, holding one entry at a time (building an index over a large
    /// store without all of it in memory at once).
    public func forEachEntry(_ body: (EntryRecord, [Float], PhotoRecord?) throws -> Void) throws {
        try env.read { txn in
            try txn.scan(entries) { key, value in
                let r = try Self.decodeRecord(value)
                let vector = try txn.get(vectors, Array(key)).map(Self.decodeVector) ?? []
                let photo = r.kind == "photo" ? try txn.get(photos, Array(key)).flatMap { try? PhotoRecord.decode($0) } : nil
                try body(r, vector, photo)
                return true
            }
        }
    }

    /// The retrieval vectors of an entry.
    public func vectors(id: UInt64) throws -> [Float]? {
        try env.read { txn in try txn.get(vectors, Self.idKey(id)).map(Self.decodeVector) }
    }

    /// Every entry's retrieval vectors, read in one transaction (building an index).
    public func allVectors() throws -> [UInt64: [Float]] {
        try env.read { txn in
            var out: [UInt64: [Float]] = [:]
            try txn.scan(vectors) { key, value in
                guard key.count == 8 else { throw StoreError(.corrupt, "a vectors key has \(key.count) bytes, not 8") }
                out[UInt64(bigEndian: key.loadUnaligned(as: UInt64.self))] = Self.decodeVector(value)
                return true
            }
            return out
        }
    }

    /// The photo record of a photo entry.
    public func photo(id: UInt64) throws -> PhotoRecord? {
        try env.read { txn in try txn.get(photos, Self.idKey(id)).map(PhotoRecord.decode) }
    }

    /// Every photo entry's record, read in one transaction (building the photo index). A
    /// record that does not parse is left out (its entry stays, found by its text), so one
    /// damaged record cannot stop the memory from opening; `photo(id:)` reports it.
    public func allPhotos() throws -> [UInt64: PhotoRecord] {
        try env.read { txn in
            var out: [UInt64: PhotoRecord] = [:]
            try txn.scan(photos) { key, value in
                if key.count == 8, let record = try? PhotoRecord.decode(value) {
                    out[UInt64(bigEndian: key.loadUnaligned(as: UInt64.self))] = record
                }
                return true
            }
            return out
        }
    }

    static func decodeVector(_ raw: UnsafeRawBufferPointer) -> [Float] {
        (0..<raw.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
    }

    /// Runs `body` inside one read transaction, with access to pages in place in the memory
    /// map. Nothing read may be used after `body` returns.
    public func read<T>(_ body: (StoreReader) throws -> T) throws -> T {
        try env.read { txn in try body(StoreReader(store: self, txn: txn)) }
    }

    /// Bytes of the data file on disk.
    public var fileSize: Int { env.fileSize }
    /// Current size of the memory map.
    public var mapSize: Int { env.mapSize }

    // MARK: - Internals

    /// The longest name or alias, in bytes of its lower-cased UTF-8 (LMDB's default key limit).
    public static let maxNameBytes = 511

    static func idKey(_ id: UInt64) -> [UInt8] { withUnsafeBytes(of: id.bigEndian) { Array($0) } }
    static func nameKey(_ name: String) -> [UInt8] { Array(name.lowercased().utf8) }
    static func pageKey(_ id: UInt64, layer: Int, block: Int) -> [UInt8] {
        idKey(id) + withUnsafeBytes(of: UInt16(layer).bigEndian) { Array($0) } + withUnsafeBytes(of: UInt32(block).bigEndian) { Array($0) }
    }

    static func decodeRecord(_ bytes: UnsafeRawBufferPointer) throws -> EntryRecord {
        do {
            return try JSONDecoder().decode(EntryRecord.self, from: Data(bytes))
        } catch {
            throw StoreError(.corrupt, "an entry record does not parse: \(error)")
        }
    }

    func loadRecord(_ txn: LMDBTransaction, _ id: UInt64) throws -> EntryRecord? {
        try txn.get(entries, Self.idKey(id)).map(Self.decodeRecord)
    }

    private func newGeneration(_ txn: LMDBTransaction) throws {
        var g = SystemRandomNumberGenerator()
        let bytes = withUnsafeBytes(of: (g.next() as UInt64, g.next() as UInt64)) { Array($0) }
        try txn.put(meta, Array("generation".utf8), bytes)
    }

    private func nextID(_ txn: LMDBTransaction) throws -> UInt64 {
        let key = Array("next_id".utf8)
        var id: UInt64 = 1
        if let v = try txn.get(meta, key), v.count == 8 { id = UInt64(littleEndian: v.loadUnaligned(as: UInt64.self)) }
        try txn.put(meta, key, withUnsafeBytes(of: (id + 1).littleEndian) { Array($0) })
        return id
    }

    private func validate(_ r: EntryRecord, _ kv: EntryKV) throws {
        // A name is a key of `names`, and LMDB keys are at most 511 bytes.
        for name in [r.name].compactMap({ $0 }) + r.aliases where Self.nameKey(name).count > Self.maxNameBytes {
            throw StoreError(.invalidArgument, "a name or alias may be at most \(Self.maxNameBytes) bytes of UTF-8; \"\(name.prefix(24))…\" is \(Self.nameKey(name).count)")
        }
        let n = r.layers * r.kvHeads * r.tokenCount * r.headDim
        guard r.dtype == .fp16 || r.headDim % 32 == 0 else {
            throw StoreError(.invalidArgument, "\(r.dtype) pages need a head dimension that is a multiple of 32 (this model's is \(r.headDim))")
        }
        guard r.tokenCount > 0, r.blockTokens > 0, r.blockTokens <= Int(UInt16.max), kv.keys.count == n, kv.values.count == n else {
            throw StoreError(.invalidArgument, "entry K/V hold \(kv.keys.count) keys and \(kv.values.count) values; the record's shape needs \(n) each (and at least one token)")
        }
    }

    private func putEntry(_ txn: LMDBTransaction, _ r: EntryRecord, kv: EntryKV, vector: [Float]) throws {
        for name in ([r.name].compactMap { $0 } + r.aliases) {
            let taken = try Self.idKey(r.id).withUnsafeBytes { try txn.put(names, Self.nameKey(name), $0, noOverwrite: true) }
            if !taken {
                throw StoreError(.nameTaken, "the name \"\(name)\" already belongs to another entry")
            }
        }
        try putRecord(txn, r)
        try vector.withUnsafeBytes { raw in
            _ = try txn.put(vectors, Self.idKey(r.id), raw)
        }
        try putPages(txn, r, kv: kv)
    }

    private func putRecord(_ txn: LMDBTransaction, _ r: EntryRecord) throws {
        try newGeneration(txn)
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        try txn.put(entries, Self.idKey(r.id), Array(try e.encode(r)))
    }

    private func putPages(_ txn: LMDBTransaction, _ r: EntryRecord, kv: EntryKV) throws {
        let perHead = r.tokenCount * r.headDim
        try kv.keys.withUnsafeBufferPointer { keys in
            try kv.values.withUnsafeBufferPointer { values in
                for layer in 0..<r.layers {
                    for block in 0..<r.blockCount {
                        let t0 = block * r.blockTokens, t = min(r.blockTokens, r.tokenCount - t0)
                        let size = KVPage.byteCount(tokens: t, kvHeads: r.kvHeads, headDim: r.headDim, dtype: r.dtype)
                        try txn.reserve(pages, Self.pageKey(r.id, layer: layer, block: block), count: size) { out in
                            KVPage.write(into: out, tokens: t, kvHeads: r.kvHeads, headDim: r.headDim,
                                         firstPosition: r.positionBase + t0, dtype: r.dtype) { payload in
                                for h in 0..<r.kvHeads {
                                    let src = (layer * r.kvHeads + h) * perHead + t0 * r.headDim
                                    switch r.dtype {
                                    case .fp16:
                                        let rowBytes = t * r.headDim * 2
                                        payload.baseAddress!.advanced(by: h * rowBytes)
                                            .copyMemory(from: keys.baseAddress! + src, byteCount: rowBytes)
                                        payload.baseAddress!.advanced(by: (r.kvHeads + h) * rowBytes)
                                            .copyMemory(from: values.baseAddress! + src, byteCount: rowBytes)
                                    case .q8:
                                        let n = t * r.headDim
                                        let q = payload.baseAddress!.assumingMemoryBound(to: Int8.self)
                                        let scales = payload.baseAddress!.advanced(by: 2 * r.kvHeads * n).assumingMemoryBound(to: UInt16.self)
                                        let perScales = n / 32
                                        Self.quantize8(keys.baseAddress! + src, count: n, into: q + h * n, scales: scales + h * perScales)
                                        Self.quantize8(values.baseAddress! + src, count: n, into: q + (r.kvHeads + h) * n,
                                                       scales: scales + (r.kvHeads + h) * perScales)
                                    case .q4:
                                        let n = t * r.headDim
                                        let codes = payload.baseAddress!.assumingMemoryBound(to: UInt8.self)
                                        let params = payload.baseAddress!.advanced(by: 2 * r.kvHeads * n / 2).assumingMemoryBound(to: UInt16.self)
                                        Q4Quantizer.encodeKeys(keys.baseAddress! + src, tokens: t, dim: r.headDim, codes: codes + h * n / 2,
                                                               channels: params + h * 2 * r.headDim)
                                        Q4Quantizer.encodeValues(values.baseAddress! + src, tokens: t, dim: r.headDim, codes: codes + (r.kvHeads + h) * n / 2,
                                                                 groups: params + r.kvHeads * 2 * r.headDim + h * n / 32 * 2)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// fp16 values to int8 with one fp16 scale per 32: scale = max |x| / 127 (rounded to fp16),
    /// q = x / scale rounded to nearest.
    static func quantize8(_ x: UnsafePointer<UInt16>, count: Int, into q: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<UInt16>) {
        for b in 0..<count / 32 {
            var amax: Float = 0
            for i in 0..<32 { amax = max(amax, abs(Float(Float16(bitPattern: x[32 * b + i])))) }
            let scale = Float16(amax / 127)
            scales[b] = scale.bitPattern
            let d = Float(scale)
            for i in 0..<32 {
                let v = Float(Float16(bitPattern: x[32 * b + i]))
                q[32 * b + i] = d == 0 ? 0 : Int8(max(-127, min(127, (v / d).rounded())))
            }
        }
    }

    private func removeEntry(_ txn: LMDBTransaction, _ r: EntryRecord) throws {
        try newGeneration(txn)
        for name in ([r.name].compactMap { $0 } + r.aliases) { try txn.delete(names, Self.nameKey(name)) }
        try txn.delete(entries, Self.idKey(r.id))
        try txn.delete(vectors, Self.idKey(r.id))
        try txn.delete(photos, Self.idKey(r.id))
        try txn.delete(usage, Self.idKey(r.id))
        try deletePages(txn, r)
    }

    private func deletePages(_ txn: LMDBTransaction, _ r: EntryRecord) throws {
        for layer in 0..<r.layers {
            for block in 0..<r.blockCount { try txn.delete(pages, Self.pageKey(r.id, layer: layer, block: block)) }
        }
    }
}

/// Read access inside one `PersonalStore.read` transaction.
public struct StoreReader {
    let store: PersonalStore
    let txn: LMDBTransaction

    public func entry(id: UInt64) throws -> EntryRecord? { try store.loadRecord(txn, id) }

    /// Page `block` of `layer` of entry `id`, in place in the map, checksum verified.
    /// - Throws: `.notFound` if the page is missing, `.corrupt` if it fails its checks.
    public func page(entry id: UInt64, layer: Int, block: Int, verify: Bool = true) throws -> KVPageView {
        guard let bytes = try txn.get(store.pages, PersonalStore.pageKey(id, layer: layer, block: block)) else {
            throw StoreError(.notFound, "entry \(id) has no page for layer \(layer), block \(block)")
        }
        do {
            return try KVPage.read(bytes, verify: verify)
        } catch let e as StoreError {
            throw StoreError(e.code, "entry \(id), layer \(layer), block \(block): \(e.message)")
        }
    }
}
