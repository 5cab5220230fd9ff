import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

/// How a failed call ends the process: the message on standard error, and the exit status
/// the root command's help documents.
enum Failure {
    static func exitStatus(for error: ClientError) -> Int32 {
        switch error.code {
        case .server(.notFound), .server(.unknownSession): 2
        case .notRunning, .permissionDenied, .server(.permissionDenied): 3
        case .disconnected, .server(.cancelled), .server(.shuttingDown): 4
        case .server, .io: 1
        }
    }

    static func message(for error: ClientError) -> String {
        if case .server(let code) = error.code { return "jarvisctl: \(error.message) [\(code.rawValue)]" }
        return "jarvisctl: \(error.message)"
    }

    /// Runs `body`; a `ClientError` is printed and becomes the process's exit status, and so
    /// does a `ProtocolError` about a request built here (status 1, as if jarvisd had refused it).
    static func exitOnError<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ClientError {
            printError(message(for: e))
            throw ExitCode(exitStatus(for: e))
        } catch let e as ProtocolError {
            printError("jarvisctl: \(e.message) [\(e.code.rawValue)]")
            throw ExitCode(1)
        }
    }

    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
