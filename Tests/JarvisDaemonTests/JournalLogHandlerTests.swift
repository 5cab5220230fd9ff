import Logging
import XCTest
@testable import JarvisDaemon

final class JournalLogHandlerTests: XCTestCase {
    func testPrioritiesFollowSyslog() {
        XCTAssertEqual(JournalLogHandler.priority(.critical), 2)
        XCTAssertEqual(JournalLogHandler.priority(.error), 3)
        XCTAssertEqual(JournalLogHandler.priority(.warning), 4)
        XCTAssertEqual(JournalLogHandler.priority(.info), 6)
        XCTAssertEqual(JournalLogHandler.priority(.debug), 7)
    }

    func testJournalFormatOnlyWhenStandardErrorIsTheJournalStream() {
        XCTAssertEqual(JournalLogHandler.detectFormat(environment: [:]), .terminal)
        XCTAssertEqual(JournalLogHandler.detectFormat(environment: ["JOURNAL_STREAM": "0:0"]), .terminal)
        var st = stat()
        XCTAssertEqual(fstat(2, &st), 0)
        XCTAssertEqual(JournalLogHandler.detectFormat(environment: ["JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino)"]), .journal)
    }
}
