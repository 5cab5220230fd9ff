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
