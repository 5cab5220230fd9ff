import Foundation
import XCTest
@testable import JarvisDaemon

/// The settings' declarations against what people read about them.
final class DaemonSettingTests: XCTestCase {
    func testTheReadmeShowsTheSettingsTableAsDeclared() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        XCTAssertTrue(text.contains(DaemonSetting.markdownTable + "\n"), "README.md should hold the settings table:\n\(DaemonSetting.markdownTable)")
    }

    func testEveryFileSettingResolvesAndShowsWhereItCameFrom() throws {
        var flags: [String: String] = [:]
        for s in DaemonSetting.fileSettings {
            flags[s.rawValue] = switch s.declaration.value {
            case .integer(let range): String(range.upperBound)
            case .oneOf(let words): words[0]
            case .file, .directory, .modelFile: "/x/\(s.rawValue)"
            }
        }
        let c = try DaemonConfig.resolve(flags: flags, environment: ["XDG_CONFIG_HOME": "/nonexistent"])
        for s in DaemonSetting.fileSettings {
            XCTAssertEqual(c.values[s], flags[s.rawValue])
            XCTAssertNotNil(c.effective[s.rawValue], s.rawValue)
            XCTAssertEqual(c.effective[s.rawValue + ".from"], "flag --\(s.rawValue)")
        }
        XCTAssertEqual(c.threads, 256)
        XCTAssertEqual(c.mmprojPath, "/x/mmproj")
    }
}
