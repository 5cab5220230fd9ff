import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where jarvisd's socket lives, agreed by the daemon and every client.
public enum SocketLocation {
    /// `$JARVIS_SOCKET`, else `$XDG_RUNTIME_DIR/jarvis/jarvisd.sock`, else
    /// `/run/user/UID/jarvis/jarvisd.sock` when that runtime directory exists, else
    /// `/tmp/jarvis-UID/jarvisd.sock`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let p = environment["JARVIS_SOCKET"], !p.isEmpty { return p }
        if let r = environment["XDG_RUNTIME_DIR"], !r.isEmpty { return r + "/jarvis/jarvisd.sock" }
        let uid = getuid()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: "/run/user/\(uid)", isDirectory: &isDirectory), isDirectory.boolValue {
            return "/run/user/\(uid)/jarvis/jarvisd.sock"
        }
        return "/tmp/jarvis-\(uid)/jarvisd.sock"
    }
}
