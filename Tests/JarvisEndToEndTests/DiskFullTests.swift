import Foundation
import JarvisClient
import JarvisProtocol
import JarvisStore
import XCTest

/// The store on a small file system that fills up: remember fails with a clear `store_error`,
/// and the store stays intact and usable (reads, asks, forgetting, and remembering again once
/// there is room).
final class DiskFullTests: XCTestCase {
    func testRememberOnAFullDiskFailsCleanly() throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-full-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        let mount = try Programs.run("/bin/mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", mountPoint])
        guard mount.status == 0 else { throw XCTSkip("cannot mount a small tmpfs here (needs root): \(mount.stderr)") }
        defer { _ = try? Programs.run("/bin/umount", [mountPoint]) }

        let d = try DaemonProcess(name: "diskfull", extraArguments: [])
        // The store goes on the small file system; the rest stays in the daemon's directory.
        d.process.arguments = d.process.arguments!.map { $0 == d.store ? mountPoint + "/store" : $0 }
        try d.start()
        let c = try JarvisConnection(socketPath: d.socket)
        var stored: [UInt64] = []
        var failure: ClientError?
        for i in 0..<200 {
            do {
                guard case .entries(let e, _, _) = try c.call(.remember(.init(text: "Note \(i): the parcel for flat \(i) is at the front desk, shelf \(i % 9).")))
                else { return XCTFail("remember") }
                stored += e.map(\.id)
            } catch let e as ClientError {
                failure = e
                break
            }
        }
        let f = try XCTUnwrap(failure, "the 6 MiB file system never filled up")
        XCTAssertEqual(f.code, .server(.storeError), f.message)
        XCTAssertTrue(f.message.contains("disk") && f.message.contains("full"), f.message)
        XCTAssertGreaterThan(stored.count, 0)

        // Still serving, and everything acknowledged is there and readable.
        guard case .entries(let listed, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }
        XCTAssertEqual(listed.map(\.id), stored)
        guard case .ask(let a) = try c.call(.ask(.init(question: "Where is the parcel for flat 0?", maxTokens: 16))) else { return XCTFail("ask") }
        XCTAssertFalse(a.entries.isEmpty)
        // Forgetting frees pages inside the store for the next entry to reuse.
        for id in stored.prefix(3) { _ = try c.call(.forget(.init(entry: String(id)))) }
        guard case .entries(let again, _, _) = try c.call(.remember(.init(text: "Room made: a short note."))) else { return XCTFail("remember after forgetting") }
        XCTAssertEqual(again.count, 1)
        XCTAssertEqual(d.stop(), 0)

        let store = try PersonalStore(directory: mountPoint + "/store")
        try store.read { reader in
            for r in try store.list() {
                for layer in 0..<r.layers { for block in 0..<r.blockCount { _ = try reader.page(entry: r.id, layer: layer, block: block) } }
            }
        }
    }
}
