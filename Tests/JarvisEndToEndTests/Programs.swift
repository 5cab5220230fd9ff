import Foundation
import XCTest

/// The jarvisd and jarvisctl executables built beside the tests (`swift build --build-tests`
/// builds every product into the same directory as the test bundle).
enum Programs {
    static let directory = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent().path

    static func path(_ name: String) throws -> String {
        let p = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: p) else {
            throw XCTSkip("\(p) is not built; run `swift build --build-tests` (scripts/test does)")
        }
        return p
    }

    /// The result of running a program to the end.
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs a program with `arguments`, feeding `input` to its standard input.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: String? = nil) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        p.environment = env
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try inp.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a full pipe cannot stall the child.
        let errData = Locked(Data()), errDone = DispatchSemaphore(value: 0)
        Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()); errDone.signal() }.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        errDone.wait()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                   stderr: String(decoding: errData.value, as: UTF8.self))
    }
}

/// A value another thread sets.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ v: T) { stored = v }
    func set(_ v: T) { lock.lock(); stored = v; lock.unlock() }
    var value: T { lock.lock(); defer { lock.unlock() }; return stored }
}

extension Programs {
    /// Runs a program that leaves a daemon behind (tmux's server), with its output discarded,
    /// and waits for the program itself. Foundation's Process cannot: it learns of the exit
    /// through a descriptor the daemon inherits and keeps open.
    static func spawnDetached(_ executable: String, _ arguments: [String]) throws -> Int32 {
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard rc == 0 else { throw POSIXError(.init(rawValue: rc) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status >> 8) & 0xFF
    }
}
