import XCTest
import JarvisEngine
@testable import JarvisMemory

final class MetadataDrafterTests: XCTestCase {
    func testCardsParseOnlyWhenEveryFieldIsPlausible() {
        XCTAssertEqual(MetadataDrafter.parse("Biscuit | pet | beagle, loves carrots"),
                       ["drafted_name": "Biscuit", "category": "pet", "attributes": "beagle, loves carrots"])
        XCTAssertEqual(MetadataDrafter.parse("Here's a revised version of the sentence:"), [:])
        XCTAssertEqual(MetadataDrafter.parse("x | 42 | y"), [:], "a category is a word, not a number")
        XCTAssertEqual(MetadataDrafter.parse(" | pet | y"), [:], "a card needs a name")
        XCTAssertEqual(MetadataDrafter.parse("Ana | Person | sister | Lisbon")["attributes"], "sister, Lisbon")
        XCTAssertEqual(MetadataDrafter.parse("Ana | Person | sister")["category"], "person")
    }

    /// The shipped model, prompted with the fixed examples, drafts a card for a new note.
    func testTheShippedModelDraftsACard() throws {
        let (model, tok) = try StoredRunsTests.shared.get()
        let drafter = MetadataDrafter(model: model, tokenizer: tok, format: .chatML)
        let card = try drafter.draft("My cat Luna is black with green eyes.")
        XCTAssertEqual(card["drafted_name"], "Luna", "\(card)")
        XCTAssertFalse(card["attributes"]?.isEmpty ?? true, "\(card)")
        // The fixed prompt is computed once and reused: a second draft gives the same card.
        XCTAssertEqual(try drafter.draft("My cat Luna is black with green eyes."), card)
    }
}
