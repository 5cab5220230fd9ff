import Foundation
import JarvisClient
import JarvisProtocol
import Logging
import MCP

/// `jarvisctl mcp`: a Model Context Protocol server on standard input and output (JSON-RPC
/// 2.0, one message a line; the official Swift SDK speaks the protocol). Its tools
/// (`JarvisTools`) and resources (`EntryResource`) are requests to jarvisd over its socket;
/// nothing is answered here. A malformed message gets a JSON-RPC error and the server reads on;
/// it ends when its input does, once every request read has been answered (`DrainingTransport`).
public struct JarvisMCPServer: Sendable {
    public let link: DaemonLink

    public init(socketPath: String) {
        link = DaemonLink(socketPath: socketPath)
    }

    /// Serves until standard input closes. Diagnostics go to standard error (standard output
    /// carries only protocol messages): warnings and errors, and the SDK's debug log when `verbose`.
    /// - Throws: if standard input and output cannot be set up for the transport.
    public func run(verbose: Bool = false) async throws {
        var logger = Logger(label: "jarvis.mcp") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .debug : .warning
        let server = Server(
            name: "jarvis", version: JarvisVersion.current, title: "Jarvis",
            instructions: "The user's personal memory. Use search to find what the user has told Jarvis, ask to have Jarvis answer from it, remember to store something new, show to read an entry in full, and forget only when the user asks to delete something.",
            capabilities: .init(resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        await register(on: server)
        try await server.start(transport: DrainingTransport(StdioTransport(logger: logger), logger: logger))
        await server.waitUntilCompleted()
        await server.stop()
    }

    /// The handlers: tools, entries as resources, and the entry template.
    func register(on server: Server) async {
        let link = self.link
        await server.withMethodHandler(ListTools.self) { _ in .init(tools: JarvisTools.all) }
        await server.withMethodHandler(CallTool.self) { params in
            try await JarvisTools.call(params.name, params.arguments ?? [:], link: link)
        }
        await server.withMethodHandler(ListResources.self) { _ in
            guard case .entries(let entries, _, _) = try await Self.resourceCall(.list(.all), link) else { return .init(resources: []) }
            return .init(resources: entries.map(EntryResource.resource))
        }
        await server.withMethodHandler(ListResourceTemplates.self) { _ in .init(templates: [EntryResource.template]) }
        await server.withMethodHandler(ReadResource.self) { params in
            guard let id = EntryResource.id(params.uri) else {
                throw MCPError.invalidParams("not a Jarvis entry: \(params.uri) (entries are \(EntryResource.prefix)ID)")
            }
            guard case .entry(let e) = try await Self.resourceCall(.show(.init(entry: String(id))), link) else {
                throw MCPError.internalError("jarvisd answered show with a result of another kind")
            }
            return .init(contents: [.text(e.text, uri: params.uri, mimeType: "text/plain")])
        }
    }

    /// The MCP "resource not found" code (the specification's -32002).
    static let resourceNotFound = -32002

    /// A request for a resource handler: jarvisd's errors become JSON-RPC errors.
    static func resourceCall(_ body: JarvisProtocol.Request.Body, _ link: DaemonLink) async throws -> Reply.Result {
        do {
            return try await link.call(body)
        } catch let e as ClientError {
            if e.code == .server(.notFound) { throw MCPError.serverError(code: resourceNotFound, message: e.message) }
            throw MCPError.internalError(e.message)
        }
    }
}
