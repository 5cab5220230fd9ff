internal import CLMDB
import Foundation

/// One LMDB environment (a directory holding data.mdb and lock.mdb), opened once per process.
///
/// Transactions are closures: a write commits when its closure returns and aborts when it
/// throws; a read ends when its closure returns. Neither may outlive the closure, and a read
/// never spans an `await` (the closures are synchronous). The map grows by doubling when a
/// write fills it, up to `maxMapSize`.
final class LMDBEnvironment: @unchecked Sendable {
    let path: String
    private let env: OpaquePointer
    private(set) var mapSize: Int
    let maxMapSize: Int
    /// Transactions hold it shared; growing the map takes it exclusively (LMDB requires that no
    /// transaction of this process is open while the map size changes).
    private var gate = pthread_rwlock_t()

    /// Opens (creating if needed) the environment in directory `path`.
    /// - Throws: `StoreError` with LMDB's error name.
    init(path: String, mapSize: Int, maxMapSize: Int, maxDatabases: Int) throws {
        self.path = path
        self.mapSize = mapSize
        self.maxMapSize = maxMapSize
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var e: OpaquePointer?
        try Self.check(mdb_env_create(&e), "creating the environment")
        env = e!
        do {
            try Self.check(mdb_env_set_maxdbs(env, MDB_dbi(maxDatabases)), "setting the database count")
            try Self.check(mdb_env_set_mapsize(env, mapSize), "setting the map size")
            try Self.check(mdb_env_open(env, path, UInt32(MDB_NOTLS), 0o600), "opening \(path)")
            // Free reader slots left by processes that died (kill -9) holding a read transaction.
            var dead: Int32 = 0
            try Self.check(mdb_reader_check(env, &dead), "clearing stale readers")
        } catch {
            mdb_env_close(env)
            throw error
        }
        // A map larger than asked for (set by an earlier run) is kept.
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        self.mapSize = max(mapSize, info.me_mapsize)
        pthread_rwlock_init(&gate, nil)
    }

    deinit {
        mdb_env_close(env)
        pthread_rwlock_destroy(&gate)
    }

    /// Opens (creating) the named databases; returns their handles in order.
    func openDatabases(_ names: [String]) throws -> [MDB_dbi] {
        try write { txn in try names.map { try txn.openDatabase($0) } }
    }

    /// Runs `body` in a read-only transaction.
    func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        pthread_rwlock_rdlock(&gate)
        defer { pthread_rwlock_unlock(&gate) }
        var t: OpaquePointer?
        try Self.check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &t), "beginning a read transaction")
        defer { mdb_txn_abort(t) }
        return try body(LMDBTransaction(txn: t!))
    }

    /// Runs `body` in a write transaction: committed when it returns, aborted when it throws.
    /// When the map is full, the transaction is aborted, the map doubled, and `body` run again.
    func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        while true {
            do {
                pthread_rwlock_rdlock(&gate)
                defer { pthread_rwlock_unlock(&gate) }
                var t: OpaquePointer?
                try Self.check(mdb_txn_begin(env, nil, 0, &t), "beginning a write transaction")
                let result: T
                do {
                    result = try body(LMDBTransaction(txn: t!))
                } catch {
                    mdb_txn_abort(t)
                    throw error
                }
                try Self.check(mdb_txn_commit(t), "committing")
                return result
            } catch let e as StoreError where e.lmdbCode == MDB_MAP_FULL {
                try grow(after: e)
            } catch let e as StoreError where e.lmdbCode == EIO && diskIsNearlyFull {
                // LMDB reports a short write (the disk filled up mid-commit) as EIO.
                throw StoreError(.full, "the disk holding the store at \(path) is full (\(e.message)); nothing was written: free some space, or forget entries", lmdbCode: ENOSPC)
            }
        }
    }

    /// Less than 16 MiB left for this user on the store's file system (an entry is up to ~4 MiB).
    private var diskIsNearlyFull: Bool {
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return false }
        return UInt64(fs.f_bavail) * UInt64(fs.f_frsize) < 16 << 20
    }

    private func grow(after error: StoreError) throws {
        pthread_rwlock_wrlock(&gate)
        defer { pthread_rwlock_unlock(&gate) }
        guard mapSize < maxMapSize else {
            throw StoreError(.full, "the store at \(path) is full (MDB_MAP_FULL at \(mapSize >> 20) MiB, the configured maximum): forget entries or raise the store's maximum size", lmdbCode: error.lmdbCode)
        }
        let next = min(mapSize * 2, maxMapSize)
        try Self.check(mdb_env_set_mapsize(env, next), "growing the map to \(next >> 20) MiB")
        mapSize = next
    }

    /// Writes a compacted copy of the environment (free pages left out) to `fd`, with LMDB's own
    /// copy (`mdb_env_copyfd2`, `MDB_CP_COMPACT`). It runs in a read transaction of its own, so
    /// writers go on meanwhile; the map cannot grow until it ends.
    /// - Throws: `StoreError` with LMDB's (or the system's) error, e.g. `ENOSPC`.
    func copy(compactingTo fd: Int32) throws {
        pthread_rwlock_rdlock(&gate)
        defer { pthread_rwlock_unlock(&gate) }
        let rc = mdb_env_copyfd2(env, fd, UInt32(MDB_CP_COMPACT))
        guard rc != 0 else { return }
        throw StoreError(.lmdb, "LMDB error while copying the store: \(String(cString: mdb_strerror(rc)))", lmdbCode: rc)
    }

    /// Bytes the data file takes on disk.
    var fileSize: Int {
        (try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int) ?? 0
    }

    /// Turns an LMDB return code into a `StoreError` carrying LMDB's name for it.
    static func check(_ rc: Int32, _ what: String) throws {
        guard rc != 0 else { return }
        let name = String(cString: mdb_strerror(rc))
        if rc == ENOSPC {
            throw StoreError(.full, "the disk holding the store is full (\(name) while \(what)); nothing was written: free some space, or forget entries", lmdbCode: rc)
        }
        let code: StoreError.Code = rc == MDB_MAP_FULL ? .full : .lmdb
        throw StoreError(code, "LMDB error while \(what): \(name)", lmdbCode: rc)
    }
}

/// A transaction handle, valid only inside the closure it was passed to. Values read from it
/// point into the memory map and are valid until the transaction ends.
struct LMDBTransaction {
    let txn: OpaquePointer

    /// How many keys database `dbi` holds (from its B-tree header; nothing is read).
    func count(_ dbi: MDB_dbi) throws -> Int {
        var st = MDB_stat()
        try LMDBEnvironment.check(mdb_stat(txn, dbi, &st), "reading a database's statistics")
        return Int(st.ms_entries)
    }

    func openDatabase(_ name: String) throws -> MDB_dbi {
        var dbi = MDB_dbi()
        try LMDBEnvironment.check(mdb_dbi_open(txn, name, UInt32(MDB_CREATE), &dbi), "opening database \(name)")
        return dbi
    }

    /// The value stored under `key`, in place in the map, or nil.
    func get(_ db: MDB_dbi, _ key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        try key.withUnsafeBytes { k in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            var dv = MDB_val()
            let rc = mdb_get(txn, db, &kv, &dv)
            if rc == MDB_NOTFOUND { return nil }
            try LMDBEnvironment.check(rc, "reading a key")
            return UnsafeRawBufferPointer(start: dv.mv_data, count: dv.mv_size)
        }
    }

    func put(_ db: MDB_dbi, _ key: [UInt8], _ value: UnsafeRawBufferPointer, noOverwrite: Bool = false) throws -> Bool {
        try key.withUnsafeBytes { k in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            var dv = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
            let rc = mdb_put(txn, db, &kv, &dv, noOverwrite ? UInt32(MDB_NOOVERWRITE) : 0)
            if rc == MDB_KEYEXIST { return false }
            try LMDBEnvironment.check(rc, "writing a value")
            return true
        }
    }

    func put(_ db: MDB_dbi, _ key: [UInt8], _ value: [UInt8]) throws {
        _ = try value.withUnsafeBytes { try put(db, key, $0) }
    }

    /// Reserves `count` bytes for `key` and lets `fill` write them in place in the map.
    func reserve(_ db: MDB_dbi, _ key: [UInt8], count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        try key.withUnsafeBytes { k in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            var dv = MDB_val(mv_size: count, mv_data: nil)
            try LMDBEnvironment.check(mdb_put(txn, db, &kv, &dv, UInt32(MDB_RESERVE)), "reserving a value")
            try fill(UnsafeMutableRawBufferPointer(start: dv.mv_data, count: count))
        }
    }

    /// Deletes `key`; false if it was not there.
    @discardableResult
    func delete(_ db: MDB_dbi, _ key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { k in
            var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            let rc = mdb_del(txn, db, &kv, nil)
            if rc == MDB_NOTFOUND { return false }
            try LMDBEnvironment.check(rc, "deleting a key")
            return true
        }
    }

    /// Calls `body` for every key starting with `prefix` (and not before `from`), in key order,
    /// until it returns false.
    func scan(_ db: MDB_dbi, prefix: [UInt8] = [], from: [UInt8]? = nil,
              _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        var cursor: OpaquePointer?
        try LMDBEnvironment.check(mdb_cursor_open(txn, db, &cursor), "opening a cursor")
        defer { mdb_cursor_close(cursor) }
        let start = from.map { prefix.lexicographicallyPrecedes($0) ? $0 : prefix } ?? prefix
        try start.withUnsafeBytes { p in
            var kv = MDB_val(mv_size: p.count, mv_data: UnsafeMutableRawPointer(mutating: p.baseAddress))
            var dv = MDB_val()
            var rc = start.isEmpty ? mdb_cursor_get(cursor, &kv, &dv, MDB_FIRST) : mdb_cursor_get(cursor, &kv, &dv, MDB_SET_RANGE)
            while rc == 0 {
                let key = UnsafeRawBufferPointer(start: kv.mv_data, count: kv.mv_size)
                guard key.starts(with: prefix) else { return }
                guard try body(key, UnsafeRawBufferPointer(start: dv.mv_data, count: dv.mv_size)) else { return }
                rc = mdb_cursor_get(cursor, &kv, &dv, MDB_NEXT)
            }
            if rc != MDB_NOTFOUND { try LMDBEnvironment.check(rc, "moving a cursor") }
        }
    }
}
