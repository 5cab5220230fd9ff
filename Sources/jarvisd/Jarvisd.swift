import ArgumentParser
import Foundation
import JarvisDaemon
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
        version: "0.5.0")

    @Option(help: ArgumentHelp("The Unix socket to serve (env JARVIS_SOCKET).", valueName: "path"), completion: .file())
    var socket: String?
    @Option(help: ArgumentHelp("The store directory (env JARVIS_STORE).", valueName: "dir"), completion: .directory)
    var store: String?
    @Option(help: ArgumentHelp("The models directory (env JARVIS_MODELS).", valueName: "dir"), completion: .directory)
    var models: String?
    @Option(help: ArgumentHelp("The language model: a file in the models directory, or a path (env JARVIS_MODEL).", valueName: "file"),
            completion: .file(extensions: ["gguf"]))
    var model: String?
    @Option(help: ArgumentHelp("SmolVLM's vision projector (llama.cpp mmproj GGUF) for the language model given by --model: photos then also keep their visual tokens' KV (env JARVIS_MMPROJ).", valueName: "file"),
            completion: .file(extensions: ["gguf"]))
    var mmproj: String?
    @Option(help: "Compute threads (env JARVIS_THREADS; default: all cores).")
    var threads: Int?
    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical (env JARVIS_LOG_LEVEL).", valueName: "level"))
    var logLevel: String?
    @Option(help: "Default cap on an answer's tokens (env JARVIS_MAX_TOKENS).")
    var maxTokens: Int?
    @Option(help: "Entries an answer rests on at most (env JARVIS_RETRIEVE_LIMIT).")
    var retrieveLimit: Int?
    @Option(help: ArgumentHelp("The config file (env JARVIS_CONFIG).", valueName: "path"), completion: .file())
    var config: String?

    func run() async throws {
        var flags: [String: String] = [:]
        flags["socket"] = socket; flags["store"] = store; flags["models"] = models; flags["model"] = model
        flags["threads"] = threads.map(String.init); flags["log-level"] = logLevel
        flags["max-tokens"] = maxTokens.map(String.init); flags["retrieve-limit"] = retrieveLimit.map(String.init)
        flags["config"] = config; flags["mmproj"] = mmproj
        let notifier = SystemdNotifier()
        let settings: DaemonConfig
        do {
            settings = try DaemonConfig.resolve(flags: flags, environment: ProcessInfo.processInfo.environment)
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
        assistant.stop()
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
