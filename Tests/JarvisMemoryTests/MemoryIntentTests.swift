import XCTest
@testable import JarvisMemory

final class MemoryIntentTests: XCTestCase {
    func statement(_ line: String, file: StaticString = #filePath, line l: UInt = #line) -> MemoryIntent.Statement? {
        guard case .remember(let s)? = MemoryIntent(utterance: line) else {
            XCTFail("\"\(line)\" should read as a statement", file: file, line: l)
            return nil
        }
        return s
    }

    func entry(_ text: String) -> MemoryIntent.Statement { MemoryIntent.Statement(text, requireVerb: false)! }

    func testQuestionsGreetingsAndPassingRemarksAskNothing() {
        for line in ["What is my wifi password?", "when is mum's birthday", "hello", "thanks!", "I am tired today.",
                     "I think it will rain.", "I'm going to the shop.", "My head hurts.", "Tell me about my sister.",
                     "I forgot my umbrella.", "forget it", "Jarvis, what's my locker"] {
            XCTAssertNil(MemoryIntent(utterance: line), line)
        }
    }

    func testTheStoredTextIsTheLineWithoutItsCommandVerbatim() {
        XCTAssertEqual(statement("Remember that my locker is 40 now.")?.text, "my locker is 40 now.")
        XCTAssertEqual(statement("Jarvis, don't forget that I have a flight to Oslo on 14 May.")?.text,
                       "I have a flight to Oslo on 14 May.")
        XCTAssertEqual(statement("Remember: the garage code is 7731 & the PIN is \"0042\"")?.text,
                       "the garage code is 7731 & the PIN is \"0042\"")
        XCTAssertEqual(statement("my sister moved to Porto")?.text, "my sister moved to Porto")
    }

    func testAContradictingStatementHasTheEntrysSubject() throws {
        let moved = try XCTUnwrap(statement("my sister moved to Porto"))
        XCTAssertTrue(moved.sameSubject(as: entry("My sister Ana lives in Lisbon.")))
        XCTAssertFalse(try XCTUnwrap(statement("My sister's birthday is on 9 October."))
            .sameSubject(as: entry("My sister Ana lives in Lisbon.")), "new about the sister, not against the entry")
        let car = try XCTUnwrap(statement("I now drive a red Mazda 3."))
        XCTAssertTrue(car.sameSubject(as: entry("I drive a blue 2015 Toyota Corolla.")), "one car at a time")
        XCTAssertFalse(try XCTUnwrap(statement("I'm vegetarian now."))
            .sameSubject(as: entry("I am allergic to penicillin.")), "two lasting states, both true")
        XCTAssertTrue(try XCTUnwrap(statement("Biscuit now eats three times a day."))
            .sameSubject(as: entry("My dog Biscuit is a beagle and eats twice a day.")))
        XCTAssertFalse(try XCTUnwrap(statement("My brother Tom is allergic to peanuts."))
            .sameSubject(as: entry("I am allergic to penicillin.")))
    }

    func testAStatementAlreadyRememberedIsRecognised() throws {
        let s = try XCTUnwrap(statement("Remember that my wifi password is pine-cone-42."))
        XCTAssertTrue(s.isRestated(by: entry("The home wifi password is pine-cone-42.")))
        XCTAssertFalse(s.isRestated(by: entry("The home wifi password is maple-leaf-7.")))
    }

    func testForgettingNeedsTheOwnerItNames() throws {
        guard case .forget(let own)? = MemoryIntent(utterance: "Please forget my address"),
              case .forget(let cousin)? = MemoryIntent(utterance: "forget my cousin's address"),
              case .forget(let sold)? = MemoryIntent(utterance: "I sold my car.") else {
            return XCTFail("each should read as a request to forget")
        }
        let address = "I live at 12 Harbour Road, Bristol."
        XCTAssertGreaterThan(own.match(address), 0)
        XCTAssertEqual(cousin.match(address), 0, "the cousin's address is not the user's")
        XCTAssertGreaterThan(sold.match("I drive a blue 2015 Toyota Corolla."), 0, "a car is what one drives")
        XCTAssertEqual(sold.match("I live at 12 Harbour Road, Bristol."), 0)
    }

    func testDontForgetIsAStatementNotAForget() {
        guard case .remember? = MemoryIntent(utterance: "Don't forget that my passport expires in June") else {
            return XCTFail("\"don't forget\" asks to remember")
        }
    }
}
