import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The process on the other end of a Unix socket, as the kernel reports it (SO_PEERCRED):
/// who connected, not who they claim to be.
struct PeerCredentials: Sendable {
    // The layout of `struct ucred`.
    var pid: Int32
    var uid: UInt32
    var gid: UInt32

    /// Reads the peer's credentials of an accepted connection.
    static func of(_ channel: any Channel) async throws -> PeerCredentials {
        guard let provider = channel as? any SocketOptionProvider else {
            throw DaemonError(.internalError, "the connection offers no socket options")
        }
        return try await provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET),
                                                        name: SocketOptionName(SO_PEERCRED)).get()
    }
}
