import CSystemd
#if canImport(Glibc)
import Glibc
#endif

/// The listening socket systemd passes to a socket-activated service (sd_listen_fds).
public enum SocketActivation {
    /// The one Unix stream socket passed in, or nil when the process was not socket-activated.
    /// - Throws: `DaemonError(.internalError)` when systemd passed more than one socket, or one
    ///   that is not a listening Unix stream socket.
    public static func listeningSocket() throws -> Int32? {
        let n = sd_listen_fds(1)
        guard n > 0 else { return nil }
        guard n == 1 else {
            throw DaemonError(.internalError, "systemd passed \(n) sockets; jarvisd.socket should listen on exactly one")
        }
        let fd = SD_LISTEN_FDS_START
        guard sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0 else {
            throw DaemonError(.internalError, "the socket systemd passed is not a listening Unix stream socket")
        }
        return fd
    }
}
