import XCTest
@testable import JarvisDaemon

final class SearchSnippetTests: XCTestCase {
    func testShortTextIsFlattenedWhole() {
        XCTAssertEqual(SearchSnippet.make("My dog\nRex  has a\tred collar.", query: "collar"), "My dog Rex has a red collar.")
    }

    func testLongTextIsCutAroundTheFirstMatchingWord() {
        let text = String(repeating: "filler words here. ", count: 20) + "The locker is number 40." + String(repeating: " more filler.", count: 20)
        let s = SearchSnippet.make(text, query: "which LOCKER", width: 60)
        XCTAssertTrue(s.contains("locker is number 40"), s)
        XCTAssertTrue(s.hasPrefix("…") && s.hasSuffix("…"), s)
        XCTAssertLessThanOrEqual(s.count, 62)
    }

    func testShortQueryWordsAndMissesFallBackToTheStart() {
        let text = "Start of the note. " + String(repeating: "is a ", count: 40)
        let s = SearchSnippet.make(text, query: "is a zebra", width: 40)
        XCTAssertTrue(s.hasPrefix("Start of the note."), s)
        XCTAssertTrue(s.hasSuffix("…"), s)
    }
}
