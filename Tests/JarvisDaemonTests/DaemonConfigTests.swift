import XCTest
@testable import JarvisDaemon

final class DaemonConfigTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("jarvis"), withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func writeConfig(_ text: String) throws -> String {
        let path = dir.appendingPathComponent("jarvis/jarvisd.conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testFlagsBeatEnvironmentBeatFileBeatDefaults() throws {
        let path = try writeConfig("""
            # a comment
            socket = /file/socket
            store = /file/store   # trailing comment
            threads = 3
            """)
        let env = ["XDG_CONFIG_HOME": dir.path, "HOME": "/home/u", "JARVIS_STORE": "/env/store", "JARVIS_SOCKET": "/env/socket"]
        let c = try DaemonConfig.resolve(flags: ["socket": "/flag/socket"], environment: env)
        XCTAssertEqual(c.socket, "/flag/socket")
        XCTAssertEqual(c.store, "/env/store")
        XCTAssertEqual(c.threads, 3)
        XCTAssertEqual(c.models, "/home/u/.local/share/jarvis/models")
        XCTAssertEqual(c.configFile, path)
        XCTAssertEqual(c.sources["socket"], "flag --socket")
        XCTAssertEqual(c.sources["store"], "environment JARVIS_STORE")
        XCTAssertEqual(c.sources["threads"], "file \(path)")
        XCTAssertEqual(c.sources["models"], "default")
        XCTAssertEqual(c.effective["store.from"], "environment JARVIS_STORE")
        XCTAssertNil(c.effective["models.from"])
    }

    func testDefaultsDoNotReadTheJarvisVariablesTwice() throws {
        // The default socket comes from XDG_RUNTIME_DIR, not from JARVIS_SOCKET (which has its own rank).
        let c = try DaemonConfig.resolve(flags: [:], environment: ["XDG_CONFIG_HOME": dir.path, "XDG_RUNTIME_DIR": "/run/user/9", "HOME": "/h"])
        XCTAssertEqual(c.socket, "/run/user/9/jarvis/jarvisd.sock")
        XCTAssertEqual(c.store, "/h/.local/share/jarvis/store")
        XCTAssertNil(c.configFile)
    }

    func testUnknownKeyNamesFileAndLine() throws {
        _ = try writeConfig("socket = /s\nsokcet = /typo\n")
        XCTAssertThrowsError(try DaemonConfig.resolve(flags: [:], environment: ["XDG_CONFIG_HOME": dir.path])) { e in
            let m = String(describing: e)
            XCTAssertTrue(m.contains("jarvisd.conf:2"), m)
            XCTAssertTrue(m.contains("sokcet"), m)
        }
    }

    func testBadValueNamesItsSource() throws {
        XCTAssertThrowsError(try DaemonConfig.resolve(flags: [:], environment: ["XDG_CONFIG_HOME": dir.path, "JARVIS_THREADS": "many"])) { e in
            XCTAssertTrue(String(describing: e).contains("JARVIS_THREADS"), String(describing: e))
        }
        XCTAssertThrowsError(try DaemonConfig.resolve(flags: ["log-level": "loud"], environment: ["XDG_CONFIG_HOME": dir.path]))
        _ = try writeConfig("no equals sign here\n")
        XCTAssertThrowsError(try DaemonConfig.resolve(flags: [:], environment: ["XDG_CONFIG_HOME": dir.path]))
    }

    func testPageDTypeIsReadAndABadOneIsRefusedByName() throws {
        let path = try writeConfig("page-dtype = q8\n")
        let c = try DaemonConfig.resolve(flags: [:], environment: ["XDG_CONFIG_HOME": dir.path])
        XCTAssertEqual(c.pageDType, .q8)
        XCTAssertEqual(c.sources["page-dtype"], "file \(path)")
        XCTAssertEqual(try DaemonConfig.resolve(flags: ["page-dtype": "q4"], environment: ["XDG_CONFIG_HOME": dir.path]).pageDType, .q4)
        XCTAssertThrowsError(try DaemonConfig.resolve(flags: [:], environment: ["XDG_CONFIG_HOME": dir.path, "JARVIS_PAGE_DTYPE": "int4"])) { e in
            let m = String(describing: e)
            XCTAssertTrue(m.contains("page-dtype must be one of fp16, q8, q4"), m)
            XCTAssertTrue(m.contains("JARVIS_PAGE_DTYPE"), m)
        }
    }

    func testAnExplicitConfigFileMustExist() throws {
        XCTAssertThrowsError(try DaemonConfig.resolve(flags: ["config": dir.path + "/missing.conf"], environment: [:]))
        XCTAssertThrowsError(try DaemonConfig.resolve(flags: [:], environment: ["JARVIS_CONFIG": dir.path + "/missing.conf"]))
    }
}
