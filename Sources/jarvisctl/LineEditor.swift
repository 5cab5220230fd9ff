import CEditLine
import Foundation

/// Reads lines with editing and history, through libedit. History is loaded from and saved to
/// a file, so that earlier chats' lines are there with the up arrow.
final class LineEditor {
    let historyFile: String?

    /// - Parameter historyFile: where history is kept; nil keeps none across runs.
    init(historyFile: String?) {
        self.historyFile = historyFile
        // libedit reads and shows multibyte characters (é, emoji) by the locale's LC_CTYPE.
        setlocale(LC_CTYPE, "")
        jarvis_editline_leave_signals()
        using_history()
        stifle_history(1000)
        if let historyFile { _ = read_history(historyFile) }
    }

    /// The next line, without its newline; nil at end of input (Ctrl-D on an empty line).
    /// - Parameter keepInHistory: false for answers to a y/n question, which the up arrow
    ///   should not bring back.
    func readLine(prompt: String, keepInHistory: Bool = true) -> String? {
        guard let p = readline(prompt) else { return nil }
        defer { free(p) }
        let line = String(cString: p)
        if keepInHistory, !line.trimmingCharacters(in: .whitespaces).isEmpty { add_history(line) }
        return line
    }

    /// Writes the history file (its folder is created if need be).
    func save() {
        guard let historyFile else { return }
        try? FileManager.default.createDirectory(atPath: (historyFile as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        _ = write_history(historyFile)
    }

    /// `$XDG_STATE_HOME/jarvis/chat_history`, else `~/.local/state/jarvis/chat_history`.
    static func defaultHistoryFile(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let x = environment["XDG_STATE_HOME"], !x.isEmpty { return x + "/jarvis/chat_history" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state/jarvis/chat_history"
    }
}
