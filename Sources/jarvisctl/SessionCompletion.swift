import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

/// The chat sessions jarvisd keeps: for `--session` and `sessions forget`, and their completion.
enum SessionCompletion {
    /// Every session, most recently used first.
    /// - Throws: `ClientError`.
    static func sessions(_ c: JarvisConnection) throws -> [SessionInfo] {
        guard case .sessions(let s) = try c.call(.sessions) else {
            throw ClientError(.io, "jarvisd answered sessions with something else")
        }
        return s
    }

    /// Completes a session name; nothing when the daemon is not running.
    static func names(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        var socket = SocketLocation.defaultPath()
        if let i = words.firstIndex(of: "--socket"), i + 1 < words.count { socket = words[i + 1] }
        guard let c = try? JarvisConnection(socketPath: socket), let s = try? sessions(c) else { return [] }
        return s.map(\.name).filter { $0.hasPrefix(prefix) }
    }
}
