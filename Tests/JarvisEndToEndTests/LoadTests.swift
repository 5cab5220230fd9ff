import Foundation
import JarvisClient
import JarvisProtocol
import XCTest

/// 64 clients at once against the real daemon, with a mix of status, list, remember and ask:
/// every request gets exactly its own reply, of the right kind, and nothing is lost. (The
/// figures — p50/p99 per op, RSS — are `jarvis-bench daemon`'s; a test asserts no timing.)
final class LoadTests: XCTestCase {
    func testSixtyFourClientsLoseAndMixUpNothing() throws {
        let d = try DaemonProcess(name: "load")
        try d.start()
        XCTAssertEqual(try d.ctl("remember", "My dog Rex is a black labrador with a red collar.").status, 0)
        let load = MixedLoad(status: 45, list: 41, remember: 7, ask: 7, clients: 64, requestsPerClient: 20)
        let r = load.run(socket: d.socket)
        XCTAssertEqual(r.lost, 0, r.problems.joined(separator: "\n"))
        XCTAssertEqual(r.mismatched, 0, r.problems.joined(separator: "\n"))
        XCTAssertEqual(r.total, 64 * 20)
        // Every acknowledged remember is in the store.
        let c = try JarvisConnection(socketPath: d.socket)
        guard case .entries(let all, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }
        XCTAssertEqual(all.count, 1 + (r.latencies["remember"]?.count ?? 0))
        XCTAssertEqual(d.stop(), 0)
    }

    /// A log reader that never reads (a full pipe) must not stall the daemon: logging happens
    /// on a thread of its own and drops lines rather than block the tasks that serve clients.
    func testAStuckLogReaderDoesNotStallTheDaemon() throws {
        let d = try DaemonProcess(name: "stuck-log", logToUnreadPipe: true)
        try d.start()
        // Each request logs a debug line; 3,000 of them are far more than a pipe holds.
        let r = MixedLoad(status: 1, list: 0, remember: 0, ask: 0, clients: 4, requestsPerClient: 750).run(socket: d.socket)
        XCTAssertEqual(r.total, 3000)
        XCTAssertEqual(r.lost + r.mismatched, 0, r.problems.joined(separator: "\n"))
        XCTAssertEqual(d.stop(), 0)
    }
}
