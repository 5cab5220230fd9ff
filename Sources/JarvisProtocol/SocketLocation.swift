import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where jarvisd's socket lives, agreed by the daemon and every client.
public enum SocketLocation {
    /// The environment variable that names the socket.
    public static let variable = "JARVIS_SOCKET"

    /// `$JARVIS_SOCKET`, else `$XDG_RUNTIME_DIR/jarvis/jarvisd.sock`, else
    /// `/run/user/UID/jarvis/jarvisd.sock` when that runtime directory exists, else
    /// `/tmp/jarvis-UID/jarvisd.sock`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let p = environment[variable], !p.isEmpty { return p }
        if let r = environment["XDG_RUNTIME_DIR"], !r.isEmpty { return r + "/jarvis/jarvisd.sock" }
        let uid = getuid()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/run/user/\(uid)", isDirectory: &isDirectory), isDirectory.boolValue {
            return "/run/user/\(uid)/jarvis/jarvisd.sock"
        }
        return "/tmp/jarvis-\(uid)/jarvisd.sock"
    }

    /// Runs `body` (`connect` or `bind`) with the Unix socket address of `path`; nil, without
    /// calling it, when the path does not fit an address (107 bytes on Linux).
    public static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// The longest socket path an address holds, in bytes.
    public static var maxPathBytes: Int { MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1 }
}
