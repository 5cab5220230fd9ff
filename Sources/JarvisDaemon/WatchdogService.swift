import ServiceLifecycle

/// Sends WATCHDOG=1 to systemd at half the unit's `WatchdogSec`, for as long as the daemon's
/// tasks get to run: a daemon whose scheduler is wedged stops pinging and systemd restarts it.
public struct WatchdogService: Service {
    let notifier: SystemdNotifier
    let interval: Duration

    public init(notifier: SystemdNotifier, interval: Duration) {
        self.notifier = notifier
        self.interval = interval
    }

    public func run() async throws {
        let notifier = self.notifier, interval = self.interval
        try? await cancelWhenGracefulShutdown {
            while true {
                notifier.watchdog()
                try await Task.sleep(for: interval)
            }
        }
    }
}
