import Foundation

extension PersonalStore {
    /// Writes a compacted copy of the store into `directory` as `data.mdb`, while the store goes
    /// on serving (LMDB's compacting copy runs in a read transaction). The copy is a complete
    /// store: a `PersonalStore` opened on `directory` holds every entry as it was when the copy
    /// began.
    ///
    /// The copy goes to a temporary file in `directory` and is linked into place only when it is
    /// complete and synced, so a failed backup leaves no `data.mdb`, no temporary file, and no
    /// directory it created.
    /// - Parameter directory: a directory that does not exist yet (it is created, mode 0700,
    ///   inside an existing one) or an existing one that holds no store.
    /// - Returns: the size of the copy, in bytes.
    /// - Throws: `.badPath` when `directory` is not a directory, already holds a store, or
    ///   cannot be written; `.noSpace` when its disk fills up; `.lmdb` for anything else.
    @discardableResult
    public func backup(into directory: String) throws -> Int {
        let target = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        var created = false
        var st = stat()
        if stat(target, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw StoreError(.badPath, "\(target) exists and is not a directory: give a new or empty directory for the backup")
            }
            guard access(target + "/data.mdb", F_OK) != 0 else {
                throw StoreError(.badPath, "\(target) already holds a store (data.mdb): give a new or empty directory, so that no backup is overwritten")
            }
            guard access(target, W_OK | X_OK) == 0 else {
                throw StoreError(.badPath, "\(target) is not writable")
            }
        } else {
            guard mkdir(target, 0o700) == 0 else { throw Self.targetError(errno, "creating \(target)") }
            created = true
        }

        let temporary = target + "/.data.mdb.partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let final = target + "/data.mdb"
        var fd: Int32 = -1
        do {
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Self.targetError(errno, "creating \(temporary)") }
            do {
                try env.copy(compactingTo: fd)
            } catch let e as StoreError {
                if let rc = e.lmdbCode, rc == ENOSPC || rc == EDQUOT || rc == EFBIG { throw Self.targetError(rc, "writing \(temporary)") }
                throw e
            }
            guard fsync(fd) == 0 else { throw Self.targetError(errno, "syncing \(temporary)") }
            var written = stat()
            guard fstat(fd, &written) == 0 else { throw Self.targetError(errno, "reading the size of \(temporary)") }
            let closed = close(fd)
            fd = -1
            guard closed == 0 else { throw Self.targetError(errno, "closing \(temporary)") }
            // link, not rename: it never replaces a data.mdb another backup put there meanwhile.
            guard link(temporary, final) == 0 else {
                let e = errno
                if e == EEXIST { throw StoreError(.badPath, "\(target) already holds a store (data.mdb): another backup wrote one there meanwhile") }
                throw Self.targetError(e, "linking \(final)")
            }
            unlink(temporary)
            Self.syncDirectory(target)
            return Int(written.st_size)
        } catch {
            if fd >= 0 { close(fd) }
            unlink(temporary)
            if created { rmdir(target) }
            throw error
        }
    }

    /// An error about the backup's target, by errno.
    static func targetError(_ code: Int32, _ what: String) -> StoreError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT, EFBIG:
            return StoreError(.noSpace, "the disk holding the backup is full (\(reason) while \(what)); nothing was left there, and the store is unchanged: free some space or choose another disk", lmdbCode: code)
        case EACCES, EPERM:
            return StoreError(.badPath, "cannot write the backup (\(reason) while \(what))", lmdbCode: code)
        case EROFS:
            return StoreError(.badPath, "cannot write the backup (\(reason) while \(what)); under its systemd unit jarvisd writes only beside its store: leave the directory out for one there (then copy it anywhere), or allow this one with ReadWritePaths= (systemctl --user edit jarvisd.service)", lmdbCode: code)
        case ENOENT, ENOTDIR:
            return StoreError(.badPath, "cannot write the backup (\(reason) while \(what)): the directory it goes in must exist", lmdbCode: code)
        default:
            return StoreError(.lmdb, "the backup failed (\(reason) while \(what)); nothing was left there", lmdbCode: code)
        }
    }

    /// Makes a new directory entry durable (best effort: some file systems refuse).
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
