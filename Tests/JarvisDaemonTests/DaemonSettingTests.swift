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
            case .bytes: "3G"
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
        XCTAssertEqual(c.maxStoreBytes, 3 << 30)
    }

    func testSizesReadAsPowersOf1024AndBadOnesAreRefusedClearly() throws {
        for (text, bytes) in [("0", 0), ("4096", 4096), ("800M", 800 << 20), ("8g", 8 << 30), ("2GiB", 2 << 30), ("512KB", 512 << 10), ("1T", 1 << 40)] {
            XCTAssertEqual(DaemonSetting.byteCount(text), bytes, text)
        }
        for bad in ["", "G", "-1G", "1.5G", "8X", "ten", "9999999999T", "٣G"] {
            XCTAssertNil(DaemonSetting.byteCount(bad), bad)
        }
        XCTAssertNil(try DaemonConfig.resolve(flags: [:], environment: ["XDG_CONFIG_HOME": "/nonexistent"]).maxStoreBytes, "no limit by default")
        XCTAssertThrowsError(try DaemonConfig.resolve(flags: ["max-store-bytes": "lots"], environment: ["XDG_CONFIG_HOME": "/nonexistent"])) {
            XCTAssertTrue("\($0)".contains("max-store-bytes must be a size in bytes such as 800M or 8G"), "\($0)")
        }
    }
}
