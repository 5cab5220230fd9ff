import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

/// Completes an entry argument with the names and ids jarvisd holds; nothing when the daemon
/// is not running (completion must never hang or print errors).
enum EntryCompletion {
    static let kind = CompletionKind.custom { words, _, prefix in
        var socket = SocketLocation.defaultPath()
        if let i = words.firstIndex(of: "--socket"), i + 1 < words.count { socket = words[i + 1] }
        guard let c = try? JarvisConnection(socketPath: socket),
              let entries = try? c.allEntries() else { return [] }
        let candidates = entries.flatMap { e in [e.name].compactMap { $0 } + e.aliases + [String(e.id)] }
        return candidates.filter { $0.hasPrefix(prefix) }
    }
}
