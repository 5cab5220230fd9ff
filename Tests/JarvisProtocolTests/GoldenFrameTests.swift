import Foundation
import XCTest
@testable import JarvisProtocol

/// Every golden frame in Protocol/golden, whole, split at every offset, and byte by byte.
final class GoldenFrameTests: XCTestCase {
    struct Manifest: Decodable {
        struct Frame: Decodable { let file: String; let kind: String; let op: String?; let error: String?; let id: RequestID? }
        let frames: [Frame]
    }

    static let golden = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/golden")

    func load() throws -> [(Manifest.Frame, [UInt8])] {
        let m = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: Self.golden.appendingPathComponent("manifest.json")))
        XCTAssertGreaterThanOrEqual(m.frames.count, 30)
        return try m.frames.map { ($0, [UInt8](try Data(contentsOf: Self.golden.appendingPathComponent($0.file)))) }
    }

    /// The payload of a golden file, through the decoder fed in pieces of `split`.
    func payload(_ bytes: [UInt8], splitAt cut: Int? = nil, byteByByte: Bool = false) throws -> [UInt8] {
        var d = FrameDecoder()
        var frames: [[UInt8]] = []
        if byteByByte {
            for b in bytes { frames += try d.append([b]) }
        } else if let cut {
            frames += try d.append(bytes[0..<cut])
            frames += try d.append(bytes[cut...])
        } else {
            frames += try d.append(bytes)
        }
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(d.pendingByteCount, 0)
        return frames.first ?? []
    }

    func testEveryGoldenFrameRoundTrips() throws {
        for (info, bytes) in try load() {
            let p = try payload(bytes)
            for cut in 0...bytes.count { XCTAssertEqual(try payload(bytes, splitAt: cut), p, "\(info.file) split at \(cut)") }
            XCTAssertEqual(try payload(bytes, byteByByte: true), p, info.file)
            switch info.kind {
            case "request":
                switch ProtocolCodec.decodeRequest(p) {
                case .success(let r):
                    XCTAssertEqual(r.body.op.rawValue, info.op, info.file)
                    XCTAssertEqual(try Framing.frame(ProtocolCodec.encode(r)), bytes, "\(info.file): re-encoding must give the same bytes")
                case .failure(let f): XCTFail("\(info.file): \(f.error)")
                }
            case "reply":
                let r = try ProtocolCodec.decodeReply(p)
                if case .done(let result) = r.event {
                    XCTAssertEqual(result.kind, try XCTUnwrap(Op(rawValue: try XCTUnwrap(info.op))).resultKind, info.file)
                }
                XCTAssertEqual(try Framing.frame(ProtocolCodec.encode(r)), bytes, "\(info.file): re-encoding must give the same bytes")
            case "invalid":
                switch ProtocolCodec.decodeRequest(p) {
                case .success: XCTFail("\(info.file) must be refused")
                case .failure(let f):
                    XCTAssertEqual(f.error.code.rawValue, info.error, "\(info.file): \(f.error)")
                    XCTAssertEqual(f.id, info.id, info.file)
                    XCTAssertFalse(f.error.message.isEmpty)
                }
            default: XCTFail("unknown kind \(info.kind)")
            }
        }
    }

    func testSeveralFramesInOneReadAndAPartialTail() throws {
        let frames = try load().filter { $0.0.kind == "request" }.map(\.1)
        let all = frames.flatMap { $0 }
        var d = FrameDecoder()
        let got = try d.append(all + all.prefix(3))
        XCTAssertEqual(got.count, frames.count)
        XCTAssertEqual(d.pendingByteCount, 3)
        XCTAssertEqual(try d.append(all.dropFirst(3)).count, frames.count)
    }

    func testOversizedLengthIsRefusedBeforeReadingThePayload() throws {
        var d = FrameDecoder(maxFrame: 1024)
        XCTAssertThrowsError(try d.append([0xFF, 0xFF, 0xFF, 0xFF])) { XCTAssertEqual(($0 as? ProtocolError)?.code, .frameTooLarge) }
        // The stream stays broken: framing is lost.
        XCTAssertThrowsError(try d.append([0, 0, 0, 1, 0x7B])) { XCTAssertEqual(($0 as? ProtocolError)?.code, .frameTooLarge) }
        var ok = FrameDecoder(maxFrame: 4)
        XCTAssertEqual(try ok.append([0, 0, 0, 4] + Array("null".utf8)), [Array("null".utf8)])
        XCTAssertThrowsError(try Framing.frame([UInt8](repeating: 0, count: 10), maxFrame: 8))
    }

    func testRequestsBuiltInSwiftEncodeAsDocumented() throws {
        let r = Request(id: .number(4), .forget(.init(entry: "Biscuit")))
        XCTAssertEqual(String(decoding: ProtocolCodec.encode(r), as: UTF8.self), #"{"entry":"Biscuit","id":4,"op":"forget"}"#)
        let reply = Reply(id: .string("q"), .error(ProtocolError(.cancelled, "cancelled by the client")))
        XCTAssertEqual(String(decoding: ProtocolCodec.encode(reply), as: UTF8.self),
                       #"{"error":{"code":"cancelled","message":"cancelled by the client"},"event":"error","id":"q"}"#)
        XCTAssertTrue(reply.isFinal)
        XCTAssertFalse(Reply(id: .number(1), .token("x")).isFinal)
    }
}
