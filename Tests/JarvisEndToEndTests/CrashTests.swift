import Foundation
import JarvisClient
import JarvisProtocol
import JarvisStore
import XCTest

/// jarvisd killed with SIGKILL in the middle of remembering: after a restart, every entry the
/// daemon acknowledged is there, whole (every page reads back with a valid checksum), and
/// nothing else is half there.
final class CrashTests: XCTestCase {
    func testKillDashNineDuringRememberLosesNothingAcknowledged() throws {
        let d = try DaemonProcess(name: "kill9")
        try d.start()
        let c = try JarvisConnection(socketPath: d.socket)
        var acknowledged: [UInt64: String] = [:]
        var sentAfterKill = 0
        for i in 0..<40 {
            let text = "Note \(i): the blue box on shelf \(i % 7) holds \(i * 3) screws."
            if i == 12 {
                // Pipeline a few more and kill the daemon while it works on them.
                for j in 12..<16 { _ = try c.send(.remember(.init(text: "Note \(j): pipelined and possibly lost."))) }
                sentAfterKill = 4
                kill(d.process.processIdentifier, SIGKILL)
                break
            }
            guard case .entries(let e) = try c.call(.remember(.init(text: text))) else { return XCTFail("remember") }
            for entry in e { acknowledged[entry.id] = text }
        }
        d.process.waitUntilExit()
        XCTAssertEqual(d.process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(acknowledged.count, 12)

        // Restart on the same store.
        let again = try DaemonProcess(name: "kill9-restart", reusing: d)
        try again.start()
        let c2 = try JarvisConnection(socketPath: again.socket)
        guard case .entries(let listed) = try c2.call(.list) else { return XCTFail("list") }
        for (id, text) in acknowledged {
            XCTAssertEqual(listed.first { $0.id == id }.map { $0.text.contains(text) }, true, "entry \(id) lost or changed")
        }
        XCTAssertLessThanOrEqual(listed.count, acknowledged.count + sentAfterKill)
        // Every page of every entry reads back with a valid checksum.
        XCTAssertEqual(again.stop(), 0)
        let store = try PersonalStore(directory: d.store)
        try store.read { reader in
            for r in try store.list() {
                for layer in 0..<r.layers {
                    for block in 0..<r.blockCount { _ = try reader.page(entry: r.id, layer: layer, block: block) }
                }
            }
        }
    }
}
