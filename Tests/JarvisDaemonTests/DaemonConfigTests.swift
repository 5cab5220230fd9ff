import XCTest
@testable import JarvisDaemon

final class DaemonConfigTests: XCTestCase {
}
