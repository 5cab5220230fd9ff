import Foundation
import JarvisClient
import JarvisProtocol
import XCTest

/// `jarvisctl mcp` driven by the official MCP Python SDK as a real client
/// (Integrations/mcp_client.py, with the SDK version pinned in Integrations/mcp-requirements.txt;
/// `scripts/setup --test` installs it in a virtual environment of its own).
final class MCPTests: XCTestCase {
    static let integrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Integrations").path

    /// The test virtual environment's Python: $JARVIS_TEST_VENV, else
    /// ${XDG_CACHE_HOME:-~/.cache}/jarvis/test-venv (where scripts/setup --test makes it).
    static var python: String {
        let env = ProcessInfo.processInfo.environment
        let cache = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache"
        return (env["JARVIS_TEST_VENV"] ?? cache + "/jarvis/test-venv") + "/bin/python3"
    }

    func testMCPServerThroughTheOfficialPythonSDK() throws {
        let python = Self.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return XCTFail("\(python) is missing: run scripts/setup --test, which installs the pinned MCP Python SDK there")
        }
        let pinned = try String(contentsOfFile: Self.integrations + "/mcp-requirements.txt", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("mcp==") }.map { String($0.dropFirst(5)) }
        let d = try DaemonProcess(name: "mcp")
        try d.start()
        let r = try Programs.run(python, [Self.integrations + "/mcp_client.py", try Programs.path("jarvisctl"), d.socket])
        XCTAssertEqual(r.status, 0, "stdout:\n\(r.stdout)\nstderr:\n\(r.stderr)")
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let found = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(found["mcp_sdk"] as? String, pinned, "the SDK the test ran with is the pinned one")
        XCTAssertEqual(found["protocol_version"] as? String, "2025-11-25", "the current MCP revision was negotiated")
        XCTAssertEqual(found["still_serving"] as? Bool, true)

        // What the MCP session did is what jarvisd now holds: the locker kept, Anna forgotten.
        let c = try JarvisConnection(socketPath: d.socket)
        guard case .entries(let entries, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }
        XCTAssertEqual(entries.map(\.name), ["locker"])
        XCTAssertEqual(d.stop(), 0, d.logText())
    }
}
