import ArgumentParser
import Foundation
import JarvisDaemon
import JarvisProtocol
import Logging
import ServiceLifecycle

/// jarvisd: keeps the model and the store open and serves the Jarvis protocol on a Unix socket.
@main
struct Jarvisd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jarvisd",
        abstract: "The Jarvis daemon: your memories and the model, served on a Unix socket.",
        discussion: """
            Settings come from flags, then JARVIS_* environment variables, then the config file \
            ($XDG_CONFIG_HOME/jarvis/jarvisd.conf, `key = value` lines with the flag names as keys), \
            then defaults. Under systemd, jarvisd takes the socket jarvisd.socket passes in and reports \
            readiness, status and watchdog pings. SIGTERM or SIGINT stops it gracefully.
            """,
        version: JarvisVersion.current)

    // One option per setting; name, help and value name come from the setting's declaration.
    @Option(setting: .socket) var socket: SettingFlag?
    @Option(setting: .store) var store: SettingFlag?
    @Option(setting: .models) var models: SettingFlag?
    @Option(setting: .model) var model: SettingFlag?
    @Option(setting: .mmproj) var mmproj: SettingFlag?
    @Option(setting: .threads) var threads: SettingFlag?
    @Option(setting: .logLevel) var logLevel: SettingFlag?
    @Option(setting: .maxTokens) var maxTokens: SettingFlag?
    @Option(setting: .retrieveLimit) var retrieveLimit: SettingFlag?
    @Option(setting: .pageDType) var pageDType: SettingFlag?
    @Option(setting: .maxStoreBytes) var maxStoreBytes: SettingFlag?
    @Option(setting: .config) var config: SettingFlag?

    func run() async throws {
        let notifier = SystemdNotifier()
        let settings: DaemonConfig
        do {
            settings = try DaemonConfig.resolve(flags: SettingFlag.given(in: self), environment: ProcessInfo.processInfo.environment)
        } catch {
            throw fail("\(error)", notifier)
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: level) }
        let logger = Logger(label: "jarvisd")

        let started = ContinuousClock.now
        let assistant: Assistant
        do {
            assistant = try Assistant(config: settings) { message in
                notifier.status(message)
                logger.info("\(message)")
            }
            let listener: DaemonServer.Listener = try SocketActivation.listeningSocket().map { .activated($0) } ?? .path(settings.socket)
            let ready = "serving \(settings.modelPath) with the store \(settings.store)"
            let server = DaemonServer(handler: assistant, listener: listener, logger: logger, onListening: {
                logger.notice("ready in \(ContinuousClock.now - started): \(ready)")
                notifier.ready(status: ready)
            }, onShutdown: { notifier.stopping() })
            var services: [any Service] = []
            if let interval = notifier.watchdogInterval {
                services.append(WatchdogService(notifier: notifier, interval: interval))
            }
            services.append(server)
            let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        } catch {
            throw fail("\(error)", notifier, logger)
        }
        do {
            try assistant.stop()
        } catch {
            logger.warning("the index snapshot was not written (\(error)); the next start reads the index from the store")
        }
        logger.notice("stopped")
        JournalLogHandler.flush()
    }

    /// Reports a start-up failure where the user will look, and exits with status 1.
    private func fail(_ message: String, _ notifier: SystemdNotifier, _ logger: Logger? = nil) -> ExitCode {
        notifier.status("failed: \(message)")
        if let logger {
            logger.critical("\(message)")
            JournalLogHandler.flush()
        } else {
            FileHandle.standardError.write(Data("jarvisd: \(message)\n".utf8))
        }
        return ExitCode(1)
    }
}
