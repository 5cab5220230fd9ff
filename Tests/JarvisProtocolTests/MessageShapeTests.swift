import XCTest
import JarvisProtocol

/// Closed argument values, result kinds and the frame-size check.
final class MessageShapeTests: XCTestCase {
    func failure(_ json: String) -> ProtocolCodec.RequestFailure? {
        if case .failure(let f) = ProtocolCodec.decodeRequest(Array(json.utf8)) { return f }
        return nil
    }

    func testUnknownModeAndKindNameTheAllowedValues() throws {
        let mode = try XCTUnwrap(failure(#"{"id":1,"op":"ask","question":"hi","mode":"psychic"}"#))
        XCTAssertEqual(mode.id, .number(1))
        XCTAssertEqual(mode.error, ProtocolError(.badRequest, #"mode must be one of kv, text-rag, full, none, not "psychic""#))
        XCTAssertThrowsError(try AskMode(parsing: "psychic")) { XCTAssertEqual($0 as? ProtocolError, mode.error) }
        let kind = try XCTUnwrap(failure(#"{"id":"r","op":"remember","text":"x","kind":"poem"}"#))
        XCTAssertEqual(kind.error.message, #"kind must be one of note, fact, file, photo, not "poem""#)
        let unknown = try XCTUnwrap(failure(#"{"id":1,"op":"dance"}"#))
        XCTAssertEqual(unknown.error.message, #"unknown op "dance" (known: hello, ask, remember, forget, list, show, status, cancel, search, update, sessions, forget_session, propose, backup)"#)
    }

    func testEveryResultKindRoundTripsWithoutKnowingTheOp() throws {
        let entry = EntryInfo(id: 1, name: nil, aliases: [], kind: "note", createdMs: 0, tokens: 1, text: "x", metadata: [:])
        let results: [Reply.Result] = [
            .hello(HelloResult(protocol: 1, server: "s", model: "m", fingerprint: "f")),
            .ask(AskResult(answer: "a", entries: [1], ttftMs: 1, tokens: 2)),
            .entries([entry], next: nil), .entries([entry], next: 7), .entry(entry),
            .status(StatusResult(model: "m", entries: 1, storeBytes: 2, queueDepth: 0, uptimeS: 1, tokensPerS: 0, config: ["a": "b"])),
            .cancel(cancelled: true),
            .hits([SearchHit(id: 1, name: nil, kind: "note", score: 0.5, cosine: 0.25, nameMatch: false, snippet: "x")]),
            .sessions([SessionInfo(name: "s", turns: 2, createdMs: 1, updatedMs: 2, live: true)]),
            .session(SessionInfo(name: "s", turns: 0, createdMs: 1, updatedMs: 1, live: false)),
            .ask(AskResult(answer: "a", entries: [], ttftMs: 1, tokens: 2, session: "s", historyTokens: 40)),
            .proposal(Proposal(action: .update, text: "my locker is 40", entry: entry)),
            .proposal(nil),
            .backup(BackupResult(directory: "/backups/jarvis-2026-12-01", bytes: 4096)),
        ]
        XCTAssertEqual(Set(results.map(\.kind)), Set(Reply.Result.Kind.allCases))
        for result in results {
            let reply = Reply(id: .number(3), .done(result))
            let payload = ProtocolCodec.encode(reply)
            XCTAssertTrue(String(decoding: payload, as: UTF8.self).contains(#""result_kind":"\#(result.kind.rawValue)""#))
            XCTAssertEqual(try ProtocolCodec.decodeReply(payload), reply)
            // A server from before `result_kind`: the shape follows from the result's fields.
            var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
            object["result_kind"] = nil
            XCTAssertEqual(try ProtocolCodec.decodeReply(Array(JSONSerialization.data(withJSONObject: object))), reply)
        }
    }

    func testFitsInFrameIsExact() throws {
        let empty = Request(id: .number(1), .remember(.init(text: "")))
        let overhead = ProtocolCodec.encode(empty).count
        let fits = Request(id: .number(1), .remember(.init(text: String(repeating: "a", count: 100 - overhead))))
        XCTAssertTrue(ProtocolCodec.fitsInFrame(fits, maxFrame: 100))
        XCTAssertFalse(ProtocolCodec.fitsInFrame(fits, maxFrame: 99))
        // Escapes count: a newline takes two bytes in JSON.
        let escaped = Request(id: .number(1), .remember(.init(text: String(repeating: "\n", count: 50))))
        XCTAssertFalse(ProtocolCodec.fitsInFrame(escaped, maxFrame: overhead + 99))
        XCTAssertTrue(ProtocolCodec.fitsInFrame(escaped, maxFrame: overhead + 100))
    }
}
