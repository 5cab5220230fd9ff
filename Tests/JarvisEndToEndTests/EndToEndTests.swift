import Foundation
import JarvisClient
import JarvisImage
import JarvisProtocol
import JarvisStore
import XCTest

/// The real jarvisd with the shipped model, driven by the real jarvisctl.
final class EndToEndTests: XCTestCase {
    /// A file comes back exactly: its entries, in order, are the file byte for byte (CRLF,
    /// a table, a URL, a password), and `show` prints an entry's text unchanged.
    func testAFileComesBackVerbatim() throws {
        let d = try DaemonProcess(name: "verbatim")
        try d.start()
        let rows = (1...24).map { "| host-\($0) | 192.168.1.\($0) | Tr0ub4dor.\($0)!x?yes |" }.joined(separator: "\r\n")
        let contents = "# Network\r\n\r\nThe router is at 192.168.1.1; docs at https://travis-ci.org/x.\r\n\r\n| host | address | password |\r\n|---|---|---|\r\n" + rows + "\r\n"
        let file = d.directory + "/network.md"
        try contents.write(toFile: file, atomically: true, encoding: .utf8)
        var r = try d.ctl("remember", "--json", file)
        XCTAssertEqual(r.status, 0, r.stderr)
        let entries = try JSONDecoder().decode([EntryInfo].self, from: Data(r.stdout.utf8))
        XCTAssertGreaterThan(entries.count, 1)
        XCTAssertEqual(Array(entries.map(\.text).joined().utf8), Array(contents.utf8))
        r = try d.ctl("show", String(entries[1].id))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("\ntext:\n" + entries[1].text), r.stdout)
        XCTAssertEqual(d.stop(), 0, d.logText())
    }

    /// A file sent by path keeps the name, aliases and metadata given with it (they were once
    /// dropped on that path, which jarvisctl takes for large files).
    func testAFileSentByPathKeepsItsOptions() throws {
        let d = try DaemonProcess(name: "bypath")
        try d.start()
        let notes = d.directory + "/trip.md"
        try "The ferry to the island leaves at 7:40 from pier 3.".write(toFile: notes, atomically: true, encoding: .utf8)
        let c = try JarvisConnection(socketPath: d.socket)
        let result = try c.call(.remember(Request.Remember(path: notes, name: "ferry", aliases: ["the boat"], kind: .file,
                                                           metadata: ["category": "travel", "note": "summer"])))
        guard case .entries(let entries, _, _) = result, let e = entries.first else { return XCTFail("\(result)") }
        XCTAssertEqual(e.name, "ferry")
        XCTAssertEqual(e.aliases, ["the boat"])
        XCTAssertEqual(e.kind, "file")
        XCTAssertEqual(e.metadata["category"], "travel")
        XCTAssertEqual(e.metadata["note"], "summer")
        XCTAssertEqual(e.metadata["file"], "trip.md")
        let r = try d.ctl("show", "the boat")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("pier 3"), r.stdout)
        XCTAssertEqual(d.stop(), 0, d.logText())
    }

    func testRememberAskListShowForget() throws {
        let d = try DaemonProcess(name: "basic")
        try d.start()
        XCTAssertTrue(d.startMessages.contains { $0.contains("STATUS=loading") }, "\(d.startMessages)")

        var r = try d.ctl("remember", "--name", "Rex", "--alias", "the dog", "My dog Rex is a black labrador with a red collar.")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("remembered 1 \"Rex\""), r.stdout)
        r = try d.ctl("remember", "My sister Anna lives in Lisbon and works as a pediatric nurse.")
        XCTAssertEqual(r.status, 0, r.stderr)
        // A note from standard input, and a file with two short paragraphs (one entry: small parts join).
        r = try d.ctl("remember", "-", input: "The wifi password at the cabin is pine-cone-42.")
        XCTAssertEqual(r.status, 0, r.stderr)
        let notes = d.directory + "/notes.md"
        try "My bike lock code is 4071.\n\nMy dentist is Dr. Okafor on Elm Street.\n".write(toFile: notes, atomically: true, encoding: .utf8)
        r = try d.ctl("remember", "--category", "errands", notes)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.components(separatedBy: "remembered").count - 1, 1, r.stdout)

        r = try d.ctl("list")
        XCTAssertEqual(r.status, 0, r.stderr)
        for word in ["Rex", "Lisbon", "pine-cone-42", "4071", "Okafor"] { XCTAssertTrue(r.stdout.contains(word), r.stdout) }

        r = try d.ctl("ask", "What colour is Rex's collar?")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.lowercased().contains("red"), r.stdout)

        // The 135M model's answer to this note turns on the question's words at any page format:
        // "Where does my sister Anna live?" gets "São João, Portugal" even from fp16 pages, and
        // "Where does my sister live?" gets it from q4 pages. This phrasing gets Lisbon from
        // all three (README, "Page formats and what they cost").
        r = try d.ctl("ask", "--json", "Which city does my sister live in?")
        XCTAssertEqual(r.status, 0, r.stderr)
        let answer = try JSONDecoder().decode(AskResult.self, from: Data(r.stdout.utf8))
        XCTAssertTrue(answer.answer.contains("Lisbon"), answer.answer)
        XCTAssertEqual(answer.entries, [2])
        XCTAssertGreaterThan(answer.tokens, 0)
        XCTAssertFalse(answer.nothingRemembered)

        // Nothing remembered is about this: the documented reply, flagged, and nothing generated.
        r = try d.ctl("ask", "--json", "What is the boiling point of mercury?")
        XCTAssertEqual(r.status, 0, r.stderr)
        let none = try JSONDecoder().decode(AskResult.self, from: Data(r.stdout.utf8))
        XCTAssertTrue(none.nothingRemembered, r.stdout)
        XCTAssertEqual(none.entries, [])
        XCTAssertEqual(none.tokens, 0)
        r = try d.ctl("ask", "What is the boiling point of mercury?")
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "I have nothing remembered about that.")

        r = try d.ctl("show", "the dog")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("labrador"), r.stdout)
        r = try d.ctl("show", "--json", "4")
        XCTAssertEqual(r.status, 0, r.stderr)
        let file = try JSONDecoder().decode(EntryInfo.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(file.kind, "file")
        XCTAssertEqual(file.metadata["file"], "notes.md")
        XCTAssertEqual(file.metadata["category"], "errands")

        r = try d.ctl("forget", "Rex")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try d.ctl("show", "Rex")
        XCTAssertEqual(r.status, 2, "a missing entry exits 2: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("not_found"), r.stderr)
        r = try d.ctl("ask", "--mode", "psychic", "Where is Rex?")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("bad_request"), r.stderr)
        r = try d.ctl("status", "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        let status = try JSONDecoder().decode(StatusResult.self, from: Data(r.stdout.utf8))
        XCTAssertEqual(status.entries, 3)
        XCTAssertEqual(status.config["store"], d.store)
        XCTAssertEqual(status.config["store.from"], "flag --store")

        XCTAssertEqual(d.stop(), 0, d.logText())
        XCTAssertNotNil(d.notify.wait(for: "STOPPING=1", timeout: 5))

        // What the store holds after the daemon is gone.
        let store = try PersonalStore(directory: d.store)
        let entries = try store.list()
        XCTAssertEqual(entries.map(\.id), [2, 3, 4])
        XCTAssertNil(try store.entry(named: "Rex"))
        XCTAssertTrue(entries[0].text.contains("Lisbon"))
        XCTAssertEqual(entries.filter { $0.kind == "file" }.map(\.text), ["My bike lock code is 4071.\n\nMy dentist is Dr. Okafor on Elm Street.\n"])
    }

    /// `jarvisctl remember photo.jpg`: the photo's note, regions and descriptors are stored; a
    /// question with a photo finds it; `show --image` draws the mined regions on the upright
    /// photo (this JPEG is stored sideways with EXIF orientation 6).
    func testPhotosRememberedAskedAboutAndShown() throws {
        let d = try DaemonProcess(name: "photos")
        try d.start()
        let photos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("JarvisEngineTests/Fixtures/photos")
        let bell = photos.appendingPathComponent("bike_bell_exif6.jpg").path
        var r = try d.ctl("remember", "--note", "the bell I bought in Utrecht", bell)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("remembered 1"), r.stdout)
        r = try d.ctl("remember", "--name", "mug", "--note", "a gift from Ana", photos.appendingPathComponent("mug_badge.png").path)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try d.ctl("remember", "Rex is my dog.")
        XCTAssertEqual(r.status, 0, r.stderr)

        r = try d.ctl("ask", "--json", "--max-tokens", "8", "--image", bell, "Where did I buy this?")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try JSONDecoder().decode(AskResult.self, from: Data(r.stdout.utf8)).entries.first, 1)

        let out = d.directory + "/bell-regions.png"
        r = try d.ctl("show", "1", "--image", out)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("visual_kv"), "the entry says visual KV needs a VLM: \(r.stdout)")
        let drawn = try ImageDecoder.load(path: out), original = try ImageDecoder.load(path: bell)
        XCTAssertEqual([drawn.width, drawn.height], [640, 480], "upright, at full resolution")
        let changed = zip(drawn.pixels, original.pixels).filter { $0 != $1 }.count
        XCTAssertGreaterThan(changed, 1000, "regions are drawn")
        XCTAssertLessThan(changed, drawn.pixels.count / 4, "only outlines and labels are drawn")

        r = try d.ctl("show", "3", "--image", out)
        XCTAssertEqual(r.status, 64, "a note has no regions to draw")
        XCTAssertTrue(r.stderr.contains("not a photo"), r.stderr)
    }

    /// jarvisd with a vision-language model (the tiny random SmolVLM: its decoder as --model,
    /// its projector as --mmproj): a remembered photo keeps its visual tokens' KV, and a
    /// question with a photo is answered with it (the tiny model's words mean nothing).
    func testAVisionLanguageModelKeepsVisualTokens() throws {
        try checkVisualTokens(name: "vlm", model: "vlm/tiny-idefics3-F32.gguf", mmproj: "vlm/mmproj-tiny-idefics3-F32.gguf")
    }

    /// The same with the tiny random LLaVA-OneVision: its Qwen2 decoder as --model, its
    /// Hugging Face checkpoint directory as --mmproj.
    func testLlavaOneVisionKeepsVisualTokens() throws {
        try checkVisualTokens(name: "llava-ov", model: "llava-ov/tiny-llava-ov-qwen2-F32.gguf", mmproj: "llava-ov/hf")
    }

    func checkVisualTokens(name: String, model: String, mmproj: String) throws {
        let engine = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("JarvisEngineTests/Fixtures")
        let d = try DaemonProcess(name: name, extraArguments: [
            "--model", engine.appendingPathComponent(model).path, "--mmproj", engine.appendingPathComponent(mmproj).path])
        try d.start()
        let photo = engine.appendingPathComponent("photos/dog_collar.png").path
        var r = try d.ctl("remember", "--json", "--note", "Rex and his tag", photo)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("stored: the whole photo and 4 regions"), r.stdout)
        r = try d.ctl("ask", "--json", "--max-tokens", "4", "--image", photo, "What is this?")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try JSONDecoder().decode(AskResult.self, from: Data(r.stdout.utf8)).entries, [1])
        r = try d.ctl("status")
        XCTAssertTrue(r.stdout.contains(engine.appendingPathComponent(mmproj).path), r.stdout)
    }

    func testPathsThatAreNotRegularFilesAreRefused() throws {
        let d = try DaemonProcess(name: "paths")
        try d.start()
        let c = try JarvisConnection(socketPath: d.socket)
        for (path, fragment) in [(d.directory, "directory"), ("/dev/null", "not a regular file"), (d.directory + "/missing.txt", "No such file"),
                                 ("relative.txt", "absolute")] {
            XCTAssertThrowsError(try c.call(.remember(.init(path: path)))) { e in
                XCTAssertEqual((e as? ClientError)?.code, .server(.badPath), "\(path)")
                XCTAssertTrue((e as? ClientError)?.message.contains(fragment) == true, "\(e)")
            }
        }
        guard case .entries(let all, _, _) = try c.call(.list(.all)) else { return XCTFail("list") }
        XCTAssertEqual(all, [])
        XCTAssertEqual(d.stop(), 0)
    }

    func testSigtermDuringAnAnswerCancelsItAndExitsCleanly() throws {
        let d = try DaemonProcess(name: "sigterm")
        try d.start()
        let c = try JarvisConnection(socketPath: d.socket)
        _ = try c.call(.remember(.init(text: "My favourite number is 7.")))
        // Mode none: nothing remembered is about this question, and a kv ask would reply so at once.
        let id = try c.send(.ask(.init(question: "Write the numbers from 1 to 2000, separated by commas.", mode: AskMode.none, maxTokens: 4000)))
        guard case .token = try c.receive().event else { return XCTFail("expected a token") }
        kill(d.process.processIdentifier, SIGTERM)
        var final: Reply?
        while final == nil {
            let reply = try c.receive()
            if reply.id == id, reply.isFinal { final = reply }
        }
        guard case .error(let e) = final!.event else { return XCTFail("the answer should have been cancelled: \(final!)") }
        XCTAssertEqual(e.code, .cancelled)
        d.process.waitUntilExit()
        XCTAssertEqual(d.process.terminationStatus, 0, d.logText())
        XCTAssertEqual(try PersonalStore(directory: d.store).list().count, 1)
    }

    func testAClientWithoutADaemonSaysHowToStartIt() throws {
        let r = try Programs.run(try Programs.path("jarvisctl"), ["status", "--socket", "/nonexistent/jarvisd.sock"])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.stderr.contains("systemctl --user start jarvisd.socket"), r.stderr)
    }

    func testABrokenModelFileStopsStartUpWithAClearError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-badmodel-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("GGUF\u{3}\0\0\0truncated".utf8).write(to: URL(fileURLWithPath: dir + "/broken.gguf"))
        let r = try Programs.run(try Programs.path("jarvisd"), ["--socket", dir + "/s.sock", "--store", dir + "/store", "--model", dir + "/broken.gguf"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("broken.gguf"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/s.sock"))
    }
}
