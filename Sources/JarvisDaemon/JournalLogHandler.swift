import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A swift-log backend writing one line per message to standard error: under systemd, in the
/// form journald parses (`<N>` syslog priority prefix, no timestamp: the journal adds its
/// own); on a terminal, with a timestamp and the level spelled out.
public struct JournalLogHandler: LogHandler {
    public enum Format: Sendable { case journal, terminal }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let format: Format
    private static let lock = Mutex(())

    public init(label: String, level: Logger.Level, format: Format = JournalLogHandler.detectFormat()) {
        self.label = label
        self.logLevel = level
        self.format = format
    }

    /// `.journal` when standard error is connected to the journal: systemd sets
    /// `$JOURNAL_STREAM` to that stream's device and inode.
    public static func detectFormat(environment: [String: String] = ProcessInfo.processInfo.environment) -> Format {
        guard let stream = environment["JOURNAL_STREAM"] else { return .terminal }
        var st = stat()
        guard fstat(2, &st) == 0 else { return .terminal }
        return stream == "\(st.st_dev):\(st.st_ino)" ? .journal : .terminal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        let suffix = fields.isEmpty ? "" : " " + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        // One message is one line: a newline inside would split it into two journal entries.
        let text = "\(event.message)\(suffix)".replacingOccurrences(of: "\n", with: "\\n")
        let line: String
        switch format {
        case .journal:
            line = "<\(Self.priority(event.level))>\(text)\n"
        case .terminal:
            let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
            line = "\(time) \(event.level) \(label): \(text)\n"
        }
        Self.lock.withLock { _ in
            _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        }
    }

    /// syslog priorities (sd-daemon.h's SD_ERR … SD_DEBUG).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
