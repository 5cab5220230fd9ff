import Foundation
import JarvisClient
import JarvisProtocol
import XCTest

/// Malformed and hostile input against the real jarvisd: each case gets its documented error
/// code, and the daemon goes on serving (checked after every case on a second connection).
final class BadInputTests: XCTestCase {
    nonisolated(unsafe) static var daemon: DaemonProcess?  // XCTest runs a class's tests one after another

    override class func tearDown() {
        daemon?.stop()
        daemon = nil
    }

    func running() throws -> DaemonProcess {
        if let d = Self.daemon { return d }
        let d = try DaemonProcess(name: "bad-input")
        try d.start()
        Self.daemon = d
        return d
    }

    /// Sends `bytes` on a fresh connection; returns the first reply, or nil if the connection closed.
    func reply(to bytes: [UInt8], _ d: DaemonProcess) throws -> Reply? {
        let c = try JarvisConnection(socketPath: d.socket)
        try c.write(bytes)
        guard let payload = try c.receiveFrame() else { return nil }
        return try ProtocolCodec.decodeReply(payload)
    }

    func expect(_ code: ProtocolError.Code, for payload: [UInt8], _ d: DaemonProcess, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try reply(to: try Framing.frame(payload), d)
        guard case .error(let e)? = r?.event else { return XCTFail("expected \(code.rawValue), got \(String(describing: r))", file: file, line: line) }
        XCTAssertEqual(e.code, code, e.message, file: file, line: line)
        try stillServing(d, file: file, line: line)
    }

    /// The daemon's resident memory, from /proc.
    func rss(_ d: DaemonProcess) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(d.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Hostile input must not make the daemon hold on to memory: after each group of cases its
    /// resident size has grown by less than 64 MiB (a 4 GiB frame is refused before allocating).
    override func tearDown() {
        if let d = Self.daemon, let before = rssAtStart {
            XCTAssertLessThan(rss(d) - before, 64 << 20, "the daemon grew by \((rss(d) - before) >> 20) MiB")
        }
    }

    var rssAtStart: Int?

    func stillServing(_ d: DaemonProcess, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try JarvisConnection(socketPath: d.socket).hello(client: "check").protocol, ProtocolCodec.version, file: file, line: line)
    }

    func testFramingAbuse() throws {
        let d = try running()
        rssAtStart = rss(d)
        // A 4 GiB length prefix: refused before anything is allocated, then the connection closes.
        let c = try JarvisConnection(socketPath: d.socket)
        try c.write([0xFF, 0xFF, 0xFF, 0xFF, 0x7B])
        guard case .error(let e) = try c.receive().event else { return XCTFail("expected an error") }
        XCTAssertEqual(e.code, .frameTooLarge)
        XCTAssertNil(try c.receiveFrame())
        // A zero-length frame.
        try expect(.badJSON, for: [], d)
        // A truncated frame, then the client leaves: nothing to answer, nothing breaks.
        do {
            let t = try JarvisConnection(socketPath: d.socket)
            try t.write([0, 0, 0, 50] + Array(#"{"id":1,"op""#.utf8))
        }
        try stillServing(d)
    }

    func testMalformedJSON() throws {
        let d = try running()
        rssAtStart = rss(d)
        try expect(.badJSON, for: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], d)              // invalid UTF-8
        try expect(.badJSON, for: Array(String(repeating: "[", count: 100_000).utf8), d)          // nested 100k deep
        try expect(.badJSON, for: Array(#"{"id": 1, "op": "status""#.utf8), d)                    // cut short
        try expect(.badJSON, for: Array("[1, 2, 3]".utf8), d)                                     // not an object
    }

    func testMalformedRequests() throws {
        let d = try running()
        rssAtStart = rss(d)
        try expect(.unknownOp, for: Array(#"{"id": 1, "op": "format_disk"}"#.utf8), d)
        try expect(.badRequest, for: Array(#"{"id": 1, "op": "ask", "question": 42}"#.utf8), d)
        try expect(.badRequest, for: Array(#"{"id": 1, "op": "ask"}"#.utf8), d)
        try expect(.badRequest, for: Array(#"{"id": {"x": 1}, "op": "status"}"#.utf8), d)
        try expect(.badRequest, for: Array(#"{"id": 1, "op": "remember", "text": "a", "path": "/etc/passwd"}"#.utf8), d)
        try expect(.badRequest, for: Array(#"{"id": 1, "op": "ask", "question": "hi", "max_tokens": -5}"#.utf8), d)
        try expect(.badRequest, for: Array(#"{"id": 1, "op": "ask", "question": "   "}"#.utf8), d)
        // A string as large as a frame may be: refused by the limit, not by running out of memory.
        let huge = #"{"id": 1, "op": "remember", "text": ""# + String(repeating: "a", count: 2 << 20) + #""}"#
        let c = try JarvisConnection(socketPath: d.socket)
        // The daemon answers after the length prefix and closes, so the rest of the write may fail.
        try? c.write(try Framing.frame(Array(huge.utf8), maxFrame: 4 << 20))
        guard case .error(let e) = try c.receive().event else { return XCTFail("expected an error") }
        XCTAssertEqual(e.code, .frameTooLarge)
        try stillServing(d)
    }

    func testAPhotoThatIsNotAnImage() throws {
        let d = try running()
        rssAtStart = rss(d)
        let path = d.directory + "/photo.jpg"
        try Data("this is not a JPEG".utf8).write(to: URL(fileURLWithPath: path))
        let c = try JarvisConnection(socketPath: d.socket)
        XCTAssertThrowsError(try c.call(.remember(.init(path: path, kind: .photo)))) { e in
            XCTAssertEqual((e as? ClientError)?.code, .server(.badImage), "\(e)")
        }
        XCTAssertThrowsError(try c.call(.ask(.init(question: "What is in this photo?", image: path)))) { e in
            XCTAssertEqual((e as? ClientError)?.code, .server(.badImage), "\(e)")
        }
        try stillServing(d)
    }

    /// A PNG whose header claims 100,000 × 100,000 pixels (30 GB of RGB) in 74 bytes: refused
    /// from the header, and the daemon's memory does not move (checked in tearDown).
    func testAPNGClaimingTenGigapixels() throws {
        let d = try running()
        rssAtStart = rss(d)
        let bomb = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("JarvisImageTests/Fixtures/images/bomb-100000x100000.png").path
        let c = try JarvisConnection(socketPath: d.socket)
        XCTAssertThrowsError(try c.call(.remember(.init(path: bomb, kind: .photo)))) { e in
            XCTAssertEqual((e as? ClientError)?.code, .server(.badImage), "\(e)")
            XCTAssertTrue("\(e)".contains("100000×100000"), "\(e)")
        }
        try stillServing(d)
    }
}
