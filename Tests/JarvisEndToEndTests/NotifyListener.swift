import Foundation
import JarvisProtocol
#if canImport(Glibc)
import Glibc
#endif

/// A test-owned `$NOTIFY_SOCKET`: a datagram socket that collects what the daemon tells
/// systemd (READY=1, STATUS=…, WATCHDOG=1, STOPPING=1).
final class NotifyListener {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let fd = self.fd
        let rc = SocketLocation.withAddress(path) { bind(fd, $0, $1) } ?? -1
        guard fd >= 0, rc == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    deinit { close(fd); unlink(path) }

    /// The next message, waiting at most `timeout` seconds; nil on timeout. With timeout 0 it
    /// only returns a message already queued.
    func next(timeout: Double) -> String? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    /// Messages until one contains `marker` (returned last), or nil after `timeout` seconds.
    func wait(for marker: String, timeout: Double) -> [String]? {
        let deadline = Date().addingTimeInterval(timeout)
        var seen: [String] = []
        while Date() < deadline {
            guard let m = next(timeout: max(0, deadline.timeIntervalSinceNow)) else { break }
            seen.append(m)
            if m.contains(marker) { return seen }
        }
        return nil
    }
}
