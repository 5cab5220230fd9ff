import Foundation
import XCTest

/// A real jarvisd on a temporary socket and store, started with a test-owned NOTIFY_SOCKET so
/// that the test knows when it is ready without polling.
final class DaemonProcess {
    let directory: String
    let socket: String
    let store: String
    let notify: NotifyListener
    let process = Process()
    /// The daemon's log goes to a file: a pipe nobody reads would fill up and block it.
    private let logPath: String
    /// What the daemon told systemd while starting, READY=1 last.
    private(set) var startMessages: [String] = []

    private let ownsDirectory: Bool

    /// A pipe for the daemon's log that nobody reads, when asked for.
    private var unreadPipe: Pipe?

    /// - Parameters:
    ///   - reusing: a stopped daemon whose directory and store to take over (a restart).
    ///   - logToUnreadPipe: send the log into a pipe that is never read (it fills up).
    init(name: String, extraArguments: [String] = [], reusing previous: DaemonProcess? = nil, logToUnreadPipe: Bool = false) throws {
        if let previous {
            directory = previous.directory
            ownsDirectory = false
        } else {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-e2e-\(name)-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            ownsDirectory = true
        }
        socket = directory + "/run/jarvisd.sock"
        store = directory + "/store"
        notify = try NotifyListener(path: directory + "/notify-\(name).sock")
        process.executableURL = URL(fileURLWithPath: try Programs.path("jarvisd"))
        process.arguments = ["--socket", socket, "--store", store, "--log-level", "debug"] + extraArguments
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notify.path
        env["JARVIS_SOCKET"] = nil
        env["JARVIS_STORE"] = nil
        process.environment = env
        logPath = directory + "/jarvisd-\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        if logToUnreadPipe {
            let p = Pipe()
            unreadPipe = p
            process.standardError = p
            process.standardOutput = p
        } else {
            process.standardError = log
            process.standardOutput = log
        }
    }

    /// Starts jarvisd and waits for READY=1.
    func start() throws {
        try process.run()
        guard let messages = notify.wait(for: "READY=1", timeout: 120) else {
            process.terminate()
            process.waitUntilExit()
            XCTFail("jarvisd did not become ready; its log:\n\(logText())")
            throw XCTSkip("jarvisd did not start")
        }
        startMessages = messages
    }

    /// SIGTERM, then waits for the exit; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    /// The daemon's log so far.
    func logText() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no log)"
    }

    /// Runs jarvisctl against this daemon.
    func ctl(_ arguments: String..., input: String? = nil) throws -> Programs.Run {
        try Programs.run(try Programs.path("jarvisctl"), arguments, environment: ["JARVIS_SOCKET": socket], input: input)
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        if ownsDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }
}
