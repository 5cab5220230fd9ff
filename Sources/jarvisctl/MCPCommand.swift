import ArgumentParser
import JarvisMCP
import JarvisProtocol

struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the Model Context Protocol on standard input and output, for editors and agents.",
        discussion: """
            Tools: remember, ask, search, list, show, forget. Entries are resources \
            (jarvis://entry/ID). Every call is forwarded to jarvisd; start this from an MCP \
            client's configuration, not by hand. Diagnostics go to standard error.
            """)

    @Option(help: ArgumentHelp("jarvisd's socket (env \(SocketLocation.variable)).", valueName: "path"), completion: .file())
    var socket: String?

    @Flag(help: "Also log the MCP SDK's debug messages to standard error.")
    var verbose = false

    func run() async throws {
        try await JarvisMCPServer(socketPath: socket ?? SocketLocation.defaultPath()).run(verbose: verbose)
    }
}
