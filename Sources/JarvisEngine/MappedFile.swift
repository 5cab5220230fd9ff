#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. The mapping lives as long as this object;
/// views handed out (tensor data, strings) must not outlive it.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened from, for error messages.
    public let path: String
    /// Start of the mapping (nil only for an empty file).
    public let base: UnsafeRawPointer?
    /// Size of the file in bytes.
    public let count: Int

    /// Maps `path` read-only.
    /// - Throws: `EngineError` with code `.io` if the file cannot be opened, inspected or mapped.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw EngineError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw EngineError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw EngineError(.io, "\(path) is not a regular file")
        }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw EngineError(.io, "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The mapped bytes as a buffer.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
