import Foundation
import JarvisStore

/// The memory's index written beside the store (`index.snapshot` in the store's directory), so
/// that a start reads one file in sequence instead of every record among the KV pages: at
/// 100,000 entries the pages are ~33 GiB and the records lie scattered through them.
///
/// A snapshot is used only if it was written for the store exactly as it is now: the store's
/// generation (16 random bytes, new with every change to an entry), its next id and its entry
/// count must all match, so a change made after the snapshot — by this or any other process,
/// or by restoring `data.mdb` from a backup — sends the start back to the store. A snapshot is
/// written when jarvisd stops (to a temporary file, synced, then renamed), never while it
/// serves; after a crash the next start builds from the store as before.
enum IndexSnapshot {
    static let fileName = "index.snapshot"
    static let magic = Array("JRVSIDX".utf8) + [2]

    static func path(_ store: PersonalStore) -> String { store.directory + "/" + fileName }

    /// The index the snapshot holds, if one was written for the store as it is now; nil when
    /// there is none, it is stale, or it does not read (a start then builds from the store).
    static func read(for store: PersonalStore) -> PersonalMemory.Index? {
        // Mapped, not read: the arrays are copied out of the page cache once, not twice.
        guard let state = try? store.state(),
              let file = try? Data(contentsOf: URL(fileURLWithPath: path(store)), options: .alwaysMapped) else { return nil }
        // The header first: a stale snapshot is not read further.
        let expected = header(state).data
        guard file.count >= expected.count, file.prefix(expected.count).elementsEqual(expected) else { return nil }
        return file.withUnsafeBytes { raw -> PersonalMemory.Index? in
            var r = SnapshotReader(UnsafeRawBufferPointer(rebasing: raw[expected.count...]))
            return try? PersonalMemory.Index(snapshot: &r)
        }
    }

    /// Writes `index` as the snapshot of `store` as it is now.
    /// - Throws: what writing the file throws.
    static func write(_ index: PersonalMemory.Index, for store: PersonalStore) throws {
        var w = header(try store.state())
        index.write(to: &w)
        let target = path(store), temporary = target + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
              let file = FileHandle(forWritingAtPath: temporary) else {
            throw StoreError(.invalidArgument, "cannot write \(temporary)")
        }
        try file.write(contentsOf: w.data)
        try file.synchronize()
        try file.close()
        guard rename(temporary, target) == 0 else { throw StoreError(.invalidArgument, "cannot rename \(temporary) to \(target): errno \(errno)") }
    }

    /// What a snapshot of the store in `state` starts with.
    private static func header(_ state: (generation: [UInt8], nextID: UInt64, count: Int)) -> SnapshotWriter {
        var w = SnapshotWriter()
        w.bytes(magic)
        w.bytes(state.generation)
        w.int(Int(state.nextID))
        w.int(state.count)
        return w
    }
}

extension PersonalMemory.Index {
    /// Per entry: id, token count, page bytes, flags (1 text-only, 2 pinned), last use; the
    /// digests; then the retriever. Photos are not kept here: they are read from the store.
    func write(to w: inout SnapshotWriter) {
        let entries = retriever.entryIDs
        w.array(entries)
        w.array(entries.map { Int64(tokenCounts[$0] ?? 0) })
        w.array(entries.map { Int64(paged[$0] ?? 0) })
        w.array(entries.map { UInt8((textOnly.contains($0) ? 1 : 0) | (pinned.contains($0) ? 2 : 0)) })
        w.array(entries.map { lastUse[$0] ?? 0 })
        w.array(entries.map { digests[$0] != nil ? UInt8(1) : 0 })
        w.strings(entries.compactMap { digests[$0] })
        retriever.write(to: &w)
    }

    init(snapshot r: inout SnapshotReader) throws {
        self.init()
        let entries: [UInt64] = try r.array()
        let tokens: [Int64] = try r.array(), pages: [Int64] = try r.array(), flags: [UInt8] = try r.array(), used: [Int64] = try r.array()
        let hasDigest: [UInt8] = try r.array()
        var digestList = try r.strings()[...]
        retriever = try Retriever(snapshot: &r)
        guard r.isAtEnd, [tokens.count, pages.count, flags.count, used.count, hasDigest.count].allSatisfy({ $0 == entries.count }),
              retriever.entryIDs == entries, digestList.count == hasDigest.filter({ $0 != 0 }).count else {
            throw StoreError(.corrupt, "the index snapshot is inconsistent")
        }
        tokenCounts.reserveCapacity(entries.count); paged.reserveCapacity(entries.count); lastUse.reserveCapacity(entries.count)
        digests.reserveCapacity(digestList.count); sources.reserveCapacity(digestList.count)
        for (i, id) in entries.enumerated() {
            if flags[i] & 2 != 0 { pinned.insert(id) }
            if flags[i] & 1 != 0 {
                textOnly.insert(id)
            } else {
                self.tokens += Int(tokens[i])
                tokenCounts[id] = Int(tokens[i])
                paged[id] = Int(pages[i])
                pageBytes += Int(pages[i])
            }
            lastUse[id] = used[i]
            if hasDigest[i] != 0, let d = digestList.popFirst() {
                digests[id] = d
                sources[d, default: []].append(id)
            }
        }
    }
}

/// Appends little-endian integers, arrays of plain values and strings to a byte buffer.
struct SnapshotWriter {
    private(set) var data: [UInt8] = []

    mutating func bytes(_ b: [UInt8]) { data += b }
    mutating func int(_ v: Int) { withUnsafeBytes(of: Int64(v).littleEndian) { data += $0 } }
    /// The count, then the elements' bytes as they lie in memory (this machine is little-endian).
    mutating func array<T: BitwiseCopyable>(_ a: [T]) {
        int(a.count)
        a.withUnsafeBytes { data += $0 }
    }
    /// The count, each string's UTF-8 length, then all their bytes.
    mutating func strings(_ list: [String]) {
        array(list.map { Int32($0.utf8.count) })
        for s in list { data += s.utf8 }
    }
}

/// Reads what `SnapshotWriter` wrote; every read is bounds-checked.
struct SnapshotReader {
    private let raw: UnsafeRawBufferPointer
    private var at = 0

    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

    var isAtEnd: Bool { at == raw.count }

    mutating func bytes(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= raw.count - at else { throw StoreError(.corrupt, "the index snapshot ends early") }
        defer { at += n }
        return Array(raw[at..<at + n])
    }

    mutating func int() throws -> Int {
        guard raw.count - at >= 8 else { throw StoreError(.corrupt, "the index snapshot ends early") }
        defer { at += 8 }
        return Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int64.self)))
    }

    mutating func array<T: BitwiseCopyable>() throws -> [T] {
        let n = try int(), size = MemoryLayout<T>.stride
        guard n >= 0, n <= (raw.count - at) / size else { throw StoreError(.corrupt, "the index snapshot ends early") }
        defer { at += n * size }
        return [T](unsafeUninitializedCapacity: n) { buffer, count in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[at..<at + n * size]))
            count = n
        }
    }

    mutating func strings() throws -> [String] {
        let lengths: [Int32] = try array()
        return try lengths.map { n in String(decoding: try bytes(Int(n)), as: UTF8.self) }
    }
}
