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
            guard case .entries(let e, _, _) = try c.call(.remember(.init(text: text))) else { return XCTFail("remember") }
            for entry in e { acknowledged[entry.id] = text }
        }
        d.process.waitUntilExit()
        XCTAssertEqual(d.process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(acknowledged.count, 12)

        // Restart on the same store.
        let again = try DaemonProcess(name: "kill9-restart", reusing: d)
        try again.start()
        let c2 = try JarvisConnection(socketPath: again.socket)
        guard case .entries(let listed, _, _) = try c2.call(.list(.all)) else { return XCTFail("list") }
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

/// Damage on disk and interrupted work, through the real daemon.
final class StoreDamageTests: XCTestCase {
    /// Bytes flipped inside a stored KV page (in LMDB's data file, the daemon stopped): the
    /// page's checksum catches it and the answer fails with `store_error` naming the damage;
    /// the daemon goes on serving and other entries still answer.
    func testAFlippedPageIsReportedNotServed() throws {
        let d = try DaemonProcess(name: "corrupt")
        try d.start()
        XCTAssertEqual(try d.ctl("remember", "--name", "Rex", "My dog Rex is a black labrador with a red collar.").status, 0)
        XCTAssertEqual(d.stop(), 0)

        // Flip payload bytes of the first page (after its 32-byte header, past any key bytes).
        let file = d.store + "/data.mdb"
        var data = try Data(contentsOf: URL(fileURLWithPath: file))
        let magic = Data("JKVP".utf8)
        let at = try XCTUnwrap(data.range(of: magic)?.lowerBound, "no page in the data file")
        for i in (at + 64)..<(at + 80) { data[i] ^= 0x5A }
        try data.write(to: URL(fileURLWithPath: file))

        let again = try DaemonProcess(name: "corrupt-restart", reusing: d)
        try again.start()
        let r = try again.ctl("ask", "What colour is Rex's collar?")
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("store_error"), r.stderr)
        XCTAssertTrue(r.stderr.lowercased().contains("checksum"), r.stderr)
        XCTAssertEqual(try again.ctl("remember", "My sister Anna lives in Lisbon.").status, 0)
        let ok = try again.ctl("ask", "--json", "Where does my sister live?")
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(try JSONDecoder().decode(AskResult.self, from: Data(ok.stdout.utf8)).entries, [2])
        XCTAssertEqual(again.stop(), 0)
    }

    /// SIGTERM while a long text is being remembered part by part: the request ends with
    /// `cancelled`, the daemon exits 0, and after a restart none of the text's parts is there.
    func testSigtermDuringRememberKeepsNothingPartial() throws {
        let d = try DaemonProcess(name: "sigterm-remember")
        try d.start()
        let c = try JarvisConnection(socketPath: d.socket)
        _ = try c.call(.remember(.init(text: "A note that stays.")))
        let long = (0..<40).map { "Paragraph \($0): the shed's shelf \($0) holds jars of \($0 * 7) buttons and a red lid." }.joined(separator: "\n\n")
        let id = try c.send(.remember(.init(text: long)))
        var sawProgress = false, final: Reply?
        while final == nil {
            let r = try c.receive()
            guard r.id == id else { continue }
            if case .progress = r.event, !sawProgress {
                sawProgress = true
                kill(d.process.processIdentifier, SIGTERM)
            }
            if r.isFinal { final = r }
        }
        XCTAssertTrue(sawProgress)
        guard case .error(let e) = final!.event else { return XCTFail("the remember should have been cancelled: \(final!)") }
        XCTAssertEqual(e.code, .cancelled)
        d.process.waitUntilExit()
        XCTAssertEqual(d.process.terminationStatus, 0)
        let entries = try PersonalStore(directory: d.store).list()
        XCTAssertEqual(entries.map(\.text), ["A note that stays."], "only the note that was acknowledged, verbatim")
    }
}
