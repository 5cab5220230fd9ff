import XCTest
import JarvisEngine
@testable import JarvisMemory

final class MetadataDrafterTests: XCTestCase {
    func testCardsParseOnlyWhenEveryFieldIsPlausible() {
        let biscuit = "My dog Biscuit is a beagle; he loves carrots."
        XCTAssertEqual(MetadataDrafter.parse("Biscuit | pet | beagle, loves carrots", note: biscuit),
                       ["drafted_name": "Biscuit", "category": "pet", "attributes": "beagle, loves carrots"])
        XCTAssertEqual(MetadataDrafter.parse("Here's a revised version of the sentence:", note: biscuit), [:])
        XCTAssertNil(MetadataDrafter.parse("x | 42 | y", note: "x y 42")["category"], "a category is a word, not a number")
        XCTAssertNil(MetadataDrafter.parse(" | pet | y", note: biscuit)["drafted_name"], "a card needs a name")
        let ana = "My sister Ana lives in Lisbon."
        XCTAssertEqual(MetadataDrafter.parse("Ana | Person | sister | Lisbon", note: ana)["attributes"], "sister, Lisbon")
        XCTAssertEqual(MetadataDrafter.parse("Ana | Person | sister", note: ana)["category"], "person")
        // Junk the model drafted for document chunks never reaches the store.
        let chunk = "## License\n\n[ISC license](LICENSE)"
        XCTAssertEqual(MetadataDrafter.parse("64062 | vmailp | vmailp-vmailp-vmailp", note: chunk), [:])
        XCTAssertEqual(MetadataDrafter.parse("License | document | ISC license, MIT", note: chunk),
                       ["drafted_name": "License", "category": "document", "attributes": "ISC license"])
        XCTAssertNil(MetadataDrafter.parse("Ana | aunt | Lisbon", note: ana)["category"], "categories come from the documented set")
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
