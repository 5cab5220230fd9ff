import Foundation
import JarvisProtocol
import MCP
import XCTest
@testable import JarvisMCP

/// The MCP server's handlers through the SDK's own client, over an in-memory transport, with no
/// jarvisd behind them: what is decided before a call reaches the daemon, and what a client
/// sees when the daemon is not there. (MCPTests, end to end, covers the rest.)
final class JarvisMCPServerTests: XCTestCase {
    var server: Server!
    var client: Client!

    override func setUp() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-mcp-\(UUID().uuidString)/none.sock").path
        server = Server(name: "jarvis", version: "test", capabilities: .init(resources: .init(), tools: .init()))
        await JarvisMCPServer(socketPath: missing).register(on: server)
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        try await server.start(transport: serverSide)
        client = Client(name: "test", version: "0")
        _ = try await client.connect(transport: clientSide)
    }

    override func tearDown() async throws {
        await client.disconnect()
        await server.stop()
    }

    func text(_ content: [Tool.Content]) -> String {
        content.compactMap { if case .text(let t, _, _) = $0 { t } else { nil } }.joined()
    }

    func testToolsAreListedWithTheirRequiredArguments() async throws {
        let tools = try await client.listTools().tools
        XCTAssertEqual(tools.map(\.name), ["remember", "ask", "search", "list", "show", "forget"])
        let required = Dictionary(uniqueKeysWithValues: tools.map { t in
            (t.name, t.inputSchema.objectValue?["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        })
        XCTAssertEqual(required, ["remember": ["text"], "ask": ["question"], "search": ["query"], "list": [], "show": ["entry"], "forget": ["entry"]])
        XCTAssertEqual(tools.first { $0.name == "forget" }?.annotations.destructiveHint, true)
        XCTAssertEqual(tools.first { $0.name == "search" }?.annotations.readOnlyHint, true)
    }

    func testADaemonThatIsNotRunningIsAToolError() async throws {
        let result = try await client.callTool(name: "list", arguments: [:])
        XCTAssertEqual(result.isError, true)
        XCTAssertTrue(text(result.content).hasPrefix("unavailable: jarvisd is not running"), text(result.content))
    }

    func testBadArgumentsAreToolErrorsBeforeAnyCall() async throws {
        var result = try await client.callTool(name: "show", arguments: [:])
        XCTAssertEqual(result.isError, true)
        XCTAssertEqual(text(result.content), "bad_request: missing argument \"entry\"")
        result = try await client.callTool(name: "search", arguments: ["query": 5])
        XCTAssertEqual(text(result.content), "bad_request: argument \"query\" must be a string")
        result = try await client.callTool(name: "remember", arguments: ["text": "x", "kind": "photo"])
        XCTAssertEqual(text(result.content), "bad_request: kind must be note or fact, not \"photo\"")
        result = try await client.callTool(name: "ask", arguments: ["question": "q", "max_tokens": 2.5])
        XCTAssertEqual(text(result.content), "bad_request: argument \"max_tokens\" must be an integer")
    }

    func testAnUnknownToolOrResourceIsAProtocolError() async throws {
        do {
            _ = try await client.callTool(name: "dance", arguments: [:])
            XCTFail("an unknown tool must be refused")
        } catch let e as MCPError {
            XCTAssertEqual(e.code, MCPError.invalidParams(nil).code)
        }
        do {
            _ = try await client.readResource(uri: "file:///etc/passwd")
            XCTFail("a URI that is not an entry must be refused")
        } catch let e as MCPError {
            XCTAssertEqual(e.code, MCPError.invalidParams(nil).code)
        }
    }

    func testEntryURIs() {
        XCTAssertEqual(EntryResource.uri(12), "jarvis://entry/12")
        XCTAssertEqual(EntryResource.id("jarvis://entry/12"), 12)
        for bad in ["jarvis://entry/", "jarvis://entry/x", "jarvis://entry/-1", "jarvis://entry/1/2", "https://entry/1", "jarvis://other/1"] {
            XCTAssertNil(EntryResource.id(bad), bad)
        }
    }
}
