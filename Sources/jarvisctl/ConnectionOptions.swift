import ArgumentParser
import Foundation
import JarvisClient
import JarvisProtocol

/// The options every subcommand that talks to jarvisd takes.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("jarvisd's socket (env \(SocketLocation.variable)).", valueName: "path"), completion: .file())
    var socket: String?

    @Flag(help: "Print the result as JSON, for scripts.")
    var json = false

    var socketPath: String { socket ?? SocketLocation.defaultPath() }

    /// Connects and says hello; exits with the documented status if that fails.
    func connect() throws -> JarvisConnection {
        try Failure.exitOnError {
            let c = try JarvisConnection(socketPath: socketPath)
            _ = try c.hello(client: "jarvisctl \(JarvisVersion.current)")
            return c
        }
    }
}
