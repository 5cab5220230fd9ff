import CSystemd
import Foundation

/// Talks to systemd through `$NOTIFY_SOCKET` (sd_notify): READY=1, STATUS=…, WATCHDOG=1,
/// STOPPING=1. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Whether a service manager listens.
    public var isActive: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    public func status(_ text: String) { send("STATUS=\(text)") }
    public func stopping() { send("STOPPING=1\nSTATUS=stopping") }
    public func watchdog() { send("WATCHDOG=1") }

    /// How often to send WATCHDOG=1: half of `$WATCHDOG_USEC`, when the watchdog is on for
    /// this process (systemd sets `$WATCHDOG_PID` to it).
    public var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec / 2))
    }

    private func send(_ message: String) {
        guard isActive else { return }
        _ = sd_notify(0, message)
    }
}
