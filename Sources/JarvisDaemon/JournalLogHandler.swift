import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A swift-log backend writing one line per message to standard error: under systemd, in the
/// form journald parses (`<N>` syslog priority prefix, no timestamp: the journal adds its
/// own); on a terminal, with a timestamp and the level spelled out.
///
/// Lines are written by a thread of their own: a slow or stuck reader of standard error (a
/// full pipe, a busy journal) then never stalls the tasks that serve clients. If that reader
/// falls more than `LogWriter.capacity` lines behind, lines are dropped and the drop is counted
/// in the next line written.
public struct JournalLogHandler: LogHandler {
    public enum Format: Sendable { case journal, terminal }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let format: Format

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
        LogWriter.shared.enqueue(line)
    }

    /// Writes out what is queued; call before the process exits.
    public static func flush() { LogWriter.shared.flush() }

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

/// The one thread that writes log lines to standard error, behind a bounded queue.
final class LogWriter: @unchecked Sendable {
    static let shared = LogWriter()
    static let capacity = 4096

    private let condition = NSCondition()
    private var lines: [String] = []
    private var dropped = 0
    private var writing = false

    private init() {
        let t = Thread { self.loop() }
        t.name = "jarvis-log"
        t.start()
    }

    func enqueue(_ line: String) {
        condition.lock()
        defer { condition.unlock() }
        guard lines.count < Self.capacity else { dropped += 1; return }
        lines.append(line)
        condition.signal()
    }

    private func loop() {
        while true {
            condition.lock()
            while lines.isEmpty { condition.wait() }
            var batch = lines
            lines.removeAll(keepingCapacity: true)
            writing = true
            if dropped > 0 {
                batch.insert("(\(dropped) log lines dropped: standard error was not being read)\n", at: 0)
                dropped = 0
            }
            condition.unlock()
            let text = batch.joined()
            text.utf8CString.withUnsafeBufferPointer { buffer in
                var offset = 0
                let count = buffer.count - 1
                while offset < count {
                    let n = write(2, buffer.baseAddress! + offset, count - offset)
                    if n < 0 { if errno == EINTR { continue } else { return } }
                    offset += n
                }
            }
            condition.lock()
            writing = false
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Waits (at most `timeout` seconds) until every queued line is written.
    func flush(timeout: Double = 2) {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while (!lines.isEmpty || writing) && condition.wait(until: deadline) {}
    }
}
